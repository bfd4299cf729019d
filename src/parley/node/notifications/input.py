"""What an officer types for a notification: times, areas and category details, parsed.

The grammar of ``parley notify`` options and of exercise scenario steps alike, so both edges
read the same text the same way. Each value is read by the kind the category table gives its
field (docs/formats.md, Details per category), so ``--detail magnitude=7.1`` becomes the
decimal string ``"7.1"`` and ``--detail window_start=+30h`` a time in milliseconds.
Errors name the option and the field.

A JSON request (the officer API) gives the same things as values rather than option text:
``request_area`` reads an area as ``{desc, geometry?, circle?}`` and ``request_details`` reads
details whose string values follow the ``--detail`` grammar; ``at_field`` names the request
field at fault in any error raised inside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from parley.core.canonical import parse_json
from parley.core.deadlines import parse_duration
from parley.core.errors import InvalidEntryError, ParleyError
from parley.formats.areas import area_from_geojson, circle_area
from parley.formats.categories import CATEGORIES, DetailField
from parley.formats.errors import ValueFormatError
from parley.formats.values import decimal_string, parse_cap_time

__all__ = [
    "area_option",
    "at_field",
    "parse_area",
    "parse_details",
    "parse_when",
    "request_area",
    "request_details",
]

MAX_AREA_FILE = 16 * 1024 * 1024


def parse_when(text: str, now: int) -> int:
    """A time: ISO 8601 (UTC unless an offset is given) or ``+DURATION`` after ``now``.

    The duration after ``+`` is ``core.deadlines.parse_duration``'s: ``+90s``, ``+30m``, ``+6h``,
    ``+2d``, ``+1w``, combined (``+1d12h``), or ISO 8601 (``+PT6H``, ``+P1DT12H``).
    """
    text = text.strip()
    if not text.startswith("+"):
        try:
            return parse_cap_time(text)[0]
        except ValueFormatError as exc:
            raise InvalidEntryError(
                f"time {text!r}: {exc}", hint="e.g. 2027-05-01T12:00:00+09:00, or +6h"
            ) from exc
    try:
        return now + parse_duration(text[1:])
    except InvalidEntryError as exc:
        raise InvalidEntryError(f"duration {text!r} is not like +6h, +1d12h or +PT90M") from exc


def parse_area(text: str, desc: str | None = None) -> dict[str, Any]:
    """An area from ``LAT,LON,KM`` (a circle) or ``@FILE.geojson``."""
    if text.startswith("@"):
        return _geojson_area(Path(text[1:]), desc)
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 3:
        raise InvalidEntryError(f"area {text!r} is neither LAT,LON,KM nor @FILE.geojson")
    lat, lon, km = parts
    try:
        return circle_area(lat, lon, km, desc or f"{km} km around {lat},{lon}")
    except (ValueFormatError, ParleyError) as exc:
        raise InvalidEntryError(f"circle {text!r}: {exc}") from exc


def _geojson_area(path: Path, desc: str | None) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_AREA_FILE:
            raise InvalidEntryError(f"{path}: larger than {MAX_AREA_FILE} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidEntryError(f"{path}: {exc.strerror}") from exc
    try:
        value = orjson.loads(data)  # GeoJSON has floats: area_from_geojson makes them decimals
    except orjson.JSONDecodeError as exc:
        raise InvalidEntryError(f"{path}: not valid JSON ({exc})") from exc
    try:
        return area_from_geojson(value, desc or path.stem)
    except ParleyError as exc:
        raise InvalidEntryError(f"{path}: {exc.message}", hint=exc.hint) from exc


def area_option(area: Path | None, circle: str | None, desc: str | None) -> dict[str, Any]:
    """The area of ``--area FILE.geojson`` or ``--circle LAT,LON,KM`` (exactly one)."""
    if (area is None) == (circle is None):
        raise InvalidEntryError("give the area as --area FILE.geojson or --circle LAT,LON,KM")
    if area is not None:
        return _geojson_area(area, desc)
    assert circle is not None  # noqa: S101 - one of the two, checked above
    return parse_area(circle, desc)


def _value(field: DetailField, text: str, now: int) -> Any:
    kind = field.kind
    if kind in ("text", "enum"):
        return text
    if kind == "texts":
        return [item.strip() for item in text.split(",") if item.strip()]
    if kind == "int":
        return int(text)
    if kind == "decimal":
        return decimal_string(text)
    if kind == "ms":
        return parse_when(text, now)
    if kind == "bool":
        if text.lower() not in ("true", "false", "yes", "no"):
            raise ValueError("true or false")
        return text.lower() in ("true", "yes")
    if kind == "point":
        lat, lon = (decimal_string(part.strip()) for part in text.split(","))
        return [lon, lat]
    if kind == "area":
        return parse_area(text)
    if kind == "areas":
        return [parse_area(part.strip()) for part in text.split(";") if part.strip()]
    return parse_json(text.encode("utf-8"), what=field.name)  # object, objects


def parse_details(category: str, pairs: list[str], now: int) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as the typed details of ``category``; an ``areas`` field adds up."""
    if category not in CATEGORIES:
        raise InvalidEntryError(
            f"category {category!r} is not known", hint="see docs/formats.md, Categories"
        )
    fields = {f.name: f for f in CATEGORIES[category].details}
    details: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            known = ", ".join(fields) or "none"
            raise InvalidEntryError(
                f"--detail {pair!r}: not NAME=VALUE with a field of {category} ({known})"
            )
        field = fields[name]
        try:
            value = _value(field, text.strip(), now)
        except (ValueError, ValueFormatError) as exc:
            raise InvalidEntryError(
                f"--detail {name}: {text!r} is not a {field.kind} ({exc})"
            ) from exc
        except ParleyError as exc:
            raise InvalidEntryError(f"--detail {name}: {exc.message}", hint=exc.hint) from exc
        if field.kind == "areas" and name in details:
            details[name] = details[name] + value
        else:
            details[name] = value
    return details


# A JSON request ------------------------------------------------------------------------------


@contextmanager
def at_field(name: str) -> Iterator[None]:
    """Name ``name`` as the input at fault of a ``ParleyError`` raised inside, unless one is."""
    try:
        yield
    except ParleyError as exc:
        if exc.field is None:
            exc.field = name
        raise


def request_area(
    desc: str,
    geometry: Mapping[str, Any] | None,
    circle: Mapping[str, Any] | None,
    where: str = "area",
) -> dict[str, Any]:
    """An area from a request: GeoJSON polygons (numbers or decimal strings), a circle, or both.

    ``circle`` is ``{center: [lon, lat], radius_km}`` with decimal strings, as a signed body
    writes it. Errors name ``where`` (``where.geometry`` or ``where.circle``).
    """
    if geometry is None and circle is None:
        raise InvalidEntryError(f"{where}: give a geometry, a circle or both", field=where)
    area: dict[str, Any] = {"desc": desc}
    if geometry is not None:
        with at_field(f"{where}.geometry"):
            try:
                area = area_from_geojson(dict(geometry), desc)
            except ParleyError as exc:
                raise InvalidEntryError(f"{where}.geometry: {exc.message}", hint=exc.hint) from exc
    if circle is not None:
        with at_field(f"{where}.circle"):
            center = circle.get("center")
            if not isinstance(center, list | tuple) or len(center) != 2:
                raise InvalidEntryError(f"{where}.circle.center: must be [lon, lat]")
            try:
                made = circle_area(center[1], center[0], circle.get("radius_km", ""), desc)
            except (ValueFormatError, ParleyError) as exc:
                raise InvalidEntryError(f"{where}.circle: {exc}") from exc
            area["circles"] = made["circles"]
    return area


def request_details(
    category: str, values: Mapping[str, Any], now: int, where: str = "details"
) -> dict[str, Any]:
    """Details from a request: a string (or a number) is read as ``--detail NAME=VALUE`` reads it.

    Any other JSON value (an integer time in ms, a list, an object) is taken in the signed
    body's own form, which the notification's schema then checks (docs/formats.md, Details).
    """
    if category not in CATEGORIES:
        raise InvalidEntryError(
            f"category {category!r} is not known", hint="see docs/formats.md, Categories"
        )
    known = [f.name for f in CATEGORIES[category].details]
    details: dict[str, Any] = {}
    for name, value in values.items():
        with at_field(f"{where}.{name}"):
            if name not in known:
                raise InvalidEntryError(
                    f"{where}.{name}: not a detail of {category} ({', '.join(known) or 'none'})"
                )
            if isinstance(value, float):
                value = decimal_string(value)
            if isinstance(value, str):
                details[name] = parse_details(category, [f"{name}={value}"], now)[name]
            else:
                details[name] = value
    return details
