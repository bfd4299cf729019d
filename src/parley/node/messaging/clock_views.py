"""What officers see of the deadline clocks: each judged at read time, never from a stored row.

DESIGN.md, "Services and edges". Every view (``parley status``, the inbox, ``parley receipts``,
``hotline log``) judges a clock at read time with ``running_clocks`` / ``judge_stored``
(``parley.node.messaging.deadlines``): a stored ``open`` row is only a reminder for the
escalation loop, never the truth shown to an officer, so an answer closes its clock everywhere
the moment its receipt (or reply) is stored.

* ``open_clocks``: tracked clocks still running, soonest due first (``parley status``).
* ``tracked``: tracked clocks in given states, e.g. the missed and late ones.
* ``running_clocks`` and ``addressee_clocks``: the clocks of one held entry.
* ``receipt_report``: each addressee's receipts of one entry with its clocks
  (``parley receipts``), optionally once every addressee has delivered or acknowledged it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core import deadlines as clocks
from parley.core.entry import Header, parse_header
from parley.core.policy import PolicyDocument
from parley.node.messaging import receipts
from parley.node.messaging.deadlines import (
    JUDGE_PAGE,
    OPEN,
    EntryClocks,
    entry_clocks,
    judge_stored,
)
from parley.node.node import Node, now_ms
from parley.store import deadlines as clock_rows
from parley.store import logs

__all__ = [
    "ReceiptReport",
    "addressee_clocks",
    "open_clocks",
    "receipt_report",
    "running",
    "running_clocks",
    "tracked",
]


def running(judged: EntryClocks) -> list[clocks.Clock]:
    """The clocks of ``judged`` still running: a deadline stated and no answer yet.

    Pending ones have time left; missed ones are overdue (escalated or about to be).
    """
    return [c for c in judged.clocks if c.within is not None and c.answer is None]


def running_clocks(
    node: Node,
    conn: Connection,
    stored: logs.StoredEntry,
    policy: PolicyDocument,
    now: int,
    only: Sequence[str] | None = None,
) -> list[clocks.Clock]:
    """The running clocks of a held entry (of the addressees ``only``): the one judgement."""
    return running(judge_stored(node, conn, stored, policy, now, only))


def addressee_clocks(
    node: Node,
    conn: Connection,
    stored: logs.StoredEntry,
    policy: PolicyDocument,
    now: int,
    party: str,
) -> list[dict[str, Any]]:
    """``party``'s clocks on a held entry judged at ``now``, each with when it was escalated."""
    header = parse_header(stored.leaf)
    escalated = clock_rows.escalations(conn, header.party, header.seq, party)
    judged = judge_stored(node, conn, stored, policy, now, [party]).clocks
    return [
        c.to_dict() | {"escalated": escalated.get(c.clock)} for c in judged if c.within is not None
    ]


def _row_view(row: Any, clock: clocks.Clock | None, now: int) -> dict[str, Any]:
    state = row.state if clock is None else (OPEN if clock.state == clocks.PENDING else clock.state)
    due = row.due if clock is None or clock.due is None else clock.due
    answered = row.answered
    if clock is not None and clock.answer is not None:
        answered = clock.answer.stamp.best
    return {
        "entry": f"{row.entry_party}:{row.entry_seq}",
        "kind": row.kind,
        "addressee": row.addressee,
        "clock": row.clock,
        "within": row.within,
        "due": due,
        "state": state,
        "remaining": due - now,
        "answered": answered,
        "escalated": row.escalated,
    }


def _judge_page(
    node: Node, conn: Connection, rows: Sequence[Any], policy: PolicyDocument, now: int
) -> list[tuple[Any, clocks.Clock | None]]:
    """Each tracked row with its clock judged now (None if the entry is no longer held)."""
    by_entry: dict[tuple[str, int], list[Any]] = {}
    for row in rows:
        by_entry.setdefault((row.entry_party, row.entry_seq), []).append(row)
    judged: dict[tuple[str, int, str, str], clocks.Clock] = {}
    for (party, seq), group in by_entry.items():
        stored = logs.get_entry(conn, party, seq)
        if stored is None:
            continue
        parties = sorted({row.addressee for row in group})
        for clock in judge_stored(node, conn, stored, policy, now, parties).clocks:
            judged[(party, seq, clock.party, clock.clock)] = clock
    return [
        (row, judged.get((row.entry_party, row.entry_seq, row.addressee, row.clock)))
        for row in rows
    ]


def open_clocks(node: Node, now: int, limit: int = 100) -> list[dict[str, Any]]:
    """Tracked clocks still running at ``now``, soonest due first: answered ones are left out.

    ``state`` is ``open`` with time left or ``missed`` once overdue; ``remaining`` is
    ``due - now`` (negative when overdue).
    """
    shown: list[dict[str, Any]] = []
    offset = 0
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        while len(shown) < limit:
            rows = clock_rows.clocks_in(conn, [OPEN], JUDGE_PAGE, offset=offset)
            if not rows:
                break
            offset += len(rows)
            for row, clock in _judge_page(node, conn, rows, policy, now):
                if clock is not None and clock.within is not None and clock.answer is None:
                    shown.append(_row_view(row, clock, now))
    return shown[:limit]


def tracked(
    node: Node, states: Sequence[str], limit: int = 100, now: int | None = None
) -> list[dict[str, Any]]:
    """Tracked clocks in ``states`` (soonest due first for open, latest escalation first else).

    With ``now``, each row's state is judged again at ``now`` (a missed clock answered since
    the last round shows ``late``).
    """
    latest_first = list(states) != [OPEN]
    with node.store.read() as conn:
        rows = clock_rows.clocks_in(conn, states, limit, latest_escalation_first=latest_first)
        if now is None:
            return [_row_view(row, None, row.due) for row in rows]
        return [
            _row_view(row, clock, now)
            for row, clock in _judge_page(node, conn, rows, node.policy_in(conn), now)
        ]


@dataclass(frozen=True)
class ReceiptReport:
    """An entry's addressees with their receipts and clocks, as ``parley receipts`` shows them.

    ``reached`` is False when a wait for every addressee to reach a status ran out first.
    """

    header: Header
    addressees: list[receipts.AddresseeStatus]
    judged: EntryClocks
    reached: bool = True

    def clock(self, party: str, clock: str) -> dict[str, Any] | None:
        """``party``'s ``clock`` on the entry, judged; None where it has none."""
        for found in self.judged.clocks:
            if (found.party, found.clock) == (party, clock):
                return found.to_dict()
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``parley receipts --json``."""
        return {
            "ref": self.header.ref,
            "kind": self.header.kind,
            "time": self.header.time,
            "witnessed": self.judged.witnessed,
            "addressees": [
                row.to_dict() | {"clocks": {c: self.clock(row.party, c) for c in clocks.CLOCKS}}
                for row in self.addressees
            ],
        }


def receipt_report(
    node: Node,
    ref: str,
    *,
    until: str | None = None,
    timeout_s: float | None = None,
    clearance: frozenset[str] | None = None,
) -> ReceiptReport:
    """Entry ``ref``'s receipts and clocks; with ``timeout_s``, once all reached ``until``.

    Reply texts are withheld from a reader whose ``clearance`` does not cover the entry's TLP.
    """
    reached = True
    if timeout_s is None:
        header, rows = receipts.status(node, ref, clearance=clearance)
    else:
        header, rows, reached = receipts.await_status(
            node, ref, until or "delivered", timeout_s, clearance=clearance
        )
    return ReceiptReport(header, rows, entry_clocks(node, ref, now_ms()), reached)
