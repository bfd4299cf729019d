"""Officers' browser sessions: password and TOTP in, a cookie and a CSRF token out.

A session is a 256-bit random cookie value, stored as its SHA-256 only (``parley.store.access``),
with a CSRF token that every request changing state must echo in ``X-CSRF-Token``. A session
ends on logout, after ``IDLE_MS`` without a request, after ``LIFETIME_MS`` in all, and at once
when its officer is deactivated: every check reads the officer's row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from parley.core.errors import NotAuthenticatedError
from parley.node import officers
from parley.node.access import Principal
from parley.store import access as rows
from parley.store.engine import Store

IDLE_MS = 30 * 60_000
LIFETIME_MS = 12 * 3_600_000
SEEN_EVERY_MS = 30_000  # the idle clock is written at most this often


@dataclass(frozen=True)
class Session:
    """A session as its holder sees it: the cookie value (once), its CSRF token, its end."""

    cookie: str
    csrf: str
    officer: str
    role: str
    expires: int


@dataclass(frozen=True)
class Resolved:
    """The principal behind a session cookie and the CSRF token it must echo."""

    principal: Principal
    csrf: str


def login(store: Store, name: str, password: str, code: str | None, now: int) -> Session:
    """Open a session after checking password and TOTP code (both required)."""
    officer = officers.check_password(store, name, password)
    officers.check_totp(store, officer.name, code, now)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + LIFETIME_MS
    with store.write() as tx:
        rows.add_session(tx, officers.token_digest(cookie), officer.name, csrf, now, expires)
    return Session(cookie, csrf, officer.name, officer.role, expires)


def resolve(store: Store, cookie: str, now: int) -> Resolved:
    """The principal of a live session, or ``NotAuthenticatedError`` saying why not."""
    digest = officers.token_digest(cookie)
    with store.read() as conn:
        found = rows.session_by_digest(conn, digest)
    if found is None:
        raise NotAuthenticatedError("unknown session", hint="log in again")
    if found.disabled:
        raise NotAuthenticatedError(f"officer {found.officer} is deactivated")
    if found.ended is not None:
        raise NotAuthenticatedError("the session has ended", hint="log in again")
    if now >= found.expires or now - found.last_seen >= IDLE_MS:
        raise NotAuthenticatedError("the session has expired", hint="log in again")
    if now - found.last_seen >= SEEN_EVERY_MS:
        with store.write(durable=False) as tx:
            rows.session_seen(tx, digest, now)
    return Resolved(Principal(found.officer, found.role), found.csrf)


def logout(store: Store, cookie: str, now: int) -> None:
    """End a session."""
    with store.write() as tx:
        rows.end_session(tx, officers.token_digest(cookie), now)
