"""Rows of the replay cache of signed requests (RFC 9421 nonces), shared across workers.

``parley.node.federation.http_signatures`` remembers every nonce it accepted until it expires;
this module only reads and writes the ``nonces`` table, in the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from parley.store.engine import Writing
from parley.store.schema import nonces

_NONCE = select(nonces.c.expires).where(nonces.c.nonce == bindparam("nonce"))


def expiry(conn: Connection, nonce: str) -> int | None:
    """When a stored nonce expires (ms), or None if this nonce is not stored."""
    row = conn.execute(_NONCE, {"nonce": nonce}).first()
    return None if row is None else int(row.expires)


def remember(tx: Writing, batch: Sequence[dict[str, Any]], now: int) -> int:
    """Store ``batch`` (nonce, party, expires); return how many were replays still in force.

    A nonce stored already is replaced (two workers saw it at once); now and then the expired
    ones are forgotten.
    """
    wanted = [row["nonce"] for row in batch]
    present = {
        row.nonce: row.expires
        for row in tx.execute(
            select(nonces.c.nonce, nonces.c.expires).where(nonces.c.nonce.in_(wanted))
        )
    }
    if present:
        tx.execute(delete(nonces).where(nonces.c.nonce.in_(list(present))))
    tx.execute(insert(nonces), list(batch))
    if secrets.randbelow(16) == 0:
        tx.execute(delete(nonces).where(nonces.c.expires < now))
    return sum(1 for expires in present.values() if expires >= now)
