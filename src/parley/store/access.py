"""Rows of API tokens, browser sessions and idempotent replies.

Secrets never reach this module: a token or a session cookie is kept as the SHA-256 of its
256-bit random value (``digest``), looked up by that digest; ``parley.node.credentials`` makes
and hashes them. A row is never deleted: revoking a token or ending a session stamps the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import api_tokens, idempotent_replies, officers, sessions


@dataclass(frozen=True)
class TokenRecord:
    """A token's row with its officer's role and whether that officer is disabled."""

    id: str
    officer: str
    scope: str
    label: str | None
    created: int
    expires: int | None
    revoked: int | None
    last_used: int | None
    role: str
    disabled: bool


@dataclass(frozen=True)
class SessionRecord:
    """A session's row with its officer's role and whether that officer is disabled."""

    officer: str
    csrf: str
    created: int
    expires: int
    last_seen: int
    ended: int | None
    role: str
    disabled: bool


def add_token(
    tx: Writing,
    identifier: str,
    officer: str,
    scope: str,
    digest: str,
    label: str | None,
    now: int,
    expires: int | None,
) -> None:
    """Insert a new token."""
    tx.execute(
        insert(api_tokens).values(
            id=identifier,
            officer=officer,
            scope=scope,
            digest=digest,
            label=label,
            created=now,
            expires=expires,
        )
    )


_token_columns = (
    api_tokens.c.id,
    api_tokens.c.officer,
    api_tokens.c.scope,
    api_tokens.c.label,
    api_tokens.c.created,
    api_tokens.c.expires,
    api_tokens.c.revoked,
    api_tokens.c.last_used,
    officers.c.role,
    officers.c.disabled,
)


def token_by_digest(conn: Connection, digest: str) -> TokenRecord | None:
    """The token whose secret hashes to ``digest``, with its officer's role."""
    row = conn.execute(
        select(*_token_columns)
        .join(officers, officers.c.name == api_tokens.c.officer)
        .where(api_tokens.c.digest == digest)
    ).first()
    return None if row is None else TokenRecord(**row._mapping)


def tokens_of(conn: Connection, officer: str) -> list[TokenRecord]:
    """Every token of ``officer``, newest first (revoked and expired ones included)."""
    rows = conn.execute(
        select(*_token_columns)
        .join(officers, officers.c.name == api_tokens.c.officer)
        .where(api_tokens.c.officer == officer)
        .order_by(api_tokens.c.created.desc(), api_tokens.c.id)
    )
    return [TokenRecord(**row._mapping) for row in rows]


def revoke_token(tx: Writing, officer: str, identifier: str, now: int) -> bool:
    """Stamp a live token of ``officer`` revoked; whether one was."""
    result = tx.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == identifier,
            api_tokens.c.officer == officer,
            api_tokens.c.revoked.is_(None),
        )
        .values(revoked=now)
    )
    return result.rowcount == 1


def token_used(tx: Writing, identifier: str, now: int) -> None:
    """Remember when a token was last used."""
    tx.execute(update(api_tokens).where(api_tokens.c.id == identifier).values(last_used=now))


def add_session(tx: Writing, digest: str, officer: str, csrf: str, now: int, expires: int) -> None:
    """Insert a new session."""
    tx.execute(
        insert(sessions).values(
            digest=digest, officer=officer, csrf=csrf, created=now, expires=expires, last_seen=now
        )
    )


def session_by_digest(conn: Connection, digest: str) -> SessionRecord | None:
    """The session whose cookie hashes to ``digest``, with its officer's role."""
    row = conn.execute(
        select(
            sessions.c.officer,
            sessions.c.csrf,
            sessions.c.created,
            sessions.c.expires,
            sessions.c.last_seen,
            sessions.c.ended,
            officers.c.role,
            officers.c.disabled,
        )
        .join(officers, officers.c.name == sessions.c.officer)
        .where(sessions.c.digest == digest)
    ).first()
    return None if row is None else SessionRecord(**row._mapping)


def session_seen(tx: Writing, digest: str, now: int) -> None:
    """Move a session's idle clock."""
    tx.execute(update(sessions).where(sessions.c.digest == digest).values(last_seen=now))


def end_session(tx: Writing, digest: str, now: int) -> None:
    """End one session (logout)."""
    tx.execute(
        update(sessions)
        .where(sessions.c.digest == digest, sessions.c.ended.is_(None))
        .values(ended=now)
    )


def end_sessions_of(tx: Writing, officer: str, now: int) -> int:
    """End every open session of ``officer``; how many were open."""
    result = tx.execute(
        update(sessions)
        .where(sessions.c.officer == officer, sessions.c.ended.is_(None))
        .values(ended=now)
    )
    return result.rowcount


def revoke_tokens_of(tx: Writing, officer: str, now: int) -> int:
    """Revoke every live token of ``officer``; how many were live."""
    result = tx.execute(
        update(api_tokens)
        .where(api_tokens.c.officer == officer, api_tokens.c.revoked.is_(None))
        .values(revoked=now)
    )
    return result.rowcount


@dataclass(frozen=True)
class Reply:
    """A reply kept for an ``Idempotency-Key``: None status while the first request runs."""

    request: str
    status: int | None
    reply: str | None


def reserve_reply(tx: Writing, caller: str, key: str, request: str, now: int) -> Reply | None:
    """Claim ``key`` for ``caller``'s request; the earlier claim if there is one."""
    found = tx.execute(
        select(
            idempotent_replies.c.request, idempotent_replies.c.status, idempotent_replies.c.reply
        ).where(idempotent_replies.c.caller == caller, idempotent_replies.c.key == key)
    ).first()
    if found is not None:
        return Reply(*found)
    tx.execute(
        insert(idempotent_replies).values(caller=caller, key=key, request=request, created=now)
    )
    return None


def keep_reply(tx: Writing, caller: str, key: str, status: int, reply: str) -> None:
    """Keep the reply of a claimed key."""
    tx.execute(
        update(idempotent_replies)
        .where(idempotent_replies.c.caller == caller, idempotent_replies.c.key == key)
        .values(status=status, reply=reply)
    )


def release_reply(tx: Writing, caller: str, key: str) -> None:
    """Give up a claim whose request failed before it changed anything (it may be retried)."""
    tx.execute(
        idempotent_replies.delete().where(
            idempotent_replies.c.caller == caller,
            idempotent_replies.c.key == key,
            idempotent_replies.c.status.is_(None),
        )
    )
