"""``GET /api/v1/notifications/areas``: the map's GeoJSON, its filters, cursor and clearance.

Each test marks its notifications with a word of its own and asks with ``text=`` that word, so
the tests of the shared node (``api``) do not see each other's notifications.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from parley.api.v1.map_routes import AreaCollection
from parley.node.access import Scope
from tests.api.v1.conftest import Api

URL = "/api/v1/notifications/areas"
TOKYO = {"desc": "Tokyo Bay", "circle": {"center": ["139.8", "35.5"], "radius_km": "30"}}
OKINAWA = {
    "desc": "Okinawa",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[127.5, 26.0], [128.5, 26.0], [128.5, 27.0], [127.5, 26.0]]],
    },
}


@pytest.fixture(scope="module")
def duty(api: Api) -> TestClient:
    return api.token("duty-officer", Scope.NOTIFY)


def marker() -> str:
    """A word no other test writes."""
    return f"mark{uuid.uuid4().hex[:12]}"


def notify(client: TestClient, mark: str, **changes: Any) -> str:
    """Create a notification whose description carries ``mark``; its reference."""
    made = client.post(
        "/api/v1/notifications",
        json={
            "category": "geo.earthquake",
            "status": "Exercise",
            "severity": "Severe",
            "urgency": "Immediate",
            "certainty": "Observed",
            "headline": "Earthquake off Chiba",
            "description": f"A strong earthquake ({mark}).",
            "areas": [OKINAWA, TOKYO],
            **changes,
        },
    )
    assert made.status_code == 201, made.text
    ref: str = made.json()["ref"]
    return ref


def areas(client: TestClient, **params: str) -> dict[str, Any]:
    answer = client.get(URL, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    found: dict[str, Any] = answer.json()
    AreaCollection.model_validate(found)  # exactly what the OpenAPI document promises
    return found


def test_the_areas_are_a_feature_collection_leaflet_draws(duty: TestClient) -> None:
    mark = marker()
    ref = notify(duty, mark)
    found = areas(duty, text=mark)
    assert found["type"] == "FeatureCollection" and found["next_cursor"] is None
    polygon, circle = found["features"]
    assert polygon["geometry"]["type"] == "Polygon"
    assert polygon["geometry"]["coordinates"][0][0] == [127.5, 26.0]
    assert circle["geometry"] == {"type": "Point", "coordinates": [139.8, 35.5]}
    assert circle["properties"]["radius_km"] == 30.0
    assert circle["properties"]["ref"] == ref and circle["properties"]["area"] == "Tokyo Bay"
    assert circle["properties"]["severity"] == "Severe"
    assert circle["properties"]["headline"] == "[EXERCISE] Earthquake off Chiba"


def test_areas_is_not_read_as_a_reference(duty: TestClient) -> None:
    document = duty.get("/api/v1/openapi.json").json()
    assert "get" in document["paths"]["/notifications/areas"]
    assert duty.get("/api/v1/notifications/AREAS").status_code == 400  # {ref}: no such party


def test_a_cursor_walk_covers_every_notification_once(duty: TestClient) -> None:
    mark = marker()
    made = [notify(duty, mark, areas=[TOKYO]) for _ in range(5)]
    seen: list[str] = []
    params = {"text": mark, "limit": "2"}
    while True:
        page = areas(duty, **params)
        seen += [f["properties"]["ref"] for f in page["features"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == made[::-1]


def test_an_observer_gets_no_outline_of_an_amber_body(api: Api, duty: TestClient) -> None:
    mark = marker()
    secret = notify(duty, mark, audience=["JP"], tlp="AMBER")
    observer = api.token("observer", Scope.READ)
    found = areas(observer, text=mark)
    assert found["features"] == [] and found["notifications"] == 0  # text matches no withheld body
    unfiltered = areas(observer, limit="2000")
    assert secret not in {f["properties"]["ref"] for f in unfiltered["features"]}
    assert secret in {f["properties"]["ref"] for f in areas(duty, text=mark)["features"]}


def test_bad_filters_limits_and_cursors_are_400_naming_them(duty: TestClient) -> None:
    for params, field in (
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "2001"}, "limit"),
        ({"area": "1,2,3,4,5"}, "area"),
        ({"severity": "Huge"}, "severity"),
    ):
        answer = duty.get(URL, params=params)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["field"] == field, params


def test_a_caller_without_credentials_is_401(api: Api) -> None:
    assert api.client().get(URL).status_code == 401
