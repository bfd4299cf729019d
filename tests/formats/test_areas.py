"""Areas and values: CAP polygons and circles, decimal strings, CAP times."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from parley.formats.areas import (
    _CANONICAL,
    _CANONICAL_POLYGON,
    EARTH_RADIUS_KM,
    area_from_geojson,
    area_shape,
    cap_polygon_text,
    circle_ring,
    geometry_rings,
    parse_cap_circle,
    parse_cap_polygon,
    rings_geometry,
)
from parley.formats.body_schema import check_area
from parley.formats.errors import FormatError, ValueFormatError
from parley.formats.values import (
    DECIMAL_RE,
    decimal_string,
    format_cap_time,
    parse_cap_time,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("35.6895", "35.6895"),
        ("+35.0", "35.0"),
        ("007", "7"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-0.0", "0.0"),
        ("-.25", "-0.25"),
        (" 12 ", "12"),
    ],
)
def test_xs_decimal_forms_become_canonical_decimal_strings(text: str, expected: str) -> None:
    assert decimal_string(text) == expected and DECIMAL_RE.match(expected)


@pytest.mark.parametrize("text", ["", "1e5", "abc", "1.2.3", "--1", "NaN"])
def test_non_decimals_are_refused(text: str) -> None:
    with pytest.raises(ValueFormatError):
        decimal_string(text)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_to_decimal_string_is_exact(value: float) -> None:
    text = decimal_string(value)
    assert DECIMAL_RE.match(text)
    assert float(text) == value


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 253402300799 - 14 * 3600), st.sampled_from(["-00:00", "+09:00", "+14:00"]))
def test_cap_times_round_trip_with_their_offset(seconds: int, tz: str) -> None:
    text = format_cap_time(seconds * 1000, tz)
    assert parse_cap_time(text) == (seconds * 1000, tz)


def test_cap_1_1_times_with_fractions_and_z_are_read() -> None:
    assert parse_cap_time("2010-08-31T00:09:25.496Z") == (1283213365496, "+00:00")
    assert (
        parse_cap_time("2010-08-31T24:00:00+00:00")[0]
        == parse_cap_time("2010-09-01T00:00:00+00:00")[0]
    )
    with pytest.raises(ValueFormatError):
        parse_cap_time("2010-02-30T00:00:00+00:00")


def test_cap_polygon_is_read_lat_lon_and_closed() -> None:
    ring = parse_cap_polygon("35.0,139.0 35.0,140.0 36.0,140.0", "p")
    assert ring == [["139.0", "35.0"], ["140.0", "35.0"], ["140.0", "36.0"], ["139.0", "35.0"]]
    assert cap_polygon_text(ring) == "35.0,139.0 35.0,140.0 36.0,140.0 35.0,139.0"


def test_clockwise_polygon_is_turned_counter_clockwise() -> None:
    ring = parse_cap_polygon("35,139 36,139 36,140 35,140 35,139", "p")  # clockwise
    assert ring == [["139", "35"], ["140", "35"], ["140", "36"], ["139", "36"], ["139", "35"]]
    geometry = rings_geometry([ring])
    assert geometry is not None
    check_area({"desc": "x", "geometry": geometry}, "area")
    clockwise = {"type": "Polygon", "coordinates": [ring[::-1]]}
    with pytest.raises(FormatError, match="clockwise"):
        check_area({"desc": "x", "geometry": clockwise}, "area")


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"-?[0-9]{0,3}(\.[0-9]{0,3})?", fullmatch=True) | st.text(max_size=6))
def test_fast_ring_check_agrees_with_the_decimal_rule(text: str) -> None:
    assert bool(_CANONICAL.fullmatch(text)) == bool(DECIMAL_RE.match(text))


@pytest.mark.parametrize(
    "text, message",
    [
        ("35,139 36,139", "3 distinct"),
        ("35;139 36,139 36,140", "not 'lat,lon'"),
        ("91,139 36,139 36,140", "latitude 91 is outside"),
        ("35,181 36,139 36,140", "longitude"),
    ],
)
def test_bad_polygons_are_refused(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_cap_polygon(text, "p")


def test_circle_is_read_and_bad_radius_refused() -> None:
    assert parse_cap_circle("-33.8,151.2 10", "c") == {
        "center": ["151.2", "-33.8"],
        "radius_km": "10",
    }
    with pytest.raises(FormatError, match="radius"):
        parse_cap_circle("-33.8,151.2 -1", "c")
    with pytest.raises(FormatError, match="'lat,lon radius'"):
        parse_cap_circle("-33.8 151.2 10", "c")


@settings(max_examples=100, deadline=None)
@given(st.floats(-170, 170), st.floats(-70, 70), st.floats(1, 1000))
def test_circle_ring_is_geodesically_round(lon: float, lat: float, radius: float) -> None:
    for point_lon, point_lat in circle_ring(lon, lat, radius)[:-1]:
        phi1, phi2 = math.radians(lat), math.radians(point_lat)
        dlam = math.radians(point_lon - lon)
        cos_c = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(dlam)
        distance = EARTH_RADIUS_KM * math.acos(max(-1.0, min(1.0, cos_c)))
        assert distance == pytest.approx(radius, rel=1e-6, abs=1e-6)


def test_area_from_geojson_keeps_float_digits_and_refuses_holes() -> None:
    feature: dict[str, Any] = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[139.1, 35.1], [139.9, 35.1], [139.9, 35.9], [139.1, 35.1]]],
        },
    }
    area = area_from_geojson({"type": "FeatureCollection", "features": [feature]}, "Kanto")
    check_area(area, "area")
    assert geometry_rings(area["geometry"])[0][0] == ["139.1", "35.1"]
    shape = area_shape(area)
    assert shape is not None and shape.contains(Point(139.7, 35.3))
    holed = {"type": "Polygon", "coordinates": [feature["geometry"]["coordinates"][0]] * 2}
    with pytest.raises(FormatError, match="holes"):
        area_from_geojson(holed, "x")
    with pytest.raises(FormatError, match="Point"):
        area_from_geojson({"type": "Point", "coordinates": [1, 2]}, "x")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,3})?", fullmatch=True),
            st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,3})?", fullmatch=True),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([" ", "\n", "  \t", "\r\n "]),
)
def test_fast_polygon_path_agrees_with_the_point_by_point_rule(
    pairs: list[tuple[str, str]], gap: str
) -> None:
    text = gap.join(f"{a},{b}" for a, b in pairs)
    canonical = all(DECIMAL_RE.match(a) and DECIMAL_RE.match(b) for a, b in pairs)
    assert bool(_CANONICAL_POLYGON.fullmatch(text)) == canonical
