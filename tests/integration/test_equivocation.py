"""A node that forks its log is caught by the peers it showed two histories to.

RU's home is copied while RU is stopped; each copy then appends a different entry, so two
validly signed logs of RU exist with the same size and different roots. The original serves
US, JP and CN; the copy serves KR alone (KR is re-pinned to it, and each copy announces only to
its own audience). Gossip of what each node cosigned must bring the contradiction to light at
KR and at US, as evidence that checks offline with RU's log key alone; RU's new entries are
then no longer stored until an administrator acts.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from parley.node.federation import peers
from parley.store import witnessing as rows
from tests.integration.fleet import Fleet, FleetNode, eventually
from tests.support import free_port, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

INTERVAL_S = 1.5


def append_check(node: FleetNode, n: int) -> None:
    path = Path(node.home.parent) / f"{node.home.name}-check.json"
    path.write_text(json.dumps({"nonce": f"{n:032x}", "deadlines": {}}))
    node.cli(
        "log",
        "append",
        "--kind",
        "check",
        "--status",
        "Exercise",
        "--body-file",
        str(path),
        "--to",
        "ALL",
    )


def equivocations(node: FleetNode, party: str) -> list[rows.Equivocation]:
    opened = node.open()
    try:
        with opened.store.read() as conn:
            return rows.list_equivocations(conn, party)
    finally:
        opened.close()


def synced(node: FleetNode, party: str) -> int:
    opened = node.open()
    try:
        with opened.store.read() as conn:
            return peers.synced_size(conn, party)
    finally:
        opened.close()


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fleet = Fleet(
        tmp_path_factory.mktemp("forkfleet"),
        server_env={"PARLEY_WITNESS_INTERVAL_S": str(INTERVAL_S)},
    )
    copy: FleetNode | None = None
    try:
        fleet.setup()
        ru = fleet["RU"]
        append_check(ru, 1)
        size = int(json.loads(ru.cli("node", "info", "--json").stdout)["size"])
        for party in ("US", "JP", "KR", "CN"):

            def caught_up(p: str = party) -> bool:
                return synced(fleet[p], "RU") >= size

            eventually(caught_up, 60, f"{party} syncs RU")
        ru.stop()
        copy = FleetNode(
            "RU", ru.home.parent / "ru-fork", free_port(), info=ru.info, server_env=ru.server_env
        )
        shutil.copytree(ru.home, copy.home)
        config = copy.home / "parley.toml"  # the copy keeps its own database
        config.write_text(
            config.read_text().replace(str(ru.home / "parley.db"), str(copy.home / "parley.db"))
        )
        ru.cli("peers", "remove", "KR")
        for party in ("US", "JP", "CN"):
            copy.cli("peers", "remove", party)
        append_check(ru, 2)
        append_check(copy, 3)  # same size, another entry: a second history
        kr = fleet["KR"]
        kr.cli("peers", "remove", "RU")
        ru.start()
        copy.start()
        ru.wait_ready()
        copy.wait_ready()
        kr.cli(
            "peers",
            "add",
            f"https://127.0.0.1:{copy.port}",
            "--party",
            "RU",
            "--key",
            ru.info["identity"],
            "--tls-spki",
            ru.pin,
        )
        yield fleet, size + 1
    finally:
        if copy is not None:
            copy.stop()
        fleet.stop()


def test_both_peers_catch_a_fork_within_two_witnessing_intervals(forked, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fleet, size = forked
    us, kr = fleet["US"], fleet["KR"]
    eventually(
        lambda: synced(us, "RU") >= size and synced(kr, "RU") >= size,
        60,
        "US holds the original and KR the copy",
    )
    both_held = time.monotonic()
    # two witnessing intervals, plus room for a loaded two-core machine
    eventually(
        lambda: equivocations(us, "RU") and equivocations(kr, "RU"),
        2 * INTERVAL_S + 5,
        "US and KR to catch the fork",
    )
    caught_after = time.monotonic() - both_held
    print(f"fork caught by US and KR {caught_after:.1f} s after both held a history")
    for node in (us, kr):
        evidence = tmp_path / f"{node.party}-evidence.json"
        evidence.write_text(equivocations(node, "RU")[0].evidence)
        result = run_cli(
            "verify",
            "equivocation",
            str(evidence),
            "--log-key",
            fleet["RU"].info["keys"]["log"],
            home=tmp_path,
        )
        assert "EQUIVOCATION by RU" in result.stdout
        listed = json.loads(node.cli("peers", "list", "--json").stdout)
        assert next(p for p in listed if p["party"] == "RU")["health"] == "held"
        shown = node.cli("log", "show", "--json", "--limit", "10000").stdout.splitlines()
        assert any(json.loads(line)["kind"] == "evidence" for line in shown)


def test_a_held_equivocator_gets_no_new_entry_stored(forked, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fleet, size = forked
    us = fleet["US"]
    eventually(lambda: equivocations(us, "RU"), 30, "US to hold RU")
    append_check(fleet["RU"], 4)
    appended = time.monotonic()
    # The control: JP's entry, appended at the same moment, reaches US by the same machinery
    # (wake-up, push or pull) that would carry RU's, were RU not held.
    jp = fleet["JP"]
    append_check(jp, 5)
    jp_size = json.loads(jp.cli("node", "info", "--json").stdout)["size"]
    eventually(lambda: synced(us, "JP") >= jp_size, 60, "US stores JP's new entry (the control)")
    time.sleep(max(0.0, 3 * INTERVAL_S - (time.monotonic() - appended)))
    assert synced(us, "RU") == size


def test_tampered_evidence_fails_offline(forked, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fleet, _size = forked
    us = fleet["US"]
    document = json.loads(eventually(lambda: equivocations(us, "RU"), 30)[0].evidence)
    document["checkpoints"][1] = document["checkpoints"][0]
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(document))
    result = run_cli("verify", "equivocation", str(path), home=tmp_path, check=False)
    assert result.returncode != 0 and "no fork" in (result.stdout + result.stderr)
