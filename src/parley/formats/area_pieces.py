"""The pieces of an area and when two of them meet: the exact rules of subscription matching.

An area (the Area format of ``areas``) is made of pieces: each polygon ring, each circle.
Two areas meet when some piece of the one meets some piece of the other (``pieces_meet``);
the geometry is ``geodesy``'s, whose docstring gives the conventions on the antimeridian and
the poles, and the precision:

* polygon and polygon: they intersect in the plane of longitude and latitude (GEOS), after each
  ring is unwrapped across the antimeridian and cut back into parts within -180..180
  (``polygon_parts``), so a ring from 170 E to 170 W spans 20 degrees, not 340;
* circle and polygon: the centre is inside the polygon, or the great-circle distance from the
  centre to the polygon's boundary is at most the radius (within 10 m);
* circle and circle: the distance between the centres is at most the sum of the radii.

``area_index.SubscriptionIndex`` gives the same answers for many subscriptions at once. Pure:
no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import shapely
import shapely.errors
from shapely.geometry.base import BaseGeometry

from parley.formats.areas import EARTH_RADIUS_KM, float_ring, geometry_rings
from parley.formats.errors import FormatError
from parley.formats.geodesy import (
    Floats,
    arc_distances,
    cap_boxes,
    central_angles,
    densified,
    unit_vectors,
    unwrapped_ring,
)

__all__ = [
    "CIRCLE",
    "POLYGON",
    "Piece",
    "area_pieces",
    "boundary_angles",
    "circle_of",
    "pieces_meet",
    "polygon_parts",
]

POLYGON, CIRCLE = 0, 1
WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)
DISTANCE_BATCH = 200_000  # point-arc pairs per numpy batch: a few MB at a time


@dataclass(frozen=True, eq=False)
class Piece:
    """One polygon ring or one circle of an area, prepared for matching.

    ``parts`` are what the STRtree holds: a polygon's geometry cut at the antimeridian, or the
    boxes around a circle. ``ring`` is a polygon's ring unwrapped across the antimeridian
    (``geodesy.unwrapped_ring``); ``center`` and ``radius`` (radians) describe a circle.
    """

    kind: int  # POLYGON or CIRCLE
    parts: tuple[BaseGeometry, ...]
    ring: tuple[list[float], list[float]] = ([], [])
    center: tuple[float, float] = (0.0, 0.0)
    radius: float = 0.0

    @cached_property
    def shape(self) -> BaseGeometry:
        """The parts as one geometry, prepared for repeated point-in-polygon tests."""
        whole = self.parts[0] if len(self.parts) == 1 else shapely.GeometryCollection(self.parts)
        shapely.prepare(whole)
        return whole

    @cached_property
    def boundary(self) -> Floats:
        """A polygon's ring, densified (``geodesy.densified``), as unit vectors (k, 3)."""
        xs, ys = (np.asarray(c, dtype=np.float64) for c in self.ring)
        dx, dy, _ = densified(xs, ys, np.array([0, len(xs)], dtype=np.int64))
        return unit_vectors(dx, dy)

    @cached_property
    def center_vector(self) -> Floats:
        """The circle's centre as a (1, 3) unit vector."""
        return unit_vectors([self.center[0]], [self.center[1]])


def polygon_parts(polygon: BaseGeometry, valid: bool, west: float, east: float) -> tuple[Any, ...]:
    """An unwrapped ring's polygon, made valid, cut into parts within -180..180."""
    if not valid:
        polygon = shapely.make_valid(polygon)
        west, _, east, _ = polygon.bounds
    if west >= -180.0 and east <= 180.0:
        return (polygon,)
    parts = []
    for turn in range(math.ceil((west - 180.0) / 360.0), math.floor((east + 180.0) / 360.0) + 1):
        shifted = shapely.transform(polygon, lambda c, k=turn: c - np.array([360.0 * k, 0.0]))
        part = shapely.intersection(shifted, WORLD)  # clip_by_rect fails on slivers
        if not part.is_empty:
            parts.append(part)
    return tuple(parts)


def circle_of(circle: dict[str, Any]) -> tuple[float, float, float]:
    """A circle of an area as (lon, lat, radius in km)."""
    lon, lat = (float(c) for c in circle["center"])
    return lon, lat, float(circle["radius_km"])


def area_pieces(area: dict[str, Any]) -> list[Piece]:
    """The polygons and circles of an area (Area format), each prepared for matching.

    Raises ``FormatError`` for a polygon GEOS cannot repair or cut (a degenerate sliver).
    """
    pieces: list[Piece] = []
    for index, ring in enumerate(geometry_rings(area.get("geometry"))):
        xs, ys = unwrapped_ring(float_ring(ring))
        try:
            polygon = shapely.Polygon(list(zip(xs, ys, strict=True)))
            west, _, east, _ = polygon.bounds
            parts = polygon_parts(polygon, polygon.is_valid, west, east)
        except shapely.errors.GEOSException as exc:
            raise FormatError(f"area {area.get('desc')!r}: polygon {index + 1}: {exc}") from exc
        pieces.append(Piece(POLYGON, parts, (xs, ys)))
    for circle in area.get("circles", ()):
        lon, lat, radius = circle_of(circle)
        boxes = tuple(shapely.box(*box) for box in cap_boxes(lon, lat, radius))
        pieces.append(Piece(CIRCLE, boxes, center=(lon, lat), radius=radius / EARTH_RADIUS_KM))
    return pieces


def boundary_angles(centres: Floats, boundary: Floats) -> Floats:
    """The angle from each centre (n, 3) to the nearest arc of one boundary (k, 3)."""
    a, b = boundary[:-1], boundary[1:]
    best = np.full(len(centres), np.inf)
    if len(a) == 0:
        return central_angles(centres, np.repeat(boundary[:1], len(centres), axis=0))
    rows = max(1, DISTANCE_BATCH // len(a))
    for start in range(0, len(centres), rows):
        chunk = centres[start : start + rows]
        p = np.repeat(chunk, len(a), axis=0)
        found = arc_distances(p, np.tile(a, (len(chunk), 1)), np.tile(b, (len(chunk), 1)))
        best[start : start + len(chunk)] = found.reshape(len(chunk), len(a)).min(axis=1)
    return best


def _circle_meets_polygon(circle: Piece, polygon: Piece) -> bool:
    lon, lat = circle.center
    if shapely.intersects_xy(polygon.shape, lon, lat):
        return True
    return bool(boundary_angles(circle.center_vector, polygon.boundary)[0] <= circle.radius)


def pieces_meet(one: Piece, other: Piece) -> bool:
    """Whether two pieces touch or overlap: the exact check, one pair at a time."""
    if one.kind == POLYGON and other.kind == POLYGON:
        return any(shapely.intersects(a, b) for a in one.parts for b in other.parts)
    if one.kind == CIRCLE and other.kind == CIRCLE:
        angle = central_angles(one.center_vector, other.center_vector)[0]
        return bool(angle <= one.radius + other.radius)
    circle, polygon = (one, other) if one.kind == CIRCLE else (other, one)
    return _circle_meets_polygon(circle, polygon)


def check_simple(area: dict[str, Any], where: str) -> None:
    """Raise ``FormatError`` unless every polygon of ``area`` is simple and encloses an area.

    Read as matching reads it (unwrapped across the antimeridian); for input that is checked
    before it is kept, such as a subscription's area.
    """
    for index, ring in enumerate(geometry_rings(area.get("geometry"))):
        xs, ys = unwrapped_ring(float_ring(ring))
        polygon = shapely.Polygon(list(zip(xs, ys, strict=True)))
        if not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon)
            raise FormatError(f"{where}: polygon {index + 1} is not simple ({reason})")
        if polygon.area == 0.0:
            raise FormatError(f"{where}: polygon {index + 1} encloses no area")
