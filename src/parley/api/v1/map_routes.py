"""``GET /api/v1/notifications/areas``: the areas of notifications for a map, as GeoJSON.

A thin route over ``parley.node.notifications.mapping``: the list's filters and opaque cursor,
up to ``limit`` notifications a page, one Feature per area of each body the caller may read
(polygons as a Polygon or MultiPolygon, each CAP circle as a Point with ``radius_km``). A body
withheld from the caller gives no Feature, so no outline of it reaches the map. The reply
models describe every Feature exactly, so the OpenAPI document is complete.

This router is included before ``notification_routes``: ``/notifications/areas`` is not the
reference ``/notifications/{ref}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from parley.api.v1 import inputs
from parley.api.v1.auth import allowed, node_of
from parley.api.v1.notification_schemas import Severity
from parley.api.v1.schemas import PROBLEMS
from parley.node.access import Action, Principal
from parley.node.notifications import listing, mapping

router = APIRouter(tags=["notifications"], responses=PROBLEMS)

Position = Annotated[list[float], Field(min_length=2, max_length=2, description="[lon, lat]")]
Ring = Annotated[list[Position], Field(description="A closed ring, counter-clockwise.")]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]


class PolygonGeometry(BaseModel):
    """One CAP polygon (RFC 7946 s3.1.6; no holes)."""

    type: Literal["Polygon"]
    coordinates: list[Ring]


class MultiPolygonGeometry(BaseModel):
    """Several CAP polygons of one area, in their order."""

    type: Literal["MultiPolygon"]
    coordinates: list[list[Ring]]


class PointGeometry(BaseModel):
    """The centre of a CAP circle; its radius is ``properties.radius_km``."""

    type: Literal["Point"]
    coordinates: Position


Geometry = Annotated[
    PolygonGeometry | MultiPolygonGeometry | PointGeometry, Field(discriminator="type")
]


class AreaProperties(BaseModel):
    """What a map colours and labels an area by: the notification, the area and its level."""

    ref: str
    party: str
    status: inputs.Status
    msg_type: MsgType = Field(description="A Cancel's areas are here too: the map decides.")
    category: str
    severity: Severity | None = Field(description="The highest of the info blocks with the area.")
    headline: str = Field(description="With [EXERCISE], [TEST] or [DRAFT] unless Actual.")
    area: str = Field(description="The area's description (CAP areaDesc).")
    time: int = Field(description="The signed header time, ms UTC.")
    expires: int | None = Field(description="When the notification expires, ms UTC.")
    all_clear: bool = Field(description="An Update that declares the all-clear.")
    references: list[str] = Field(description="What this follow-up supersedes (`PARTY:SEQ`).")
    radius_km: float | None = Field(description="A circle's radius; null for polygons.")


class AreaFeature(BaseModel):
    """One area of a notification (its polygons), or one of its circles."""

    type: Literal["Feature"]
    id: str = Field(description="`PARTY:SEQ/<area>`, or `PARTY:SEQ/<area>/circle<n>`.")
    geometry: Geometry | None = Field(description="Null for an area of geocodes only.")
    properties: AreaProperties


class AreaCollection(BaseModel):
    """A GeoJSON FeatureCollection of a page of notifications, newest first by local ingest."""

    type: Literal["FeatureCollection"]
    features: list[AreaFeature]
    notifications: int = Field(description="How many notifications this page covered.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end.")


@router.get("/notifications/areas", response_model=AreaCollection)
def notification_areas(
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.READ))],
    filters: Annotated[listing.Filters, Depends(inputs.notification_filters)],
    limit: Annotated[int, Query(ge=1, le=mapping.MAX_LIMIT)] = mapping.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """The areas of the notifications held here, for a map; bodies as the caller may read."""
    node = node_of(request)
    page = mapping.areas(node, principal, filters, cursor=cursor, limit=limit)
    # The largest answers of the API: written from each notification's encoded Features, not
    # validated and encoded again (AreaCollection documents them; schemathesis checks them).
    return Response(page.to_json(), media_type="application/json")
