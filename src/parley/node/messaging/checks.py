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
from sqlalchemy import Connection

from parley.core.bodies import validate_body
from parley.core.deadlines import deadlines_for
from parley.core.entry import Header, parse_header
from parley.node.log import Draft
from parley.node.messaging import deadlines, receipts
from parley.node.node import Node, now_ms
from parley.store import checks as check_rows
from parley.store import deadlines as clock_rows
from parley.store import logs
from parley.store import peers as peer_rows

STATUS = "Test"
ROUND_S = 1.0
ACK_PAGE = 50

log = logging.getLogger("parley.checks")


def check_draft(node: Node, peer: str, document: Any) -> Draft:
    """A ``check`` entry to ``peer``: a fresh nonce and the policy's ``check`` deadlines."""
    body = {"nonce": secrets.token_hex(16), "deadlines": deadlines_for(document, "check")}
    validate_body("check", body)
    return Draft("check", STATUS, body, tuple(sorted({peer, node.party})), None)


def due_peers(node: Node, conn: Connection, interval: int, now: int) -> list[str]:
    """Pinned peers whose last check (or pinning) is at least one interval old."""
    last = check_rows.last_sent(conn)
    due = []
    for peer in peer_rows.list_pinned(conn):
        since = last.get(peer.party, peer.added)
        if now - since >= interval:
            due.append(peer.party)
    return due


def send_due(node: Node, now: int) -> list[Header]:
    """Append a check to every peer that is due one; return the entries appended."""
    with node.store.read() as conn:  # the write lock only when a check is due
        if not due_peers(node, conn, node.policy_in(conn).check_interval_ms, now):
            return []
    with node.store.write() as tx:
        document = node.policy_in(tx)
        due = due_peers(node, tx, document.check_interval_ms, now)
        if not due:
            return []
        headers = node.log.append_in(tx, [check_draft(node, p, document) for p in due], now)
        sent = [(header.seq, peer) for header, peer in zip(headers, due, strict=True)]
        check_rows.insert_checks(tx, sent, now)
    return headers


def acknowledge_due(node: Node, now: int, page: int = ACK_PAGE) -> list[Header]:
    """Acknowledge peers' checks automatically, unless the policy wants an officer to."""
    with node.store.read() as conn:  # the write lock only when the node acknowledges
        if "check" in node.policy_in(conn).human_ack:
            return []
    with node.store.write() as tx:
        drafts, headers = [], []
        for party, seq in clock_rows.unanswered(tx, "check", node.party, page):
            stored = logs.get_entry(tx, party, seq)
            if stored is not None:
                header = parse_header(stored.leaf)
                drafts.append(receipts.automatic_acknowledgement(header, stored.leaf_hash))
        if drafts:
            headers = node.log.append_in(tx, drafts, now)
            receipts.index_own(tx, headers, drafts, now)
    return headers


def run_round(node: Node, now: int) -> int:
    """Send the checks that are due and acknowledge peers' checks; how many entries appended."""
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
        rows = check_rows.latest_checks(conn, limit)
        result = []
        for row in rows:
            stored = logs.get_entry(conn, node.party, row.seq)
            if stored is None:
                continue
            judged = deadlines.judge_stored(node, conn, stored, policy, now, only=[row.peer])
            result.append(
                {
                    "ref": node.ref(row.seq),
                    "peer": row.peer,
                    "sent": row.sent,
                    "witnessed": judged.witnessed,
                    **{c.clock: c.to_dict() for c in judged.clocks},
                }
            )
    return result
