"""A bounded fuzz of ``/feeds`` and ``/metrics`` (outside the OpenAPI documents).

Query values and path parameters are drawn from near-valid and hostile values, with and without
credentials (a real token, a forged one, malformed Basic and Bearer headers). No answer may be
a 5xx; every error is an RFC 9457 problem; a 400 names the parameter that was wrong.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parley.api import feeds_api, metrics_api
from parley.node import officers
from parley.node.access import Scope
from parley.node.node import now_ms
from tests.api.v1.conftest import Api, make_api

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARAMETERS = ("category", "area", "severity", "exercise", "cursor")
ROUTES = {"/feeds/cap.atom", "/feeds/cap/{party}/{seq}.xml", "/metrics"}

hostile = st.text(max_size=60) | st.sampled_from(
    [
        "",
        " ",
        "%",
        "\x00",
        "geo",
        "Severe",
        "true",
        "MA",
        "1,2",
        "0,0,1",
        "1,2,3,4",
        "nan,nan",
        "inf,0",
        "-181,0",
        "139,35,-1",
        "9" * 40,
        "JP",
        "../..",
        "💥",
        "\ud800",
    ]
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    built = make_api(Path(tmp_path_factory.mktemp("feeds-fuzz")))
    yield built
    built.node.close()


def _authorizations(api: Api) -> st.SearchStrategy[str | None]:
    real, _ = officers.issue_token(api.node.store, "admin", Scope.ADMIN, now_ms())
    basic = base64.b64encode(f"tool:{real}".encode()).decode()
    return st.sampled_from(
        [
            None,
            f"Bearer {real}",
            f"Basic {basic}",
            "Bearer parley_000000000000_" + "x" * 43,
            "Basic !!!",
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Digest x",
            "Bearer",
        ]
    ) | st.text(max_size=40).map(lambda t: "Bearer " + t)


def _escaped(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def test_every_feed_and_metrics_route_is_fuzzed() -> None:
    served = {
        route.path
        for router in (feeds_api.router, metrics_api.router)
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    assert served == ROUTES


@FUZZ
@given(data=st.data())
def test_feed_routes_answer_without_5xx_and_name_a_bad_parameter(
    api: Api, data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(sorted(ROUTES)))
    names = data.draw(st.lists(st.sampled_from(PARAMETERS), max_size=3, unique=True))
    query = "&".join(f"{name}={_escaped(data.draw(hostile))}" for name in names)
    url = path.replace("{party}", _escaped(data.draw(hostile | st.just("JP")))).replace(
        "{seq}", _escaped(data.draw(hostile | st.just("0")))
    )
    authorization = data.draw(_authorizations(api))
    headers = {} if authorization is None else {"authorization": authorization}
    try:
        answer = api.client().get(url + ("?" + query if query else ""), headers=headers)
    except UnicodeEncodeError:
        return  # the client cannot send such a header; nothing reached the node
    assert answer.status_code < 500, (url, query, answer.text)
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        problem = answer.json()
        assert problem["status"] == answer.status_code and problem["detail"]
        if answer.status_code == 400 and path == "/feeds/cap.atom":
            assert problem.get("field") in PARAMETERS, problem
