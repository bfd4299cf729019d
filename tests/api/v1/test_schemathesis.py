"""Schemathesis against the OpenAPI document of ``/api/v1``: no 500, no answer off the schema.

Every operation is generated from the document itself, with a bounded budget, by a caller that
holds an administrator's token of scope ``admin`` (the widest), and the stateful run follows the
document's links (create, then read what was created). The stream is left out here: it never
ends; ``test_stream.py`` covers it over real HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import checks

from parley.node import assistance, officers
from parley.node.access import Scope
from parley.node.node import now_ms
from parley.node.notifications import lifecycle
from tests.api.v1.conftest import Api, make_api

EXAMPLES = int(os.environ.get("PARLEY_SCHEMATHESIS_EXAMPLES", "50"))
# make test: the same examples every run, so a pass is reproducible; make fuzz explores at random.
DERANDOMIZE = os.environ.get("PARLEY_SCHEMATHESIS_RANDOM") != "1"
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
    checks.status_code_conformance,
    checks.response_headers_conformance,
]


# What the node holds before the run, so the answers carry every shape of their schema (the map's
# Polygon, MultiPolygon, Point and null geometries, a Cancel among them), not only empty lists.
RING = [["140", "36"], ["141", "36"], ["141", "37"], ["140", "36"]]
OTHER = [["150", "40"], ["151", "40"], ["151", "41"], ["150", "40"]]
AREAS = [
    {"desc": "square", "geometry": {"type": "Polygon", "coordinates": [RING]}},
    {"desc": "two", "geometry": {"type": "MultiPolygon", "coordinates": [[RING], [OTHER]]}},
    {"desc": "bay", "circles": [{"center": ["139.8", "35.5"], "radius_km": "30"}]},
    {"desc": "county", "geocodes": [{"name": "SAME", "value": "006109"}]},
]


def _seed(api: Api) -> None:
    alert = lifecycle.notify(
        api.node,
        status="Exercise",
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="seeded quake",
        areas=AREAS,
    )
    lifecycle.answer(api.node, alert.written.ref, msg_type="Cancel")
    incident = assistance.any_reference(api.node, alert.written.ref)
    line = {"id": "l1", "type": "usar.heavy", "quantity": "2", "unit": "{team}"}
    request = {"type": "RequestResource", "incident": incident, "resources": [line]}
    assistance.step(api.node, request, "Exercise")  # the board carries a request's shape


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str]]:
    api = make_api(Path(tmp_path_factory.mktemp("schemathesis")))
    _seed(api)
    secret, _info = officers.issue_token(api.node.store, "admin", Scope.ADMIN, now_ms())
    yield api, secret
    api.node.close()


@pytest.fixture(scope="module")
def api_schema(built: tuple[Api, str]) -> schemathesis.BaseSchema:
    api, _secret = built
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app)


def _operations(api_schema: schemathesis.BaseSchema) -> list[Any]:
    found = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in found if op.path != "/stream"]


def test_every_operation_answers_within_its_schema(
    api_schema: schemathesis.BaseSchema, built: tuple[Api, str]
) -> None:
    """Each operation in turn (schemathesis' pytest plugin does not run on this pytest)."""
    _api, secret = built
    operations = _operations(api_schema)
    assert len(operations) >= 39  # every route but the stream
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=DERANDOMIZE,
        )
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)

        run()


STEPS = int(os.environ.get("PARLEY_SCHEMATHESIS_STEPS", "10"))


def test_stateful_runs_follow_the_documents_links(
    api_schema: schemathesis.BaseSchema, built: tuple[Api, str]
) -> None:
    """Create, then act on what was created, through the links the document declares."""
    _api, secret = built
    base = api_schema.as_state_machine()

    class Links(base):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {secret}"}}

        def validate_response(
            self,
            response: Any,
            case: schemathesis.Case[Any],
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        Links,
        settings=settings(
            max_examples=EXAMPLES // 2,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=DERANDOMIZE,
        ),
    )
