"""GeoJSON out (RFC 7946): active notifications as features, circles two ways, status shown."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from shapely.geometry import Point, shape

from parley.formats.areas import area_shape, circle_area
from parley.formats.cap import cap_to_notification, parse_cap
from parley.formats.geojson import feature_collection
from parley.formats.notification import follow_up, new_notification

from .corpus import cap_bytes

T0 = 1_767_225_600_000
SQUARE = {
    "desc": "square",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                ["139.0", "35.0"],
                ["140.0", "35.0"],
                ["140.0", "36.0"],
                ["139.0", "36.0"],
                ["139.0", "35.0"],
            ]
        ],
    },
}


def quake(status: str = "Actual", expires: int | None = T0 + 3_600_000) -> dict[str, Any]:
    return new_notification(
        category="geo.earthquake",
        identifier="JMA-1",
        sender="jma.go.jp",
        sent_ms=T0,
        status=status,
        headline="M7.1 off Miyagi",
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        areas=[SQUARE, circle_area("38.1", "142.4", "100", "coast")],
        expires_ms=expires,
    )


def test_feature_collection_is_rfc_7946_with_float_coordinates() -> None:
    collection = feature_collection([("JP:1", {"status": "Actual", "party": "JP"}, quake())])
    orjson.dumps(collection)
    assert collection["type"] == "FeatureCollection"
    first, second = collection["features"]
    assert first["geometry"]["type"] == "Polygon" and first["id"] == "JP:1/0"
    assert first["geometry"]["coordinates"][0][0] == [139.0, 35.0]
    assert first["properties"]["ref"] == "JP:1" and first["properties"]["party"] == "JP"
    assert first["properties"]["sent"] == "2026-01-01T00:00:00.000Z"
    assert shape(first["geometry"]).equals(area_shape(SQUARE))
    circle = shape(second["geometry"])
    assert circle.is_valid and circle.contains(Point(142.4, 38.1))
    assert circle.exterior.is_ccw  # RFC 7946 s3.1.6


def test_circles_as_points_with_a_radius() -> None:
    collection = feature_collection([("JP:1", {"status": "Actual"}, quake())], circles="point")
    point = collection["features"][1]
    assert point["geometry"] == {"type": "Point", "coordinates": [142.4, 38.1]}
    assert point["properties"]["radius_km"] == 100.0 and point["properties"]["radius_m"] == 1e5


@pytest.mark.parametrize("status", ["Exercise", "Test", "Draft"])
def test_exercise_status_is_visible_in_every_feature(status: str) -> None:
    collection = feature_collection([("JP:1", {"status": status}, quake(status))])
    for feature in collection["features"]:
        assert feature["properties"]["status"] == status
        assert feature["properties"]["exercise"] is True
        assert feature["properties"]["headline"] == f"[{status.upper()}] M7.1 off Miyagi"


def test_only_active_notifications_with_a_clock() -> None:
    cancelled = follow_up(
        quake(),
        msg_type="Cancel",
        previous_ref="JP:1",
        previous_leaf_hash="0" * 64,
        identifier="JMA-2",
        sent_ms=T0 + 60_000,
    )
    items = [
        ("JP:1", {"status": "Actual"}, quake()),
        ("JP:2", {"status": "Actual"}, cancelled),
        ("JP:3", {"status": "Actual"}, quake(expires=T0 + 1000)),
    ]
    refs = {f["properties"]["ref"] for f in feature_collection(items, now_ms=T0 + 5000)["features"]}
    assert refs == {"JP:1"}


def test_geocode_only_area_has_null_geometry_and_its_geocodes() -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0])
    features = feature_collection([("AU:7", {"status": body["status"]}, body)])["features"]
    assert features and all(f["geometry"] is None for f in features)
    assert features[0]["properties"]["geocodes"]


def test_real_multilingual_alert_areas_appear_once() -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/eccc_canada_update.cap"))[0])
    features = feature_collection([("CA:1", {"status": "Actual"}, body)], lang="fr")["features"]
    english = [a for a in body["info"][0]["areas"]]
    assert len(features) == len(english)
    assert features[0]["properties"]["lang"] == "fr-CA"
    french = [a["desc"] for a in body["info"][1]["areas"]]
    assert [f["properties"]["area"] for f in features] == french
