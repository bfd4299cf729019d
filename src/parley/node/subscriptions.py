"""Area subscriptions: officers watch areas, and every notification held here is matched once.

DESIGN.md, "Services and edges" and "Webhooks"; the matching rules are
``parley.formats.area_index`` (docs/architecture.md, "Subscription matching"). The workflow:

1. **Subscribe.** An officer (or one of its script tokens, named by ``token_id``) names an area,
   a GeoJSON Polygon or MultiPolygon or a circle ``{"center": [lon, lat], "radius_km": r}``,
   the categories it wants and a minimum severity (``subscribe``). The input is checked here, at
   the boundary: bad input raises ``InvalidEntryError`` naming the field, and nothing is
   stored. The area is stored in the Area format of the notification body (decimal strings).
2. **Match.** ``match_new``, in the caller's write transaction, reads the notifications stored
   after a cursor over the local ingest sequence (own and peers' alike) whose body this node
   holds, matches each against every subscription (``SubscriptionIndex``), records each match
   in ``subscription_matches`` and queues one ``subscription.match`` webhook per match through
   the one sender (``parley.node.webhooks.emit``), in that same transaction: a match is
   recorded and announced together or not at all, and never twice. A notification whose body
   is still pending waits in a list until its body comes. A body that is not a valid
   notification is skipped and logged.
3. **Read.** ``listed`` and ``matches_since`` (the live stream pages by the match id) give an
   owner its subscriptions and their matches.

The built index is cached per store and rebuilt when the subscriptions change (a version in
``meta``): subscriptions added since the last full build go into a small second index, deleted
ones are masked, and a full build happens when either grows large. The background job
(``parley.node.runtime.subscription_matcher``) builds it outside the write lock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Connection

from parley.core.entry import Body
from parley.core.errors import (
    InvalidEntryError,
    NotAuthorizedError,
    NotFoundError,
    ParleyError,
)
from parley.formats.area_index import AlertTerms, Subscription, SubscriptionIndex, alert_terms
from parley.formats.notification import validate_notification
from parley.node import webhooks
from parley.node.node import Node, now_ms
from parley.node.subscription_input import (
    checked_categories,
    checked_severity,
    checked_text,
    subscription_area,
)
from parley.store import officers as officer_rows
from parley.store import subscriptions as rows
from parley.store.engine import Store, Writing
from parley.store.subscriptions import HeldNotification, MatchRow, SubscriptionRow

__all__ = [
    "EVENT",
    "MatchRow",
    "SubscriptionRow",
    "listed",
    "match_new",
    "matches_since",
    "run",
    "run_round",
    "subscribe",
    "unsubscribe",
]

EVENT = "subscription.match"
PAGE = 200
ROUND_S = 0.25
MAX_MATCHES_PAGE = 1000
MAX_PENDING = 10_000  # notifications waiting for their body; the oldest are given up beyond it
REBUILD_ADDED = 2000  # subscriptions added since the full build before it is built again

log = logging.getLogger("parley.subscriptions")


def subscribe(
    node: Node,
    owner: str,
    area: Any,
    categories: Any,
    min_severity: Any,
    *,
    token_id: str | None = None,
    label: str | None = None,
    now: int | None = None,
) -> SubscriptionRow:
    """Check and store a subscription of officer ``owner``; the stored row."""
    now = now_ms() if now is None else now
    token = checked_text(token_id, "token_id", 128, ascii_only=True)
    named = checked_text(label, "label", 200)
    wanted = checked_categories(categories)
    severity = checked_severity(min_severity)
    stored_area = subscription_area(area, named or "subscription")
    with node.store.write() as tx:
        if not officer_rows.exists(tx, owner):
            raise NotFoundError(f"owner: no officer {owner!r}")
        identifier = rows.add(
            tx,
            owner=owner,
            token_id=token,
            area=stored_area,
            categories=wanted,
            min_severity=severity,
            label=named,
            now=now,
        )
        added = rows.get(tx, identifier)
    assert added is not None  # noqa: S101 - read back in the transaction that stored it
    return added


def listed(node: Node, owner: str) -> list[SubscriptionRow]:
    """The subscriptions of ``owner`` that are not deleted, oldest first."""
    with node.store.read() as conn:
        return rows.owned(conn, owner)


def unsubscribe(node: Node, owner: str, identifier: int, now: int | None = None) -> None:
    """Delete subscription ``identifier`` of ``owner``; its matches stay."""
    with node.store.write() as tx:
        found = rows.get(tx, identifier)
        if found is None or found.deleted is not None:
            raise NotFoundError(f"no subscription {identifier}")
        if found.owner != owner:
            raise NotAuthorizedError(f"subscription {identifier} is not {owner}'s")
        rows.mark_deleted(tx, identifier, now_ms() if now is None else now)


def matches_since(node: Node, owner: str, after_id: int = 0, limit: int = 100) -> list[MatchRow]:
    """The matches of ``owner``'s subscriptions after match ``after_id``, oldest first."""
    if not 1 <= limit <= MAX_MATCHES_PAGE:
        raise InvalidEntryError(f"limit: {limit} is outside 1..{MAX_MATCHES_PAGE}")
    with node.store.read() as conn:
        return rows.matches_since(conn, owner, after_id, limit)


# The index, cached per store ------------------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    """An index as of a version: the full build, masked, plus those added since."""

    version: int
    full: SubscriptionIndex  # every subscription up to ``full_max`` when it was built
    full_max: int
    kept: SubscriptionIndex  # ``full`` without the deleted ones
    added: SubscriptionIndex  # subscriptions above ``full_max``

    def matches(self, terms: AlertTerms) -> list[int]:
        """The ids of the subscriptions ``terms`` match."""
        found = self.kept.matches(terms.areas, terms.category, terms.severity)
        return found + self.added.matches(terms.areas, terms.category, terms.severity)


_cache: weakref.WeakKeyDictionary[Store, _Cached] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _index_of(found: Sequence[SubscriptionRow]) -> SubscriptionIndex:
    return SubscriptionIndex(
        Subscription(row.id, row.area, frozenset(row.categories), row.min_severity) for row in found
    )


def _fresh(conn: Connection, cached: _Cached | None, version: int) -> _Cached:
    if cached is not None:
        added = rows.active(conn, after_id=cached.full_max)
        kept = rows.active_ids(conn, cached.full_max)
        if len(added) <= REBUILD_ADDED and len(kept) * 2 >= len(cached.full):
            return _Cached(
                version,
                cached.full,
                cached.full_max,
                cached.full.retain(kept),
                _index_of(added),
            )
    everything = rows.active(conn)
    full = _index_of(everything)
    top = everything[-1].id if everything else 0
    return _Cached(version, full, top, full, _index_of([]))


def _current_index(store: Store, conn: Connection) -> _Cached:
    """The index of the subscriptions as ``conn`` sees them, rebuilt only when they changed."""
    version = rows.version(conn)
    with _cache_lock:
        cached = _cache.get(store)
        if cached is None or cached.version != version:
            cached = _fresh(conn, cached, version)
            _cache[store] = cached
        return cached


# Matching ---------------------------------------------------------------------------------


def _terms(held: HeldNotification) -> tuple[AlertTerms, dict[str, Any]] | None:
    """What a stored notification is matched by, with its body; None when it is not matched."""
    if held.body is None or held.salt is None:
        return None
    try:
        value = Body(held.salt, held.body).value()
        validate_notification(value)
    except ParleyError as exc:
        log.warning("%s:%s is not matched: %s", held.party, held.seq, exc)
        return None
    terms = alert_terms(value)
    return None if terms is None else (terms, value)


def _event(
    match_id: int,
    row: SubscriptionRow,
    held: HeldNotification,
    terms: AlertTerms,
    msg_type: str,
    now: int,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "match": match_id,
        "subscription": row.id,
        "owner": row.owner,
        "entry": f"{held.party}:{held.seq}",
        "status": held.status,
        "tlp": held.tlp,
        "category": terms.category,
        "severity": terms.severity,
        "msg_type": msg_type,
        "matched": now,
    }
    for key, value in (("label", row.label), ("token_id", row.token_id)):
        if value is not None:
            data[key] = value
    return data


def _match_one(
    node: Node, tx: Writing, index: _Cached, held: HeldNotification, now: int
) -> list[int]:
    found = _terms(held)
    if found is None:
        return []
    terms, value = found
    try:
        ids = index.matches(terms)
    except ParleyError as exc:  # an area GEOS cannot read
        log.warning("%s:%s is not matched: %s", held.party, held.seq, exc)
        return []
    recorded = []
    for identifier in ids:
        row = rows.get(tx, identifier)
        if row is None or row.deleted is not None:  # the index is of this transaction's view
            continue
        match_id = rows.record_match(tx, identifier, held, now)
        if match_id is None:  # matched before
            continue
        event = _event(match_id, row, held, terms, str(value["msg_type"]), now)
        webhooks.emit(tx, node.party, EVENT, event, now, officer=row.owner)
        recorded.append(match_id)
    return recorded


def match_new(node: Node, tx: Writing, now: int, page: int = PAGE) -> list[int]:
    """Match the next ``page`` notifications past the cursor, and those whose body came.

    Records each match and queues its webhook in the caller's transaction ``tx``; moves the
    cursor. Returns the ids of the matches recorded.
    """
    index = _current_index(node.store, tx)
    start = rows.cursor(tx)
    fresh, reach = rows.notifications_after(tx, start, page)
    waiting = rows.pending(tx)
    came = rows.held_notifications(tx, waiting) if waiting else []
    still = [(n.party, n.seq) for n in came if rows.body_pending(n)]
    recorded: list[int] = []
    for held in came:
        if held.body is not None:
            recorded += _match_one(node, tx, index, held, now)
    for held in fresh:
        if held.body is not None:
            recorded += _match_one(node, tx, index, held, now)
        elif rows.body_pending(held):
            still.append((held.party, held.seq))
    if still != waiting:
        if len(still) > MAX_PENDING:
            log.warning(
                "giving up %d notifications whose body never came", len(still) - MAX_PENDING
            )
        rows.set_pending(tx, still[-MAX_PENDING:])
    if reach != start:
        rows.set_cursor(tx, reach)
    return recorded


def _has_work(conn: Connection) -> bool:
    if rows.has_notifications_after(conn, rows.cursor(conn)):
        return True
    waiting = rows.pending(conn)
    return bool(waiting) and any(
        not rows.body_pending(n) for n in rows.held_notifications(conn, waiting)
    )


def run_round(node: Node, now: int) -> int:
    """Refresh the index, then match what is new; how many matches were recorded.

    The index is built under a read connection, so the write lock is held only to match.
    """
    with node.store.read() as conn:
        _current_index(node.store, conn)
        if not _has_work(conn):
            return 0
    with node.store.write() as tx:
        return len(match_new(node, tx, now))


async def run(node: Node, interval_s: float = ROUND_S) -> None:
    """The server's matching loop: a bounded round every ``interval_s`` seconds."""
    while True:
        try:
            await anyio.to_thread.run_sync(run_round, node, now_ms())
        except Exception:  # noqa: BLE001 - the loop must survive anything; rows show state
            log.exception("subscription matching round failed")
        await asyncio.sleep(interval_s)
