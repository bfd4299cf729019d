"""A bounded fuzz of the TAXII 2.1 routes, which the OpenAPI document does not describe.

The node runs in this process (``TestClient``, no lifespan) on a real home with a STIX bundle
already written, so listings have objects to page. Hypothesis draws the path and query
parameters of every TAXII route from near-valid and hostile values (timestamps, tokens, ids,
``match[...]`` lists, control characters, lone surrogates), the envelopes of POST from a JSON
grammar with hostile variations, and the ``Accept``, ``Content-Type`` and ``Authorization``
headers. Every answer must be a TAXII answer: never a 5xx, always the TAXII media type, and
every error a TAXII error message with its status as a string. ``test_every_route_is_fuzzed``
fails for a TAXII route added without a grammar here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from parley.api import taxii_routes
from parley.node import officers
from parley.node.access import Principal, Scope
from parley.node.node import now_ms
from parley.node.taxii import reading, writing
from tests.api.test_taxii_matrix import ROUTES, client_of
from tests.api.v1.conftest import make_api

TAXII = "application/taxii+json;version=2.1"
DATA = Path(__file__).resolve().parents[1] / "data" / "stix" / "oasis_examples"
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Target:
    client: TestClient
    token: str
    collection: str
    object_id: str
    status: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    api = make_api(tmp_path_factory.mktemp("taxii-fuzz"))
    node = api.node
    analyst = Principal("analyst", "analyst", Scope.ANALYST)
    collection = reading.collections_for(node, analyst)[0]
    objects = json.loads((DATA / "poisonivy.json").read_text())["objects"]
    envelope = orjson.dumps({"objects": objects})
    status = writing.add_envelope(node, analyst, collection, envelope, now_ms())
    token = officers.issue_token(node.store, "analyst", Scope.ANALYST, now_ms())[0]
    yield Target(client_of(node, token), token, collection.id, objects[0]["id"], status.id)
    node.close()


texts = st.text(max_size=40) | st.sampled_from(["", "0", "-1", "\x00", "\ud800", "%", "a,b"])
stamps = st.sampled_from(
    ["2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00.1234567890Z", "0"]
) | st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
numbers = st.integers(-5, 2**64).map(str) | texts
matches = st.lists(
    texts | st.sampled_from(["indicator", "first", "last", "all", "2.1"]), max_size=4
)
params = st.fixed_dictionaries(
    {},
    optional={
        "added_after": stamps | texts,
        "limit": numbers,
        "next": numbers,
        "match[id]": matches.map(",".join),
        "match[type]": matches.map(",".join),
        "match[version]": (matches.map(",".join) | stamps),
        "match[spec_version]": matches.map(",".join),
    },
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
stix_objects = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["indicator", "malware", "x-custom", ""]) | texts,
        "id": st.sampled_from(
            [
                "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            ]
        )
        | texts,
    },
    optional={
        "spec_version": st.sampled_from(["2.1", "2.0"]) | texts,
        "created": stamps,
        "modified": stamps,
        "pattern": texts,
        "pattern_type": st.just("stix"),
        "valid_from": stamps,
        "name": texts,
        "object_marking_refs": st.lists(texts, max_size=2),
    },
)
envelopes = (
    st.fixed_dictionaries({"objects": st.lists(stix_objects | json_values, max_size=5)}).map(
        lambda v: json.dumps(v).encode()
    )
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=64)
)


def _escaped(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _check(answer: Any) -> None:
    assert answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == TAXII
    if answer.status_code >= 400:
        error = answer.json()
        assert error["http_status"] == str(answer.status_code)
        assert error["title"] and error["description"]


def _path(data: st.DataObject, template: str, target: Target) -> str:
    pieces = {
        "{collection_id}": target.collection,
        "{object_id}": target.object_id,
        "{status_id}": target.status,
    }
    for name, valid in pieces.items():
        if name in template:
            value = data.draw(st.just(valid) | texts.filter(lambda t: "/" not in t))
            template = template.replace(name, _escaped(value) or "x")
    return taxii_routes.PREFIX + template


def test_every_route_is_fuzzed() -> None:
    routes = {
        (method, getattr(route, "path", ""))
        for route in taxii_routes.router.routes
        for method in getattr(route, "methods", set())
        if method != "HEAD"
    }
    assert routes == set(ROUTES)


@FUZZ
@given(data=st.data())
def test_taxii_routes_answer_taxii_without_5xx(target: Target, data: st.DataObject) -> None:
    method, template = data.draw(st.sampled_from(sorted(ROUTES)))
    path = _path(data, template, target)
    query = "&".join(f"{_escaped(k)}={_escaped(v)}" for k, v in data.draw(params).items())
    headers = {
        "accept": data.draw(
            st.sampled_from([TAXII, "*/*", "text/html", "application/taxii+json;version=2.0"])
        )
    }
    if data.draw(st.booleans()):
        scheme = data.draw(st.sampled_from(["Basic", "Bearer", "Digest"]))
        secret = data.draw(st.just(target.token) | texts)
        value = base64.b64encode(f"u:{secret}".encode("utf-8", "surrogatepass")).decode()
        raw = value if scheme == "Basic" else secret.encode("ascii", "replace").decode()
        headers["authorization"] = f"{scheme} {raw}"
    body = None
    if method == "POST":
        body = data.draw(envelopes)
        headers["content-type"] = data.draw(st.sampled_from([TAXII, "application/json"]))
    answer = target.client.request(
        method, path + ("?" + query if query else ""), content=body, headers=headers
    )
    _check(answer)
