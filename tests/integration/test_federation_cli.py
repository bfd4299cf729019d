"""The federation commands as an administrator uses them: one served node, one that pulls."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import OfficerEnv, Server, init_node, officer_env, run_cli

pytestmark = pytest.mark.slow


def two_members(tmp_path: Path, entries_per_minute: int | None = None) -> dict[str, Path]:
    """JP and US under one policy, drafted with the CLI (or with other quotas, by hand)."""
    homes = {p: init_node(tmp_path / p.lower(), p) for p in ("JP", "US")}
    members = []
    for party, home in homes.items():
        info = tmp_path / f"{party}.json"
        info.write_text(run_cli("node", "info", "--json", home=home).stdout)
        members += ["--member", str(info)]
    draft = tmp_path / "policy.json"
    run_cli(
        "policy",
        "draft",
        str(draft),
        "--network",
        "parley-test",
        "--name",
        "Pair",
        *members,
        home=tmp_path,
    )
    if entries_per_minute is not None:  # a network agreed for bulk traffic
        doc = json.loads(draft.read_text())
        doc["document"]["quotas"] = {
            "entries_per_minute": entries_per_minute,
            "addressed_per_minute": entries_per_minute,
            "bytes_per_minute": 1 << 30,
        }
        draft.write_text(json.dumps(doc))
    for home in homes.values():
        run_cli("policy", "sign", str(draft), home=home, **officer_env())
    for home in homes.values():
        run_cli("policy", "adopt", str(draft), home=home, **officer_env())
    return homes


def test_sync_catches_up_thousands_of_entries_and_lists_the_peer(
    tmp_path: Path, start_server: Callable[[Path], Server]
) -> None:
    homes = two_members(tmp_path, entries_per_minute=10_000)
    lines = [
        json.dumps(
            {
                "kind": "check",
                "status": "Exercise",
                "to": "ALL",
                "body": {"nonce": f"{n:032x}", "deadlines": {}},
            }
        )
        for n in range(3000)
    ]
    flood = tmp_path / "entries.jsonl"
    flood.write_text("\n".join(lines) + "\n")
    run_cli("log", "append", "--jsonl", str(flood), home=homes["US"], **officer_env())
    us = start_server(homes["US"])
    info = json.loads(run_cli("node", "info", "--json", home=homes["US"]).stdout)
    added = run_cli(
        "peers",
        "add",
        us.url,
        "--party",
        "US",
        "--key",
        info["identity"],
        home=homes["JP"],
        **officer_env(),
    )
    assert "Pinned US" in added.stdout and info["fingerprint"] in added.stdout
    again = run_cli(
        "peers",
        "add",
        us.url,
        "--party",
        "US",
        "--key",
        info["identity"],
        home=homes["JP"],
        check=False,
        **officer_env(),
    )
    assert again.returncode != 0 and "pinned already" in again.stderr
    synced = run_cli("sync", home=homes["JP"])
    assert "US: 0 -> 3003 of 3003" in synced.stdout
    assert "3000 stored" not in synced.stdout and "3003 stored" in synced.stdout
    # US has not pinned JP: JP was served as a stranger, so the bodies wait, without blame.
    assert "0 receipts, 0 observations" in synced.stdout
    (row,) = json.loads(run_cli("peers", "list", "--json", home=homes["JP"]).stdout)
    assert row["party"] == "US" and row["synced"] == 3003 and row["lag"] == 0
    assert row["health"] == "ok"
    table = run_cli("peers", "list", home=homes["JP"]).stdout
    assert "US" in table and "3003" in table
    run_cli("peers", "remove", "US", home=homes["JP"], **officer_env())
    assert json.loads(run_cli("peers", "list", "--json", home=homes["JP"]).stdout) == []


def test_pinning_and_webhooks_are_admin_actions(tmp_path: Path) -> None:
    homes = two_members(tmp_path)
    run_cli(
        "user",
        "add",
        "duty",
        "--role",
        "duty-officer",
        home=homes["JP"],
        PARLEY_NEW_PASSWORD="duty-password",
        **officer_env(),
    )
    duty: OfficerEnv = {"PARLEY_USER": "duty", "PARLEY_PASSWORD": "duty-password"}
    refused = run_cli(
        "peers",
        "add",
        "http://127.0.0.1:9",
        "--party",
        "US",
        "--key",
        "x",
        home=homes["JP"],
        check=False,
        **duty,
    )
    assert refused.returncode == 5 and "needs admin" in refused.stderr
    outsider = run_cli(
        "peers",
        "add",
        "http://127.0.0.1:9",
        "--party",
        "CN",
        "--key",
        "A" * 43 + "=",
        home=homes["JP"],
        check=False,
        **officer_env(),
    )
    assert outsider.returncode != 0 and "not a member" in outsider.stderr
    remote = run_cli(
        "peers",
        "add",
        "http://203.0.113.7:8700",
        "--party",
        "US",
        "--key",
        "A" * 43 + "=",
        home=homes["JP"],
        check=False,
        **officer_env(),
    )
    assert remote.returncode != 0 and "https with a pinned SPKI" in remote.stderr
    added = run_cli(
        "webhooks",
        "add",
        "http://127.0.0.1:9/hook",
        "--event",
        "peer.held",
        home=homes["JP"],
        **officer_env(),
    )
    assert "Added webhook 1" in added.stdout
    assert "events=peer.held" in run_cli("webhooks", "list", home=homes["JP"]).stdout
    assert json.loads(run_cli("webhooks", "outbox", "--json", home=homes["JP"]).stdout) == []
    nothing = run_cli("ack", "US:2", home=homes["JP"], check=False, **duty)
    assert nothing.returncode != 0 and "not held by this node" in nothing.stderr
