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

from dataclasses import dataclass
from typing import Any

from parley.core.entry import format_ref
from parley.core.errors import InvalidEntryError
from parley.formats.geojson import map_features
from parley.node.access import Principal
from parley.node.node import Node
from parley.node.notifications.listing import Filters, Seen, walk

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "AreaPage", "areas", "features_of"]

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000


@dataclass(frozen=True)
class AreaPage:
    """A page of the map: the Features of ``notifications`` notifications, newest first."""

    features: list[dict[str, Any]]
    notifications: int
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: a GeoJSON FeatureCollection with the paging fields beside it."""
        return {
            "type": "FeatureCollection",
            "features": self.features,
            "notifications": self.notifications,
            "next_cursor": self.next_cursor,
        }


def features_of(seen: Seen) -> list[dict[str, Any]]:
    """The Features of one notification as its reader sees it: none when the body is withheld."""
    if seen.body is None:
        return []
    row = seen.stored  # the signed header's fields, as stored: no header to parse
    header = {"party": row.party, "status": row.status, "time": row.time}
    return map_features(format_ref(row.party, row.seq), header, seen.body)


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
    features = [feature for one in seen for feature in features_of(one)]
    return AreaPage(features, len(seen), next_cursor)
