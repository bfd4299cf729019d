"""Areas of a notification: CAP polygons and circles, GeoJSON geometry with decimal strings.

An *area* in a signed body (docs/formats.md, Area) is::

    {"desc": "Aldabra area",
     "geometry": {"type": "Polygon", "coordinates": [[["46.078276", "-9.186965"], ...]]},
     "circles": [{"center": ["151.2", "-33.8"], "radius_km": "10"}],
     "geocodes": [{"name": "SAME", "value": "006109"}],
     "altitude": "0.0", "ceiling": "1000"}

``geometry`` is RFC 7946 geometry (a ``Polygon`` for one CAP ``<polygon>``, a ``MultiPolygon``
for several, in their order), positions ``[lon, lat]`` as decimal strings, every ring closed and
counter-clockwise (RFC 7946 s3.1.6), no holes (a CAP polygon has none). GeoJSON has no circle,
so CAP circles (CAP 1.2 s3.2.4: "lat,lon radius-km") stay in ``circles``. ``area_shape`` gives the
whole area as one shapely geometry for matching, circles approximated by geodesic polygons.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # shapely (with numpy) is imported where shapes are built, not at start-up
    from shapely.geometry import MultiPolygon
    from shapely.geometry.base import BaseGeometry

from parley.formats.errors import FormatError, ValueFormatError
from parley.formats.values import DECIMAL_RE, decimal_string

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
CIRCLE_SEGMENTS = 64
MAX_RADIUS_KM = 20037.5  # half the circumference: a circle beyond it covers the globe

Position = list[str]
Ring = list[Position]


# A canonical decimal string (values.DECIMAL_RE): the look-ahead after a minus sign refuses a
# negative zero at the cost of one test. Possessive quantifiers (Python 3.11) keep the regex
# engine from backtracking, so a CAP polygon of 40,000 points is checked in one linear scan.
_DEC = r"(?:-(?=[1-9]|0\.[0-9]*[1-9]))?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+"
_CANONICAL_POLYGON = re.compile(rf"(?:\s*+{_DEC},{_DEC}(?=\s|$))++\s*+")
_CANONICAL = re.compile(_DEC)


def parse_cap_polygon(text: str, where: str) -> Ring:
    """Parse a CAP ``<polygon>`` ("lat,lon lat,lon ...") into a closed ring of [lon, lat].

    CAP 1.2 s3.2.4 asks for at least four pairs with the first equal to the last; an unclosed
    ring is closed here (the geometry is the same), fewer than three distinct points is refused.
    """
    pairs = text.split()
    if _CANONICAL_POLYGON.fullmatch(text):
        ring: Ring = [pair.split(",")[::-1] for pair in pairs]
    else:
        ring = []
        for index, pair in enumerate(pairs):
            parts = pair.split(",")
            if len(parts) != 2:
                raise FormatError(f"{where}: point {index + 1} {pair!r} is not 'lat,lon'")
            lat, lon = (_coordinate(p, where, index) for p in parts)
            ring.append([lon, lat])
    return _closed_ring(ring, where)


def _coordinate(text: str, where: str, index: int) -> str:
    try:
        return decimal_string(text)
    except ValueFormatError as exc:
        raise FormatError(f"{where}: point {index + 1}: {exc}") from exc


def _closed_ring(ring: Ring, where: str) -> Ring:
    """Check ranges, close the ring, refuse degenerate ones, turn it counter-clockwise."""
    if ring and ring[0] != ring[-1]:
        ring = [*ring, ring[0]]
    xs, ys = _check_ranges(ring, lambda index: f"{where}: point {index + 1}")
    distinct: set[tuple[str, str]] = set()
    for lon, lat in ring:
        distinct.add((lon, lat))
        if len(distinct) == 3:
            break
    if len(distinct) < 3 or len(ring) < 4:
        raise FormatError(f"{where}: a polygon needs at least 3 distinct points, closed")
    return ring if _shoelace(xs, ys) >= 0 else ring[::-1]


def _check_ranges(ring: Ring, name: Callable[[int], str]) -> tuple[list[float], list[float]]:
    """The ring as floats, after checking every position lies on the globe."""
    xs = [float(p[0]) for p in ring]
    ys = [float(p[1]) for p in ring]
    if ys and (min(ys) < -90.0 or max(ys) > 90.0 or min(xs) < -180.0 or max(xs) > 180.0):
        for index, (lon, lat) in enumerate(ring):
            _check_position(lon, lat, name(index))
    return xs, ys


def _check_position(lon: str, lat: str, where: str) -> None:
    if not -90.0 <= float(lat) <= 90.0:
        raise FormatError(f"{where}: latitude {lat} is outside -90..90")
    if not -180.0 <= float(lon) <= 180.0:
        raise FormatError(f"{where}: longitude {lon} is outside -180..180")


def parse_cap_circle(text: str, where: str) -> dict[str, Any]:
    """Parse a CAP ``<circle>`` ("lat,lon radius", radius in km) into a circle object."""
    parts = text.split()
    if len(parts) != 2 or len(parts[0].split(",")) != 2:
        raise FormatError(f"{where}: {text.strip()!r} is not 'lat,lon radius'")
    lat, lon = (_coordinate(p, where, 0) for p in parts[0].split(","))
    _check_position(lon, lat, where)
    try:
        radius = decimal_string(parts[1])
    except ValueFormatError as exc:
        raise FormatError(f"{where}: radius: {exc}") from exc
    if radius.startswith("-") or float(radius) > MAX_RADIUS_KM:
        raise FormatError(f"{where}: radius {radius} km is outside 0..{MAX_RADIUS_KM}")
    return {"center": [lon, lat], "radius_km": radius}


def cap_polygon_text(ring: Ring) -> str:
    """A ring as a CAP ``<polygon>``: space-separated ``lat,lon`` pairs (CAP 1.2 §3.2.4)."""
    return " ".join(f"{lat},{lon}" for lon, lat in ring)


def cap_circle_text(circle: dict[str, Any]) -> str:
    """A circle as a CAP ``<circle>``: ``lat,lon radius`` with the radius in km (CAP 1.2 §3.2.4)."""
    lon, lat = circle["center"]
    return f"{lat},{lon} {circle['radius_km']}"


def _shoelace(xs: list[float], ys: list[float]) -> float:
    """Twice the signed area in degrees squared: positive when counter-clockwise."""
    return math.fsum(
        map(operator.sub, map(operator.mul, xs, ys[1:]), map(operator.mul, xs[1:], ys))
    )


def counter_clockwise(ring: Ring) -> Ring:
    """Return ``ring`` oriented counter-clockwise (RFC 7946 s3.1.6 exterior rings)."""
    xs = [float(p[0]) for p in ring]
    ys = [float(p[1]) for p in ring]
    return ring if _shoelace(xs, ys) >= 0 else ring[::-1]


def rings_geometry(rings: list[Ring]) -> dict[str, Any] | None:
    """GeoJSON geometry of CAP polygons: None, a Polygon, or a MultiPolygon in their order.

    The rings come from ``parse_cap_polygon`` or ``area_from_geojson``: closed, checked and
    already counter-clockwise.
    """
    if not rings:
        return None
    oriented = rings
    if len(oriented) == 1:
        return {"type": "Polygon", "coordinates": [oriented[0]]}
    return {"type": "MultiPolygon", "coordinates": [[r] for r in oriented]}


def geometry_rings(geometry: dict[str, Any] | None) -> list[Ring]:
    """The exterior rings of an area geometry, one per CAP polygon."""
    if geometry is None:
        return []
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [polygon[0] for polygon in geometry["coordinates"]]


def check_area_geometry(geometry: Any, where: str, *, check_rings: bool = True) -> None:
    """Check a body's area geometry: Polygon or MultiPolygon, decimal strings, closed, no holes."""
    if not isinstance(geometry, dict) or set(geometry) != {"type", "coordinates"}:
        raise FormatError(f"{where}: must be {{type, coordinates}}")
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise FormatError(f"{where}.coordinates: a MultiPolygon needs at least one polygon")
        polygons = coordinates
    else:
        raise FormatError(f"{where}.type: {kind!r} is not Polygon or MultiPolygon")
    for p_index, polygon in enumerate(polygons):
        path = f"{where}.coordinates" + (f"[{p_index}]" if kind == "MultiPolygon" else "")
        if not isinstance(polygon, list) or len(polygon) != 1:
            raise FormatError(f"{path}: exactly one ring (a CAP polygon has no holes)")
        if check_rings:
            _check_ring(polygon[0], f"{path}[0]")


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise FormatError(f"{where}: a ring needs at least 4 positions")
    flat = [c for p in ring if type(p) is list and len(p) == 2 for c in p]
    if (
        len(flat) != 2 * len(ring)
        or not all(type(c) is str for c in flat)
        or not all(map(_CANONICAL.fullmatch, flat))
    ):
        for index, position in enumerate(ring):  # slow path: name the first bad position
            check_position(position, f"{where}[{index}]")
    xs, ys = _check_ranges(ring, lambda index: f"{where}[{index}]")
    if ring[0] != ring[-1]:
        raise FormatError(f"{where}: the ring is not closed (first and last positions differ)")
    if _shoelace(xs, ys) < 0:
        raise FormatError(f"{where}: the ring is clockwise; RFC 7946 wants counter-clockwise")


def check_position(position: Any, where: str) -> None:
    """Check one [lon, lat] position of decimal strings within range."""
    if (
        not isinstance(position, list)
        or len(position) != 2
        or not all(isinstance(c, str) and DECIMAL_RE.match(c) for c in position)
    ):
        raise FormatError(f"{where}: must be [lon, lat] as decimal strings")
    _check_position(position[0], position[1], where)


def check_circle(circle: Any, where: str) -> None:
    """Raise ``FormatError`` unless ``circle`` is ``{center, radius_km}`` with a radius in range."""
    if not isinstance(circle, dict) or set(circle) != {"center", "radius_km"}:
        raise FormatError(f"{where}: a circle is exactly {{center, radius_km}}")
    check_position(circle["center"], f"{where}.center")
    radius = circle["radius_km"]
    if not isinstance(radius, str) or not DECIMAL_RE.match(radius) or radius.startswith("-"):
        raise FormatError(f"{where}.radius_km: must be a non-negative decimal string")
    if float(radius) > MAX_RADIUS_KM:
        raise FormatError(f"{where}.radius_km: {radius} km exceeds {MAX_RADIUS_KM} km")


def circle_ring(
    lon: float, lat: float, radius_km: float, segments: int = CIRCLE_SEGMENTS
) -> list[tuple[float, float]]:
    """A closed counter-clockwise ring approximating a geodesic circle on a spherical Earth."""
    if radius_km <= 0:
        return [(lon, lat)] * 4
    angular = radius_km / EARTH_RADIUS_KM
    phi1, lam1 = math.radians(lat), math.radians(lon)
    ring: list[tuple[float, float]] = []
    for step in range(segments):
        bearing = -2.0 * math.pi * step / segments  # negative: counter-clockwise seen from above
        phi2 = math.asin(
            math.sin(phi1) * math.cos(angular)
            + math.cos(phi1) * math.sin(angular) * math.cos(bearing)
        )
        lam2 = lam1 + math.atan2(
            math.sin(bearing) * math.sin(angular) * math.cos(phi1),
            math.cos(angular) - math.sin(phi1) * math.sin(phi2),
        )
        lon2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
        ring.append((lon2, math.degrees(phi2)))
    ring.append(ring[0])
    return ring


def float_ring(ring: Ring) -> list[tuple[float, float]]:
    """A ring of decimal-string positions as ``(lon, lat)`` floats, for geometry."""
    return [(float(lon), float(lat)) for lon, lat in ring]


def area_shape(area: dict[str, Any]) -> BaseGeometry | None:
    """The area as one shapely geometry (polygons and circles), or None for geocodes only."""
    from shapely import make_valid
    from shapely.geometry import Point, Polygon
    from shapely.ops import unary_union

    parts: list[BaseGeometry] = [
        make_valid(Polygon(float_ring(r))) for r in geometry_rings(area.get("geometry"))
    ]
    for circle in area.get("circles", ()):
        lon, lat = (float(c) for c in circle["center"])
        radius = float(circle["radius_km"])
        parts.append(Polygon(circle_ring(lon, lat, radius)) if radius > 0 else Point(lon, lat))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return unary_union(parts)


def circle_area(
    lat: float | str, lon: float | str, radius_km: float | str, desc: str
) -> dict[str, Any]:
    """An area for ``--circle LAT,LON,KM``."""
    circle = {
        "center": [decimal_string(lon), decimal_string(lat)],
        "radius_km": decimal_string(radius_km),
    }
    check_circle(circle, "circle")
    return {"desc": desc, "circles": [circle]}


def area_from_geojson(value: Any, desc: str) -> dict[str, Any]:
    """An area from GeoJSON input (a Polygon, MultiPolygon, Feature or FeatureCollection).

    Floats become decimal strings (``repr`` digits, nothing lost), rings are closed and turned
    counter-clockwise; holes are refused since CAP cannot carry them.
    """
    rings = [_closed_ring(_string_ring(r, "area"), "area") for r in _polygons_of(value)]
    # _closed_ring orients every ring; rings_geometry keeps them as they are.
    if not rings:
        raise FormatError("area: the GeoJSON holds no Polygon or MultiPolygon")
    return {"desc": desc, "geometry": rings_geometry(rings)}


def _polygons_of(value: Any) -> Iterable[list[Any]]:
    if not isinstance(value, dict):
        raise FormatError("area: GeoJSON must be an object")
    kind = value.get("type")
    if kind == "FeatureCollection":
        for feature in value.get("features") or []:
            yield from _polygons_of(feature)
    elif kind == "Feature":
        if value.get("geometry") is not None:
            yield from _polygons_of(value["geometry"])
    elif kind == "GeometryCollection":
        for geometry in value.get("geometries") or []:
            yield from _polygons_of(geometry)
    elif kind in ("Polygon", "MultiPolygon"):
        polygons = [value.get("coordinates")] if kind == "Polygon" else value.get("coordinates")
        for polygon in polygons or []:
            if not isinstance(polygon, list) or len(polygon) != 1:
                raise FormatError("area: polygons with holes cannot be carried in CAP")
            yield polygon[0]
    else:
        raise FormatError(f"area: GeoJSON type {kind!r} is not a polygon area")


def _string_ring(ring: Any, where: str) -> Ring:
    if not isinstance(ring, list):
        raise FormatError(f"{where}: a ring must be a list of positions")
    out: Ring = []
    for index, position in enumerate(ring):
        if not isinstance(position, list | tuple) or len(position) < 2:
            raise FormatError(f"{where}: position {index + 1} is not [lon, lat]")
        try:
            out.append([decimal_string(position[0]), decimal_string(position[1])])
        except ValueFormatError as exc:
            raise FormatError(f"{where}: position {index + 1}: {exc}") from exc
    return out


def multipolygon_of(shape: BaseGeometry | None) -> MultiPolygon | None:
    """Normalise a shape to a MultiPolygon (points dropped), for comparisons in tests and tools."""
    from shapely.geometry import MultiPolygon, Polygon

    if shape is None:
        return None
    if isinstance(shape, Polygon):
        return MultiPolygon([shape])
    if isinstance(shape, MultiPolygon):
        return shape
    polygons = [g for g in getattr(shape, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(polygons) if polygons else None
