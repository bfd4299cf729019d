"""Rows of officers and of the audit trail.

Passwords are stored as argon2id hashes only (hashed by ``parley.node.officers`` before they
reach this module); an officer's TOTP secret is kept with the last time step it accepted. Tokens
and sessions are in ``parley.store.access``. The audit trail is append-only: a
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
    disabled: bool
    totp_secret: str | None
    totp_step: int | None


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
    """Insert a new, enabled officer without a second factor."""
    tx.execute(
        insert(officers).values(
            name=name,
            role=role,
            password_hash=password_hash,
            created=now,
            disabled=False,
        )
    )


def set_totp(tx: Writing, name: str, secret: str) -> bool:
    """Give an officer a new TOTP secret (no step accepted yet); whether the officer exists."""
    result = tx.execute(
        update(officers).where(officers.c.name == name).values(totp_secret=secret, totp_step=None)
    )
    return result.rowcount == 1


def set_totp_step(tx: Writing, name: str, step: int) -> None:
    """Remember the last TOTP time step accepted for an officer."""
    tx.execute(update(officers).where(officers.c.name == name).values(totp_step=step))


def set_disabled(tx: Writing, name: str, disabled: bool) -> bool:
    """Deactivate or reactivate an officer; whether the officer exists."""
    result = tx.execute(update(officers).where(officers.c.name == name).values(disabled=disabled))
    return result.rowcount == 1


def find(conn: Connection, name: str) -> OfficerRecord | None:
    """The officer of this name, if any."""
    row = conn.execute(select(officers).where(officers.c.name == name)).first()
    if row is None:
        return None
    return OfficerRecord(
        row.name, row.role, row.password_hash, row.disabled, row.totp_secret, row.totp_step
    )


def listed(conn: Connection) -> list[tuple[str, str, bool, bool]]:
    """Every officer's name, role, whether disabled and whether it has a TOTP factor, by name."""
    rows = conn.execute(
        select(
            officers.c.name, officers.c.role, officers.c.disabled, officers.c.totp_secret
        ).order_by(officers.c.name)
    )
    return [(r.name, r.role, bool(r.disabled), r.totp_secret is not None) for r in rows]


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
