"""Listing notifications as one reader may see them: filters, an opaque cursor, withheld bodies.

DESIGN.md, "Federation" (every listing pages by the local ingest sequence) and invariant 4
(readers see only what they may). The API, the pages and TAXII list through ``listing``.

* **Order and paging.** Newest first by ``entries.ingest``, assigned under the single-writer
  lock. A cursor is the base64url form of the last ingest number a page covered, opaque to the
  client; the next page starts below it. Entries that arrive while a client walks its pages
  get higher numbers, so a walk sees every notification that was there when it began exactly
  once, and nothing twice. A page may hold fewer than ``limit`` items (a scan stops after
  ``MAX_SCAN`` rows) and still name a next cursor: only a null ``next_cursor`` ends a walk.
* **What a reader sees.** Every notification held here is listed, its signed header always.
  Its body is shown only when ``withheld`` finds no reason to keep it back: the node holds it
  (its party is in the audience, the entry is not flagged) and the reader's TLP clearance
  (``Principal.reads``) covers the entry's label. ``withheld`` is the one judgement, for the
  list, the map (``mapping``), one notification and its exports alike.
* **Filters.** Header filters (party, status, time window on the signed header time) are
  applied by the store. Body filters (category, minimum severity, area, text) match only a body
  the reader may read: a withheld body matches none of them, so a filter cannot reveal what it
  says. ``text`` is a case-insensitive substring of headline, description or instruction;
  ``area`` is a point ``lon,lat``, a bounding box ``lon1,lat1,lon2,lat2`` or a circle
  ``lon,lat,km`` intersected
  (shapely) with each area of the notification, circles as geodesic polygons
  (``parley.formats.areas``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shapely.geometry import Point

from parley.core.entry import STATUSES, Header, parse_header
from parley.core.errors import InvalidEntryError, ParleyError
from parley.formats.areas import area_from_geojson, area_shape, circle_area
from parley.formats.body_schema import SEVERITIES
from parley.formats.errors import ValueFormatError
from parley.formats.notification import pick_info
from parley.formats.values import parse_cap_time
from parley.node import members
from parley.node.access import Principal, withheld
from parley.node.messaging.inbox import body_of, why_no_body
from parley.node.node import Node
from parley.node.notifications.appending import KIND
from parley.node.notifications.input import at_field
from parley.store import logs
from parley.store import notifications as notification_rows

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "Filters",
    "Item",
    "Page",
    "Seen",
    "decode_cursor",
    "encode_cursor",
    "listing",
    "walk",
    "withheld",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
SCAN_PAGE = 200
MAX_SCAN = 5000
MAX_TEXT = 200
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
# CAP severities from the least to the most severe: a filter keeps a level and those above it.
SEVERITY_RANK = {level: rank for rank, level in enumerate(reversed(SEVERITIES))}
TEXT_FIELDS = ("headline", "description", "instruction")


# Cursors ------------------------------------------------------------------------------------


def encode_cursor(ingest: int) -> str:
    """The opaque cursor of the page that starts below ingest number ``ingest``."""
    return base64.urlsafe_b64encode(str(ingest).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The ingest number of a cursor ``encode_cursor`` made; anything else is refused."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    if not text.isdigit() or len(text) > 18 or encode_cursor(int(text)) != cursor:
        raise InvalidEntryError(
            "cursor: not a cursor this node gave",
            hint="pass next_cursor from the previous page as it is, or leave it out",
            field="cursor",
        )
    return int(text)


# Filters ------------------------------------------------------------------------------------


def parse_instant(text: str, name: str) -> int:
    """A time filter: milliseconds since the epoch, or ISO 8601 (UTC unless an offset is given)."""
    text = text.strip()
    if text.isdigit() and len(text) <= 16:
        return int(text)
    try:
        return parse_cap_time(text)[0]
    except ValueFormatError as exc:
        raise InvalidEntryError(
            f"{name}: {exc}", hint="milliseconds, or e.g. 2027-05-01T12:00:00Z", field=name
        ) from exc


def parse_area(text: str) -> BaseGeometry:
    """An area filter: a point ``lon,lat``, box or circle (module docstring).

    A point is a shapely Point; the other two are areas ``area_shape`` turns into shapes.
    """
    parts = [part.strip() for part in text.split(",")]
    try:
        if len(parts) == 2:
            lon, lat = (float(p) for p in parts)
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise InvalidEntryError("a point is lon,lat within -180..180 and -90..90")
            return Point(lon, lat)
        if len(parts) == 4:
            lon1, lat1, lon2, lat2 = (float(p) for p in parts)
            if not (lon1 < lon2 and lat1 < lat2):
                raise InvalidEntryError(
                    "a box is west,south,east,north, west < east, south < north"
                )
            ring = [[lon1, lat1], [lon2, lat1], [lon2, lat2], [lon1, lat2], [lon1, lat1]]
            area = area_from_geojson({"type": "Polygon", "coordinates": [ring]}, "filter")
        elif len(parts) == 3:
            area = circle_area(parts[1], parts[0], parts[2], "filter")
        else:
            raise InvalidEntryError("neither lon,lat nor lon1,lat1,lon2,lat2 nor lon,lat,km")
    except (ValueError, ParleyError) as exc:
        message = exc.message if isinstance(exc, ParleyError) else str(exc)
        raise InvalidEntryError(
            f"area {text!r}: {message}",
            hint="a point lon,lat, a box lon1,lat1,lon2,lat2 (e.g. 129,31,146,46) or a circle "
            "lon,lat,km",
            field="area",
        ) from exc
    shape = area_shape(area)
    assert shape is not None  # noqa: S101 - a box or a circle always has a shape
    return shape


@dataclass(frozen=True)
class Filters:
    """What a reader narrows the list to; every field optional (see the module docstring)."""

    category: str | None = None
    severity: str | None = None
    party: str | None = None
    status: str | None = None
    since: int | None = None
    until: int | None = None
    area: BaseGeometry | None = None
    text: str | None = None

    @classmethod
    def parse(cls, node: Node, **given: str | None) -> Filters:
        """Filters from query text (``since=2027-05-01T00:00:00Z``, ``area=lon,lat,km``...)."""
        values = {name: value for name, value in given.items() if value not in (None, "")}
        category = values.get("category")
        if category is not None and not CATEGORY_RE.match(category):
            raise InvalidEntryError(
                f"category: {category!r} is not a category code", field="category"
            )
        severity = values.get("severity")
        if severity is not None and severity not in SEVERITY_RANK:
            raise InvalidEntryError(f"severity: one of {', '.join(SEVERITIES)}", field="severity")
        status = values.get("status")
        if status is not None and status not in STATUSES:
            raise InvalidEntryError(f"status: one of {', '.join(STATUSES)}", field="status")
        party = values.get("party")
        if party is not None:
            with at_field("party"):
                party = members.member(node.context().policy.document, party)
        text = values.get("text")
        if text is not None and len(text) > MAX_TEXT:
            raise InvalidEntryError(f"text: at most {MAX_TEXT} characters", field="text")
        since, until = values.get("since"), values.get("until")
        area = values.get("area")
        return cls(
            category=category,
            severity=severity,
            party=party,
            status=status,
            since=None if since is None else parse_instant(since, "since"),
            until=None if until is None else parse_instant(until, "until"),
            area=None if area is None else parse_area(area),
            text=None if text is None else text.casefold(),
        )

    @property
    def on_body(self) -> bool:
        """Whether a filter reads the body (so a withheld body matches nothing)."""
        return any(v is not None for v in (self.category, self.severity, self.area, self.text))

    def matches(self, body: dict[str, Any]) -> bool:
        """Whether a readable body passes the body filters."""
        infos = [i for i in body.get("info", []) if isinstance(i, dict)]
        category = str(body.get("category", ""))
        if self.category is not None and not (
            category == self.category or category.startswith(self.category + ".")
        ):
            return False
        if self.severity is not None:
            ranks = [SEVERITY_RANK.get(str(i.get("severity")), 0) for i in infos]
            if max(ranks, default=0) < SEVERITY_RANK[self.severity]:
                return False
        if self.text is not None:
            texts = (str(i.get(name, "")) for i in infos for name in TEXT_FIELDS)
            if not any(self.text in text.casefold() for text in texts):
                return False
        return self.area is None or any(self._meets(a) for i in infos for a in i.get("areas", []))

    def _meets(self, area: Any) -> bool:
        try:
            shape = area_shape(area)
        except (ParleyError, ValueError, TypeError, KeyError):
            return False  # an area this node cannot shape matches no area filter
        return shape is not None and bool(shape.intersects(self.area))


# The list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One notification in a list: its signed header, and a summary of the body or why not."""

    header: Header
    leaf_hash: str
    flag: str | None
    summary: dict[str, Any] | None
    withheld: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the item."""
        h = self.header
        return {
            "ref": h.ref,
            "party": h.party,
            "seq": h.seq,
            "time": h.time,
            "status": h.status,
            "audience": h.audience if isinstance(h.audience, str) else list(h.audience),
            "tlp": h.tlp,
            "leaf_hash": self.leaf_hash,
            "flag": self.flag,
            "summary": self.summary,
            "withheld": self.withheld,
        }


@dataclass(frozen=True)
class Page:
    """A page of the list, newest first; ``next_cursor`` is None at the end."""

    items: list[Item]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the page."""
        return {"items": [i.to_dict() for i in self.items], "next_cursor": self.next_cursor}


def summary(body: dict[str, Any]) -> dict[str, Any]:
    """What a list shows of a readable body: category, message type, levels, headline, areas."""
    info = pick_info(body) or {}
    return {
        "category": body.get("category"),
        "msg_type": body.get("msg_type"),
        "identifier": body.get("identifier"),
        "sent": body.get("sent"),
        "expires": body.get("expires", info.get("expires")),
        "lang": info.get("lang"),
        "event": info.get("event"),
        "headline": info.get("headline"),
        "severity": info.get("severity"),
        "urgency": info.get("urgency"),
        "certainty": info.get("certainty"),
        "areas": [str(a.get("desc", "")) for a in info.get("areas", []) if isinstance(a, dict)],
    }


@dataclass(frozen=True)
class Seen:
    """A stored notification as one reader sees it: the body only when ``withheld`` is None.

    The row's columns (party, seq, time, status, TLP) are the signed header's, stored from it;
    the header itself is parsed only when a view shows more of it (the list does, the map not).
    """

    stored: logs.StoredEntry
    body: dict[str, Any] | None
    withheld: str | None

    @functools.cached_property
    def header(self) -> Header:
        """The signed header, parsed from the stored leaf."""
        return parse_header(self.stored.leaf)

    @classmethod
    def of(cls, node: Node, principal: Principal, stored: logs.StoredEntry) -> Seen:
        """``stored`` as ``principal`` sees it: the one ``withheld`` judgement decides."""
        value, held = body_of(stored) if stored.flag is None else (None, None)
        if value is None and held is None:  # flagged or header-only: ask why, by its header
            held = why_no_body(stored, parse_header(stored.leaf), node.party)
        reason = withheld(principal, stored.tlp, held)
        return cls(stored, value if reason is None and isinstance(value, dict) else None, reason)

    def item(self) -> Item:
        """The list's item: the header, and the summary of the body or why it is withheld."""
        summarised = None if self.body is None else summary(self.body)
        return Item(
            self.header, self.stored.leaf_hash.hex(), self.stored.flag, summarised, self.withheld
        )


def walk(
    node: Node, principal: Principal, filters: Filters, *, cursor: str | None, limit: int
) -> tuple[list[Seen], str | None]:
    """Up to ``limit`` notifications below ``cursor`` that pass ``filters``, and the next cursor.

    Newest first by ingest; a scan stops after ``MAX_SCAN`` rows (module docstring). The list
    and the map (``mapping``) page through this one walk.
    """
    before = None if cursor is None else decode_cursor(cursor)
    seen: list[Seen] = []
    scanned, ended = 0, False
    with node.store.read() as conn:
        while len(seen) < limit and scanned < MAX_SCAN and not ended:
            rows = notification_rows.listing_page(
                conn,
                KIND,
                before=before,
                limit=SCAN_PAGE,
                party=filters.party,
                status=filters.status,
                since=filters.since,
                until=filters.until,
            )
            ended = len(rows) < SCAN_PAGE
            for index, stored in enumerate(rows):
                scanned += 1
                before = stored.ingest
                one = Seen.of(node, principal, stored)
                if filters.on_body and (one.body is None or not filters.matches(one.body)):
                    continue
                seen.append(one)
                if len(seen) == limit:
                    ended = ended and index == len(rows) - 1
                    break
    return seen, None if ended or before is None else encode_cursor(before)


def listing(
    node: Node,
    principal: Principal,
    filters: Filters | None = None,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """A page of the notifications held here as ``principal`` sees them (module docstring)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidEntryError(f"limit: between 1 and {MAX_LIMIT}", field="limit")
    seen, next_cursor = walk(node, principal, filters or Filters(), cursor=cursor, limit=limit)
    return Page([one.item() for one in seen], next_cursor)
