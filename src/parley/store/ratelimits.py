"""Rate-limit buckets that the worker processes share: one token bucket per client address.

On PostgreSQL the anonymous rate limit of ``parley.api.peer_auth`` lives here, so that N API
workers do not grant N times the rate; SQLite runs one server process, which keeps its buckets
in memory. Tokens are counted in thousandths (``millitokens``) and refilled continuously from
the time of the last draw. A bucket row is no part of any log: it is written in the short
``Store.shared`` transaction of its caller and may be lost to a power cut.

The statements are PostgreSQL's (``INSERT ... ON CONFLICT ... RETURNING``, ``GREATEST``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, cast, delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from parley.store.engine import Store, Writing
from parley.store.schema import rate_buckets

CLIENT_MAX = 64  # characters of the client address kept as the bucket's key


def draw_token(tx: Writing, client: str, now: int, *, rate: float, burst: float) -> int:
    """Take one token from ``client``'s bucket; the millitokens left, negative when refused.

    A bucket starts full (``burst`` tokens) and refills at ``rate`` tokens a second up to
    ``burst``; a refused draw leaves it at most one token in debt, so a caller that keeps
    knocking recovers as soon as it slows down. One upsert, under the bucket row's lock only.
    """
    full = int(burst * 1000)
    elapsed = func.greatest(now - rate_buckets.c.stamp, 0)
    refill = cast(elapsed * rate, BigInteger)
    refilled = func.least(full, rate_buckets.c.millitokens + refill)
    upsert = (
        pg_insert(rate_buckets)
        .values(client=client[:CLIENT_MAX], millitokens=full - 1000, stamp=now)
        .on_conflict_do_update(
            index_elements=[rate_buckets.c.client],
            set_={"millitokens": func.greatest(refilled - 1000, -1000), "stamp": now},
        )
        .returning(rate_buckets.c.millitokens)
    )
    left: int = tx.execute(upsert).scalar_one()
    return left


def forget_idle(tx: Writing, idle_since: int) -> None:
    """Remove the buckets last drawn on before ``idle_since`` (ms): they are full again."""
    tx.execute(delete(rate_buckets).where(rate_buckets.c.stamp < idle_since))


def draw(
    store: Store, client: str, now: int, *, rate: float, burst: float, idle_since: int | None
) -> int:
    """``draw_token`` in a shared transaction of its own; with ``idle_since``, also sweep."""
    with store.shared() as tx:
        left = draw_token(tx, client, now, rate=rate, burst=burst)
        if idle_since is not None:
            forget_idle(tx, idle_since)
    return left
