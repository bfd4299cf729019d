"""Area subscriptions: which of many stored subscriptions a notification matches.

A subscription names an area (polygons and circles in the Area format of ``areas``), a set of
notification categories and a minimum CAP severity. A notification matches it when

* its category is one of the subscription's categories,
* its severity (the highest of its info blocks) is at least the subscription's minimum, in the
  CAP order Extreme > Severe > Moderate > Minor > Unknown (``SEVERITY_RANK``), and
* one of its areas meets the subscription's area (``area_pieces.pieces_meet``: polygons in the
  plane of longitude and latitude across the antimeridian, circles on the sphere).

A notification without a polygon or circle (no area, or geocodes only) matches nothing: every
subscription has an area, and a geocode cannot be placed. Only Alerts, Updates and Cancels are
matched (``alert_terms``); an Ack or an Error tells a subscriber nothing about a place.

``SubscriptionIndex`` finds the matches among many subscriptions. shapely's STRtree over every
piece's parts (polygons) and boxes (circles, ``geodesy.cap_boxes``) is only a pre-filter: the
pairs whose boxes meet are narrowed to the subscriptions that want the category and severity,
then GEOS tests each pair exactly (a polygon/polygon answer is final), and every pair that
involves a circle is checked on the sphere, in numpy batches. The answer equals checking every
subscription with ``pieces_meet`` (tests/formats/test_area_index.py holds a property test to
that). Pure: no I/O, no clock.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from parley.core.canonical import canonical_bytes
from parley.formats.area_pieces import (
    CIRCLE,
    DISTANCE_BATCH,
    POLYGON,
    Piece,
    area_pieces,
    boundary_angles,
    circle_of,
    polygon_parts,
)
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
    "Subscription",
    "SubscriptionIndex",
    "alert_terms",
]

SEVERITY_RANK = {name: len(SEVERITIES) - 1 - i for i, name in enumerate(SEVERITIES)}
"""CAP severities ranked: Unknown 0, Minor 1, Moderate 2, Severe 3, Extreme 4."""
MATCHED_MSG_TYPES = frozenset({"Alert", "Update", "Cancel"})


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


def alert_terms(body: Any) -> AlertTerms | None:
    """The terms a notification body is matched by, or None when it is not matched at all.

    Areas of every info block count, each once (language versions repeat them); the severity is
    the highest of the blocks. Acks, Errors, bodies without info blocks and bodies that are not
    notification-shaped (a peer's body is stored as signed) are not matched.
    """
    if not isinstance(body, dict) or body.get("msg_type") not in MATCHED_MSG_TYPES:
        return None
    infos, category = body.get("info"), body.get("category")
    if not isinstance(infos, list) or not infos or not isinstance(category, str):
        return None
    seen: set[bytes] = set()
    areas: list[dict[str, Any]] = []
    severities = []
    for info in infos:
        if not isinstance(info, dict) or info.get("severity") not in SEVERITY_RANK:
            return None
        severities.append(info["severity"])
        for area in info.get("areas", []):
            key = canonical_bytes({k: v for k, v in area.items() if k != "desc"})
            if key not in seen:
                seen.add(key)
                areas.append(area)
    return AlertTerms(tuple(areas), category, max(severities, key=SEVERITY_RANK.__getitem__))


def _ranges(starts: Ints, stops: Ints) -> Ints:
    """The concatenation of ``arange(start, stop)`` for each pair, without a Python loop."""
    lengths = stops - starts
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def _flat(rings: Sequence[tuple[list[float], list[float]]]) -> tuple[Floats, Floats, Ints]:
    """Rings as flat longitudes and latitudes, with each ring's start and the end."""
    lengths = np.array([len(xs) for xs, _ in rings], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    xs = np.fromiter((x for ring in rings for x in ring[0]), np.float64, int(starts[-1]))
    ys = np.fromiter((y for ring in rings for y in ring[1]), np.float64, int(starts[-1]))
    return xs, ys, starts


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
        rings: list[tuple[list[float], list[float]]] = []
        circles: list[tuple[float, float, float]] = []
        ring_subs: list[int] = []
        circle_subs: list[int] = []
        for row, sub in enumerate(subs):
            for ring in geometry_rings(sub.area.get("geometry")):
                rings.append(unwrapped_ring(float_ring(ring)))
                ring_subs.append(row)
            for circle in sub.area.get("circles", ()):
                circles.append(circle_of(circle))
                circle_subs.append(row)
        # Pieces: the polygons first, then the circles.
        self._piece_kind = np.array([POLYGON] * len(rings) + [CIRCLE] * len(circles), np.int8)
        self._piece_sub = np.array(ring_subs + circle_subs, dtype=np.int64)
        self._center = np.array([(0.0, 0.0)] * len(rings) + [c[:2] for c in circles]).reshape(-1, 2)
        self._center_vector = unit_vectors(self._center[:, 0], self._center[:, 1])
        self._radius = np.array([0.0] * len(rings) + [c[2] for c in circles]) / EARTH_RADIUS_KM
        xs, ys, starts = _flat(rings)
        self._boundaries(xs, ys, starts)
        parts, owners = self._polygon_pieces(xs, ys, starts)
        boxes = [(box, len(rings) + i) for i, c in enumerate(circles) for box in cap_boxes(*c)]
        corners = np.array([box for box, _ in boxes], dtype=np.float64).reshape(-1, 4)
        self._tree_geoms = np.concatenate([parts, shapely.box(*corners.T)])
        self._tree_piece = np.concatenate([owners, [piece for _, piece in boxes]]).astype(np.int64)
        self._tree = shapely.STRtree(self._tree_geoms)

    @staticmethod
    def _category_masks(subs: Sequence[Subscription]) -> dict[str, npt.NDArray[np.bool_]]:
        masks: dict[str, npt.NDArray[np.bool_]] = {}
        for row, sub in enumerate(subs):
            for category in sub.categories:
                if category not in masks:
                    masks[category] = np.zeros(len(subs), dtype=bool)
                masks[category][row] = True
        return masks

    def _boundaries(self, xs: Floats, ys: Floats, starts: Ints) -> None:
        """Densify every polygon ring at once: flat unit vectors, and each piece's range."""
        dx, dy, dense_starts = densified(xs, ys, starts) if len(xs) else (xs, ys, starts)
        self._vertices = unit_vectors(dx, dy)
        self._ring_start, self._ring_stop = dense_starts[:-1], dense_starts[1:]

    def _polygon_pieces(self, xs: Floats, ys: Floats, starts: Ints) -> tuple[Any, Ints]:
        """Every ring's polygon at once; only the invalid and those beyond +-180 one by one.

        Sets each polygon piece's ``_shape`` (its parts as one geometry); returns the parts
        and the piece each belongs to.
        """
        count = len(starts) - 1
        self._shape = np.full(len(self._piece_kind), None, dtype=object)
        if count == 0:
            return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        which = np.repeat(np.arange(count), np.diff(starts))
        polygons = shapely.polygons(shapely.linearrings(xs, ys, indices=which))
        valid, bounds = shapely.is_valid(polygons), shapely.bounds(polygons)
        plain = valid & (bounds[:, 0] >= -180.0) & (bounds[:, 2] <= 180.0)
        self._shape[:count] = polygons
        parts, owners = list(polygons[plain]), list(np.flatnonzero(plain))
        for piece in np.flatnonzero(~plain):
            cut = polygon_parts(polygons[piece], bool(valid[piece]), *bounds[piece, [0, 2]])
            parts += cut
            owners += [piece] * len(cut)
            self._shape[piece] = cut[0] if len(cut) == 1 else shapely.GeometryCollection(cut)
        return np.array(parts, dtype=object), np.array(owners, dtype=np.int64)

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
        parts = np.array([part for p in pieces for part in p.parts], dtype=object)
        owner = np.array([i for i, p in enumerate(pieces) for _ in p.parts], dtype=np.int64)
        found, hit = self._tree.query(parts)  # boxes meet: the pre-filter
        sub = self._piece_sub[self._tree_piece[hit]]
        keep = wanted[sub] & (self._rank[sub] <= rank) & self._active[sub]
        found, hit = found[keep], hit[keep]
        shapely.prepare(parts)
        touching = shapely.intersects(parts[found], self._tree_geoms[hit])
        mine, theirs = owner[found[touching]], self._tree_piece[hit[touching]]
        sub = self._piece_sub[theirs]
        my_kind = np.array([p.kind for p in pieces], dtype=np.int8)[mine]
        both_polygons = (my_kind == POLYGON) & (self._piece_kind[theirs] == POLYGON)
        matched = set(sub[both_polygons].tolist())  # GEOS's test of the parts is exact
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
            near = boundary_angles(self._center_vector[out], piece.boundary)
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
