"""Rows of the live events that are not log entries.

Escalations, break-glass releases and peer alerts reach the live stream from here; notifications,
receipts and hotline messages come from ``entries`` by the local ingest sequence. Every write
transaction holds the single-writer lock, so ids grow in commit order and a reader that resumes
after id N misses nothing. On PostgreSQL the insert trigger of migration 0008 sends
``NOTIFY parley_live``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select

from parley.store.engine import Writing
from parley.store.schema import live_events


@dataclass(frozen=True)
class LiveRow:
    """One live event as stored: ``data`` is JSON text; ``officer`` is None for everyone."""

    id: int
    time: int
    kind: str
    officer: str | None
    data: str


def add(tx: Writing, time: int, kind: str, data: str, officer: str | None = None) -> None:
    """Store one live event."""
    tx.execute(insert(live_events).values(time=time, kind=kind, officer=officer, data=data))


def after(conn: Connection, after_id: int, limit: int) -> list[LiveRow]:
    """Live events past ``after_id``, oldest first."""
    rows = conn.execute(
        select(live_events)
        .where(live_events.c.id > after_id)
        .order_by(live_events.c.id)
        .limit(limit)
    )
    return [LiveRow(r.id, r.time, r.kind, r.officer, r.data) for r in rows]


def last_id(conn: Connection) -> int:
    """The id of the newest live event (0: none yet)."""
    return int(conn.execute(select(func.coalesce(func.max(live_events.c.id), 0))).scalar_one())
