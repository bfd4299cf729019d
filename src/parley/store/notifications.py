"""The store's queries behind notifications (``parley.node.notifications``).

``notification_keys`` holds one row per notification this node wrote: its idempotency key
(identifier, sender and sent, hashed), its seq and the incident (the seq of the first message
of its chain) it belongs to. Rows are inserted in the write transaction that appends their
entries, so a key never points at an entry that is not stored.

``listing_page`` reads the notifications held here (own and mirrored, with or without a body)
newest first by the local ingest sequence, for ``parley.node.notifications.listing``;
``feed_page`` and ``feed_state`` do the same for the CAP Atom feed (``parley.node.feeds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from parley.store.engine import Writing
from parley.store.logs import StoredEntry, stored_entry
from parley.store.schema import entries, notification_keys

__all__ = [
    "KeyRow",
    "NotificationRow",
    "find_key",
    "incident_of",
    "incident_seqs",
    "feed_page",
    "feed_state",
    "insert_keys",
    "leaf_hash_of",
    "listing_page",
    "readable_page",
]


@dataclass(frozen=True)
class KeyRow:
    """Where a notification key points: the entry's seq and its incident."""

    seq: int
    incident: int


@dataclass(frozen=True)
class NotificationRow:
    """A stored notification with its body (still salted)."""

    party: str
    seq: int
    leaf: bytes
    leaf_hash: bytes
    body: bytes
    salt: bytes


def find_key(conn: Connection, party: str, key: bytes) -> KeyRow | None:
    """The notification of ``party`` with idempotency key ``key``, if this node wrote one."""
    row = conn.execute(
        select(notification_keys.c.seq, notification_keys.c.incident).where(
            notification_keys.c.party == party, notification_keys.c.key == key
        )
    ).first()
    return None if row is None else KeyRow(row.seq, row.incident)


def insert_keys(tx: Writing, rows: Sequence[dict[str, Any]]) -> None:
    """Record the keys of notifications appended in the caller's transaction ``tx``."""
    if rows:
        tx.execute(insert(notification_keys), list(rows))


def incident_of(conn: Connection, party: str, seq: int) -> int | None:
    """The incident of notification ``party:seq``, or None if no key row names it."""
    incident = conn.execute(
        select(notification_keys.c.incident).where(
            notification_keys.c.party == party, notification_keys.c.seq == seq
        )
    ).scalar()
    return None if incident is None else int(incident)


def incident_seqs(conn: Connection, party: str, incident: int) -> list[int]:
    """The seqs of every notification of ``party`` keyed to ``incident``."""
    return [
        int(seq)
        for seq in conn.execute(
            select(notification_keys.c.seq).where(
                notification_keys.c.party == party, notification_keys.c.incident == incident
            )
        ).scalars()
    ]


def leaf_hash_of(conn: Connection, party: str, seq: int) -> bytes | None:
    """The leaf hash of entry ``party:seq``, or None if it is not stored."""
    value = conn.execute(
        select(entries.c.leaf_hash).where(entries.c.party == party, entries.c.seq == seq)
    ).scalar()
    return None if value is None else bytes(value)


def readable_page(
    conn: Connection, kind: str, after: tuple[str, int], limit: int
) -> list[NotificationRow]:
    """Entries of ``kind`` with a body, by party then seq, after ``(party, seq)``."""
    party, seq = after
    rows = conn.execute(
        select(
            entries.c.party,
            entries.c.seq,
            entries.c.leaf,
            entries.c.leaf_hash,
            entries.c.body,
            entries.c.salt,
        )
        .where(
            entries.c.kind == kind,
            entries.c.body.is_not(None),
            (entries.c.party > party) | ((entries.c.party == party) & (entries.c.seq > seq)),
        )
        .order_by(entries.c.party, entries.c.seq)
        .limit(limit)
    ).fetchall()
    return [NotificationRow(r.party, r.seq, r.leaf, r.leaf_hash, r.body, r.salt) for r in rows]


def listing_page(
    conn: Connection,
    kind: str,
    *,
    before: int | None,
    limit: int,
    party: str | None = None,
    status: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[StoredEntry]:
    """Entries of ``kind`` newest first by ingest, below ``before``, narrowed by header fields.

    ``since`` and ``until`` bound the signed header time (both inclusive). Bodies or not, every
    held entry is listed: the caller decides what a reader sees of it.
    """
    c = entries.c
    where = [c.kind == kind]
    if before is not None:
        where.append(c.ingest < before)
    if party is not None:
        where.append(c.party == party)
    if status is not None:
        where.append(c.status == status)
    if since is not None:
        where.append(c.time >= since)
    if until is not None:
        where.append(c.time <= until)
    rows = conn.execute(select(entries).where(*where).order_by(c.ingest.desc()).limit(limit))
    return [stored_entry(row) for row in rows]


def feed_page(
    conn: Connection,
    kind: str,
    *,
    before: int | None,
    limit: int,
    statuses: Sequence[str],
    public: bool,
) -> list[StoredEntry]:
    """Entries of ``kind`` with a body, newest first by ingest, below ``before``.

    Only the signed ``statuses``; ``public`` keeps the entries marked audience ALL and
    TLP:CLEAR alone (``parley.node.access.publicly_released`` is the rule; this narrows the scan).
    """
    c = entries.c
    where = [c.kind == kind, c.body.is_not(None), c.status.in_(list(statuses))]
    if before is not None:
        where.append(c.ingest < before)
    if public:
        where.extend([c.audience == "ALL", c.tlp == "CLEAR"])
    rows = conn.execute(select(entries).where(*where).order_by(c.ingest.desc()).limit(limit))
    return [stored_entry(row) for row in rows]


def feed_state(conn: Connection, kind: str) -> tuple[int, int]:
    """What a feed's answer depends on: the newest ingest, and how many ``kind`` bodies are held.

    A new entry moves the first; a body attached to a held header, or erased, moves the second.
    """
    newest, bodies = conn.execute(
        select(func.max(entries.c.ingest), func.count(entries.c.body)).where(entries.c.kind == kind)
    ).one()
    return (-1 if newest is None else int(newest)), int(bodies)
