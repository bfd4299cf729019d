"""What an officer gives to subscribe: the area, the categories, the texts, checked.

The boundary of ``parley.node.subscriptions``: the API (and any later edge) passes the JSON it
received; every error is an ``InvalidEntryError`` whose message starts with the field it is
about (``area.radius_km: ...``, ``categories[1]: ...``), and the area comes out in the Area
format of the notification body (decimal strings, rings closed and counter-clockwise), so a
subscription's area is matched by the same rules as a notification's.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from parley.core.errors import InvalidEntryError, LimitExceededError
from parley.formats.area_pieces import check_simple
from parley.formats.areas import area_from_geojson, check_circle
from parley.formats.body_schema import SEVERITIES
from parley.formats.categories import CATEGORIES
from parley.formats.errors import ValueFormatError
from parley.formats.values import decimal_string

__all__ = ["checked_categories", "checked_severity", "checked_text", "subscription_area"]

MAX_POSITIONS = 10_000  # positions of a subscription's polygons


def subscription_area(value: Any, desc: str) -> dict[str, Any]:
    """The Area (body format) of a subscription's ``area`` input; errors name the field.

    A GeoJSON ``Polygon`` or ``MultiPolygon`` (numbers or decimal strings, rings closed and
    turned counter-clockwise here, simple, no holes), or a circle ``{"center": [lon, lat],
    "radius_km": r}`` with 0 < r <= half the Earth's circumference.
    """
    if isinstance(value, dict) and "type" in value:
        if value["type"] not in ("Polygon", "MultiPolygon"):
            raise InvalidEntryError(f"area.type: {value['type']!r} is not Polygon or MultiPolygon")
        if not isinstance(value.get("coordinates"), list):
            raise InvalidEntryError("area.coordinates: must be a list of rings")
        if _positions(value["coordinates"]) > MAX_POSITIONS:
            raise LimitExceededError(f"area.coordinates: more than {MAX_POSITIONS:,} positions")
        area = area_from_geojson(value, desc)
        check_simple(area, "area.coordinates")
        return area
    if isinstance(value, dict) and set(value) == {"center", "radius_km"}:
        center = value["center"]
        if not isinstance(center, list | tuple) or len(center) != 2:
            raise InvalidEntryError("area.center: must be [lon, lat]")
        circle: dict[str, Any] = {
            "center": [_decimal(c, "area.center") for c in center],
            "radius_km": _decimal(value["radius_km"], "area.radius_km"),
        }
        check_circle(circle, "area")
        if float(circle["radius_km"]) == 0:
            raise InvalidEntryError("area.radius_km: must be more than 0")
        return {"desc": desc, "circles": [circle]}
    raise InvalidEntryError(
        "area: must be a GeoJSON Polygon or MultiPolygon, or a circle {center, radius_km}"
    )


def _decimal(value: Any, field: str) -> str:
    try:
        return decimal_string(value)
    except (ValueFormatError, TypeError) as exc:
        raise InvalidEntryError(f"{field}: {value!r} is not a number") from exc


def _positions(value: Any, depth: int = 0) -> int:
    """How many positions nested lists hold (a GeoJSON position is a list of numbers)."""
    if not isinstance(value, list) or depth > 3:
        return 0
    if not value or not isinstance(value[0], list):
        return 1
    return sum(_positions(item, depth + 1) for item in value)


def checked_categories(value: Any) -> list[str]:
    """The categories a subscription wants: a non-empty list of known codes, sorted, once each."""
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset) or not value:
        raise InvalidEntryError("categories: must be a non-empty list, e.g. ['geo.tsunami']")
    for index, code in enumerate(value):
        if code not in CATEGORIES:
            raise InvalidEntryError(
                f"categories[{index}]: {code!r} is not a known category",
                hint="'parley categories' lists them",
            )
    return sorted(set(value))


def checked_text(value: Any, field: str, limit: int, *, ascii_only: bool = False) -> str | None:
    """An optional short text (a label, a token id): None, or a non-empty printable string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidEntryError(f"{field}: must be a non-empty string")
    if len(value) > limit:
        raise InvalidEntryError(f"{field}: longer than {limit} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidEntryError(f"{field}: control characters are not allowed")
    if ascii_only and not value.isascii():
        raise InvalidEntryError(f"{field}: must be ASCII")
    return value


def checked_severity(value: Any) -> str:
    """A minimum severity: one of the CAP severities."""
    if value not in SEVERITIES:
        raise InvalidEntryError(f"min_severity: {value!r} is none of {', '.join(SEVERITIES)}")
    return str(value)
