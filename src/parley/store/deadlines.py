"""The store's queries on ``deadline_clocks`` (``parley.node.messaging.deadlines``).

One row per tracked clock: an addressed entry (``entry_party``, ``entry_seq``), an addressee
and a ``clock`` (delivered or acknowledged), with its deadline (``within``, ``due``), its
``state`` and when it was answered, escalated and last checked. Rows are added as entries are
ingested, past a cursor kept in ``meta``; a row's ``state`` only reminds the escalation loop,
views judge every clock again at read time.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, and_, exists, insert, select, update

from parley.store.engine import Writing
from parley.store.logs import entries_after
from parley.store.schema import deadline_clocks, entries, meta, receipts

__all__ = [
    "CURSOR_KEY",
    "ClockKey",
    "ClockKind",
    "ClockState",
    "clocks_in",
    "cursor",
    "due_clocks",
    "entries_after",
    "escalations",
    "has_entries_after",
    "insert_clocks",
    "set_cursor",
    "unanswered",
    "update_clock",
]

CURSOR_KEY = "deadlines.ingest"
ClockKey = tuple[str, int, str, str]  # entry party, entry seq, addressee, clock


class ClockState(StrEnum):
    """The ``state`` of a tracked clock as the escalation loop last recorded it."""

    OPEN = "open"
    MET = "met"
    LATE = "late"
    MISSED = "missed"


class ClockKind(StrEnum):
    """The ``clock`` of a row: which answer it waits for."""

    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"


_c = deadline_clocks.c


def cursor(conn: Connection) -> int:
    """The ingest sequence up to which entries have been tracked (-1 before the first)."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == CURSOR_KEY)).scalar()
    return -1 if value is None else int(value)


def set_cursor(tx: Writing, ingest: int) -> None:
    """Move the tracking cursor to ``ingest`` in the caller's transaction ``tx``."""
    moved = tx.execute(update(meta).where(meta.c.key == CURSOR_KEY).values(value=str(ingest)))
    if moved.rowcount == 0:
        tx.execute(insert(meta).values(key=CURSOR_KEY, value=str(ingest)))


def has_entries_after(conn: Connection, ingest: int) -> bool:
    """Whether any entry was stored after ``ingest``."""
    found = conn.execute(select(entries.c.ingest).where(entries.c.ingest > ingest).limit(1))
    return found.first() is not None


def insert_clocks(tx: Writing, rows: Sequence[dict[str, Any]]) -> None:
    """Add tracked clocks in the caller's transaction ``tx``."""
    if rows:
        tx.execute(insert(deadline_clocks), list(rows))


def due_clocks(conn: Connection, now: int, limit: int, recheck_ms: int) -> list[Row[Any]]:
    """Open clocks due by ``now``, then missed ones not checked in the last ``recheck_ms``."""
    opened = conn.execute(
        select(deadline_clocks)
        .where(_c.state == ClockState.OPEN, _c.due <= now)
        .order_by(_c.due)
        .limit(limit)
    ).fetchall()
    missed = conn.execute(
        select(deadline_clocks)
        .where(_c.state == ClockState.MISSED, _c.checked < now - recheck_ms)
        .order_by(_c.checked)
        .limit(limit)
    ).fetchall()
    return [*opened, *missed]


def update_clock(tx: Writing, key: ClockKey, state: str, values: dict[str, Any]) -> bool:
    """Set ``values`` on clock ``key`` if it is still in ``state``; whether it was."""
    where = and_(
        _c.entry_party == key[0],
        _c.entry_seq == key[1],
        _c.addressee == key[2],
        _c.clock == key[3],
        _c.state == state,
    )
    return tx.execute(update(deadline_clocks).where(where).values(**values)).rowcount == 1


def escalations(conn: Connection, party: str, seq: int, addressee: str) -> dict[str, int | None]:
    """When each of ``addressee``'s clocks on entry ``party:seq`` was escalated (None: never)."""
    found = conn.execute(
        select(_c.clock, _c.escalated).where(
            _c.entry_party == party, _c.entry_seq == seq, _c.addressee == addressee
        )
    )
    return {row.clock: row.escalated for row in found}


def clocks_in(
    conn: Connection,
    states: Sequence[str],
    limit: int,
    *,
    offset: int = 0,
    latest_escalation_first: bool = False,
) -> list[Row[Any]]:
    """Tracked clocks in ``states``: soonest due first, or latest escalated first."""
    order: Any = (
        (_c.escalated.desc(),)
        if latest_escalation_first
        else (_c.due, _c.entry_party, _c.entry_seq, _c.addressee, _c.clock)
    )
    return list(
        conn.execute(
            select(deadline_clocks)
            .where(_c.state.in_(list(states)))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        ).fetchall()
    )


def unanswered(conn: Connection, kind: str, addressee: str, limit: int) -> list[tuple[str, int]]:
    """Entries of ``kind`` whose open acknowledged clock ``addressee`` has not answered."""
    r = receipts.c
    answered = exists().where(
        r.entry_party == _c.entry_party,
        r.entry_seq == _c.entry_seq,
        r.by_party == addressee,
        r.type == ClockKind.ACKNOWLEDGED,
    )
    rows = conn.execute(
        select(_c.entry_party, _c.entry_seq)
        .where(
            _c.kind == kind,
            _c.addressee == addressee,
            _c.clock == ClockKind.ACKNOWLEDGED,
            _c.state == ClockState.OPEN,
            ~answered,
        )
        .limit(limit)
    ).fetchall()
    return [(row.entry_party, row.entry_seq) for row in rows]
