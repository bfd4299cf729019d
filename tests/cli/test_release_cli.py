"""Two-person release as officers run it: ``notify``, ``pending``, ``release``, real subprocesses.

One node home serves the module, with two duty officers (alice, bob) beside the administrator
and ``[release] categories = ["nuclear.*"]`` in its parley.toml. Each test prepares its own
pending release; the store is read in-process only to check what the commands wrote.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from parley.node import officers
from parley.node.node import Node
from parley.node.notifications import lifecycle
from parley.store import live as live_rows
from tests.support import OFFICER_PASSWORD, init_node, officer_env, run_cli

NUCLEAR = (
    "--category",
    "nuclear.facility-event",
    "--severity",
    "Severe",
    "--urgency",
    "Immediate",
    "--certainty",
    "Observed",
    "--circle",
    "37.42,141.03,30",
    "--headline",
    "INES 2 event at Example-2",
    "--detail",
    "facility=Example-2",
    "--detail",
    "release=no",
)
REASON = "night shift alone; the convention's forthwith duty cannot wait"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = init_node(tmp_path_factory.mktemp("release") / "jp")
    for name in ("alice", "bob"):
        run_cli(
            "user",
            "add",
            name,
            "--role",
            "duty-officer",
            home=home,
            PARLEY_NEW_PASSWORD=OFFICER_PASSWORD,
            **officer_env(),
        )
    config = home / "parley.toml"
    config.write_text(config.read_text() + '\n[release]\ncategories = ["nuclear.*"]\n')
    return home


def parley(
    home: Path, *args: str, officer: str = "alice", check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, home=home, check=check, **officer_env(officer))


def prepare(home: Path) -> str:
    """``parley notify`` of an Actual nuclear notification; the pending release's id."""
    result = parley(home, "notify", "--status", "Actual", *NUCLEAR)
    assert f"parley release {result.stdout.strip()} --as" in result.stderr
    return result.stdout.strip()


def opened(home: Path) -> Node:
    return Node.open(home)


def body_of(home: Path, ref: str) -> dict[str, Any]:
    node = opened(home)
    try:
        with node.store.read() as conn:
            return lifecycle.notification_at(conn, ref).body
    finally:
        node.close()


def audit(home: Path, limit: int = 1) -> list[dict[str, Any]]:
    node = opened(home)
    try:
        return officers.audit_trail(node.store, limit)
    finally:
        node.close()


def size(home: Path) -> int:
    node = opened(home)
    try:
        return node.size()
    finally:
        node.close()


def test_notify_keeps_an_actual_nuclear_notification_for_a_second_officer(home: Path) -> None:
    before = size(home)
    identifier = prepare(home)
    assert size(home) == before  # nothing signed
    listed = json.loads(parley(home, "pending", "list", "--json", officer="bob").stdout)
    mine = next(item for item in listed if item["id"] == identifier)
    assert (mine["prepared_by"], mine["state"], mine["status"]) == ("alice", "pending", "Actual")
    table = parley(home, "pending", "list", officer="bob").stdout
    assert identifier in table and "INES 2 event at Example-2" in table


def test_the_preparer_cannot_release_and_a_second_officer_does(home: Path) -> None:
    identifier = prepare(home)
    refused = parley(home, "release", identifier, check=False)
    assert refused.returncode == 5
    assert "two-person release: officer alice prepared" in refused.stderr
    assert "--break-glass" in refused.stderr
    line = audit(home)[0]
    assert (line["action"], line["outcome"], line["officer"]) == ("release", "refused", "alice")
    released = parley(home, "release", identifier, officer="bob")
    ref = released.stdout.strip()
    assert "prepared by alice (duty-officer), released by bob (duty-officer)" in released.stderr
    body = body_of(home, ref)
    assert body["release"] == {"prepared_by": "duty-officer", "released_by": "duty-officer"}
    assert "alice" not in orjson.dumps(body).decode()
    assert audit(home)[0] | {"time": 0} == {
        "time": 0,
        "officer": "bob",
        "action": "release",
        "detail": {"id": identifier},
        "outcome": "ok",
    }
    again = parley(home, "release", identifier, officer="admin", check=False)
    assert again.returncode == 7 and f"is released as {ref}" in again.stderr


def test_break_glass_needs_a_reason_then_releases_alone_and_tells_every_officer(
    home: Path,
) -> None:
    identifier = prepare(home)
    short = parley(home, "release", identifier, "--break-glass", "alone", check=False)
    assert short.returncode == 1 and "reason: break-glass needs a stated reason" in short.stderr
    done = parley(home, "release", identifier, "--break-glass", REASON)
    ref = done.stdout.strip()
    assert "BREAK-GLASS" in done.stderr
    assert body_of(home, ref)["release"]["break_glass"] is True
    line = audit(home)[0]
    assert (line["action"], line["outcome"], line["detail"]["reason"]) == (
        "release.break-glass",
        "ok",
        REASON,
    )
    node = opened(home)
    try:
        with node.store.read() as conn:
            events = [e for e in live_rows.after(conn, 0, 1000) if e.kind == "release.break-glass"]
    finally:
        node.close()
    assert [orjson.loads(e.data)["ref"] for e in events] == [ref]


def test_withdraw_is_for_the_preparer_or_an_administrator(home: Path) -> None:
    identifier = prepare(home)
    refused = parley(home, "pending", "withdraw", identifier, officer="bob", check=False)
    assert refused.returncode == 5 and "only that officer or an administrator" in refused.stderr
    parley(home, "pending", "withdraw", identifier, officer="admin")
    listed = json.loads(parley(home, "pending", "list", "--all", "--json").stdout)
    assert next(i for i in listed if i["id"] == identifier)["withdrawn_by"] == "admin"
    assert identifier not in parley(home, "pending", "list").stdout


def test_an_exercise_is_signed_at_once_by_one_officer(home: Path) -> None:
    ref = parley(home, "notify", "--status", "Exercise", *NUCLEAR).stdout.strip()
    assert ref.startswith("JP:")
    assert "release" not in body_of(home, ref)
