"""What the officer sees is true: three real nodes (US, JP, CN) over TLS, through the CLI.

JP's duty officer sends a hotline message to CN; CN's inbox lists it with its running clock and
CN's ``status`` lists the clock open; once CN acknowledges, ``status`` at once stops listing it
and the inbox shows it acknowledged, and JP's ``status`` follows when the receipt arrives. JP's
own node refuses to sign what its peers would store header-only: a deadline over the policy's
bound (named) and an entry for a party outside the network. Every wait is bounded in time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from parley.core.entry import parse_ref
from parley.node.messaging import receipts
from parley.node.node import Node
from parley.store import logs
from parley.store.schema import deadline_clocks
from tests.integration.fleet import Fleet, FleetNode, eventually
from tests.support import OfficerEnv

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

HOTLINE_MAX_MS = 4 * 5 * 60 * 1000  # the policy's bound at --deadline-scale 1: 4 x 5 min


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    # minutes, not seconds: the clock must still run while the test looks at it
    fleet = Fleet(
        tmp_path_factory.mktemp("truth"),
        parties=("US", "JP", "CN"),
        policy_options=("--deadline-scale", "1"),
    )
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


def as_json(node: FleetNode, *args: str) -> Any:
    return json.loads(node.cli(*args, "--json").stdout)


def held_and_tracked(node: FleetNode, ref: str) -> bool:
    """Whether ``node`` holds ``ref`` with its body and its deadline loop tracks it (no CLI)."""
    party, seq = parse_ref(ref)
    opened: Node = node.open()
    try:
        with opened.store.read() as conn:
            stored = logs.get_entry(conn, party, seq)
            rows = conn.execute(
                select(deadline_clocks).where(
                    deadline_clocks.c.entry_party == party,
                    deadline_clocks.c.entry_seq == seq,
                )
            ).fetchall()
        return stored is not None and stored.body is not None and bool(rows)
    finally:
        opened.close()


def acknowledged_at(node: FleetNode, ref: str) -> bool:
    opened: Node = node.open()
    try:
        return [row.status for row in receipts.status(opened, ref)[1]] == ["acknowledged"]
    finally:
        opened.close()


def size_of(node: FleetNode) -> int:
    opened: Node = node.open()
    try:
        return opened.size()
    finally:
        opened.close()


def inbox_item(node: FleetNode, ref: str) -> dict[str, Any] | None:
    items = [i for i in as_json(node, "inbox")["items"] if i["ref"] == ref]
    return items[0] if items else None


def open_clocks(node: FleetNode, ref: str) -> list[dict[str, Any]]:
    return [row for row in as_json(node, "status")["open"] if row["entry"] == ref]


def test_an_acknowledged_hotline_is_closed_everywhere_and_bad_entries_are_refused(
    fleet: Fleet, tmp_path: Path
) -> None:
    jp, cn = fleet["JP"], fleet["CN"]
    duty: OfficerEnv = {"PARLEY_USER": "duty", "PARLEY_PASSWORD": fleet.duty_password}
    sent = jp.cli(
        "hotline", "send", "CN", "--text", "confirm your position", "--status", "Exercise", **duty
    ).stdout.strip()

    eventually(lambda: held_and_tracked(cn, sent), 30, f"CN to hold and track {sent}")
    item = inbox_item(cn, sent)
    assert item is not None and item["author"] == "JP" and item["receipt"] == "delivered"
    assert item["summary"] == "confirm your position"
    (clock,) = item["clocks"]
    assert clock["clock"] == "acknowledged" and clock["state"] == "pending"
    assert 0 < clock["remaining"] <= 5 * 60 * 1000
    assert [row["clock"] for row in open_clocks(cn, sent)] == ["acknowledged"]

    cn.cli("ack", sent, "--reply", "position follows")
    assert open_clocks(cn, sent) == []  # at once: no deadline round in between
    acknowledged = inbox_item(cn, sent)
    assert acknowledged is not None and acknowledged["receipt"] == "acknowledged"
    assert acknowledged["clocks"] == []
    eventually(lambda: acknowledged_at(jp, sent), 30, "CN's acknowledgement at JP")
    assert open_clocks(jp, sent) == []

    body = tmp_path / "late.json"
    body.write_text(
        json.dumps({"to": "CN", "text": "whenever", "deadlines": {"acknowledged_within": 10**8}})
    )
    before = size_of(jp)
    refused = jp.cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Exercise",
        "--body-file",
        str(body),
        "--to",
        "CN,JP",
        check=False,
    )
    assert refused.returncode != 0
    assert "acknowledged_within 100000000 ms is outside the policy's bounds" in refused.stderr
    assert str(HOTLINE_MAX_MS) in refused.stderr
    body.write_text(json.dumps({"to": "ZZ", "text": "hello", "deadlines": {}}))
    stranger = jp.cli(
        "log",
        "append",
        "--kind",
        "hotline",
        "--status",
        "Exercise",
        "--body-file",
        str(body),
        "--to",
        "ZZ,JP",
        check=False,
    )
    assert stranger.returncode != 0 and "ZZ is not a member" in stranger.stderr
    assert size_of(jp) == before  # nothing was signed
