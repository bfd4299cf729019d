"""Officers, their roles, their credentials and the audit trail.

An officer authenticates with a password (argon2id hash), optionally with a TOTP second factor
(RFC 6238, ``pyotp``; a code is accepted once), or a tool uses one of the officer's scoped
tokens. A token is ``parley_<id>_<secret>`` with a 256-bit random secret; only its SHA-256 is
stored, so checking one costs a hash and an indexed read, never argon2. A token's scope never
exceeds its officer's role (``parley.node.access``). A deactivated officer's sessions and tokens
stop working at once: every check reads the officer's row. Every command that acts for a person
names and authenticates the officer, and lands in the audit trail, refused attempts too.

The audit trail is true: an ``Attempt`` is recorded once, with the outcome the action really had.
A refusal is recorded with its reason and the outcome ``refused``, whether it came before
authentication (a bad argument, a non-member party), at it (bad password or token, unknown or
disabled officer, wrong role) or after it (an unknown role for ``user add``, a policy bound); an
action that completed is recorded ``ok`` only once it has completed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from parley.core.errors import (
    ConflictError,
    InvalidEntryError,
    NotAuthenticatedError,
    NotAuthorizedError,
    NotFoundError,
)
from parley.node.access import ROLE_ACTIONS, ROLES, Principal, Scope, check_scope
from parley.store import access as credential_rows
from parley.store import officers as rows
from parley.store.engine import Store
from parley.store.officers import AuditLine, Outcome

TOKEN_PREFIX = "parley_"  # noqa: S105 - a prefix, not a secret
TOKEN_RE = re.compile(r"^parley_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
TOTP_STEP_S = 30
TOTP_WINDOW = 1  # one step either side: clocks a little apart still agree
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


def token_digest(token: str) -> str:
    """The stored form of a token or a session cookie: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """What an officer sees of a token: never its secret."""

    id: str
    officer: str
    scope: str
    label: str | None
    created: int
    expires: int | None
    revoked: int | None
    last_used: int | None

    def state(self, now: int) -> str:
        """``live``, ``expired`` or ``revoked``."""
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= now:
            return "expired"
        return "live"

    def to_dict(self, now: int) -> dict[str, Any]:
        """The token's fields and its state at ``now``."""
        return {
            "id": self.id,
            "officer": self.officer,
            "scope": self.scope,
            "label": self.label,
            "created": self.created,
            "expires": self.expires,
            "revoked": self.revoked,
            "last_used": self.last_used,
            "state": self.state(now),
        }


def issue_token(
    store: Store,
    name: str,
    scope: Scope,
    now: int,
    *,
    expires: int | None = None,
    label: str | None = None,
) -> tuple[str, TokenInfo]:
    """A new token for an officer, within its role; the secret is shown once, here."""
    identifier = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{identifier}_{secrets.token_urlsafe(32)}"
    if expires is not None and expires <= now:
        raise InvalidEntryError("expires: the token would be expired already", field="expires")
    with store.write() as tx:
        row = rows.find(tx, name)
        if row is None:
            raise NotFoundError(f"no officer named {name}")
        if row.disabled:
            raise NotAuthorizedError(f"officer {name} is deactivated")
        check_scope(row.role, scope)
        credential_rows.add_token(
            tx, identifier, name, scope, token_digest(token), label, now, expires
        )
    return token, TokenInfo(identifier, name, scope.value, label, now, expires, None, None)


def tokens_of(store: Store, name: str) -> list[TokenInfo]:
    """Every token of an officer, newest first, revoked and expired ones included."""
    with store.read() as conn:
        if not rows.exists(conn, name):
            raise NotFoundError(f"no officer named {name}")
        found = credential_rows.tokens_of(conn, name)
    return [_token_info(record) for record in found]


def revoke_token(store: Store, name: str, identifier: str, now: int) -> None:
    """Revoke one live token of an officer; from now on it authenticates nobody."""
    with store.write() as tx:
        if not credential_rows.revoke_token(tx, name, identifier, now):
            raise NotFoundError(f"officer {name} has no live token {identifier}")


def _token_info(record: credential_rows.TokenRecord) -> TokenInfo:
    return TokenInfo(
        record.id,
        record.officer,
        record.scope,
        record.label,
        record.created,
        record.expires,
        record.revoked,
        record.last_used,
    )


def token_principal(store: Store, token: str, now: int) -> Principal:
    """The principal a token stands for, or ``NotAuthenticatedError`` saying why not."""
    if TOKEN_RE.match(token) is None:
        if "." in token and not token.startswith(TOKEN_PREFIX):
            raise NotAuthenticatedError(
                "this token was issued before scoped tokens and was revoked on upgrade",
                hint="issue a scoped token with 'parley user token NAME --scope SCOPE'",
            )
        raise NotAuthenticatedError("the token is not a Parley token")
    with store.read() as conn:
        record = credential_rows.token_by_digest(conn, token_digest(token))
    if record is None:
        raise NotAuthenticatedError("unknown token")
    if record.disabled:
        raise NotAuthenticatedError(f"officer {record.officer} is deactivated")
    state = _token_info(record).state(now)
    if state != "live":
        raise NotAuthenticatedError(f"token {record.id} of {record.officer} is {state}")
    if record.last_used is None or now - record.last_used > 60_000:  # a write a minute at most
        with store.write(durable=False) as tx:
            credential_rows.token_used(tx, record.id, now)
    return Principal(record.officer, record.role, Scope(record.scope), record.id)


def enrol_totp(store: Store, name: str) -> str:
    """A new TOTP secret for an officer (replacing any other); its ``otpauth://`` URI."""
    secret = pyotp.random_base32()
    with store.write() as tx:
        if not rows.set_totp(tx, name, secret):
            raise NotFoundError(f"no officer named {name}")
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name="Parley")


def check_totp(store: Store, name: str, code: str | None, now: int) -> None:
    """Accept ``code`` once, for an officer with a TOTP factor; refuse it otherwise."""
    with store.write() as tx:
        row = rows.find(tx, name)
        if row is None or row.totp_secret is None:
            raise NotAuthenticatedError(
                f"officer {name} has no second factor",
                hint=f"enrol one with 'parley user totp {name}'",
            )
        if not code or not code.isdigit():
            raise NotAuthenticatedError("a TOTP code is required", hint="six digits")
        step = _accepted_step(row.totp_secret, code, now)
        if step is None or (row.totp_step is not None and step <= row.totp_step):
            raise NotAuthenticatedError(f"the TOTP code for officer {name} is wrong or used")
        rows.set_totp_step(tx, name, step)


def _accepted_step(secret: str, code: str, now: int) -> int | None:
    """The time step at which ``code`` is valid, within ``TOTP_WINDOW`` steps of ``now``."""
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
    here = now // 1000 // TOTP_STEP_S
    for step in range(here - TOTP_WINDOW, here + TOTP_WINDOW + 1):
        if secrets.compare_digest(totp.at(step * TOTP_STEP_S), code):
            return step
    return None


def deactivate(store: Store, name: str, now: int) -> tuple[int, int]:
    """Deactivate an officer: its sessions end and its tokens are revoked, at once.

    Returns how many sessions ended and how many tokens were revoked.
    """
    with store.write() as tx:
        if not rows.set_disabled(tx, name, True):
            raise NotFoundError(f"no officer named {name}")
        ended = credential_rows.end_sessions_of(tx, name, now)
        revoked = credential_rows.revoke_tokens_of(tx, name, now)
    return ended, revoked


def reactivate(store: Store, name: str) -> None:
    """Let a deactivated officer log in again (its old tokens stay revoked)."""
    with store.write() as tx:
        if not rows.set_disabled(tx, name, False):
            raise NotFoundError(f"no officer named {name}")


def check_password(store: Store, name: str | None, password: str | None) -> Officer:
    """Check an officer's password; the same words for an unknown officer and a bad password."""
    if not name or not password:
        raise NotAuthenticatedError(
            "no officer credentials given",
            hint="pass --as NAME (or PARLEY_USER) with PARLEY_PASSWORD or PARLEY_TOKEN",
        )
    with store.read() as conn:
        row = rows.find(conn, name)
    try:
        if row is None or row.disabled:
            raise VerifyMismatchError
        _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
        raise NotAuthenticatedError(f"authentication failed for officer {name}") from exc
    return Officer(row.name, row.role)


def authenticate(
    store: Store,
    name: str | None,
    *,
    now: int,
    password: str | None = None,
    token: str | None = None,
) -> Officer:
    """Check a password or a token (scope ``admin`` or any scope that grants the role's use).

    A token used at the CLI acts with its officer's role only if its scope is that whole role
    (``admin`` for an administrator, ``notify`` for a duty officer, ...); a narrower token is
    refused here, since CLI commands check roles, not scopes.
    """
    if token is None:
        return check_password(store, name, password)
    principal = token_principal(store, token, now)
    if name is not None and principal.officer != name:
        raise NotAuthenticatedError("the token belongs to another officer")
    if principal.actions != ROLE_ACTIONS[principal.role]:
        raise NotAuthorizedError(
            f"a token of scope {principal.scope} does not carry the whole {principal.role} role",
            hint="the CLI needs a token whose scope is the officer's whole role",
        )
    return Officer(principal.officer, principal.role)


@dataclass(frozen=True)
class Listed:
    """An officer as listed: role, whether active, whether it has a second factor."""

    name: str
    role: str
    active: bool
    totp: bool


def list_officers(store: Store) -> list[Listed]:
    """Every officer, by name."""
    with store.read() as conn:
        return [Listed(name, role, not off, totp) for name, role, off, totp in rows.listed(conn)]


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
    who = name  # until authenticated: the name the caller gave (None for a bare token)
    try:
        officer = authenticate(store, name, now=now, password=password, token=token)
        who = officer.name
        if roles:
            officer.require(*roles)
    except NotAuthorizedError as exc:
        refuse(store, who, action, detail, exc.message, now)
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
