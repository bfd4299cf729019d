"""Officers, their roles and the audit trail.

An officer authenticates with a password (argon2id hash) or a script token. A token is
``NAME.SECRET``; only an argon2id hash of the secret is stored. Every command that acts for a
person names and authenticates the officer, and lands in the audit trail, refused attempts too.

The audit trail is true: an ``Attempt`` is recorded once, with the outcome the action really had.
A refusal is recorded with its reason and the outcome ``refused``, whether it came before
authentication (a bad argument, a non-member party), at it (bad password or token, unknown or
disabled officer, wrong role) or after it (an unknown role for ``user add``, a policy bound); an
action that completed is recorded ``ok`` only once it has completed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from parley.core.errors import ConflictError, InvalidEntryError, NotAuthorizedError
from parley.store import officers as rows
from parley.store.engine import Store
from parley.store.officers import AuditLine, Outcome

ROLES = ("duty-officer", "analyst", "admin", "observer")
OK, REFUSED = Outcome.OK, Outcome.REFUSED
UNNAMED = "?"  # no officer was named (a first 'user add', a command run without --as)
NAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Officer:
    """An authenticated officer and the role it acts in."""

    name: str
    role: str

    def require(self, *roles: str) -> None:
        """Refuse unless this officer holds one of ``roles``."""
        if self.role not in roles:
            raise NotAuthorizedError(
                f"officer {self.name} ({self.role}) may not do this; it needs {' or '.join(roles)}"
            )


def add_officer(store: Store, name: str, role: str, password: str, now: int) -> Officer:
    """Create an officer after checking its name, role and password length."""
    if not NAME_RE.match(name):
        raise InvalidEntryError(
            f"officer name {name!r} is not valid",
            hint="2-64 characters: lower-case letters, digits, '.', '_' or '-'",
        )
    if role not in ROLES:
        raise InvalidEntryError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InvalidEntryError(f"password: at least {MIN_PASSWORD} characters")
    with store.write() as tx:
        if rows.exists(tx, name):
            raise ConflictError(f"officer {name} already exists")
        rows.add(tx, name, role, _hasher.hash(password), now)
    return Officer(name, role)


def issue_token(store: Store, name: str) -> str:
    """A new script token ``NAME.SECRET`` for an officer; it replaces the previous one."""
    secret = secrets.token_urlsafe(32)
    with store.write() as tx:
        if not rows.set_token_hash(tx, name, _hasher.hash(secret)):
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
        row = rows.find(conn, name)
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
    """Every officer, by name."""
    with store.read() as conn:
        return [Officer(name, role) for name, role in rows.listed(conn)]


def record(
    store: Store, officer: str, action: str, detail: dict[str, Any], outcome: str, now: int
) -> None:
    """Write one line of the audit trail (its own transaction: refusals are kept too)."""
    line = AuditLine(now, officer, action, orjson.dumps(detail).decode(), Outcome(outcome))
    with store.write() as tx:
        rows.append_audit(tx, line)


def refuse(
    store: Store, officer: str | None, action: str, detail: dict[str, Any], reason: str, now: int
) -> None:
    """Record a refused attempt with its reason (outcome ``refused``)."""
    record(store, officer or UNNAMED, action, detail | {"reason": reason}, REFUSED, now)


def authorise(
    store: Store,
    name: str | None,
    action: str,
    detail: dict[str, Any],
    roles: tuple[str, ...],
    *,
    password: str | None,
    token: str | None,
    now: int,
) -> Officer:
    """Authenticate ``name`` and check its role; a refusal is recorded with its reason, then raised.

    Bad credentials, an unknown or disabled officer and a role that may not do ``action`` all
    land in the audit trail as ``refused``, before the caller learns of them.
    """
    try:
        officer = authenticate(store, name, password=password, token=token)
        if roles:
            officer.require(*roles)
    except NotAuthorizedError as exc:
        refuse(store, name, action, detail, exc.message, now)
        raise
    return officer


class Attempt:
    """One attempt at an action, recorded once with the outcome it really had.

    ``authorise`` names the officer (and records a refusal at once); ``settle`` records the end:
    ``ok`` when the action completed, else ``refused`` with the reason. An attempt refused before
    anyone was authenticated is recorded under the name the caller gave (or ``?``).
    """

    def __init__(
        self, store: Store, action: str, detail: dict[str, Any], officer: str | None = None
    ) -> None:
        self.store, self.action, self.detail = store, action, dict(detail)
        self.officer = officer
        self.settled = False

    def authorise(
        self,
        name: str | None,
        roles: tuple[str, ...],
        *,
        password: str | None,
        token: str | None,
        now: int,
    ) -> Officer:
        """Authenticate and check the role (``authorise``), remembering who acts."""
        try:
            officer = authorise(
                self.store,
                name,
                self.action,
                self.detail,
                roles,
                password=password,
                token=token,
                now=now,
            )
        except NotAuthorizedError:
            self.settled = True
            raise
        self.officer = officer.name
        return officer

    def settle(self, reason: str | None, now: int) -> None:
        """Record the outcome: ``ok`` when ``reason`` is None, else ``refused`` with it."""
        if self.settled:
            return
        self.settled = True
        if reason is None:
            record(self.store, self.officer or UNNAMED, self.action, self.detail, OK, now)
        else:
            refuse(self.store, self.officer, self.action, self.detail, reason, now)


def audit_trail(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The newest lines of the audit trail, newest first, their details decoded."""
    with store.read() as conn:
        lines = rows.audit_lines(conn, limit)
    return [
        {
            "time": line.time,
            "officer": line.officer,
            "action": line.action,
            "detail": orjson.loads(line.detail),
            "outcome": line.outcome.value,
        }
        for line in lines
    ]
