"""``GET /api/v1/assistance/board``: the board as the CLI prints it, within the TLP clearance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parley.node import assistance
from parley.node.access import Scope
from parley.node.notifications import lifecycle
from tests.api.v1.conftest import Api, make_api


def _request(api: Api, tlp: str, place: str) -> str:
    alert = lifecycle.notify(
        api.node,
        status="Exercise",
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="quake",
        areas=[{"desc": "bay", "circles": [{"center": ["139.8", "35.5"], "radius_km": "30"}]}],
    )
    incident = assistance.any_reference(api.node, alert.written.ref)
    line = {
        "id": "l1",
        "type": "usar.heavy",
        "quantity": "2",
        "unit": "{team}",
        "needed_at": {"name": place},
    }
    body = {"type": "RequestResource", "incident": incident, "resources": [line]}
    return assistance.step(api.node, body, "Exercise", to="JP", tlp=tlp).ref


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str, str]]:
    api = make_api(tmp_path_factory.mktemp("assistance-api"))
    green = _request(api, "GREEN", "green-place")
    red = _request(api, "RED", "MARKER-RED-PLACE")
    yield api, green, red
    api.node.close()


def test_the_board_lists_requests_with_what_is_still_needed(seeded) -> None:  # type: ignore[no-untyped-def]
    api, green, red = seeded
    answer = api.token("duty-officer", Scope.READ).get("/api/v1/assistance/board")
    assert answer.status_code == 200, answer.text
    requests = {r["ref"]: r for r in answer.json()["requests"]}
    assert set(requests) == {green, red}
    assert requests[green]["lines"][0]["still_needed"] == "2"
    assert requests[green]["phase"] == "open"


def test_an_observer_never_receives_a_request_above_its_clearance(seeded) -> None:  # type: ignore[no-untyped-def]
    api, green, red = seeded
    client, _csrf = api.session("observer")
    answer = client.get("/api/v1/assistance/board")
    assert answer.status_code == 200
    assert "MARKER-RED-PLACE" not in answer.text
    assert [r["ref"] for r in answer.json()["requests"]] == [green]


def test_an_anonymous_caller_is_refused_the_board(seeded) -> None:  # type: ignore[no-untyped-def]
    api, _green, _red = seeded
    answer = api.client().get("/api/v1/assistance/board")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
