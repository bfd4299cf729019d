"""A bounded fuzz of every route of the node's app: no answer is a 5xx, every error a problem.

The app runs in this process (Starlette's ``TestClient``, no lifespan: no background jobs) on a
real node home made by ``parley init`` (``init_node``); a second real home, US, is a pinned
peer under a policy both adopted, so requests are sent anonymous and signed by US. Hypothesis
draws the bodies from grammars of the wire forms (the C2SP tlog-witness ``add-checkpoint``
text, the push JSON) with hostile variations, and the query and path parameters of the GET
routes from near-valid and hostile values. ``test_every_route_is_fuzzed`` lists the app's
routes, so a route added without a grammar here fails the suite.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount
from starlette.testclient import TestClient

from parley.api import feeds_api, metrics_api, taxii_routes
from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.api.v1 import app as api_v1
from parley.core.checkpoint import origin_for
from parley.node.federation import peers
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.submission import build_body as add_checkpoint_body
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy
from parley.store import logs
from tests.support import init_node

NETWORK = "parley-test"
FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Target:
    """JP's app, an anonymous and a signed (US) client, and what JP's log holds."""

    app: FastAPI
    anonymous: TestClient
    signed: TestClient
    note: str
    size: int
    us_note: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("fuzz")
    jp, us = (Node.open(init_node(folder / p.lower(), p, network=NETWORK)) for p in ("JP", "US"))
    document = draft_policy(
        network=NETWORK, name="fuzz", members=members_of([jp, us]), created=now_ms(), version=2
    )
    adopt_by_all([jp, us], document)
    with us.store.read() as conn:
        first = logs.get_entry(conn, "US", 0)
    assert first is not None and first.body is not None and first.salt is not None
    from parley.core.entry import Body

    statement = Body(first.salt, first.body).value()
    peers.store_pin(
        jp.store,
        "US",
        "http://127.0.0.1:9",
        us.context().statement.identity,
        None,
        statement,
        now_ms(),
    )
    app = create_app(jp)
    app.state.published = jp.checkpoint()  # what the lifespan's watcher would publish
    app.state.authenticator.limiter = AnonymousLimiter(rate=1e9, burst=1e9)  # fuzz, not flood
    base = f"http://{jp.config.host}:{jp.config.port}"
    signer = RequestSigner(us.log.key("http"))
    published = jp.checkpoint()
    assert published is not None
    # Not entered (``with``): no lifespan, so no background job reaches for the network.
    anonymous = TestClient(app, base_url=base, raise_server_exceptions=False)
    signed = TestClient(
        app, base_url=base, raise_server_exceptions=False, headers={"Parley-To": "JP"}
    )
    signed.auth = signer
    us_published = us.checkpoint()
    assert us_published is not None
    yield Target(app, anonymous, signed, published[1], published[0], us_published[1])
    jp.close()
    us.close()


def _check(answer: httpx.Response) -> None:
    assert answer.status_code < 500, (answer.request.method, answer.request.url, answer.text)
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        problem = answer.json()
        assert problem["status"] == answer.status_code and problem["title"] and problem["detail"]


# --- grammars --------------------------------------------------------------------------------

hash_b64 = st.binary(min_size=32, max_size=32).map(lambda h: base64.b64encode(h).decode())
hostile_text = st.text(max_size=80) | st.sampled_from(
    [
        "",
        "\x00",
        "\ud800",
        "0" * 5000,
        "9" * 5000,
        "9" * 30,
        "-1",
        "1e9",
        " 1",
        "１",
        "٣",
        "%00",
        "../..",
        "\u202e",
        "a" * 300,
    ]
)
sizes = st.integers(min_value=0, max_value=2**64 + 1).map(str) | hostile_text
origin_hashes = (
    st.binary(min_size=32, max_size=32).map(bytes.hex)
    | hostile_text
    | st.just(hashlib.sha256(b"parley/parley-test/US").hexdigest())
)
parties = st.sampled_from(["JP", "US", "KR", "XX", "jp", "J", "JPN"]) | hostile_text


@st.composite
def checkpoint_notes(draw: st.DrawFn, note: str) -> str:
    """A C2SP signed note: JP's own (valid), or one with its lines drawn or mangled."""
    if draw(st.booleans()):
        return note if draw(st.booleans()) else note.replace("\n\n", draw(hostile_text), 1)
    origin = draw(
        st.sampled_from([origin_for(NETWORK, p) for p in ("JP", "US", "KR")]) | hostile_text
    )
    body = f"{origin}\n{draw(sizes)}\n{draw(hash_b64 | hostile_text)}\n"
    body += "".join(f"{line}\n" for line in draw(st.lists(hostile_text, max_size=3)))
    signer = draw(st.sampled_from(["parley-test/JP", "x"]) | hostile_text)
    signature = base64.b64encode(draw(st.binary(max_size=80))).decode()
    return f"{body}\n\u2014 {signer} {signature}\n"


@st.composite
def add_checkpoint_bodies(draw: st.DrawFn, note: str) -> bytes:
    """``old <size>\\n<proof lines>\\n\\n<checkpoint note>``, or bytes that are almost that."""
    proof = draw(st.lists(hash_b64 | hostile_text, max_size=4))
    text = f"old {draw(sizes)}\n" + "".join(f"{line}\n" for line in proof) + "\n"
    text += draw(checkpoint_notes(note))
    body = text.encode("utf-8", "surrogatepass")
    mangle = draw(st.sampled_from(["none", "truncate", "bytes", "prefix"]))
    if mangle == "truncate":
        return body[: draw(st.integers(0, len(body)))]
    if mangle == "bytes":
        return draw(st.binary(max_size=300))
    if mangle == "prefix":
        return b"\xed\xa0\x80" + body  # a surrogate encoded in UTF-8
    return body


entries_item = st.fixed_dictionaries(
    {},
    optional={
        "leaf_input": st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
        | hostile_text,
        "salt": hash_b64 | hostile_text | st.none(),
        "body": hostile_text | st.none() | st.integers(),
    },
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def push_bodies(draw: st.DrawFn, note: str) -> bytes:
    """The push JSON (``submission`` and ``entries``), its hostile variants, or other bytes."""
    kind = draw(st.sampled_from(["grammar", "json", "nested", "surrogate", "bytes"]))
    if kind == "nested":
        depth = draw(st.integers(1, 100_000))
        return b"[" * depth + b"]" * depth
    if kind == "surrogate":
        return (
            b'{"submission": "'
            + draw(st.sampled_from([b"\\ud800", b"\\udfff", b"\\ud800\\u0041"]))
            + b'", "entries": []}'
        )  # noqa: E501
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    submission = draw(add_checkpoint_bodies(note)).decode("utf-8", "replace")
    doc = {"submission": submission, "entries": draw(st.lists(entries_item, max_size=4))}
    return json.dumps(doc).encode()


def _query(**params: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=params)


numbers = st.integers(min_value=-5, max_value=2**70).map(str) | hostile_text
range_query = _query(start=numbers, end=numbers)
consistency_query = _query(first=numbers, second=numbers)
proof_query = _query(hash=hash_b64 | hostile_text, tree_size=numbers)
no_query = _query(extra=hostile_text)

# (method, path) of every route -> how to fuzz it: path parameters, and a query or a body.
GETS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/fed/v1/get-sth": no_query,
    "/fed/v1/get-sth-consistency": consistency_query,
    "/fed/v1/get-proof-by-hash": proof_query,
    "/fed/v1/get-entries": range_query,
    "/fed/v1/public-key": no_query,
    "/fed/v1/checkpoint": no_query,
    "/fed/v1/witnessed": no_query,
    "/fed/v1/witnessed/{party}": no_query,
    "/fed/v1/mirror/{party}/get-sth": no_query,
    "/fed/v1/mirror/{party}/get-sth-consistency": consistency_query,
    "/fed/v1/mirror/{party}/get-proof-by-hash": proof_query,
    "/fed/v1/mirror/{party}/get-entries": range_query,
    "/fed/v1/node/workers": no_query,
    "/fed/v1/node/health": no_query,
    "/openapi.json": no_query,
    "/{origin_hash}/checkpoint": no_query,
}
POSTS: dict[str, Callable[[str], st.SearchStrategy[bytes]]] = {
    "/fed/v1/add-checkpoint": add_checkpoint_bodies,
    "/fed/v1/push": push_bodies,
}


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through the routers FastAPI includes."""
    for route in routes:
        if isinstance(route, APIRoute):
            assert route.methods is not None, f"{route.path} answers no method"
            yield from ((method, prefix + route.path) for method in route.methods)
        elif isinstance(route, Mount) and route.path == api_v1.PREFIX:
            # The officer API: fuzzed from its OpenAPI document (tests/api/v1/
            # test_schemathesis.py), every route in the access matrix (test_access_matrix.py).
            continue
        elif isinstance(route, Mount) and route.path == taxii_routes.PREFIX:
            # TAXII 2.1: fuzzed in tests/api/test_taxii_fuzz.py, every route in its matrix
            # (tests/api/test_taxii_matrix.py).
            continue
        elif isinstance(route, Mount) and route.path == "":
            # The watch desk's pages: fuzzed in tests/web/test_pages.py.
            continue
        else:  # an included router (FastAPI >= 0.16x wraps them)
            inner = getattr(route, "original_router", None)
            assert inner is not None, f"{route} is neither a route nor a router: fuzz it here"
            if inner in (feeds_api.router, metrics_api.router):
                # The CAP feed and /metrics: fuzzed in tests/api/test_feeds_fuzz.py.
                continue
            context = getattr(route, "include_context", None)
            yield from _routes(inner.routes, prefix + getattr(context, "prefix", ""))


def test_every_route_is_fuzzed(target: Target) -> None:
    routes = set(_routes(target.app.routes))
    fuzzed = {("GET", path) for path in GETS} | {("POST", path) for path in POSTS}
    assert routes == fuzzed, f"routes without a fuzz: {routes - fuzzed}; gone: {fuzzed - routes}"


def _client(target: Target, signed: bool) -> TestClient:
    return target.signed if signed else target.anonymous


@FUZZ
@given(data=st.data())
def test_get_routes_answer_without_5xx(target: Target, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(GETS)))
    params = data.draw(GETS[path])
    if "{party}" in path:
        party = data.draw(parties | st.just("JP"))
        path = path.replace("{party}", _escaped(party))
    if "{origin_hash}" in path:
        digest = data.draw(origin_hashes)
        path = path.replace("{origin_hash}", _escaped(digest))
    query = "&".join(f"{name}={_escaped(str(value))}" for name, value in params.items())
    answer = _client(target, data.draw(st.booleans())).get(path + ("?" + query if query else ""))
    _check(answer)


def _escaped(text: str) -> str:
    """Percent-encoded as sent on the wire, lone surrogates included (as their UTF-8 bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@FUZZ
@given(data=st.data())
def test_add_checkpoint_answers_without_5xx(target: Target, data: st.DataObject) -> None:
    body = data.draw(add_checkpoint_bodies(target.note))
    answer = _client(target, data.draw(st.booleans())).post("/fed/v1/add-checkpoint", content=body)
    _check(answer)


@FUZZ
@given(data=st.data())
def test_push_answers_without_5xx(target: Target, data: st.DataObject) -> None:
    body = data.draw(push_bodies(target.note))
    if len(body) > 512 * 1024:
        body = body[: 512 * 1024]
    answer = _client(target, data.draw(st.booleans())).post(
        "/fed/v1/push", content=body, headers={"Content-Type": "application/json"}
    )
    _check(answer)


def test_unknown_routes_and_methods_answer_problems(target: Target) -> None:
    for client in (target.anonymous, target.signed):
        _check(client.get("/fed/v1/no-such-route"))
        _check(client.delete("/fed/v1/get-sth"))
        _check(client.post("/fed/v1/get-sth", content=b"x" * 10_000))
        _check(client.get("/docs"))
        assert client.get("/docs").status_code == 404


def test_fuzz_reaches_verified_answers(target: Target) -> None:
    """The grammars are not only noise: the valid forms are answered 200 by the same app."""
    assert target.anonymous.get("/fed/v1/get-sth").status_code == 200
    assert target.signed.get("/fed/v1/node/workers").status_code == 200  # US's signature holds
    entries = target.anonymous.get("/fed/v1/mirror/JP/get-entries", params={"start": 0, "end": 0})
    assert entries.status_code == 200
    submission = add_checkpoint_body(0, [], target.note)
    assert target.signed.post("/fed/v1/add-checkpoint", content=submission).status_code == 404


def test_a_stale_old_size_gets_409_with_exactly_the_c2sp_content_type(target: Target) -> None:
    """C2SP tlog-witness: the 409 names the recorded size as ``text/x.tlog.size``, no charset."""
    answer = target.signed.post(
        "/fed/v1/add-checkpoint", content=add_checkpoint_body(1, [], target.us_note)
    )
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "text/x.tlog.size"
    assert answer.content == b"0\n"


def test_monitoring_endpoint_answers_404_problem_for_an_origin_never_cosigned(
    target: Target,
) -> None:
    digest = hashlib.sha256(b"parley/parley-test/XX").hexdigest()
    answer = target.anonymous.get(f"/{digest}/checkpoint")
    _check(answer)
    assert answer.status_code == 404


HOSTILE_SUBMISSIONS = [
    b"old " + b"9" * 5000 + b"\n\n",  # past Python's int() digit limit
    "old ٣\n\n".encode(),  # a digit, but not ASCII
    b"old 1\n" + b"A" * 100_000 + b"\n\n",  # over the route's limit
    b"\xed\xa0\x80",  # a lone surrogate in UTF-8
]


@pytest.mark.parametrize("body", HOSTILE_SUBMISSIONS, ids=["digits", "arabic", "long", "surrogate"])
def test_hostile_submissions_are_refused_as_problems(target: Target, body: bytes) -> None:
    for client in (target.anonymous, target.signed):
        for path in ("/fed/v1/add-checkpoint", "/fed/v1/push"):
            answer = client.post(path, content=body)
            _check(answer)
            assert answer.status_code in (400, 401, 413), answer.text
