"""Route × caller × collection for the TAXII server: who gets what, and no byte more.

``ROUTES`` names what each TAXII route needs (``parley.node.access``); a route missing from it
fails the test. Callers: anonymous, and a token of each scope an officer of each role may hold.
Collections at JP: objects shared with all (TLP:GREEN), with JP+CN (AMBER) and with JP+CN marked
TLP:RED, each carrying a marker string; and a CN notification for CN+KR only, whose body JP never
holds. A caller whose clearance does not cover a TLP never receives its marker, on any route,
whatever the route answers; a caller who may read it does receive it (so the check can fail).

The peer attacks run the same nodes: KR pulls JP's log and its TAXII server shows no object of
the JP+CN collection; CN pulls it and shows them, as received objects.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from parley.api import taxii_routes
from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.node import officers
from parley.node.access import CLEARANCE, ROLES, Action, Principal, Scope, scopes_for
from parley.node.node import Node, now_ms
from parley.node.taxii import reading, writing
from parley.node.taxii.index import collection_id
from tests.api.v1.federated import Federated, make_federated

TAXII = "application/taxii+json;version=2.1"
# (method, path under /taxii2) -> the action it needs; None: any caller with a token.
ROUTES: dict[tuple[str, str], Action | str | None] = {
    ("GET", "/"): None,
    ("GET", "/cyber/"): None,
    ("GET", "/cyber/status/{status_id}/"): Action.READ,
    ("GET", "/cyber/collections/"): Action.READ,
    ("GET", "/cyber/collections/{collection_id}/"): Action.READ,
    ("GET", "/cyber/collections/{collection_id}/objects/"): Action.READ,
    ("POST", "/cyber/collections/{collection_id}/objects/"): Action.IMPORT,
    ("GET", "/cyber/collections/{collection_id}/objects/{object_id}/"): Action.READ,
    ("DELETE", "/cyber/collections/{collection_id}/objects/{object_id}/"): "never",
    ("GET", "/cyber/collections/{collection_id}/objects/{object_id}/versions/"): Action.READ,
    ("GET", "/cyber/collections/{collection_id}/manifest/"): Action.READ,
}
SHOWS_OBJECTS = {
    ("GET", "/cyber/collections/{collection_id}/objects/"),
    ("GET", "/cyber/collections/{collection_id}/objects/{object_id}/"),
}
MARKERS = {"GREEN": "MARK-GREEN-5c1d", "AMBER": "MARK-AMBER-5c1d", "RED": "MARK-RED-5c1d"}
OTHER = "OTHER"
RED_MARKING = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def indicator(marker: str, number: int, *, red: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{number:012d}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": f"c2 {marker}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{number % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    if red:
        obj["object_marking_refs"] = [RED_MARKING]
    return obj


@dataclass
class Caller:
    label: str
    client: TestClient
    principal: Principal | None


@dataclass
class Matrix:
    federated: Federated
    collections: dict[str, str]  # TLP (or OTHER) -> collection id
    objects: dict[str, str]  # TLP (or OTHER) -> object id
    status: str
    callers: list[Caller]


def client_of(node: Node, token: str | None) -> TestClient:
    app = create_app(node)
    app.state.published = node.checkpoint()
    mounted = next(r for r in app.routes if getattr(r, "path", "") == taxii_routes.PREFIX)
    limits = mounted.app.state.taxii_limits  # type: ignore[attr-defined]
    limits.by_address = AnonymousLimiter(rate=1e9, burst=1e9)
    limits.by_caller = AnonymousLimiter(rate=1e9, burst=1e9)
    headers = {"accept": TAXII}
    if token is not None:
        encoded = base64.b64encode(f"taxii:{token}".encode()).decode()
        headers["authorization"] = f"Basic {encoded}"
    return TestClient(
        app,
        base_url="http://127.0.0.1",
        raise_server_exceptions=False,
        headers=headers,
    )


def write(node: Node, audience: str, objects: list[dict[str, Any]]) -> str:
    duty = Principal("duty-officer", "duty-officer")
    target = next(c for c in reading.collections_for(node, duty) if c.audience == audience)
    envelope = orjson.dumps({"objects": objects})
    status = writing.add_envelope(node, duty, target, envelope, now_ms())
    assert status.failures == []
    return status.id


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    federated = make_federated(Path(tmp_path_factory.mktemp("taxii-matrix")), others=("KR",))
    jp, cn = federated.jp, federated.cn
    officers.add_officer(cn.store, "duty-officer", "duty-officer", "pw-long-enough-1", now_ms())
    status = write(jp, "ALL", [indicator(MARKERS["GREEN"], 1)])
    write(jp, "CN,JP", [indicator(MARKERS["AMBER"], 2)])
    write(jp, "CN,JP", [indicator(MARKERS["RED"], 3, red=True)])
    write(cn, "CN,KR", [indicator("MARK-OTHER-5c1d", 4)])
    federated.deliver(cn, jp)
    collections = {
        "GREEN": collection_id("ALL", "Actual"),
        "AMBER": collection_id("CN,JP", "Actual"),
        "RED": collection_id("CN,JP", "Actual"),
        OTHER: collection_id("CN,KR", "Actual"),
    }
    objects = {
        tlp: indicator("", n)["id"] for tlp, n in (("GREEN", 1), ("AMBER", 2), ("RED", 3))
    } | {OTHER: indicator("", 4)["id"]}
    callers = [Caller("anonymous", client_of(jp, None), None)]
    for role in ROLES:
        for scope in scopes_for(role):
            token = officers.issue_token(jp.store, role, scope, now_ms())[0]
            callers.append(
                Caller(
                    f"{role} token {scope.value}",
                    client_of(jp, token),
                    Principal(role, role, scope),
                )
            )
    yield Matrix(federated, collections, objects, status, callers)
    jp.close()
    cn.close()


def test_every_taxii_route_is_in_the_matrix() -> None:
    routes = {
        (method, getattr(route, "path", ""))
        for route in taxii_routes.router.routes
        for method in getattr(route, "methods", set())
        if method != "HEAD"
    }
    assert routes - set(ROUTES) == set(), "add the new TAXII routes to ROUTES"
    assert set(ROUTES) - routes == set(), "ROUTES names TAXII routes that do not exist"


def _path(path: str, collection: str, obj: str, status: str) -> str:
    filled = path.replace("{collection_id}", collection).replace("{object_id}", obj)
    return "/taxii2" + filled.replace("{status_id}", status)


def _call(caller: Caller, method: str, path: str) -> Any:
    if method == "POST":
        body = orjson.dumps({"objects": [indicator("benign", 900)]})
        return caller.client.post(path, content=body, headers={"content-type": TAXII})
    return caller.client.request(method, path)


def _expected(caller: Caller, route: tuple[str, str], tlp: str) -> set[int]:
    need = ROUTES[route]
    principal = caller.principal
    if principal is None:
        return {401}
    if need == "never":
        return {405}
    if isinstance(need, Action) and not principal.may(need):
        return {403}
    if "{collection_id}" not in route[1]:
        return {200, 404} if "status" in route[1] else {200}
    if tlp == OTHER:
        return {404}
    floor = "GREEN" if tlp == "GREEN" else "AMBER"  # the collection's default TLP
    readable = floor in CLEARANCE[principal.role]
    writable = principal.may(Action.IMPORT)
    if route[0] == "POST":
        return {202} if writable else {403}
    if not readable:
        return {404, 403} if writable else {404}
    return {200, 404}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_caller_gets_what_its_token_allows_and_no_marker_above_its_clearance(
    matrix: Matrix, route: tuple[str, str]
) -> None:
    method, template = route
    for caller in matrix.callers:
        for tlp, collection in matrix.collections.items():
            path = _path(template, collection, matrix.objects[tlp], matrix.status)
            answer = _call(caller, method, path)
            label = f"{caller.label} {method} {path} ({tlp})"
            assert answer.status_code in _expected(caller, route, tlp), label + answer.text
            assert answer.headers["content-type"] == TAXII, label
            clearance = CLEARANCE[caller.principal.role] if caller.principal else frozenset()
            for marked, marker in MARKERS.items():
                if marked not in clearance:
                    assert marker not in answer.text, label
            assert "MARK-OTHER-5c1d" not in answer.text, label
            if route in SHOWS_OBJECTS and answer.status_code == 200 and tlp in clearance:
                assert MARKERS[tlp] in answer.text, label


def test_a_reader_cleared_for_red_sees_the_red_object(matrix: Matrix) -> None:
    duty = next(c for c in matrix.callers if c.label == "duty-officer token read")
    path = _path("/cyber/collections/{collection_id}/objects/", matrix.collections["RED"], "", "")
    assert MARKERS["RED"] in duty.client.get(path).text
    analyst = next(c for c in matrix.callers if c.label == "analyst token read")
    answer = analyst.client.get(path)
    assert answer.status_code == 200
    assert MARKERS["AMBER"] in answer.text and MARKERS["RED"] not in answer.text


def test_a_peer_outside_the_audience_serves_no_object_of_it_attack(matrix: Matrix) -> None:
    federated = matrix.federated
    nodes = make_federated_kr(federated)
    kr_client, cn_client = nodes
    amber = matrix.collections["AMBER"]
    kr_answer = kr_client.get(f"/taxii2/cyber/collections/{amber}/objects/")
    assert kr_answer.status_code == 404
    listed = kr_client.get("/taxii2/cyber/collections/").text
    assert amber not in listed
    for marker in MARKERS.values():
        assert marker not in listed and marker not in kr_answer.text
    cn_answer = cn_client.get(f"/taxii2/cyber/collections/{amber}/objects/")
    assert cn_answer.status_code == 200
    assert MARKERS["AMBER"] in cn_answer.text


def make_federated_kr(federated: Federated) -> tuple[TestClient, TestClient]:
    """KR and CN pull JP's log; a duty officer's token at each, for their TAXII servers."""
    kr = federated_node(federated, "KR")
    federated.deliver(federated.jp, kr)
    federated.deliver(federated.jp, federated.cn)
    clients = []
    for node in (kr, federated.cn):
        if node is kr:
            officers.add_officer(
                kr.store, "duty-officer", "duty-officer", "pw-long-enough-1", now_ms()
            )
        token = officers.issue_token(node.store, "duty-officer", Scope.READ, now_ms())[0]
        clients.append(client_of(node, token))
    return clients[0], clients[1]


def federated_node(federated: Federated, party: str) -> Node:
    home = federated.api.home.parent / party.lower()
    return Node.open(home)
