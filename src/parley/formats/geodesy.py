"""Geodesy on a spherical Earth for matching areas: rings across the antimeridian, caps, distances.

What a ring of an area means (docs/formats.md, Area; docs/architecture.md, "Subscription
matching"):

* **Edges take the short way round.** An edge whose ends differ by more than 180 degrees of
  longitude crosses the antimeridian (RFC 7946 s3.1.9 would have split it; CAP cannot, and a
  body keeps its rings as written). ``unwrapped_ring`` turns longitudes into a continuous
  sequence (170, -175 becomes 170, 185), so the ring is an ordinary polygon in the plane of
  longitude and latitude, possibly beyond +-180 degrees. A difference of exactly 180 degrees
  keeps the direction written.
* **A ring that winds once around the globe encloses a pole**: the one on the side of its mean
  latitude. It is closed along that pole (the meridian cut it gets is inside it).
* **Edges are straight in longitude and latitude**, as GEOS (shapely) sees them, so a polygon's
  inside is the same for every check. Distances to an edge are computed on great-circle arcs
  between points put along the edge (``densified``) so that no arc strays more than
  ``EDGE_TOLERANCE_KM`` (10 m) from the edge: a distance to a boundary is within 10 m of the
  exact one on the sphere.
* **Circles are geodesic**: a spherical cap of the radius, on a sphere of the mean radius
  ``EARTH_RADIUS_KM`` (the same as ``areas.circle_ring``; the WGS 84 ellipsoid differs by up
  to 0.5 %). ``cap_boxes`` gives boxes that contain a cap, split at the antimeridian, the whole
  band of longitudes when the cap holds a pole.

Everything here is pure and works on numpy arrays of floats: degrees in, radians for angles
between points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from parley.formats.areas import EARTH_RADIUS_KM

__all__ = [
    "BOX_MARGIN_DEG",
    "EDGE_TOLERANCE_KM",
    "Box",
    "arc_distances",
    "cap_boxes",
    "central_angles",
    "densified",
    "unit_vectors",
    "unwrapped_ring",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Box = tuple[float, float, float, float]  # west, south, east, north, in degrees

EDGE_TOLERANCE_KM = 0.01  # how far a great-circle arc of a densified edge may stray from it
MAX_ARC_DEG = 20.0  # arcs stay far below 180 degrees, where a great circle is ambiguous
BOX_MARGIN_DEG = 1e-6  # about 10 cm: boxes err on the side of holding their cap


def unit_vectors(lon: npt.ArrayLike, lat: npt.ArrayLike) -> Floats:
    """Points given in degrees as unit vectors of shape (n, 3)."""
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=-1)


def _cross(a: Floats, b: Floats) -> Floats:
    """Row-wise cross products of (n, 3) arrays (``np.cross`` costs more on short arrays)."""
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _dot(a: Floats, b: Floats) -> Floats:
    """Row-wise dot products of (n, 3) arrays."""
    dots: Floats = np.einsum("ij,ij->i", a, b)
    return dots


def _norm(a: Floats) -> Floats:
    """Row-wise lengths of an (n, 3) array."""
    lengths: Floats = np.sqrt(_dot(a, a))
    return lengths


def central_angles(a: Floats, b: Floats) -> Floats:
    """The angle (radians) between unit vectors, row by row; stable at 0 and at pi."""
    angles: Floats = np.arctan2(_norm(_cross(a, b)), _dot(a, b))
    return angles


def unwrapped_ring(ring: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """A closed ring as a polygon in the plane of longitude and latitude: (xs, ys).

    Each edge goes the short way round, so longitudes may leave -180..180; a ring that winds
    around the globe is closed along the pole on the side of its mean latitude.
    """
    xs, ys = [ring[0][0]], [ring[0][1]]
    previous = ring[0][0]
    for lon, lat in ring[1:]:
        step = lon - previous
        if step > 180.0:
            step -= 360.0
        elif step < -180.0:
            step += 360.0
        xs.append(xs[-1] + step)
        ys.append(lat)
        previous = lon
    if round((xs[-1] - xs[0]) / 360.0) != 0:
        pole = 90.0 if math.fsum(ys) >= 0 else -90.0
        xs += [xs[-1], xs[0], xs[0]]
        ys += [pole, pole, ys[0]]
    return xs, ys


def _pieces_per_edge(x0: Floats, y0: Floats, dx: Floats, dy: Floats) -> Ints:
    """Into how many arcs each edge is cut, so each stays within the tolerance of the edge.

    A great-circle arc spanning (dlon, dlat) strays from the straight edge by about
    R |dlon| (|dlon| |sin 2 lat| / 16 + |dlat| |sin lat| / 4) (radians; second order in the
    edge), so cutting it in n divides that by n squared.
    """
    lam, phi = np.radians(np.abs(dx)), np.radians(np.abs(dy))
    sin_lat = np.sin(np.radians(np.maximum(np.abs(y0), np.abs(y0 + dy))))
    stray = EARTH_RADIUS_KM * lam * (lam / 16.0 + phi * sin_lat / 4.0)
    count = np.maximum.reduce(
        [
            np.ones_like(dx),
            np.ceil(np.sqrt(stray / EDGE_TOLERANCE_KM)),
            np.ceil(np.abs(dx) / MAX_ARC_DEG),
            np.ceil(np.abs(dy) / MAX_ARC_DEG),
        ]
    )
    at_one_pole = (np.abs(y0) == 90.0) & (dy == 0.0)  # both ends are the same point
    return np.where(at_one_pole, 1, count).astype(np.int64)


def densified(xs: Floats, ys: Floats, starts: Ints) -> tuple[Floats, Floats, Ints]:
    """Rings with points added along long edges: flat ``xs``, ``ys`` and ring ``starts``.

    ``starts`` has one offset per ring plus the total length at the end; every ring is closed.
    Many rings go through one call, so building an index cuts all its edges at once.
    """
    last = np.zeros(len(xs), dtype=bool)
    last[starts[1:] - 1] = True  # a ring's closing vertex starts no edge
    dx, dy = np.zeros_like(xs), np.zeros_like(ys)
    dx[:-1], dy[:-1] = xs[1:] - xs[:-1], ys[1:] - ys[:-1]
    dx[last], dy[last] = 0.0, 0.0
    counts = np.where(last, 1, _pieces_per_edge(xs, ys, dx, dy))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    vertex = np.repeat(np.arange(len(xs)), counts)
    step = np.arange(offsets[-1]) - offsets[vertex]
    t = step / counts[vertex]
    return xs[vertex] + t * dx[vertex], ys[vertex] + t * dy[vertex], offsets[starts]


def arc_distances(p: Floats, a: Floats, b: Floats) -> Floats:
    """The angle (radians) from each point ``p`` to the great-circle arc from ``a`` to ``b``.

    All three are unit vectors of shape (n, 3), arcs shorter than 180 degrees. The nearest
    point is the foot of the perpendicular when it lies on the arc, else the nearer end.
    """
    normal = _cross(a, b)
    length = _norm(normal)
    degenerate = length < 1e-15
    n = normal / np.where(degenerate, 1.0, length)[:, None]
    s = _dot(p, n)
    foot = p - s[:, None] * n
    on_arc = (_dot(_cross(a, foot), n) >= 0) & (_dot(_cross(foot, b), n) >= 0)
    to_circle = np.arctan2(np.abs(s), _norm(foot))
    to_ends = np.minimum(central_angles(p, a), central_angles(p, b))
    return np.where(on_arc & ~degenerate, to_circle, to_ends)


def cap_boxes(lon: float, lat: float, radius_km: float) -> list[Box]:
    """Boxes within -180..180 that together hold the spherical cap of ``radius_km`` at a point.

    The exact extent of a cap that holds no pole is +-asin(sin r / cos lat) in longitude; a cap
    that holds a pole takes every longitude. A little margin keeps rounding on the safe side.
    """
    angle = radius_km / EARTH_RADIUS_KM
    if angle >= math.pi:
        return [(-180.0, -90.0, 180.0, 90.0)]
    reach = math.degrees(angle) + BOX_MARGIN_DEG
    south, north = max(lat - reach, -90.0), min(lat + reach, 90.0)
    if north >= 90.0 or south <= -90.0:
        return [(-180.0, south, 180.0, north)]
    ratio = math.sin(angle) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return [(-180.0, south, 180.0, north)]
    half = math.degrees(math.asin(ratio)) + BOX_MARGIN_DEG
    if half >= 180.0:
        return [(-180.0, south, 180.0, north)]
    west, east = lon - half, lon + half
    if west < -180.0:
        return [(west + 360.0, south, 180.0, north), (-180.0, south, east, north)]
    if east > 180.0:
        return [(west, south, 180.0, north), (-180.0, south, east - 360.0, north)]
    return [(west, south, east, north)]
