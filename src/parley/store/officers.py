"""Rows of officers and of the audit trail.

Passwords and script tokens are stored as argon2id hashes only (hashed by
``parley.node.officers`` before they reach this module). The audit trail is append-only: a
line is never updated or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import audit, officers


class Outcome(StrEnum):
    """What an attempt recorded in the audit trail came to."""

    OK = "ok"
    REFUSED = "refused"


@dataclass(frozen=True)
class OfficerRecord:
    """An officer's row: name, role, credential hashes and whether it is disabled."""

    name: str
    role: str
    password_hash: str
    token_hash: str | None
    disabled: bool


@dataclass(frozen=True)
class AuditLine:
    """One line of the audit trail, its detail as the JSON text it was stored as."""

    time: int
    officer: str
    action: str
    detail: str
    outcome: Outcome


def exists(conn: Connection, name: str) -> bool:
    """Whether an officer of this name exists (disabled or not)."""
    return conn.execute(select(officers.c.name).where(officers.c.name == name)).first() is not None


def add(tx: Writing, name: str, role: str, password_hash: str, now: int) -> None:
    """Insert a new, enabled officer without a token."""
    tx.execute(
        insert(officers).values(
            name=name,
            role=role,
            password_hash=password_hash,
            token_hash=None,
            created=now,
            disabled=False,
        )
    )


def set_token_hash(tx: Writing, name: str, token_hash: str) -> bool:
    """Replace an officer's token hash; whether the officer exists."""
    result = tx.execute(
        update(officers).where(officers.c.name == name).values(token_hash=token_hash)
    )
    return result.rowcount == 1


def find(conn: Connection, name: str) -> OfficerRecord | None:
    """The officer of this name, if any."""
    row = conn.execute(select(officers).where(officers.c.name == name)).first()
    if row is None:
        return None
    return OfficerRecord(row.name, row.role, row.password_hash, row.token_hash, row.disabled)


def listed(conn: Connection) -> list[tuple[str, str]]:
    """Every officer's name and role, by name."""
    rows = conn.execute(select(officers.c.name, officers.c.role).order_by(officers.c.name))
    return [(r.name, r.role) for r in rows]


def append_audit(tx: Writing, line: AuditLine) -> None:
    """Add one line to the audit trail."""
    tx.execute(
        insert(audit).values(
            time=line.time,
            officer=line.officer,
            action=line.action,
            detail=line.detail,
            outcome=line.outcome,
        )
    )


def audit_lines(conn: Connection, limit: int) -> list[AuditLine]:
    """The newest lines of the audit trail, newest first."""
    rows = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(limit))
    return [AuditLine(r.time, r.officer, r.action, r.detail, Outcome(r.outcome)) for r in rows]
