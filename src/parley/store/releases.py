"""Rows of pending releases: notifications prepared by one officer, waiting for a second.

A row is inserted pending; it leaves that state once, to ``released`` (with the ref of the entry
its release signed, in the same transaction) or to ``withdrawn``. The state changes only from
``pending`` (``WHERE state = 'pending'``), so two officers releasing at once cannot both sign it:
the second finds nothing to change. None of this is in any log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import pending_releases

__all__ = [
    "PendingRow",
    "ReleaseState",
    "add",
    "exists",
    "find",
    "listed",
    "mark_released",
    "mark_withdrawn",
]


class ReleaseState(StrEnum):
    """Where a pending release is: waiting, released (signed) or withdrawn (never signed)."""

    PENDING = "pending"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class PendingRow:
    """A pending release as stored; ``request`` is JSON text (fields, audience, TLP)."""

    id: str
    created: int
    prepared_by: str
    prepared_role: str
    category: str
    status: str
    request: str
    state: ReleaseState
    released_by: str | None = None
    released_role: str | None = None
    released_at: int | None = None
    break_glass_reason: str | None = None
    ref: str | None = None
    withdrawn_by: str | None = None
    withdrawn_at: int | None = None


def _row(found: Row[Any]) -> PendingRow:
    values = found._asdict()
    return PendingRow(**values | {"state": ReleaseState(values["state"])})


def exists(conn: Connection, identifier: str) -> bool:
    """Whether a pending release of this id exists, in any state."""
    found = conn.execute(
        select(pending_releases.c.id).where(pending_releases.c.id == identifier)
    ).first()
    return found is not None


def add(tx: Writing, row: PendingRow) -> None:
    """Insert a new pending release."""
    tx.execute(
        insert(pending_releases).values(
            id=row.id,
            created=row.created,
            prepared_by=row.prepared_by,
            prepared_role=row.prepared_role,
            category=row.category,
            status=row.status,
            request=row.request,
            state=ReleaseState.PENDING.value,
        )
    )


def find(conn: Connection, identifier: str) -> PendingRow | None:
    """The pending release ``identifier``, in whatever state it is."""
    found = conn.execute(
        select(pending_releases).where(pending_releases.c.id == identifier)
    ).first()
    return None if found is None else _row(found)


def listed(conn: Connection, state: ReleaseState | None, limit: int) -> list[PendingRow]:
    """Pending releases of one state (every state when None), newest first."""
    query = select(pending_releases).order_by(
        pending_releases.c.created.desc(), pending_releases.c.id
    )
    if state is not None:
        query = query.where(pending_releases.c.state == state.value)
    return [_row(found) for found in conn.execute(query.limit(limit))]


def mark_released(
    tx: Writing,
    identifier: str,
    *,
    officer: str,
    role: str,
    at: int,
    ref: str,
    break_glass_reason: str | None,
) -> bool:
    """Record the release of a pending release and the ref it signed; False if not pending."""
    result = tx.execute(
        update(pending_releases)
        .where(
            pending_releases.c.id == identifier,
            pending_releases.c.state == ReleaseState.PENDING.value,
        )
        .values(
            state=ReleaseState.RELEASED.value,
            released_by=officer,
            released_role=role,
            released_at=at,
            ref=ref,
            break_glass_reason=break_glass_reason,
        )
    )
    return result.rowcount == 1


def mark_withdrawn(tx: Writing, identifier: str, *, officer: str, at: int) -> bool:
    """Withdraw a pending release (it is never signed); False if it is not pending."""
    result = tx.execute(
        update(pending_releases)
        .where(
            pending_releases.c.id == identifier,
            pending_releases.c.state == ReleaseState.PENDING.value,
        )
        .values(state=ReleaseState.WITHDRAWN.value, withdrawn_by=officer, withdrawn_at=at)
    )
    return result.rowcount == 1
