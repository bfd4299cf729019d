"""Deadline clocks of a node: which entries it tracks, how it judges them, and escalation.

DESIGN.md, "Deadlines, time and compliance"; docs/protocol.md §11; the judgement itself is
``parley.core.deadlines`` (pure). This module gathers what it needs from the store:

* **Classes.** An entry's deadline class is its notification category's class
  (``parley.node.policies.deadline_class``), ``inquiry`` for a reply, else its kind. The bounds
  a peer's entry must keep are those of the policy its header names (``ingest_breach``); a
  breach is handled like a quota breach (stored header-only, flag ``deadline-bounds``, no
  receipt, a ``policy-breach`` observation). Only a held body can be checked: the header
  carries no category.
* **Answers.** A ``delivered`` receipt answers the delivered clock; an ``acknowledged`` receipt
  the acknowledged clock, except for an ``inquiry``, whose acknowledged clock (its reply-within)
  only a ``reply`` entry of the addressee naming it (ref and leaf hash) answers. An
  ``assistance`` offer or request is also answered by the addressee's ``accept`` or ``decline``
  naming it in ``refers_to`` (``parley.core.deadlines.answers_acknowledgement``). A receipt
  that names another leaf hash answers nothing.
* **Tracking.** Every addressed entry this node writes, and every peer's entry addressed to it
  that it holds with its body, gets one ``deadline_clocks`` row per addressee and per clock the
  entry states a deadline for. Entries are found by the local ingest sequence from a cursor in
  ``meta``, a bounded page per round.
* **Escalation.** A clock whose due time has passed with no answer is escalated once: its row
  becomes ``missed`` with the time, a ``deadline.missed`` webhook is queued in the same
  transaction, and the caller re-announces this node's checkpoint to the late peer (and pulls
  from it). A late answer later turns the row ``late`` (``deadline.late`` webhook). The due
  time is the entry's witnessed time plus the deadline once witnessed, the claimed time until
  then, so an escalation never waits for witnesses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Connection

from parley.core import deadlines as clocks
from parley.core.entry import ADDRESSED_KINDS, ALL, Body, Header, parse_header, parse_ref
from parley.core.errors import NotFoundError, ParleyError
from parley.core.policy import PolicyDocument
from parley.node import webhooks
from parley.node.messaging import receipts
from parley.node.node import Node, now_ms
from parley.node.policies import deadline_class
from parley.node.witnessed import witnessed_time
from parley.store import deadlines as clock_rows
from parley.store import inbox as entry_rows
from parley.store import logs
from parley.store import receipts as receipt_rows
from parley.store.deadlines import ClockKey, ClockState
from parley.store.engine import Writing
from parley.store.entries import EntryFlag

REQUIRED_KINDS = frozenset({"hotline", "inquiry", "check"})  # their schemas require deadlines
KIND_CLASSES = {"reply": "inquiry"}
TRACK_PAGE = 500
JUDGE_PAGE = 100
ROUND_S = 1.0
OPEN, MET, LATE, MISSED = ClockState.OPEN, ClockState.MET, ClockState.LATE, ClockState.MISSED
RECHECK_MS = 5000  # how often a missed clock is judged again, for a late answer

log = logging.getLogger("parley.deadlines")


def deadline_class_of(kind: str, body: Any) -> str:
    """The policy's deadline class of an entry of ``kind`` with ``body``."""
    if kind == "notification":
        category = body.get("category") if isinstance(body, dict) else None
        return deadline_class(category) if isinstance(category, str) else "other"
    return KIND_CLASSES.get(kind, kind)


def ingest_breach(
    policy: PolicyDocument | None, header: Header, body: Body | None
) -> tuple[EntryFlag, str] | None:
    """``(flag, reason)`` if a peer's addressed entry states deadlines the policy forbids."""
    if policy is None or body is None or header.kind not in ADDRESSED_KINDS:
        return None
    try:
        value = body.value()
    except ParleyError:
        return EntryFlag.DEADLINE_BOUNDS, f"{header.ref}: its body is not canonical JSON"
    stated = value.get("deadlines") if isinstance(value, dict) else None
    name = deadline_class_of(header.kind, value)
    reason = clocks.bounds_breach(policy, name, stated, required=header.kind in REQUIRED_KINDS)
    return None if reason is None else (EntryFlag.DEADLINE_BOUNDS, f"{header.ref}: {reason}")


def addressees(header: Header, members: Sequence[str]) -> list[str]:
    """Who owes answers to an entry: its named audience, or every member for ALL; not its author."""
    named = members if header.audience == ALL else header.audience
    return sorted({party for party in named if party != header.party})


def body_value(stored: logs.StoredEntry) -> Any:
    """The body of a stored entry, or None when this node does not hold it."""
    if stored.body is None or stored.salt is None:
        return None
    return Body(stored.salt, stored.body).value()


def stated_deadlines(value: Any) -> dict[str, int | None]:
    """The deadline (ms) a body states for each clock; None where it states none."""
    stated = value.get("deadlines") if isinstance(value, dict) else None
    return {clock: clocks.within(stated, clock) for clock in clocks.CLOCKS}


# Gathering the facts a judgement needs ----------------------------------------------------


def _stamp(
    node: Node, conn: Connection, party: str, seq: int, claimed: int, policy: PolicyDocument
) -> clocks.Stamp:
    return clocks.Stamp(claimed, witnessed_time(node, conn, party, seq, policy))


def receipt_answers(
    node: Node, conn: Connection, stored: logs.StoredEntry, header: Header, policy: PolicyDocument
) -> list[clocks.Answer]:
    """The receipts of an entry that answer a clock (an inquiry's acknowledgements do not)."""
    found = []
    for row in receipt_rows.for_entry(conn, header.party, header.seq):
        if row.leaf_hash != stored.leaf_hash:
            continue
        if row.type == clocks.ACKNOWLEDGED and header.kind in clocks.ANSWER_ONLY_KINDS:
            continue
        stamp = _stamp(node, conn, row.by_party, row.receipt_seq, row.claimed, policy)
        found.append(
            clocks.Answer(row.by_party, row.type, f"{row.by_party}:{row.receipt_seq}", stamp)
        )
    return found


def entry_answers(
    node: Node,
    conn: Connection,
    stored: logs.StoredEntry,
    header: Header,
    parties: Sequence[str],
    policy: PolicyDocument,
) -> list[clocks.Answer]:
    """Entries of ``parties`` that answer ``header``'s acknowledged clock, naming it exactly.

    A reply to an inquiry; an acceptance or a refusal of an assistance offer or request
    (``parley.core.deadlines.answers_acknowledgement``).
    """
    rule = clocks.ACKNOWLEDGING_ENTRIES.get(header.kind)
    if rule is None or not parties:
        return []
    rows = entry_rows.entries_of_kinds(
        conn, [rule[0]], parties=parties, since=header.time, with_body=True, in_log_order=True
    )
    found = []
    for row in rows:
        value = body_value(row)
        if clocks.answers_acknowledgement(
            header.kind, row.kind, value, header.ref, stored.leaf_hash.hex()
        ):
            stamp = _stamp(node, conn, row.party, row.seq, row.time, policy)
            found.append(
                clocks.Answer(row.party, clocks.ACKNOWLEDGED, f"{row.party}:{row.seq}", stamp)
            )
    return found


@dataclass(frozen=True)
class EntryClocks:
    """An entry with every addressee's clocks, as this node judges them at ``now``."""

    header: Header
    witnessed: int | None
    clocks: list[clocks.Clock]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the entry and its judged clocks."""
        return {
            "ref": self.header.ref,
            "kind": self.header.kind,
            "claimed": self.header.time,
            "witnessed": self.witnessed,
            "clocks": [c.to_dict() for c in self.clocks],
        }


def judge_stored(
    node: Node,
    conn: Connection,
    stored: logs.StoredEntry,
    policy: PolicyDocument,
    now: int,
    only: Sequence[str] | None = None,
) -> EntryClocks:
    """Judge every clock (or those of the addressees ``only``) of a held entry."""
    header = parse_header(stored.leaf)
    members = [m.party for m in policy.members]
    parties = addressees(header, members) if only is None else list(only)
    entry = _stamp(node, conn, header.party, header.seq, header.time, policy)
    answers = receipt_answers(node, conn, stored, header, policy)
    answers += entry_answers(node, conn, stored, header, parties, policy)
    judged = clocks.judge(
        entry, stated_deadlines(body_value(stored)), parties, answers, now, policy.skew_tolerance_ms
    )
    return EntryClocks(header, entry.witnessed, judged)


def entry_clocks(node: Node, ref: str, now: int, only: Sequence[str] | None = None) -> EntryClocks:
    """Every addressee's clocks on entry ``ref`` (or those of ``only``): ``parley receipts``."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
        if stored is None:
            raise NotFoundError(f"entry {ref} is not held by this node")
        return judge_stored(node, conn, stored, node.policy_in(conn), now, only)


# Tracking ---------------------------------------------------------------------------------


def _tracked_rows(
    node: Node, stored: logs.StoredEntry, members: Sequence[str], now: int
) -> list[dict[str, Any]]:
    if stored.flag is not None or stored.body is None:
        return []
    header = parse_header(stored.leaf)
    if header.party == node.party:
        parties = addressees(header, members)
    elif receipts.addressed_to(header, node.party):
        parties = [node.party]
    else:
        return []
    stated = stated_deadlines(body_value(stored))
    return [
        {
            "entry_party": header.party,
            "entry_seq": header.seq,
            "addressee": party,
            "clock": clock,
            "kind": header.kind,
            "within": within,
            "due": min(header.time + within, clocks.MAX_MS),
            "state": OPEN,
            "answered": None,
            "escalated": None,
            "checked": now,
        }
        for party in parties
        for clock, within in stated.items()
        if within is not None
    ]


def track_new(node: Node, tx: Writing, now: int, page: int = TRACK_PAGE) -> list[Header]:
    """Add clock rows for the next ``page`` entries after the cursor; return those entries."""
    rows = clock_rows.entries_after(tx, clock_rows.cursor(tx), page)
    if not rows:
        return []
    members = [m.party for m in node.policy_in(tx).members]
    fresh: list[dict[str, Any]] = []
    seen: list[Header] = []
    for row in rows:
        if row.kind not in ADDRESSED_KINDS:
            continue
        tracked = _tracked_rows(node, row, members, now)
        if tracked:
            fresh.extend(tracked)
            seen.append(parse_header(row.leaf))
    clock_rows.insert_clocks(tx, fresh)
    clock_rows.set_cursor(tx, rows[-1].ingest)
    return seen


# Escalation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What a round decided about one tracked clock."""

    key: ClockKey
    state: str  # the row's state before
    clock: clocks.Clock


def _judge_rows(node: Node, rows: Sequence[Any], now: int) -> list[Verdict]:
    verdicts = []
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        for row in rows:
            stored = logs.get_entry(conn, row.entry_party, row.entry_seq)
            if stored is None:
                continue
            judged = judge_stored(node, conn, stored, policy, now, only=[row.addressee])
            (clock,) = [c for c in judged.clocks if c.clock == row.clock]
            key = (row.entry_party, row.entry_seq, row.addressee, row.clock)
            verdicts.append(Verdict(key, row.state, clock))
    return verdicts


def _event(key: ClockKey, kind: str, clock: clocks.Clock) -> dict[str, Any]:
    return {
        "entry": f"{key[0]}:{key[1]}",
        "kind": kind,
        "addressee": key[2],
        "clock": key[3],
        "within": clock.within,
        "due": clock.due,
        "late_by": clock.late_by,
        "witnessed": clock.witnessed,
    }


def _apply(node: Node, tx: Writing, verdict: Verdict, kind: str, now: int) -> bool:
    """Record one verdict; True when it escalated a clock just now."""
    key, clock = verdict.key, verdict.clock
    values: dict[str, Any] = {"checked": now}
    event = None
    if clock.state == clocks.PENDING and clock.due is not None:
        values["due"] = clock.due
    elif clock.state in (clocks.MET, clocks.LATE) and clock.answer is not None:
        values |= {"state": clock.state, "answered": clock.answer.stamp.best}
        late = clock.state == clocks.LATE and verdict.state == MISSED
        event = "deadline.late" if late else None
    elif clock.state == clocks.MISSED and verdict.state == OPEN:
        values |= {"state": MISSED, "escalated": now}
        event = "deadline.missed"
    changed = clock_rows.update_clock(tx, key, verdict.state, values)
    if changed and event is not None:
        webhooks.emit(tx, node.party, event, _event(key, kind, clock), now)
    return changed and event == "deadline.missed"


def escalate_due(node: Node, now: int, page: int = JUDGE_PAGE) -> list[str]:
    """One round: judge the clocks that came due; escalate misses; return the late peers."""
    with node.store.read() as conn:
        rows = clock_rows.due_clocks(conn, now, page, RECHECK_MS)
    if not rows:
        return []
    kinds = {(r.entry_party, r.entry_seq, r.addressee, r.clock): r.kind for r in rows}
    verdicts = _judge_rows(node, rows, now)
    late: list[str] = []
    with node.store.write() as tx:
        for verdict in verdicts:
            if _apply(node, tx, verdict, kinds[verdict.key], now):
                party = verdict.key[2]
                if party != node.party and party not in late:
                    late.append(party)
    return late


def run_round(node: Node, now: int) -> list[str]:
    """Track new entries, then escalate what came due; return the peers to re-announce to."""
    with node.store.read() as conn:  # the write lock only when there is work
        has_new = clock_rows.has_entries_after(conn, clock_rows.cursor(conn))
    if has_new:
        with node.store.write() as tx:
            track_new(node, tx, now)
    return escalate_due(node, now)


async def run(node: Node, reannounce: Callable[[str], None], interval_s: float = ROUND_S) -> None:
    """The server's deadline loop: a bounded round every ``interval_s`` seconds."""
    while True:
        try:
            for party in await anyio.to_thread.run_sync(run_round, node, now_ms()):
                reannounce(party)
        except Exception:  # noqa: BLE001 - the loop must survive anything; rows show state
            log.exception("deadline round failed")
        await asyncio.sleep(interval_s)
