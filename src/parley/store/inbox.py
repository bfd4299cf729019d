"""The store's queries behind what officers read: the inbox, conversations, observations about us.

``parley.node.messaging`` (inbox, hotline, compliance, deadlines) reads entries through these.

Pages by the local ingest sequence (``entries.ingest``, assigned under the single-writer lock),
never by timestamps: a page is a range of ingest numbers, newest first, or oldest first after a
cursor for a poller. The audience filter here is a prefix match on the stored text (``ALL``, or
party codes joined by commas); the caller checks membership exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select, tuple_

from parley.store.logs import StoredEntry, stored_entry
from parley.store.receipts import ReceiptType
from parley.store.schema import entries, receipts


def latest_ingest(conn: Connection) -> int:
    """The highest ingest sequence stored (-1 for an empty store)."""
    value = conn.execute(select(func.max(entries.c.ingest))).scalar()
    return -1 if value is None else int(value)


def addressed_page(
    conn: Connection,
    party: str,
    kinds: Sequence[str],
    *,
    author: str | None = None,
    status: str | None = None,
    unacknowledged: bool = False,
    after: int | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[StoredEntry]:
    """Other parties' entries of ``kinds`` whose audience may name ``party``.

    Newest first, below ``before``; or, with ``after``, oldest first above it.
    """
    c = entries.c
    where = [
        c.party != party,
        c.kind.in_(list(kinds)),
        or_(c.audience == "ALL", c.audience.like(f"%{party}%")),
    ]
    if author is not None:
        where.append(c.party == author)
    if status is not None:
        where.append(c.status == status)
    if unacknowledged:
        acked = select(receipts.c.entry_seq).where(
            receipts.c.entry_party == c.party,
            receipts.c.entry_seq == c.seq,
            receipts.c.by_party == party,
            receipts.c.type == ReceiptType.ACKNOWLEDGED,
        )
        where.append(~exists(acked))
    order: Any = c.ingest
    if after is not None:
        where.append(c.ingest > after)
    else:
        if before is not None:
            where.append(c.ingest < before)
        order = c.ingest.desc()
    rows = conn.execute(select(entries).where(and_(*where)).order_by(order).limit(limit))
    return [stored_entry(row) for row in rows]


def receipts_by(
    conn: Connection, keys: Sequence[tuple[str, int]], by_party: str
) -> dict[tuple[str, int], dict[str, bytes]]:
    """For each entry ``keys`` (party, seq): the types of receipt ``by_party`` signed -> leaf."""
    found: dict[tuple[str, int], dict[str, bytes]] = {}
    columns = (receipts.c.entry_party, receipts.c.entry_seq)
    for start in range(0, len(keys), 200):
        chunk = list(keys[start : start + 200])
        rows = conn.execute(
            select(receipts).where(tuple_(*columns).in_(chunk), receipts.c.by_party == by_party)
        )
        for row in rows:
            found.setdefault((row.entry_party, row.entry_seq), {})[row.type] = row.leaf_hash
    return found


def own_page(conn: Connection, party: str, kinds: Sequence[str], limit: int) -> list[StoredEntry]:
    """``party``'s own entries of ``kinds``, newest first (its log order), at most ``limit``."""
    c = entries.c
    rows = conn.execute(
        select(entries)
        .where(c.party == party, c.kind.in_(list(kinds)))
        .order_by(c.seq.desc())
        .limit(limit)
    )
    return [stored_entry(row) for row in rows]


def peer_observations(conn: Connection, party: str, limit: int = 1000) -> list[StoredEntry]:
    """Other parties' ``observation`` entries held with their body, newest first."""
    c = entries.c
    rows = conn.execute(
        select(entries)
        .where(
            c.kind == "observation",
            c.party != party,
            c.body.is_not(None),
        )
        .order_by(c.ingest.desc())
        .limit(limit)
    )
    return [stored_entry(row) for row in rows]


def entries_of_kinds(
    conn: Connection,
    kinds: Sequence[str],
    *,
    parties: Sequence[str] | None = None,
    since: int | None = None,
    with_body: bool = False,
    unflagged: bool = False,
    in_log_order: bool = False,
) -> list[StoredEntry]:
    """Entries of ``kinds``, in ingest order (or by party then seq with ``in_log_order``).

    Optionally only those by ``parties``, claimed at or after ``since``, held with a body, or
    not flagged.
    """
    c = entries.c
    where: list[Any] = [c.kind.in_(list(kinds))]
    if parties is not None:
        where.append(c.party.in_(list(parties)))
    if since is not None:
        where.append(c.time >= since)
    if with_body:
        where.append(c.body.is_not(None))
    if unflagged:
        where.append(c.flag.is_(None))
    order = (c.party, c.seq) if in_log_order else (c.ingest,)
    rows = conn.execute(select(entries).where(and_(*where)).order_by(*order))
    return [stored_entry(row) for row in rows]
