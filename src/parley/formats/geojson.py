"""GeoJSON out (RFC 7946): the active notifications as one FeatureCollection, for map tools.

This output is not signed, so coordinates are ordinary JSON numbers here (converted from the
body's decimal strings). One Feature per area of a notification, with the notification's
reference, status and headline in ``properties``; the headline carries ``[EXERCISE]``,
``[TEST]`` or ``[DRAFT]`` for anything that is not Actual, and ``properties.status`` says it too.

Circles have no GeoJSON type. ``circles="polygon"`` (the default) writes each circle as a
64-sided geodesic polygon, merged into the area's MultiPolygon, so any GeoJSON tool draws it;
``circles="point"`` writes each circle as its own Point Feature with ``radius_km`` and
``radius_m`` properties (what Leaflet's ``L.circle`` takes), the polygons of the area staying in
their Feature. An area with geocodes only has ``geometry: null`` (RFC 7946 s3.2).

``map_features`` is the map's form of one notification (the API's ``/notifications/areas``): every
area, in force or not, circles always as Points, with the few properties a map colours and
labels by; whether a Cancel or an ended incident is drawn is the map's decision, so ``msg_type``,
``all_clear``, ``expires`` and ``references`` say what it needs to make it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from parley.core.canonical import canonical_bytes
from parley.formats.areas import circle_ring, geometry_rings
from parley.formats.notification import (
    is_active,
    is_all_clear,
    pick_info,
    render_headline,
    status_marker,
)
from parley.formats.values import format_iso_ms

CircleMode = Literal["polygon", "point"]
# CAP severities from the least to the most severe (CAP 1.2 s3.2.2), for an area's highest.
SEVERITY_ORDER = ("Unknown", "Minor", "Moderate", "Severe", "Extreme")


def feature_collection(
    items: Iterable[tuple[str, Mapping[str, Any], dict[str, Any]]],
    *,
    now_ms: int | None = None,
    circles: CircleMode = "polygon",
    lang: str | None = None,
) -> dict[str, Any]:
    """A FeatureCollection of ``(ref, header, body)`` items; with ``now_ms``, active ones only.

    ``header`` needs ``status`` (the signed status decides the marker) and may give ``party``,
    ``tlp`` and ``time``.
    """
    features: list[dict[str, Any]] = []
    for ref, header, body in items:
        if now_ms is not None and not is_active(body, now_ms):
            continue
        features.extend(_features(ref, header, body, circles, lang))
    return {"type": "FeatureCollection", "features": features}


def _properties(
    ref: str, header: Mapping[str, Any], body: dict[str, Any], lang: str | None
) -> dict[str, Any]:
    status = str(header.get("status", body.get("status", "Actual")))
    info = pick_info(body, lang) or {}
    props: dict[str, Any] = {
        "ref": ref,
        "status": status,
        "exercise": status != "Actual",
        "category": body["category"],
        "msg_type": body["msg_type"],
        "headline": render_headline(dict(body, status=status), lang),
        "sent": format_iso_ms(body["sent"]),
    }
    for key in ("party", "tlp"):
        if key in header:
            props[key] = header[key]
    for key in ("event", "urgency", "severity", "certainty", "lang"):
        if key in info:
            props[key] = info[key]
    for key in ("onset", "expires"):
        if key in body:
            props[key] = format_iso_ms(body[key])
    return props


def _areas(body: dict[str, Any], lang: str | None) -> list[dict[str, Any]]:
    """Areas of every info block, each once, those of the reader's language first.

    Language versions of an alert usually repeat the same areas with translated names.
    """
    seen: set[bytes] = set()
    out = []
    picked = pick_info(body, lang)
    infos = body.get("info", [])
    for info in ([picked] if picked else []) + [i for i in infos if i is not picked]:
        for area in info.get("areas", []):
            key = canonical_bytes({k: v for k, v in area.items() if k != "desc"})
            if key not in seen:
                seen.add(key)
                out.append(area)
    return out


def _polygon_coordinates(area: dict[str, Any]) -> list[list[list[list[float]]]]:
    """An area's polygons as GeoJSON Polygon coordinates: one exterior ring each, as numbers."""
    return [
        [[[float(lon), float(lat)] for lon, lat in ring]]
        for ring in geometry_rings(area.get("geometry"))
    ]


def _features(
    ref: str, header: Mapping[str, Any], body: dict[str, Any], circles: CircleMode, lang: str | None
) -> list[dict[str, Any]]:
    base = _properties(ref, header, body, lang)
    features = []
    for index, area in enumerate(_areas(body, lang)):
        props = dict(base, area=area["desc"], area_index=index)
        if area.get("geocodes"):
            props["geocodes"] = [dict(g) for g in area["geocodes"]]
        polygons = _polygon_coordinates(area)
        points = []
        for circle in area.get("circles", []):
            lon, lat = (float(c) for c in circle["center"])
            radius = float(circle["radius_km"])
            if circles == "polygon" and radius > 0:
                polygons.append([[list(p) for p in circle_ring(lon, lat, radius)]])
            else:
                points.append((lon, lat, radius))
        if polygons or not points:
            features.append(
                {
                    "type": "Feature",
                    "id": f"{ref}/{index}",
                    "geometry": _geometry(polygons),
                    "properties": props,
                }
            )
        for number, (lon, lat, radius) in enumerate(points):
            features.append(
                {
                    "type": "Feature",
                    "id": f"{ref}/{index}/circle{number}",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": dict(props, radius_km=radius, radius_m=radius * 1000.0),
                }
            )
    return features


def _geometry(polygons: list[list[list[list[float]]]]) -> dict[str, Any] | None:
    if not polygons:
        return None
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def map_features(ref: str, header: Mapping[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """The map's Features of one notification: its polygons per area, a Point per circle.

    ``header`` gives the signed ``party``, ``status`` and ``time``. An area repeated across
    language versions appears once, named and headlined as in the first info block that holds
    it (the reader's default language first, ``pick_info``), with the highest severity of the
    blocks that hold it. The headline carries the status marker, as every rendering does.
    """
    status = str(header["status"])
    base = {
        "ref": ref,
        "party": header["party"],
        "status": status,
        "msg_type": body["msg_type"],
        "category": body["category"],
        "time": header["time"],
        "expires": body.get("expires"),
        "all_clear": is_all_clear(body),
        "references": [r["ref"] for r in body.get("references", [])],
    }
    features: list[dict[str, Any]] = []
    for index, (area, info, severity) in enumerate(_map_areas(body)):
        headline = info.get("headline") or info.get("event") or body["category"]
        props = dict(
            base,
            severity=severity,
            headline=status_marker(status) + str(headline),
            area=area["desc"],
            radius_km=None,
        )
        polygons = _polygon_coordinates(area)
        circles = area.get("circles", [])
        if polygons or not circles:
            geometry = _geometry(polygons)
            features.append(
                {
                    "type": "Feature",
                    "id": f"{ref}/{index}",
                    "geometry": geometry,
                    "properties": props,
                }
            )
        for number, circle in enumerate(circles):
            lon, lat = (float(c) for c in circle["center"])
            features.append(
                {
                    "type": "Feature",
                    "id": f"{ref}/{index}/circle{number}",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": dict(props, radius_km=float(circle["radius_km"])),
                }
            )
    return features


def _map_areas(body: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
    """(area, the first info block holding it, the highest severity of those that do)."""
    infos = [i for i in body.get("info", []) if isinstance(i, dict)]
    if len(infos) == 1:  # the common case: nothing to merge
        return [(area, infos[0], infos[0].get("severity")) for area in infos[0].get("areas", [])]
    picked = pick_info(body)
    found: dict[bytes, tuple[dict[str, Any], dict[str, Any], str | None]] = {}
    for info in ([picked] if picked else []) + [i for i in infos if i is not picked]:
        severity = info.get("severity")
        for area in info.get("areas", []):
            key = canonical_bytes({k: v for k, v in area.items() if k != "desc"})
            first = found.setdefault(key, (area, info, severity))
            if _rank(severity) > _rank(first[2]):
                found[key] = (first[0], first[1], severity)
    return list(found.values())


def _rank(severity: str | None) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else -1
