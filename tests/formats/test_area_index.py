"""Subscription matching: the exact rules on real places, and the index against brute force."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.formats.area_index import SEVERITY_RANK, Subscription, SubscriptionIndex, alert_terms
from parley.formats.area_pieces import area_pieces, pieces_meet
from parley.formats.areas import EARTH_RADIUS_KM, area_from_geojson, circle_area
from parley.formats.geodesy import (
    EDGE_TOLERANCE_KM,
    arc_distances,
    cap_boxes,
    densified,
    unit_vectors,
)

TSUNAMI = "geo.tsunami"
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0


def wrapped(lon: float) -> float:
    return (lon + 540.0) % 360.0 - 180.0 if not -180.0 <= lon <= 180.0 else lon


def polygon(*ring: tuple[float, float], desc: str = "area") -> dict[str, Any]:
    """An area of one polygon; longitudes beyond +-180 are written back within them."""
    closed = [[wrapped(x), y] for x, y in [*ring, ring[0]]]
    return area_from_geojson({"type": "Polygon", "coordinates": [closed]}, desc)


def circle(lon: float, lat: float, km: float) -> dict[str, Any]:
    return circle_area(lat, lon, km, "circle")


def meet(one: dict[str, Any], other: dict[str, Any]) -> bool:
    return any(pieces_meet(p, q) for p in area_pieces(one) for q in area_pieces(other))


def index_of(*areas: dict[str, Any], severity: str = "Minor") -> SubscriptionIndex:
    return SubscriptionIndex(
        Subscription(i, area, frozenset({TSUNAMI}), severity) for i, area in enumerate(areas)
    )


# Places across the antimeridian --------------------------------------------------------------

ALEUTIANS = polygon((172.0, 50.5), (-165.0, 50.5), (-165.0, 55.0), (172.0, 55.0))
CHUKOTKA = polygon((170.0, 64.0), (-170.0, 64.0), (-170.0, 70.0), (170.0, 70.0))
ADAK = circle(-176.65, 51.88, 30.0)


def test_a_circle_around_adak_meets_a_polygon_across_the_antimeridian() -> None:
    assert meet(ADAK, ALEUTIANS) and meet(ALEUTIANS, ADAK)
    assert index_of(ALEUTIANS).matches([ADAK], TSUNAMI, "Extreme") == [0]
    assert index_of(ADAK).matches([ALEUTIANS], TSUNAMI, "Extreme") == [0]


def test_a_chukotka_polygon_spans_170e_to_170w_not_the_rest_of_the_globe() -> None:
    lavrentiya, anadyr = circle(-171.0, 65.58, 5.0), circle(177.5, 64.73, 5.0)
    norway = polygon((5.0, 65.0), (10.0, 65.0), (10.0, 68.0), (5.0, 68.0))
    index = index_of(CHUKOTKA)
    assert index.matches([lavrentiya], TSUNAMI, "Severe") == [0]
    assert index.matches([anadyr], TSUNAMI, "Severe") == [0]
    assert index.matches([norway], TSUNAMI, "Severe") == []  # read as written, it would match
    assert index.matches([circle(0.0, 66.0, 100.0)], TSUNAMI, "Severe") == []


def test_polygons_on_both_sides_of_the_antimeridian_meet_only_where_they_overlap() -> None:
    east = polygon((178.0, 60.0), (-178.0, 60.0), (-178.0, 62.0), (178.0, 62.0))
    west_only = polygon((-179.0, 61.0), (-175.0, 61.0), (-175.0, 61.5), (-179.0, 61.5))
    far = polygon((-176.0, 61.0), (-175.0, 61.0), (-175.0, 61.5), (-176.0, 61.5))
    assert meet(east, west_only) and not meet(east, far)


def test_a_circle_over_the_antimeridian_has_boxes_on_both_sides() -> None:
    boxes = cap_boxes(179.9, 0.0, 50.0)
    assert len(boxes) == 2 and boxes[0][2] == 180.0 and boxes[1][0] == -180.0
    assert meet(circle(179.9, 0.0, 50.0), polygon((-179.9, -1.0), (-179.5, -1.0), (-179.5, 1.0)))


def test_a_ring_around_the_pole_holds_the_pole() -> None:
    arctic = polygon((-180.0, 80.0), (-60.0, 80.0), (60.0, 80.0), (179.0, 80.0))
    assert meet(arctic, circle(0.0, 90.0, 1.0))
    assert meet(arctic, circle(100.0, 85.0, 1.0))
    assert not meet(arctic, circle(100.0, 70.0, 100.0))
    assert meet(arctic, circle(100.0, 70.0, 1200.0))


# Geodesic circles ---------------------------------------------------------------------------


def north_of(lon: float, lat: float, km: float, width: float = 1.0) -> dict[str, Any]:
    """A rectangle whose nearest point to (lon, lat) is ``km`` due north of it."""
    south = lat + km / KM_PER_DEGREE
    return polygon(
        (lon - width, south),
        (lon + width, south),
        (lon + width, south + 1),
        (lon - width, south + 1),
    )


@pytest.mark.parametrize("lon, lat", [(140.0, 50.0), (179.95, 60.0), (-10.0, -70.0)])
def test_a_10_km_circle_misses_a_polygon_12_km_away_and_meets_one_9_km_away(
    lon: float, lat: float
) -> None:
    def north_of_centre(km: float) -> dict[str, Any]:
        return north_of(lon, lat, km)

    centre = circle(lon, lat, 10.0)
    assert not meet(centre, north_of_centre(12.0))
    assert meet(centre, north_of_centre(9.0))
    assert meet(centre, north_of_centre(9.99)) and not meet(centre, north_of_centre(10.02))
    index = index_of(north_of_centre(12.0), north_of_centre(9.0))
    assert index.matches([centre], TSUNAMI, "Minor") == [1]


def north_east_of(lon: float, lat: float, km: float, size: float) -> dict[str, Any]:
    """A square whose south-west corner, its nearest point, is ``km`` north-east of (lon, lat)."""
    angle, phi, bearing = km / EARTH_RADIUS_KM, math.radians(lat), math.radians(45.0)
    corner_lat = math.asin(
        math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(bearing)
    )
    corner_lon = lon + math.degrees(
        math.atan2(
            math.sin(bearing) * math.sin(angle) * math.cos(phi),
            math.cos(angle) - math.sin(phi) * math.sin(corner_lat),
        )
    )
    x, y = corner_lon, math.degrees(corner_lat)
    return polygon((x, y), (x + size, y), (x + size, y + size), (x, y + size))


def test_each_of_many_polygons_near_one_circle_is_judged_by_its_own_boundary() -> None:
    # All lie within the circle's box; those beyond 10 km only the exact check refuses.
    distances = [11.0, 3.0, 13.0, 6.0, 12.0, 9.0, 10.5, 9.9]
    index = index_of(
        *(north_east_of(150.0, 45.0, km, 0.05 * (i + 1)) for i, km in enumerate(distances))
    )
    assert index.matches([circle(150.0, 45.0, 10.0)], TSUNAMI, "Minor") == [1, 3, 5, 7]


def test_circles_meet_when_their_centres_are_within_the_sum_of_the_radii() -> None:
    one = circle(150.0, 40.0, 10.0)
    d = 15.0 / KM_PER_DEGREE  # along a meridian a degree is KM_PER_DEGREE
    assert meet(one, circle(150.0, 40.0 + 0.99 * d, 5.0))
    assert not meet(one, circle(150.0, 40.0 + 1.01 * d, 5.0))
    assert index_of(circle(150.0, 40.0 + 1.01 * d, 5.0)).matches([one], TSUNAMI, "Minor") == []


def test_a_circle_inside_a_polygon_meets_it_far_from_any_edge() -> None:
    assert meet(circle(140.0, 40.0, 1.0), polygon((130, 30), (150, 30), (150, 50), (130, 50)))


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-180, 180),
    st.floats(-85, 85),
    st.floats(-30, 30),
    st.floats(-20, 20),
)
def test_densified_arcs_stay_within_10_m_of_the_straight_edge(
    lon: float, lat: float, dlon: float, dlat: float
) -> None:
    lat_end = max(-89.0, min(89.0, lat + dlat))
    xs, ys = np.array([lon, lon + dlon]), np.array([lat, lat_end])
    dx, dy, _ = densified(xs, ys, np.array([0, 2]))
    arcs = unit_vectors(dx, dy)
    t = np.linspace(0.0, 1.0, 2001)
    points = unit_vectors(lon + t * dlon, lat + t * (lat_end - lat))
    nearest = np.full(len(points), np.inf)
    for a, b in zip(arcs[:-1], arcs[1:], strict=True):
        found = arc_distances(points, np.tile(a, (len(points), 1)), np.tile(b, (len(points), 1)))
        nearest = np.minimum(nearest, found)
    assert nearest.max() * EARTH_RADIUS_KM <= EDGE_TOLERANCE_KM * 1.05


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-180, 180),
    st.floats(-70, 70),
    st.floats(0.2, 6),
    st.floats(0.2, 6),
    st.floats(0, 2 * math.pi),
    st.floats(1.2, 4),
)
def test_the_distance_to_a_boundary_agrees_with_fine_sampling(
    lon: float, lat: float, width: float, height: float, bearing: float, away: float
) -> None:
    corners = [(lon, lat), (lon + width, lat), (lon + width, lat + height), (lon, lat + height)]
    area = polygon(*corners)
    middle = (lon + width / 2, lat + height / 2)
    reach = away * max(width, height) / 2
    centre_lon = middle[0] + reach * math.cos(bearing)
    centre_lat = max(-89.0, min(89.0, middle[1] + reach * math.sin(bearing)))
    centre_lon = wrapped(centre_lon)
    t = np.linspace(0.0, 1.0, 4001)[:, None]
    closed = np.array([*corners, corners[0]])
    samples = np.concatenate(
        [a + t * (b - a) for a, b in zip(closed[:-1], closed[1:], strict=True)]
    )
    centre = unit_vectors([centre_lon], [centre_lat])
    points = unit_vectors(samples[:, 0], samples[:, 1])
    sampled = float(np.arccos(np.clip(points @ centre[0], -1, 1)).min()) * EARTH_RADIUS_KM
    if shapely.intersects_xy(area_pieces(area)[0].shape, centre_lon, centre_lat):
        return
    assert meet(area, circle(centre_lon, centre_lat, sampled + 0.05))
    assert not meet(area, circle(centre_lon, centre_lat, max(0.0, sampled - 0.05)))


# Categories, severities, notifications ------------------------------------------------------


def test_severities_rank_in_the_cap_order() -> None:
    order = sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__, reverse=True)
    assert order == ["Extreme", "Severe", "Moderate", "Minor", "Unknown"]


def test_a_subscription_wants_its_categories_at_its_minimum_severity_or_above() -> None:
    index = SubscriptionIndex(
        [
            Subscription(7, ALEUTIANS, frozenset({TSUNAMI}), "Severe"),
            Subscription(8, ALEUTIANS, frozenset({"geo.earthquake", TSUNAMI}), "Unknown"),
        ]
    )
    assert index.matches([ADAK], TSUNAMI, "Extreme") == [7, 8]
    assert index.matches([ADAK], TSUNAMI, "Moderate") == [8]
    assert index.matches([ADAK], "geo.earthquake", "Extreme") == [8]
    assert index.matches([ADAK], "met.flood", "Extreme") == []
    assert index.matches([ADAK], TSUNAMI, "Bogus") == []
    assert index.retain([8]).matches([ADAK], TSUNAMI, "Extreme") == [8]
    assert len(index.retain([8])) == 1 and index.retain([]).ids == []


def test_a_notification_without_a_placeable_area_matches_nothing() -> None:
    index = index_of(ALEUTIANS, ADAK)
    assert index.matches([], TSUNAMI, "Extreme") == []
    geocodes = {"desc": "Adak", "geocodes": [{"name": "SAME", "value": "002016"}]}
    assert index.matches([geocodes], TSUNAMI, "Extreme") == []


def test_alert_terms_take_every_area_once_and_the_highest_severity() -> None:
    info = {"lang": "en", "severity": "Moderate", "areas": [ADAK]}
    body = {
        "category": TSUNAMI,
        "msg_type": "Update",
        "info": [info, dict(info, lang="ja", severity="Extreme", areas=[dict(ADAK, desc="x")])],
    }
    terms = alert_terms(body)
    assert terms is not None
    assert terms.areas == (ADAK,) and terms.severity == "Extreme" and terms.category == TSUNAMI
    assert alert_terms(dict(body, msg_type="Ack")) is None
    assert alert_terms(dict(body, info=[])) is None


def test_an_empty_index_matches_nothing() -> None:
    assert SubscriptionIndex([]).matches([ADAK], TSUNAMI, "Extreme") == []


# The index against brute force --------------------------------------------------------------

# Four places in five lie near the antimeridian in a band of latitudes, so that areas meet often
# and many meet across it; the rest lie anywhere, poles included.
places = st.one_of(
    *[st.tuples(st.floats(174, 180), st.floats(50, 56))] * 2,
    *[st.tuples(st.floats(-180, -174), st.floats(50, 56))] * 2,
    st.tuples(st.floats(-180, 180), st.floats(-89, 89)),
)


@st.composite
def areas(draw: st.DrawFn) -> dict[str, Any]:
    lon, lat = draw(places)
    if draw(st.booleans()):
        return circle(lon, lat, draw(st.floats(0.5, 600)))
    count = draw(st.integers(3, 8))
    size = draw(st.floats(0.05, 5))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi), min_size=count, max_size=count)))
    ring = []
    for angle in angles:
        reach = size * draw(st.floats(0.2, 1))
        x = lon + reach * math.cos(angle)
        y = max(-89.0, min(89.0, lat + reach * math.sin(angle)))
        ring.append((wrapped(x), y))
    if len({(round(x, 9), round(y, 9)) for x, y in ring}) < 3:
        return circle(lon, lat, 10.0)
    return polygon(*ring)


severities = st.sampled_from(list(SEVERITY_RANK))
categories = st.sampled_from([TSUNAMI, "geo.earthquake"])


@st.composite
def subscriptions(draw: st.DrawFn) -> list[Subscription]:
    count = draw(st.integers(0, 40))
    return [
        Subscription(
            100 + i,
            draw(areas()),
            frozenset(draw(st.sets(categories, min_size=1))),
            draw(severities),
        )
        for i in range(count)
    ]


def brute_force(
    subs: list[Subscription], found: list[dict[str, Any]], category: str, severity: str
) -> list[int]:
    theirs = [piece for area in found for piece in area_pieces(area)]
    return [
        sub.id
        for sub in subs
        if category in sub.categories
        and SEVERITY_RANK[sub.min_severity] <= SEVERITY_RANK[severity]
        and any(pieces_meet(p, q) for p in area_pieces(sub.area) for q in theirs)
    ]


@settings(max_examples=150, deadline=None)
@given(
    subscriptions(),
    st.lists(st.lists(areas(), max_size=3), min_size=1, max_size=3),
    categories,
    severities,
)
def test_the_index_matches_exactly_what_brute_force_matches(
    subs: list[Subscription], alerts: list[list[dict[str, Any]]], category: str, severity: str
) -> None:
    index = SubscriptionIndex(subs)
    for found in alerts:
        assert index.matches(found, category, severity) == brute_force(
            subs, found, category, severity
        )
