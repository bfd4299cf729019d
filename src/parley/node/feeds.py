"""The CAP 1.2 Atom feed: the notifications one reader may read, newest first, and their CAP.

What the edge at ``/feeds/cap.atom`` serves (docs/api.md, "CAP Atom feed"):

* **Who reads what.** The public (no credentials) reads ``PUBLIC``: only what
  ``access.publicly_released`` allows (audience ALL, TLP:CLEAR, status Actual). A token's
  officer reads what ``listing.Seen.of`` shows them, the one ``access.withheld`` judgement that
  every list, page and export asks; an item whose body is withheld is left out, since a feed
  item without its alert tells a reader nothing. A token must grant ``read``.
* **Status.** Only Actual by default. ``exercise=true`` adds Exercise and Test (never Draft),
  each marked in its title (``formats.atom.marked_title``) and in its CAP ``<status>``; the
  public feed is Actual alone, so the flag is for token holders.
* **Filters.** ``category``, ``severity`` and ``area`` are ``listing.Filters``, the filters of
  the notification list, so the feed and the list agree; ``area`` is a point ``lon,lat``, a box
  ``lon1,lat1,lon2,lat2`` or a circle ``lon,lat,km``.
* **Paging.** At most ``MAX_ITEMS`` items per answer, newest first by the local ingest sequence;
  a ``next`` link (RFC 5005) carries the cursor of the last ingest number the page covered
  (``listing.encode_cursor``), so walking ``next`` sees every item once, however many arrive
  meanwhile, and never depends on a claimed time.
* **Links.** Absolute, under one of the node's own URLs (``[server] url``): the one the request
  was addressed to when it is one of them, else the first, never whatever a ``Host`` header
  says (``base_for``), so no caller can make the feed link elsewhere.
* **Caching.** The answer depends on the reader, the query and the store's ``feed_state`` (the
  newest ingest number and the count of held bodies). Its ETag hashes those three, so it is
  known before the feed is built: ``If-None-Match`` costs one indexed read. Each process keeps
  the newest answers in ``FeedCache``; ``Last-Modified`` is when this process first saw the
  store's state (never earlier than the change, so a poller with ``If-Modified-Since`` misses
  nothing), and stays strictly increasing per state within the process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from parley.core.entry import parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.formats.atom import AtomFeed, AtomItem, write
from parley.formats.notification import pick_info
from parley.node.access import PUBLIC, Action, Principal, publicly_released
from parley.node.node import Node
from parley.node.notifications.appending import KIND
from parley.node.notifications.listing import Filters, Seen, decode_cursor, encode_cursor
from parley.node.notifications.reading import export
from parley.store import logs
from parley.store import notifications as notification_rows

__all__ = ["MAX_ITEMS", "Feed", "FeedCache", "FeedQuery", "base_for", "cap_document", "feed"]

MAX_ITEMS = 500
SCAN_BATCH = 1000
MAX_SCAN = 20_000  # rows looked at per answer; a page may end early and still name a next
FEED_PATH = "/feeds/cap.atom"
PUBLIC_STATUSES = ("Actual",)
EXERCISE_STATUSES = ("Actual", "Exercise", "Test")
FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
CACHE_SIZE = 64


@dataclass(frozen=True)
class FeedQuery:
    """A feed request: filters, the exercise flag and the cursor, with their query text."""

    filters: Filters
    exercise: bool
    before: int | None
    given: tuple[tuple[str, str], ...]  # the filters as given, sorted: links and the cache key

    @classmethod
    def parse(cls, node: Node, reader: Principal, **given: str | None) -> FeedQuery:
        """The query from its parameters; a bad value names its parameter (``field``)."""
        flag = (given.pop("exercise", None) or "false").lower()
        if flag not in FLAGS:
            raise InvalidEntryError("exercise: true or false", field="exercise")
        if FLAGS[flag] and reader is PUBLIC:
            raise InvalidEntryError(
                "exercise: the public feed carries Actual alerts only",
                hint="authenticate with a token (HTTP Basic password or Bearer) to see exercises",
                field="exercise",
            )
        cursor = given.pop("cursor", None)
        filters = Filters.parse(node, **given)
        kept = tuple(sorted((k, v) for k, v in given.items() if v))
        return cls(
            filters=filters,
            exercise=FLAGS[flag],
            before=None if not cursor else decode_cursor(cursor),
            given=kept + ((("exercise", "true"),) if FLAGS[flag] else ()),
        )

    def link(self, base: str, before: int | None) -> str:
        """The URL of this query's page below ingest ``before`` (the first page for None)."""
        pairs = list(self.given)
        if before is not None:
            pairs.append(("cursor", encode_cursor(before)))
        return base + FEED_PATH + (f"?{urlencode(pairs)}" if pairs else "")


@dataclass(frozen=True)
class Feed:
    """One answer: the Atom document, its ETag and when it last changed (ms)."""

    body: bytes
    etag: str
    modified: int


class FeedCache:
    """The newest answers of this process, by ETag, and when each store state was first seen."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._answers: OrderedDict[str, Feed] = OrderedDict()
        self._seen: dict[tuple[int, int], int] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, etag: str) -> Feed | None:
        """The answer of ``etag``, if this process still holds it."""
        with self._lock:
            found = self._answers.get(etag)
            if found is not None:
                self._answers.move_to_end(etag)
            return found

    def put(self, feed: Feed) -> None:
        """Keep ``feed``, forgetting the least recently used beyond the cache's size."""
        with self._lock:
            self._answers[feed.etag] = feed
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)

    def modified(self, state: tuple[int, int], now: int) -> int:
        """When ``state`` was first seen here: whole seconds, later than any state seen before."""
        with self._lock:
            known = self._seen.get(state)
            if known is None:
                latest = max(self._seen.values(), default=0)
                known = max(-(-now // 1000) * 1000, latest + 1000)
                self._seen = {state: known}  # an older state never comes back
            return known


def base_for(node: Node, requested: str) -> str:
    """The base of the feed's links (module docstring, "Links").

    ``requested`` if it is one of the node's URLs, else the node's first URL; ``requested``
    only when the node has none configured.
    """
    urls = node.config.urls
    if requested in urls or not urls:
        return requested
    return urls[0]


def etag_of(reader: Principal, query: FeedQuery, base: str, state: tuple[int, int]) -> str:
    """The ETag of an answer: the reader, the query, the base URL and the store's state."""
    scope = "" if reader.scope is None else reader.scope.value
    key = f"{reader.caller}|{reader.role}|{scope}|{query.given}|{query.before}|{base}|{state}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def state_of(node: Node) -> tuple[int, int]:
    """The store's state a feed depends on (``notifications.feed_state``)."""
    with node.store.read() as conn:
        return notification_rows.feed_state(conn, KIND)


def _readable(node: Node, reader: Principal, query: FeedQuery) -> tuple[list[Seen], int | None]:
    """Up to ``MAX_ITEMS`` items the reader may read, newest first, and the next cursor."""
    public = reader is PUBLIC
    statuses = EXERCISE_STATUSES if query.exercise else PUBLIC_STATUSES
    before, scanned, shown = query.before, 0, []
    with node.store.read() as conn:
        while scanned < MAX_SCAN:
            rows = notification_rows.feed_page(
                conn, KIND, before=before, limit=SCAN_BATCH, statuses=statuses, public=public
            )
            for stored in rows:
                scanned += 1
                before = stored.ingest
                if public and not publicly_released(stored.audience, stored.tlp, stored.status):
                    continue
                one = Seen.of(node, reader, stored)
                if one.body is None or not query.filters.matches(one.body):
                    continue
                shown.append(one)
                if len(shown) == MAX_ITEMS:
                    return shown, before
            if len(rows) < SCAN_BATCH:
                return shown, None
    return shown, before


def _item(one: Seen, base: str) -> AtomItem:
    body: dict[str, Any] = one.body or {}
    info = pick_info(body) or {}
    party, seq = one.stored.party, one.stored.seq
    headline = str(info.get("headline") or info.get("event") or body.get("identifier", ""))
    return AtomItem(
        id=f"urn:parley:{party}:{seq}:{one.stored.leaf_hash.hex()[:32]}",
        status=one.stored.status,
        title=headline,
        updated=int(body.get("sent", one.stored.time)),
        author=str(info.get("sender_name") or body.get("sender", party)),
        category=str(body.get("category", "")),
        summary=str(info.get("description") or headline),
        link=f"{base}/feeds/cap/{party}/{seq}.xml",
    )


def _title(node: Node, reader: Principal) -> str:
    if reader is PUBLIC:
        return f"Parley {node.party}: public CAP alerts"
    return f"Parley {node.party}: CAP alerts for {reader.officer}"


def feed(
    node: Node, reader: Principal, query: FeedQuery, base: str, cache: FeedCache, now: int
) -> Feed:
    """The feed ``reader`` gets for ``query``: from ``cache`` when the store has not changed."""
    if reader is not PUBLIC:
        reader.require(Action.READ)
    state = state_of(node)
    etag = etag_of(reader, query, base, state)
    cached = cache.get(etag)
    if cached is not None:
        return cached
    shown, next_before = _readable(node, reader, query)
    items = [_item(one, base) for one in shown]
    head = AtomFeed(
        id=base + FEED_PATH,
        title=_title(node, reader),
        updated=max((item.updated for item in items), default=0),
        self_url=query.link(base, query.before),
        next_url=None if next_before is None else query.link(base, next_before),
    )
    built = Feed(write(head, items), etag, cache.modified(state, now))
    cache.put(built)
    return built


def cap_document(node: Node, reader: Principal, party: str, seq: str) -> bytes:
    """The CAP 1.2 document of ``PARTY:SEQ``, by the feed's rules (module docstring)."""
    if not seq.isdigit() or len(seq) > 18:
        raise NotFoundError(f"{party}:{seq} names no entry", hint="follow a link of the feed")
    ref = f"{party}:{int(seq)}"
    parse_ref(ref)
    if reader is not PUBLIC:
        reader.require(Action.READ)
        return export(node, reader, ref, "cap")
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, int(seq))
    if stored is None or stored.kind != KIND:
        raise NotFoundError(f"{ref} is not a notification held here")
    if not publicly_released(stored.audience, stored.tlp, stored.status):
        raise NotFoundError(
            f"{ref} is not in the public feed",
            hint="authenticate with a token (HTTP Basic password or Bearer)",
        )
    return export(node, reader, ref, "cap")
