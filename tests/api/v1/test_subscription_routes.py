"""``/api/v1/subscriptions``: an officer's areas, their matches on the API and its stream only."""

from __future__ import annotations

from parley.node import live, subscriptions
from parley.node.access import Principal, Scope
from parley.node.node import now_ms
from parley.node.notifications import lifecycle
from tests.api.v1.conftest import Api

# An API client's GeoJSON: numbers, from 172 E across 180 to 165 W (the Aleutians).
ALEUTIANS = {
    "type": "Polygon",
    "coordinates": [[[172.0, 50.5], [-165.0, 50.5], [-165.0, 55.0], [172.0, 55.0], [172.0, 50.5]]],
}


def _warn(api: Api) -> str:
    """A tsunami warning whose circle around Adak sits east of 180."""
    adak = [{"desc": "Adak", "circles": [{"center": ["-176.65", "51.88"], "radius_km": "30"}]}]
    outcome = lifecycle.notify(
        api.node,
        status="Exercise",
        audience="ALL",
        category="geo.tsunami",
        severity="Extreme",
        urgency="Immediate",
        certainty="Observed",
        headline="Tsunami warning",
        areas=adak,
    )
    return outcome.written.ref


def test_a_subscription_across_180_gets_its_match_on_the_api_and_on_its_owners_stream_only(
    api: Api,
) -> None:
    watcher = api.token("observer", Scope.READ)
    made = watcher.post(
        "/api/v1/subscriptions",
        json={"area": ALEUTIANS, "categories": ["geo.tsunami"], "min_severity": "Severe"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["token_id"] is not None
    position = live.head(api.node.store)
    ref = _warn(api)
    subscriptions.run_round(api.node, now_ms())
    found = watcher.get("/api/v1/subscriptions/matches").json()
    assert [m["ref"] for m in found] == [ref]
    with api.node.store.read() as conn:
        events, _ = live.after(conn, position)
    matched = [e for e in events if e.name == "subscription.match"]
    assert len(matched) == 1
    assert matched[0].for_reader(Principal("observer", "observer")) is not None
    assert matched[0].for_reader(Principal("analyst", "analyst")) is None


def test_another_officer_can_neither_see_nor_delete_a_subscription(api: Api) -> None:
    owner = api.token("analyst", Scope.READ)
    made = owner.post(
        "/api/v1/subscriptions",
        json={
            "area": {"center": ["139.7", "35.7"], "radius_km": "50"},
            "categories": ["geo.earthquake"],
        },
    )
    assert made.status_code == 201, made.text
    other = api.token("duty-officer", Scope.READ)
    assert made.json()["id"] not in [s["id"] for s in other.get("/api/v1/subscriptions").json()]
    refused = other.delete(f"/api/v1/subscriptions/{made.json()['id']}")
    assert refused.status_code == 403
    assert owner.delete(f"/api/v1/subscriptions/{made.json()['id']}").status_code == 204


def test_a_bad_area_is_a_problem_naming_the_field(api: Api) -> None:
    answer = api.token("observer", Scope.READ).post(
        "/api/v1/subscriptions",
        json={
            "area": {"center": ["139.7", "95"], "radius_km": "50"},
            "categories": ["geo.tsunami"],
        },
    )
    assert answer.status_code == 400
    assert answer.json()["field"].startswith("body.area")
