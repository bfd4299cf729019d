"""The store's queries on ``subscriptions`` and ``subscription_matches`` (``node.subscriptions``).

A subscription row holds its area as canonical JSON (the Area format), its categories as a JSON
list and its minimum severity; deleting one sets ``deleted`` and keeps the row, so that its
matches still name it. Every change bumps a version in ``meta``, by which a matcher knows that
its index is stale. Notifications are matched past a cursor over the local ingest sequence, kept
in ``meta`` as ``store.deadlines`` keeps its own; those whose body had not come yet when the
cursor passed them wait in a list in ``meta`` until it comes or is given up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from parley.core.canonical import canonical_bytes
from parley.store.engine import Writing
from parley.store.entries import EntryFlag
from parley.store.schema import entries, meta, subscription_matches, subscriptions

__all__ = [
    "CURSOR_KEY",
    "PENDING_KEY",
    "VERSION_KEY",
    "HeldNotification",
    "MatchRow",
    "SubscriptionRow",
    "active",
    "active_ids",
    "add",
    "body_pending",
    "cursor",
    "get",
    "has_notifications_after",
    "held_notifications",
    "mark_deleted",
    "matches_since",
    "notifications_after",
    "owned",
    "pending",
    "record_match",
    "set_cursor",
    "set_pending",
    "version",
]

CURSOR_KEY = "subscriptions.ingest"
VERSION_KEY = "subscriptions.version"
PENDING_KEY = "subscriptions.pending"
NOTIFICATION = "notification"
_s, _m, _e = subscriptions.c, subscription_matches.c, entries.c


@dataclass(frozen=True)
class SubscriptionRow:
    """One stored subscription."""

    id: int
    owner: str
    token_id: str | None
    area: dict[str, Any]
    categories: tuple[str, ...]
    min_severity: str
    label: str | None
    created: int
    deleted: int | None


@dataclass(frozen=True)
class MatchRow:
    """One match of a notification with a subscription, with the subscription's owner."""

    id: int
    subscription: int
    owner: str
    label: str | None
    entry_party: str
    entry_seq: int
    ingest: int
    matched: int


@dataclass(frozen=True)
class HeldNotification:
    """A notification entry as matching reads it: its name, signed status and TLP, its body."""

    party: str
    seq: int
    ingest: int
    status: str
    tlp: str
    body: bytes | None
    salt: bytes | None
    flag: str | None


def _row(row: Any) -> SubscriptionRow:
    return SubscriptionRow(
        row.id,
        row.owner,
        row.token_id,
        orjson.loads(row.area),
        tuple(orjson.loads(row.categories)),
        row.min_severity,
        row.label,
        row.created,
        row.deleted,
    )


def _meta(conn: Connection, key: str) -> str | None:
    value: str | None = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return value


def _set_meta(tx: Writing, key: str, value: str) -> None:
    if tx.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
        tx.execute(insert(meta).values(key=key, value=value))


def version(conn: Connection) -> int:
    """How many times the subscriptions changed (0 before the first)."""
    return int(_meta(conn, VERSION_KEY) or 0)


def _changed(tx: Writing) -> None:
    _set_meta(tx, VERSION_KEY, str(version(tx) + 1))


def add(
    tx: Writing,
    *,
    owner: str,
    token_id: str | None,
    area: dict[str, Any],
    categories: Sequence[str],
    min_severity: str,
    label: str | None,
    now: int,
) -> int:
    """Store a subscription (checked by the caller) in the caller's transaction; its id."""
    result = tx.execute(
        insert(subscriptions).values(
            owner=owner,
            token_id=token_id,
            area=canonical_bytes(area).decode("ascii"),
            categories=orjson.dumps(list(categories)).decode("ascii"),
            min_severity=min_severity,
            label=label,
            created=now,
            deleted=None,
        )
    )
    _changed(tx)
    (identifier,) = result.inserted_primary_key or (0,)
    return int(identifier)


def get(conn: Connection, identifier: int) -> SubscriptionRow | None:
    """The subscription ``identifier``, deleted or not; None if there is none."""
    row = conn.execute(select(subscriptions).where(_s.id == identifier)).first()
    return None if row is None else _row(row)


def owned(conn: Connection, owner: str) -> list[SubscriptionRow]:
    """The subscriptions of ``owner`` that are not deleted, oldest first."""
    rows = conn.execute(
        select(subscriptions).where(_s.owner == owner, _s.deleted.is_(None)).order_by(_s.id)
    )
    return [_row(row) for row in rows]


def mark_deleted(tx: Writing, identifier: int, now: int) -> bool:
    """Delete a subscription (its row stays); whether it was there and not deleted yet."""
    query = update(subscriptions).where(_s.id == identifier, _s.deleted.is_(None))
    done = tx.execute(query.values(deleted=now)).rowcount == 1
    if done:
        _changed(tx)
    return done


def active(conn: Connection, after_id: int = 0) -> list[SubscriptionRow]:
    """Every subscription not deleted whose id is above ``after_id``, in id order."""
    rows = conn.execute(
        select(subscriptions).where(_s.id > after_id, _s.deleted.is_(None)).order_by(_s.id)
    )
    return [_row(row) for row in rows]


def active_ids(conn: Connection, up_to: int) -> list[int]:
    """The ids of the subscriptions not deleted, up to ``up_to``."""
    query = select(_s.id).where(_s.id <= up_to, _s.deleted.is_(None)).order_by(_s.id)
    return [row.id for row in conn.execute(query)]


def cursor(conn: Connection) -> int:
    """The ingest sequence up to which notifications were matched (-1 before the first)."""
    value = _meta(conn, CURSOR_KEY)
    return -1 if value is None else int(value)


def set_cursor(tx: Writing, ingest: int) -> None:
    """Move the matching cursor to ``ingest`` in the caller's transaction."""
    _set_meta(tx, CURSOR_KEY, str(ingest))


def pending(conn: Connection) -> list[tuple[str, int]]:
    """Notifications passed while their body was still pending, as (party, seq)."""
    value = _meta(conn, PENDING_KEY)
    return [(party, int(seq)) for party, seq in orjson.loads(value or "[]")]


def set_pending(tx: Writing, refs: Sequence[tuple[str, int]]) -> None:
    """Replace the list of notifications waiting for their body."""
    _set_meta(tx, PENDING_KEY, orjson.dumps([list(ref) for ref in refs]).decode("ascii"))


_HELD = (_e.party, _e.seq, _e.ingest, _e.status, _e.tlp, _e.body, _e.salt, _e.flag)


def _held(row: Any) -> HeldNotification:
    return HeldNotification(
        row.party, row.seq, row.ingest, row.status, row.tlp, row.body, row.salt, row.flag
    )


def notifications_after(
    conn: Connection, ingest: int, limit: int
) -> tuple[list[HeldNotification], int]:
    """The next ``limit`` notifications stored after ``ingest``, and how far that read reached.

    The reach is the last one's ingest when the page is full, else the newest ingest of all
    (read in the caller's transaction, so no entry can slip in between).
    """
    rows = conn.execute(
        select(*_HELD)
        .where(_e.ingest > ingest, _e.kind == NOTIFICATION)
        .order_by(_e.ingest)
        .limit(limit)
    ).fetchall()
    if len(rows) == limit:
        return [_held(row) for row in rows], rows[-1].ingest
    newest = conn.execute(select(func.max(_e.ingest))).scalar()
    return [_held(row) for row in rows], ingest if newest is None else max(ingest, int(newest))


def has_notifications_after(conn: Connection, ingest: int) -> bool:
    """Whether a notification was stored after ``ingest``."""
    query = select(_e.ingest).where(_e.ingest > ingest, _e.kind == NOTIFICATION).limit(1)
    return conn.execute(query).first() is not None


def held_notifications(conn: Connection, refs: Sequence[tuple[str, int]]) -> list[HeldNotification]:
    """The stored notifications among ``refs`` (party, seq), in the order given."""
    seqs: dict[str, list[int]] = {}
    for party, seq in refs:
        seqs.setdefault(party, []).append(seq)
    found = {}
    for party, wanted in seqs.items():
        query = select(*_HELD).where(_e.party == party, _e.seq.in_(wanted))
        for row in conn.execute(query):
            found[(row.party, row.seq)] = _held(row)
    return [found[ref] for ref in refs if ref in found]


def body_pending(notification: HeldNotification) -> bool:
    """Whether a notification's body may still come (it is asked of its author again)."""
    return notification.body is None and notification.flag == EntryFlag.BODY_PENDING


def record_match(
    tx: Writing, subscription: int, notification: HeldNotification, now: int
) -> int | None:
    """Record one match in the caller's transaction; its id, or None if it was recorded before."""
    known = tx.execute(
        select(_m.id).where(
            _m.subscription == subscription,
            _m.entry_party == notification.party,
            _m.entry_seq == notification.seq,
        )
    ).first()
    if known is not None:
        return None
    result = tx.execute(
        insert(subscription_matches).values(
            subscription=subscription,
            entry_party=notification.party,
            entry_seq=notification.seq,
            ingest=notification.ingest,
            matched=now,
        )
    )
    (identifier,) = result.inserted_primary_key or (0,)
    return int(identifier)


def matches_since(conn: Connection, owner: str, after_id: int, limit: int) -> list[MatchRow]:
    """The matches of ``owner``'s subscriptions (deleted ones too) after ``after_id``, in order."""
    rows = conn.execute(
        select(subscription_matches, _s.owner, _s.label)
        .join(subscriptions, _s.id == _m.subscription)
        .where(_s.owner == owner, _m.id > after_id)
        .order_by(_m.id)
        .limit(limit)
    )
    return [
        MatchRow(
            row.id,
            row.subscription,
            row.owner,
            row.label,
            row.entry_party,
            row.entry_seq,
            row.ingest,
            row.matched,
        )
        for row in rows
    ]
