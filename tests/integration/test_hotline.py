"""A JP-CN hotline exchange over five real nodes (TLS, real processes): each side reads it in its
own language, acknowledgements show in the log, and a third party holds the headers only.

The fleet is the one of ``fleet.py`` (policy with deadlines scaled by 0.01). Every wait is
bounded in time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.core.entry import parse_ref
from parley.node.messaging import receipts
from parley.node.node import Node
from parley.store import logs

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

COURSE = [
    "--phrase",
    "nav.course-speed",
    "--param",
    "unit=Kirishima",
    "--param",
    "course=45",
    "--param",
    "speed=12",
]
JA_COURSE = "Kirishimaは針路045°、速力12ノットで航行中です。"
ZH_COURSE = "Kirishima航向045°，航速12节。"


def held(fleet_node: Any, ref: str) -> logs.StoredEntry | None:
    party, seq = parse_ref(ref)
    node: Node = fleet_node.open()
    try:
        with node.store.read() as conn:
            return logs.get_entry(conn, party, seq)
    finally:
        node.close()


def status_at(fleet_node: Any, ref: str) -> dict[str, str]:
    node: Node = fleet_node.open()
    try:
        return {row.party: row.status for row in receipts.status(node, ref)[1]}
    finally:
        node.close()


def hotline_deadline(fleet_node: Any) -> int:
    node: Node = fleet_node.open()
    try:
        bounds = node.context().policy.document.deadline("hotline")
        assert bounds is not None
        return bounds.acknowledged_within.default
    finally:
        node.close()


def conversation(fleet_node: Any, peer: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(fleet_node.cli("hotline", "log", peer, "--json").stdout)
    return doc


def test_jp_and_cn_each_read_the_exchange_in_their_own_language(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    jp, cn, kr = fleet["JP"], fleet["CN"], fleet["KR"]
    asked = jp.cli("hotline", "send", "CN", *COURSE, "--status", "Exercise").stdout.strip()
    wait(lambda: status_at(jp, asked) == {"CN": "delivered"}, 30, "CN's delivered receipt at JP")

    (received,) = conversation(cn, "JP")["messages"]
    assert received["ref"] == asked and received["direction"] == "received"
    assert received["rendering"] == {"lang": "zh", "text": ZH_COURSE}
    assert received["signed_rendering"] == {"lang": "ja", "text": JA_COURSE}
    assert received["catalogue_matches"] is True and received["note"] is None
    assert received["acknowledged_within"] == hotline_deadline(jp) == 3000
    assert received["answer"]["status"] == "delivered"
    shown = cn.cli("hotline", "log", "JP").stdout
    assert f"zh  {ZH_COURSE}" in shown and f"ja (signed)  {JA_COURSE}" in shown
    assert f"not acknowledged: parley ack {asked}" in shown

    cn.cli("ack", asked, "--reply", "收到")
    answered = cn.cli(
        "hotline",
        "send",
        "JP",
        "--phrase",
        "ack.will-comply",
        "--reply-to",
        asked,
        "--status",
        "Exercise",
    ).stdout.strip()
    wait(lambda: status_at(jp, asked) == {"CN": "acknowledged"}, 30, "CN's ack at JP")
    wait(lambda: status_at(cn, answered) == {"JP": "delivered"}, 30, "JP's receipt at CN")

    sent, reply = conversation(jp, "CN")["messages"]
    assert (sent["ref"], sent["direction"]) == (asked, "sent")
    acknowledged = sent["answer"]["acknowledged"]
    assert sent["answer"]["status"] == "acknowledged" and acknowledged["officer"] == "admin"
    assert acknowledged["reply"] == "收到" and acknowledged["claimed"] >= sent["time"]
    assert (reply["ref"], reply["direction"], reply["in_reply_to"]) == (answered, "received", asked)
    assert reply["rendering"] == {"lang": "ja", "text": "要請に従います。"}
    assert reply["signed_rendering"] == {"lang": "zh", "text": "我方将照办。"}
    assert sent["time"] <= reply["time"]
    shown = jp.cli("hotline", "log", "CN").stdout
    assert f"ja (signed)  {JA_COURSE}" in shown
    assert "ja  要請に従います。" in shown and "zh (signed)  我方将照办。" in shown
    assert "acknowledged by CN (admin)" in shown and '"收到"' in shown

    for ref in (asked, answered):  # the third party holds the signed header, never the body
        wait(lambda ref=ref: held(kr, ref), 30, f"KR to hold the header of {ref}")
        stored = held(kr, ref)
        assert stored is not None and stored.body is None and stored.salt is None
        assert stored.audience == "CN,JP" and stored.tlp == "AMBER"
    assert conversation(kr, "JP")["messages"] == []
    outsider = kr.cli("hotline", "show", asked, check=False)
    assert outsider.returncode != 0 and "not a hotline message sent or addressed to KR" in (
        outsider.stderr
    )
