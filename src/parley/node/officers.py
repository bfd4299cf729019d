"""Officers, their roles and the audit trail.

An officer authenticates with a password (argon2id hash) or a script token. A token is
``NAME.SECRET``; only an argon2id hash of the secret is stored. Every command that acts for a
person names and authenticates the officer, and lands in the audit trail, refused attempts too.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update

from parley.core.errors import ConflictError, InvalidEntryError, NotAuthorizedError
from parley.store.engine import Store
from parley.store.schema import audit, officers

ROLES = ("duty-officer", "analyst", "admin", "observer")
NAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Officer:
    name: str
    role: str

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise NotAuthorizedError(
                f"officer {self.name} ({self.role}) may not do this; it needs {' or '.join(roles)}"
            )


def add_officer(store: Store, name: str, role: str, password: str, now: int) -> Officer:
    if not NAME_RE.match(name):
        raise InvalidEntryError(
            f"officer name {name!r} is not valid",
            hint="2-64 characters: lower-case letters, digits, '.', '_' or '-'",
        )
    if role not in ROLES:
        raise InvalidEntryError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InvalidEntryError(f"password: at least {MIN_PASSWORD} characters")
    with store.write() as conn:
        if conn.execute(select(officers.c.name).where(officers.c.name == name)).first():
            raise ConflictError(f"officer {name} already exists")
        conn.execute(
            insert(officers).values(
                name=name, role=role, password_hash=_hasher.hash(password), token_hash=None,
                created=now, disabled=False,
            )  # fmt: skip
        )
    return Officer(name, role)


def issue_token(store: Store, name: str) -> str:
    secret = secrets.token_urlsafe(32)
    with store.write() as conn:
        result = conn.execute(
            update(officers)
            .where(officers.c.name == name)
            .values(token_hash=_hasher.hash(secret))
        )
        if result.rowcount != 1:
            raise NotAuthorizedError(f"no officer named {name}")
    return f"{name}.{secret}"


def authenticate(
    store: Store, name: str | None, *, password: str | None = None, token: str | None = None
) -> Officer:
    """Check a password or token; raise ``NotAuthorizedError`` with the same words for both."""
    secret, field = password, "password_hash"
    if token is not None:
        token_name, _, secret = token.partition(".")
        if name is not None and token_name != name:
            raise NotAuthorizedError("the token belongs to another officer")
        name, field = token_name, "token_hash"
    if not name or not secret:
        raise NotAuthorizedError(
            "no officer credentials given",
            hint="pass --as NAME (or PARLEY_USER) with PARLEY_PASSWORD or PARLEY_TOKEN",
        )
    with store.read() as conn:
        row = conn.execute(select(officers).where(officers.c.name == name)).first()
    stored = None if row is None or row.disabled else getattr(row, field)
    try:
        if stored is None:
            raise VerifyMismatchError
        _hasher.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
        raise NotAuthorizedError(f"authentication failed for officer {name}") from exc
    assert row is not None  # noqa: S101 - stored is None otherwise
    return Officer(row.name, row.role)


def list_officers(store: Store) -> list[Officer]:
    with store.read() as conn:
        rows = conn.execute(select(officers.c.name, officers.c.role).order_by(officers.c.name))
        return [Officer(r.name, r.role) for r in rows]


def record(
    store: Store, officer: str, action: str, detail: dict[str, Any], outcome: str, now: int
) -> None:
    """Write one line of the audit trail (its own transaction: refusals are kept too)."""
    with store.write() as conn:
        conn.execute(
            insert(audit).values(
                time=now, officer=officer, action=action,
                detail=orjson.dumps(detail).decode(), outcome=outcome,
            )  # fmt: skip
        )


def audit_trail(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(limit))
        return [
            {"time": r.time, "officer": r.officer, "action": r.action,
             "detail": orjson.loads(r.detail), "outcome": r.outcome}
            for r in rows
        ]  # fmt: skip
