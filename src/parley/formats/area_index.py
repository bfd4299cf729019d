"""Area subscriptions: which of many stored subscriptions a notification matches.

A subscription names an area (polygons and circles in the Area format of ``areas``), a set of
notification categories and a minimum CAP severity. A notification matches it when

* its category is one of the subscription's categories,
* its severity (the highest of its info blocks) is at least the subscription's minimum, in the
  CAP order Extreme > Severe > Moderate > Minor > Unknown (``SEVERITY_RANK``), and
* one of its areas meets the subscription's area: some polygon or circle of the one touches
  or overlaps some polygon or circle of the other.

A notification without a polygon or circle (no area, or geocodes only) matches nothing: every
subscription has an area, and a geocode cannot be placed. Only Alerts, Updates and Cancels are
matched (``alert_terms``); an Ack or an Error tells a subscriber nothing about a place.

How areas meet (``pieces_meet``; the geometry is ``geodesy``'s, its module docstring gives
the conventions on the antimeridian and the poles and the precision):

* polygon and polygon: they intersect in the plane of longitude and latitude, after each ring
  is unwrapped across the antimeridian and cut back into parts within -180..180;
* circle and polygon: the centre is inside the polygon, or the great-circle distance from the
  centre to the polygon's boundary is at most the radius (within 10 m);
* circle and circle: the distance between the centres is at most the sum of the radii.

``SubscriptionIndex`` answers the same question for many subscriptions at once. shapely's
STRtree over every piece's parts (polygons) and boxes (circles, ``geodesy.cap_boxes``) is only
a pre-filter: a polygon/polygon hit is GEOS's exact intersection test of the parts, and every
hit that involves a circle is then checked on the sphere, in numpy batches. The answer equals
checking every subscription with ``pieces_meet`` (tests/formats/test_area_index.py holds a
property test to that). Pure: no I/O, no clock.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from parley.core.canonical import canonical_bytes
from parley.formats.areas import EARTH_RADIUS_KM, float_ring, geometry_rings
from parley.formats.body_schema import SEVERITIES
from parley.formats.geodesy import (
    Floats,
    Ints,
    arc_distances,
    cap_boxes,
    central_angles,
    densified,
    unit_vectors,
    unwrapped_ring,
)

__all__ = [
    "MATCHED_MSG_TYPES",
    "SEVERITY_RANK",
    "AlertTerms",
    "Piece",
    "Subscription",
    "SubscriptionIndex",
    "alert_terms",
    "area_pieces",
    "pieces_meet",
]

SEVERITY_RANK = {name: len(SEVERITIES) - 1 - i for i, name in enumerate(SEVERITIES)}
"""CAP severities ranked: Unknown 0, Minor 1, Moderate 2, Severe 3, Extreme 4."""
MATCHED_MSG_TYPES = frozenset({"Alert", "Update", "Cancel"})
POLYGON, CIRCLE = 0, 1
WORLD = (-180.0, -90.0, 180.0, 90.0)
DISTANCE_BATCH = 200_000  # point-arc pairs per numpy batch: a few MB at a time


@dataclass(frozen=True)
class Subscription:
    """A stored subscription as the index needs it: id, area, categories, minimum severity."""

    id: int
    area: dict[str, Any]
    categories: frozenset[str]
    min_severity: str


@dataclass(frozen=True)
class AlertTerms:
    """What a notification is matched by: its areas, its category, its highest severity."""

    areas: tuple[dict[str, Any], ...]
    category: str
    severity: str


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


def alert_terms(body: dict[str, Any]) -> AlertTerms | None:
    """The terms a notification body is matched by, or None when it is not matched at all.

    Areas of every info block count, each once (language versions repeat them); the severity is
    the highest of the blocks. Acks, Errors and bodies without info blocks are not matched.
    """
    infos = body.get("info") or []
    if body.get("msg_type") not in MATCHED_MSG_TYPES or not infos:
        return None
    seen: set[bytes] = set()
    areas = []
    for info in infos:
        for area in info.get("areas", []):
            key = canonical_bytes({k: v for k, v in area.items() if k != "desc"})
            if key not in seen:
                seen.add(key)
                areas.append(area)
    severity = max((info["severity"] for info in infos), key=SEVERITY_RANK.__getitem__)
    return AlertTerms(tuple(areas), str(body["category"]), severity)


def _polygon_parts(xs: list[float], ys: list[float]) -> tuple[BaseGeometry, ...]:
    """An unwrapped ring's polygon cut into parts within -180..180 (one when it stays inside)."""
    polygon = shapely.Polygon(list(zip(xs, ys, strict=True)))
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    west, _, east, _ = polygon.bounds
    if west >= -180.0 and east <= 180.0:
        return (polygon,)
    parts = []
    for turn in range(math.ceil((west - 180.0) / 360.0), math.floor((east + 180.0) / 360.0) + 1):
        shifted = shapely.transform(polygon, lambda c, k=turn: c - np.array([360.0 * k, 0.0]))
        part = shapely.clip_by_rect(shifted, *WORLD)
        if not part.is_empty:
            parts.append(part)
    return tuple(parts)


def area_pieces(area: dict[str, Any]) -> list[Piece]:
    """The polygons and circles of an area (Area format), each prepared for matching."""
    pieces: list[Piece] = []
    for ring in geometry_rings(area.get("geometry")):
        xs, ys = unwrapped_ring(float_ring(ring))
        pieces.append(Piece(POLYGON, _polygon_parts(xs, ys), (xs, ys)))
    for circle in area.get("circles", ()):
        lon, lat = (float(c) for c in circle["center"])
        radius = float(circle["radius_km"])
        boxes = tuple(shapely.box(*box) for box in cap_boxes(lon, lat, radius))
        pieces.append(Piece(CIRCLE, boxes, center=(lon, lat), radius=radius / EARTH_RADIUS_KM))
    return pieces


def _boundary_angles(centres: Floats, boundary: Floats) -> Floats:
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
    return bool(_boundary_angles(circle.center_vector, polygon.boundary)[0] <= circle.radius)


def pieces_meet(one: Piece, other: Piece) -> bool:
    """Whether two pieces touch or overlap: the exact check, one pair at a time."""
    if one.kind == POLYGON and other.kind == POLYGON:
        return any(shapely.intersects(a, b) for a in one.parts for b in other.parts)
    if one.kind == CIRCLE and other.kind == CIRCLE:
        angle = central_angles(one.center_vector, other.center_vector)[0]
        return bool(angle <= one.radius + other.radius)
    circle, polygon = (one, other) if one.kind == CIRCLE else (other, one)
    return _circle_meets_polygon(circle, polygon)


def _ranges(starts: Ints, stops: Ints) -> Ints:
    """The concatenation of ``arange(start, stop)`` for each pair, without a Python loop."""
    lengths = stops - starts
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


class SubscriptionIndex:
    """Many subscriptions, ready to be matched against one notification at a time.

    Built once from the subscriptions (``retain`` narrows it to a subset without rebuilding);
    ``matches`` gives the ids of those a notification matches, as checking each one with
    ``pieces_meet`` would.
    """

    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        subs = list(subscriptions)
        self._ids = np.array([s.id for s in subs], dtype=np.int64)
        self._rank = np.array([SEVERITY_RANK[s.min_severity] for s in subs], dtype=np.int8)
        self._active = np.ones(len(subs), dtype=bool)
        self._categories = self._category_masks(subs)
        kinds: list[int] = []
        owners: list[int] = []
        centres: list[tuple[float, float]] = []
        radii: list[float] = []
        shapes: list[BaseGeometry | tuple[BaseGeometry, ...]] = []
        rings: list[tuple[list[float], list[float]]] = []
        tree_geoms: list[BaseGeometry] = []
        tree_pieces: list[int] = []
        for row, sub in enumerate(subs):
            for piece in area_pieces(sub.area):
                tree_geoms += piece.parts
                tree_pieces += [len(kinds)] * len(piece.parts)
                kinds.append(piece.kind)
                owners.append(row)
                centres.append(piece.center)
                radii.append(piece.radius)
                shapes.append(piece.parts[0] if len(piece.parts) == 1 else piece.parts)
                rings.append(piece.ring)
        self._piece_kind = np.array(kinds, dtype=np.int8)
        self._piece_sub = np.array(owners, dtype=np.int64)
        self._center = np.array(centres, dtype=np.float64).reshape(-1, 2)
        self._center_vector = unit_vectors(self._center[:, 0], self._center[:, 1])
        self._radius = np.array(radii, dtype=np.float64)
        self._shape = np.empty(len(shapes), dtype=object)
        for index, shape in enumerate(shapes):
            whole = shape if isinstance(shape, BaseGeometry) else shapely.GeometryCollection(shape)
            self._shape[index] = whole
        self._boundaries(rings)
        self._tree = shapely.STRtree(tree_geoms)
        self._tree_piece = np.array(tree_pieces, dtype=np.int64)

    @staticmethod
    def _category_masks(subs: Sequence[Subscription]) -> dict[str, npt.NDArray[np.bool_]]:
        masks: dict[str, npt.NDArray[np.bool_]] = {}
        for row, sub in enumerate(subs):
            for category in sub.categories:
                if category not in masks:
                    masks[category] = np.zeros(len(subs), dtype=bool)
                masks[category][row] = True
        return masks

    def _boundaries(self, rings: Sequence[tuple[list[float], list[float]]]) -> None:
        """Densify every polygon ring at once: flat unit vectors, and each piece's range."""
        lengths = np.array([len(xs) for xs, _ in rings], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        xs = np.fromiter((x for ring in rings for x in ring[0]), np.float64, int(starts[-1]))
        ys = np.fromiter((y for ring in rings for y in ring[1]), np.float64, int(starts[-1]))
        dx, dy, dense_starts = densified(xs, ys, starts) if len(xs) else (xs, ys, starts)
        self._vertices = unit_vectors(dx, dy)
        self._ring_start, self._ring_stop = dense_starts[:-1], dense_starts[1:]

    def __len__(self) -> int:
        """How many subscriptions the index holds (those ``retain`` kept)."""
        return int(self._active.sum())

    @property
    def ids(self) -> list[int]:
        """The ids of the subscriptions held, in the order they were given."""
        return [int(i) for i in self._ids[self._active]]

    def retain(self, ids: Iterable[int]) -> SubscriptionIndex:
        """The same index holding only those of its subscriptions whose id is in ``ids``."""
        narrowed = copy.copy(self)
        narrowed._active = self._active & np.isin(self._ids, np.fromiter(ids, np.int64))
        return narrowed

    def matches(self, areas: Sequence[dict[str, Any]], category: str, severity: str) -> list[int]:
        """The ids (ascending) of the subscriptions that areas, category and severity match."""
        rank, wanted = SEVERITY_RANK.get(severity), self._categories.get(category)
        pieces = [piece for area in areas for piece in area_pieces(area)]
        if rank is None or wanted is None or not pieces:
            return []
        owner = np.array([i for i, p in enumerate(pieces) for _ in p.parts], dtype=np.int64)
        hits = self._tree.query([part for p in pieces for part in p.parts], predicate="intersects")
        mine, theirs = owner[hits[0]], self._tree_piece[hits[1]]
        sub = self._piece_sub[theirs]
        keep = wanted[sub] & (self._rank[sub] <= rank) & self._active[sub]
        mine, theirs, sub = mine[keep], theirs[keep], sub[keep]
        my_kind = np.array([p.kind for p in pieces], dtype=np.int8)[mine]
        both_polygons = (my_kind == POLYGON) & (self._piece_kind[theirs] == POLYGON)
        matched = set(sub[both_polygons].tolist())  # GEOS's test of the parts was exact
        for index, piece in enumerate(pieces):
            chosen = (mine == index) & ~both_polygons & ~np.isin(sub, list(matched))
            candidates = np.unique(theirs[chosen])
            if len(candidates):
                met = self._meets(piece, candidates)
                matched.update(self._piece_sub[candidates[met]].tolist())
        return sorted(int(i) for i in self._ids[list(matched)])

    def _meets(self, piece: Piece, candidates: Ints) -> npt.NDArray[np.bool_]:
        """Which candidate pieces (at least one of the pair a circle) meet ``piece``, exactly."""
        if piece.kind == POLYGON:  # every candidate is a circle
            inside = shapely.intersects_xy(
                piece.shape, self._center[candidates, 0], self._center[candidates, 1]
            )
            out = candidates[~inside]
            near = _boundary_angles(self._center_vector[out], piece.boundary)
            inside[~inside] = near <= self._radius[out]
            return np.asarray(inside, dtype=bool)
        met = np.zeros(len(candidates), dtype=bool)
        circles = self._piece_kind[candidates] == CIRCLE
        angles = central_angles(
            np.repeat(piece.center_vector, int(circles.sum()), axis=0),
            self._center_vector[candidates[circles]],
        )
        met[circles] = angles <= piece.radius + self._radius[candidates[circles]]
        polygons = np.flatnonzero(~circles)
        lon, lat = piece.center
        inside = shapely.intersects_xy(self._shape[candidates[polygons]], lon, lat)
        met[polygons[inside]] = True
        outside = polygons[~inside]
        met[outside] = self._boundary_near(piece, candidates[outside])
        return met

    def _boundary_near(self, circle: Piece, polygons: Ints) -> npt.NDArray[np.bool_]:
        """Whether each polygon's boundary comes within the circle's radius of its centre."""
        near = np.zeros(len(polygons), dtype=bool)
        segments = self._ring_stop[polygons] - self._ring_start[polygons] - 1
        first = 0
        while first < len(polygons):  # batches of about DISTANCE_BATCH arcs
            total = np.cumsum(segments[first:])
            last = first + max(1, int(np.searchsorted(total, DISTANCE_BATCH)))
            chunk = polygons[first:last]
            starts = self._ring_start[chunk]
            arcs = _ranges(starts, self._ring_stop[chunk] - 1)
            centre = np.repeat(circle.center_vector, len(arcs), axis=0)
            found = arc_distances(centre, self._vertices[arcs], self._vertices[arcs + 1])
            groups = np.cumsum(segments[first:last]) - segments[first:last]
            near[first:last] = np.minimum.reduceat(found, groups) <= circle.radius
            first = last
        return near
