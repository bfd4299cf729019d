"""The areas of notifications on a map, as one reader may see them: GeoJSON pages by ingest.

What the dashboard's map draws (``GET /api/v1/notifications/areas``): for the notifications
the list would show (``listing.walk``: the same ``Filters``, the same opaque cursor, newest first
by local ingest), one GeoJSON Feature per area of each body the reader may read
(``parley.formats.geojson.map_features``: polygons as a Polygon or MultiPolygon, each CAP circle
as a Point with ``radius_km``, coordinates as numbers).

* **Nothing of a withheld body.** A notification whose body ``withheld`` keeps back (a peer's
  header-only entry, a TLP above the reader's clearance, a body this node cannot read) gives no
  Feature at all: its areas are part of its body, and even an outline tells where an event is.
  It still counts against ``limit`` and is passed by the cursor, as in the list.
* **Every notification, in force or not.** Cancels, all-clear Updates and expired alerts keep
  their Features, marked by ``msg_type``, ``all_clear`` and ``expires``, and ``references``
  names what a follow-up supersedes: the map decides what to draw, nothing is dropped here. A
  notification without areas (or an area of geocodes only, ``geometry`` null) places nothing.
* **Paging.** ``limit`` counts notifications, not Features (up to ``MAX_LIMIT``); only a null
  ``next_cursor`` ends a walk, and a walk sees every notification once (``listing``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from parley.core.entry import format_ref
from parley.core.errors import InvalidEntryError
from parley.formats.geojson import map_features
from parley.node.access import Principal
from parley.node.node import Node
from parley.node.notifications.listing import Filters, Seen, walk

__all__ = ["DEFAULT_LIMIT", "ENCODED", "MAX_LIMIT", "AreaPage", "areas", "features_of"]

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000


@dataclass(frozen=True)
class AreaPage:
    """A page of the map: the Features of ``notifications`` notifications, newest first.

    ``encoded`` holds each notification's Features as JSON (the items of an array, without its
    brackets; none for a notification that places nothing): the page is written out by joining
    them (``to_json``), with no Feature decoded or encoded again.
    """

    encoded: tuple[bytes, ...]
    notifications: int
    next_cursor: str | None

    @property
    def features(self) -> list[dict[str, Any]]:
        """The page's Features, decoded."""
        decoded: list[dict[str, Any]] = orjson.loads(b"[" + b",".join(self.encoded) + b"]")
        return decoded

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: a GeoJSON FeatureCollection with the paging fields beside it."""
        return {
            "type": "FeatureCollection",
            "features": self.features,
            "notifications": self.notifications,
            "next_cursor": self.next_cursor,
        }

    def to_json(self) -> bytes:
        """``to_dict`` as JSON bytes, joined from the encoded Features."""
        return b"".join(
            (
                b'{"type":"FeatureCollection","features":[',
                b",".join(self.encoded),
                b'],"notifications":',
                str(self.notifications).encode(),
                b',"next_cursor":',
                orjson.dumps(self.next_cursor),
                b"}",
            )
        )


def features_of(seen: Seen) -> list[dict[str, Any]]:
    """The Features of one notification as its reader sees it: none when the body is withheld."""
    if seen.body is None:
        return []
    row = seen.stored  # the signed header's fields, as stored: no header to parse
    header = {"party": row.party, "status": row.status, "time": row.time}
    return map_features(format_ref(row.party, row.seq), header, seen.body)


class _EncodedFeatures:
    """Each readable notification's Features as JSON, kept by its leaf hash (least recent out).

    The Features are a function of the signed header (ref, party, status, time) and the body,
    and the leaf hash commits to both (the header holds the body's salted hash): a cached answer
    is right for any reader who may read the body, which ``Seen`` decides before the cache is
    asked. At most ``max_bytes`` of JSON are kept; the threads of one process share it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def of(self, seen: Seen) -> bytes:
        """``features_of(seen)`` as the items of a JSON array (empty when it has none)."""
        if seen.body is None:
            return b""
        key = seen.stored.leaf_hash
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        encoded = orjson.dumps(features_of(seen))[1:-1]
        with self._lock:
            if key not in self._kept:
                self._kept[key] = encoded
                self._size += len(encoded)
            while self._size > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._size -= len(dropped)
        return encoded


ENCODED = _EncodedFeatures(max_bytes=64 * 1024 * 1024)


def areas(
    node: Node,
    principal: Principal,
    filters: Filters | None = None,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AreaPage:
    """A page of the map of the notifications held here, as ``principal`` sees them."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidEntryError(f"limit: between 1 and {MAX_LIMIT}", field="limit")
    seen, next_cursor = walk(node, principal, filters or Filters(), cursor=cursor, limit=limit)
    encoded = tuple(part for part in map(ENCODED.of, seen) if part)
    return AreaPage(encoded, len(seen), next_cursor)
