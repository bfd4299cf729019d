"""The store's queries on ``communication_checks`` (``parley.node.messaging.checks``).

One row per check entry this node sent: its seq, the peer it was sent to and when.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from parley.store.engine import Writing
from parley.store.schema import communication_checks

__all__ = ["insert_checks", "last_sent", "latest_checks"]


def last_sent(conn: Connection) -> dict[str, int]:
    """When this node last sent a check to each peer it ever checked."""
    rows = conn.execute(
        select(communication_checks.c.peer, func.max(communication_checks.c.sent)).group_by(
            communication_checks.c.peer
        )
    ).all()
    return {peer: int(sent) for peer, sent in rows}


def insert_checks(tx: Writing, sent: list[tuple[int, str]], now: int) -> None:
    """Record checks ``(seq, peer)`` appended at ``now`` in the caller's transaction ``tx``."""
    if sent:
        tx.execute(
            insert(communication_checks),
            [{"seq": seq, "peer": peer, "sent": now} for seq, peer in sent],
        )


def latest_checks(conn: Connection, limit: int) -> list[Row[Any]]:
    """The latest ``limit`` checks sent, newest first."""
    return list(
        conn.execute(
            select(communication_checks).order_by(communication_checks.c.seq.desc()).limit(limit)
        ).fetchall()
    )
