"""Rows of the worker table: which server processes are alive, and which one leads.

The table is for operators (``GET /fed/v1/node/workers``); the election itself rests on the
session-level advisory lock (``WorkerSession``), never on these rows. Heartbeats are shared
state outside any log, written in ``Store.shared`` transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, not_, select, update

from parley.store.engine import Store
from parley.store.schema import workers


@dataclass(frozen=True)
class WorkerRow:
    """One live worker process: its pid, whether it leads, when it started and last beat."""

    pid: int
    leading: bool
    started: int
    heartbeat: int


def record_heartbeat(
    store: Store, host: str, pid: int, started: int, now: int, *, leading: bool, stale_ms: int
) -> None:
    """Record one worker's heartbeat; a leader clears the others' flag; stale rows go."""
    me = and_(workers.c.host == host, workers.c.pid == pid)
    with store.shared() as tx:
        values = {"heartbeat": now, "leading": leading}
        if not tx.execute(update(workers).where(me).values(**values)).rowcount:
            tx.execute(insert(workers).values(host=host, pid=pid, started=started, **values))
        if leading:
            tx.execute(update(workers).where(not_(me)).values(leading=False))
        tx.execute(delete(workers).where(workers.c.heartbeat < now - stale_ms))


def leave(store: Store, host: str, pid: int) -> None:
    """Remove a worker that stops."""
    with store.shared() as tx:
        tx.execute(delete(workers).where(workers.c.host == host, workers.c.pid == pid))


def live(store: Store, since: int) -> list[WorkerRow]:
    """The workers that beat at or after ``since``, the leader first, then by start."""
    with store.read() as conn:
        rows = conn.execute(
            select(workers)
            .where(workers.c.heartbeat >= since)
            .order_by(workers.c.leading.desc(), workers.c.started)
        ).all()
    return [WorkerRow(row.pid, row.leading, row.started, row.heartbeat) for row in rows]
