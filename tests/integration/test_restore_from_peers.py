"""``parley restore`` with real node processes: a lost database comes back from the peers' mirrors.

Three nodes (US, JP, KR) over TLS. JP writes and receipts entries, its peers mirror them, then
JP's database is deleted; ``parley restore`` recovers JP's log from US and KR, ``parley verify
log`` passes, and JP's next entry is taken by both peers as the continuation of one history.
Then the peers are made to hold two histories of JP, and the restore refuses. Tests run in file
order; every wait is bounded in time.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from parley.store import logs
from parley.store.engine import Store
from tests.integration.fleet import Fleet, FleetNode, append, eventually
from tests.support import OFFICER_PASSWORD, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.fleet]


class SmallFleet(Fleet):
    """The integration fleet with three parties."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, parties=("US", "JP", "KR"))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallFleet]:
    fleet = SmallFleet(tmp_path_factory.mktemp("restore"))
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


def check_body(n: int) -> dict[str, Any]:
    return {"nonce": f"{n:032x}", "deadlines": {}}


def size_of(node: FleetNode) -> int:
    return int(json.loads(node.cli("node", "info", "--json").stdout)["size"])


def mirrored_everywhere(fleet: SmallFleet, size: int, timeout: float = 60) -> None:
    for party in ("US", "KR"):
        eventually(partial(fleet.synced, party, "JP", size), timeout, f"{party} to mirror JP")


def lose_database(node: FleetNode) -> None:
    node.stop()
    for path in node.home.glob("parley.db*"):
        path.unlink()


def peer_options(fleet: SmallFleet, *parties: str) -> list[str]:
    options: list[str] = []
    for party in parties:
        peer = fleet[party]
        options += [
            "--peer",
            peer.url,
            "--party",
            party,
            "--key",
            peer.info["identity"],
            "--tls-spki",
            peer.pin,
        ]
    return options


def peer_row(node: FleetNode, party: str) -> dict[str, Any]:
    rows = json.loads(node.cli("peers", "list", "--json").stdout)
    return next(row for row in rows if row["party"] == party)


def test_a_lost_database_is_restored_from_the_mirrors_and_peers_take_the_next_entry(fleet) -> None:  # type: ignore[no-untyped-def]
    us, jp, kr = fleet["US"], fleet["JP"], fleet["KR"]
    append(
        us,
        "hotline",
        {"to": "JP", "text": "for JP", "deadlines": {"acknowledged_within": 3000}},
        "JP",
    )
    jp.cli("sync", "--peer", "US")  # JP receipts it (a delivered receipt in its log)
    append(jp, "check", check_body(1), "ALL")
    append(
        jp,
        "hotline",
        {"to": "KR", "text": "for KR only", "deadlines": {"acknowledged_within": 3000}},
        "KR",
    )
    size = size_of(jp)
    mirrored_everywhere(fleet, size)
    peers_file = fleet.folder / "jp-peers.json"
    peers_file.write_text(jp.cli("peers", "list", "--json").stdout)  # kept with the backups
    lose_database(jp)

    restored = jp.cli("restore", "--from-peers", str(peers_file))
    assert f"Restored JP's log: {size} entries" in restored.stdout, restored.stdout
    assert "Pinned again: KR, US" in restored.stdout
    assert "parley user add" in restored.stdout
    assert "bodies no peer holds" not in restored.stdout  # KR holds the body US lacks
    verified = jp.cli("verify", "log")
    assert str(size) in verified.stdout
    run_cli(
        "user",
        "add",
        "admin",
        "--role",
        "admin",
        home=jp.home,
        PARLEY_NEW_PASSWORD=OFFICER_PASSWORD,
    )

    jp.start()
    jp.wait_ready()
    after = append(jp, "check", check_body(2), "ALL")
    assert after == f"JP:{size_of(jp) - 1}" and int(after.split(":")[1]) >= size
    mirrored_everywhere(fleet, size_of(jp))
    for peer in (us, kr):
        row = peer_row(peer, "JP")
        assert row["held"] is None and row["health"] != "held", row


def test_peers_holding_two_histories_of_jp_make_the_restore_refuse(fleet) -> None:  # type: ignore[no-untyped-def]
    us, jp, kr = fleet["US"], fleet["JP"], fleet["KR"]
    jp.stop()
    backup = fleet.folder / "jp-backup.db"
    with sqlite3.connect(jp.home / "parley.db") as source, sqlite3.connect(backup) as target:
        source.backup(target)
    kr.stop()
    jp.start()
    jp.wait_ready()
    append(jp, "check", check_body(3), "ALL")  # history A: US takes it, KR is down
    size = size_of(jp)
    eventually(lambda: fleet.synced("US", "JP", size), 60, "US to take history A")

    us.stop()
    lose_database(jp)
    shutil.copy(backup, jp.home / "parley.db")  # the old copy of the node writes history B
    (jp.home / "parley.db").chmod(0o600)  # a restored backup must be as private as the home
    kr.start()
    kr.wait_ready()
    jp.start()
    jp.wait_ready()
    append(jp, "check", check_body(4), "ALL")
    eventually(lambda: fleet.synced("KR", "JP", size), 60, "KR to take history B")
    us.start()
    us.wait_ready()

    lose_database(jp)
    refused = jp.cli("restore", *peer_options(fleet, "US", "KR"), check=False)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "two histories of JP's log" in refused.stderr
    assert refused.stderr.count(".parley.invalid/parley-test/JP") >= 2  # both checkpoints shown
    store = Store(f"sqlite+pysqlite:///{jp.home / 'parley.db'}")
    try:
        with store.read() as conn:
            assert logs.get_state(conn, "JP") is None
    finally:
        store.dispose()
