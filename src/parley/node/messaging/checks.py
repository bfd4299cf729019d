"""Scheduled communication checks: the only traffic an idle network produces.

DESIGN.md, "Witnessing and equivocation" (checks) and "Deadlines, time and compliance";
docs/protocol.md §11. Every ``check_interval_ms`` of the policy in force (daily by
default), this node appends one ``check`` entry to each pinned peer: body
``{nonce: 32 hex, deadlines}`` with the ``check`` class defaults, audience the peer and this
node, status ``Test`` (a test of the channel, not an alert). A peer is first checked one
interval after it was pinned, then one interval after the last check it was sent.

The receiving node answers with ``delivered`` as for any addressed entry. The acknowledgement is
an officer's (``parley ack``) when the policy lists ``check`` in ``human_ack``; otherwise this
module acknowledges automatically: an ``acknowledged`` receipt with no officer. The outcome of
each check (met, late, missed, pending per clock) is judged like any deadline
(``parley.node.messaging.deadlines``) and listed by ``parley checks``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import anyio
from sqlalchemy import Connection, and_, exists, func, insert, select

from parley.core.bodies import validate_body
from parley.core.deadlines import deadlines_for
from parley.core.entry import Header, parse_header
from parley.node.federation import peers
from parley.node.log import Draft
from parley.node.messaging import deadlines, receipts
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store.schema import communication_checks, deadline_clocks
from parley.store.schema import receipts as receipt_rows

STATUS = "Test"
ROUND_S = 1.0
ACK_PAGE = 50

log = logging.getLogger("parley.checks")


def check_draft(node: Node, peer: str, document: Any) -> Draft:
    body = {"nonce": secrets.token_hex(16), "deadlines": deadlines_for(document, "check")}
    validate_body("check", body)
    return Draft("check", STATUS, body, tuple(sorted({peer, node.party})), None)


def due_peers(node: Node, conn: Connection, interval: int, now: int) -> list[str]:
    """Pinned peers whose last check (or pinning) is at least one interval old."""
    last = dict(conn.execute(
        select(communication_checks.c.peer, func.max(communication_checks.c.sent))
        .group_by(communication_checks.c.peer)
    ).all())  # fmt: skip
    due = []
    for peer in peers.list_peers(node.store):
        since = last.get(peer.party, peer.added)
        if now - since >= interval:
            due.append(peer.party)
    return due


def send_due(node: Node, now: int) -> list[Header]:
    """Append a check to every peer that is due one; return the entries appended."""
    with node.store.read() as conn:  # the write lock only when a check is due
        if not due_peers(node, conn, node.policy_in(conn).check_interval_ms, now):
            return []
    with node.store.write() as conn:
        document = node.policy_in(conn)
        due = due_peers(node, conn, document.check_interval_ms, now)
        if not due:
            return []
        headers = node.log.append_in(conn, [check_draft(node, p, document) for p in due], now)
        conn.execute(insert(communication_checks), [
            {"seq": header.seq, "peer": peer, "sent": now}
            for header, peer in zip(headers, due, strict=True)
        ])  # fmt: skip
    return headers


def automatic_acknowledgement(header: Header, leaf_hash: bytes) -> Draft:
    """An ``acknowledged`` receipt by the node itself: no officer named."""
    body = {"type": "acknowledged", "entry": {"ref": header.ref, "leaf_hash": leaf_hash.hex()}}
    validate_body("receipt", body)
    audience, tlp = receipts.answer_sharing(header)
    return Draft("receipt", header.status, body, audience, tlp)


def acknowledge_due(node: Node, now: int, page: int = ACK_PAGE) -> list[Header]:
    """Acknowledge peers' checks automatically, unless the policy wants an officer to."""
    c, r = deadline_clocks.c, receipt_rows.c
    with node.store.read() as conn:  # the write lock only when the node acknowledges
        if "check" in node.policy_in(conn).human_ack:
            return []
    with node.store.write() as conn:
        answered = exists().where(
            r.entry_party == c.entry_party, r.entry_seq == c.entry_seq,
            r.by_party == node.party, r.type == "acknowledged",
        )  # fmt: skip
        rows = conn.execute(select(c.entry_party, c.entry_seq).where(and_(
            c.kind == "check", c.addressee == node.party, c.clock == "acknowledged",
            c.state == deadlines.OPEN, ~answered,
        )).limit(page)).fetchall()  # fmt: skip
        drafts, headers = [], []
        for row in rows:
            stored = logs.get_entry(conn, row.entry_party, row.entry_seq)
            if stored is not None:
                drafts.append(automatic_acknowledgement(parse_header(stored.leaf),
                                                        stored.leaf_hash))  # fmt: skip
        if drafts:
            headers = node.log.append_in(conn, drafts, now)
            receipts.index_own(conn, headers, drafts, now)
    return headers


def run_round(node: Node, now: int) -> int:
    return len(send_due(node, now)) + len(acknowledge_due(node, now))


async def run(node: Node, interval_s: float = ROUND_S) -> None:
    """The server's check scheduler: a bounded round every ``interval_s`` seconds."""
    while True:
        try:
            await anyio.to_thread.run_sync(run_round, node, now_ms())
        except Exception:  # noqa: BLE001 - the loop must survive anything
            log.exception("communication check round failed")
        await asyncio.sleep(interval_s)


def listed(node: Node, now: int, limit: int = 50) -> list[dict[str, Any]]:
    """The latest checks this node sent, newest first, with each clock's outcome."""
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        rows = conn.execute(
            select(communication_checks).order_by(communication_checks.c.seq.desc()).limit(limit)
        ).fetchall()
        result = []
        for row in rows:
            stored = logs.get_entry(conn, node.party, row.seq)
            if stored is None:
                continue
            judged = deadlines.judge_stored(node, conn, stored, policy, now, only=[row.peer])
            result.append({"ref": node.ref(row.seq), "peer": row.peer, "sent": row.sent,
                           "witnessed": judged.witnessed,
                           **{c.clock: c.to_dict() for c in judged.clocks}})  # fmt: skip
    return result
