"""Route × role × audience: every route of ``/api/v1`` refuses whom it must, and no restricted
body reaches a caller who may not read it.

``ROUTES`` names the action each route needs (``parley.node.access``); a route missing from it
fails the test, so a new route cannot skip the matrix. Callers: a session of each role
(observer, analyst, duty-officer, admin), a token of each scope (held by an administrator, and a
narrower officer's where the role allows), and an anonymous caller. Entries: notifications marked
TLP:GREEN (audience ALL), AMBER and RED (audience JP), each carrying a marker string in its
headline and its area's name; a caller whose clearance does not cover a TLP must never receive
its marker, on any route, whatever the route answers.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from parley.api import feeds_api, metrics_api
from parley.core.entry import ALL
from parley.node.access import ROLES, Action, Principal, Scope, scopes_for
from parley.node.notifications import lifecycle
from parley.store import logs
from tests.api.v1.conftest import Api
from tests.api.v1.federated import Federated, make_federated

# (method, path) -> the action it needs; None: any authenticated caller; "public": anyone.
ROUTES: dict[tuple[str, str], Action | str | None] = {
    ("POST", "/session"): "public",
    ("DELETE", "/session"): None,
    ("GET", "/me"): None,
    ("GET", "/me/settings"): None,
    ("PUT", "/me/settings"): None,
    ("GET", "/tokens"): None,
    ("POST", "/tokens"): None,
    ("DELETE", "/tokens/{token_id}"): None,
    ("GET", "/stream"): Action.READ,
    ("GET", "/assistance/board"): Action.READ,
    ("POST", "/notifications"): Action.NOTIFY,
    ("POST", "/notifications/{ref}/update"): Action.NOTIFY,
    ("POST", "/notifications/{ref}/cancel"): Action.NOTIFY,
    ("POST", "/notifications/import"): Action.IMPORT,
    ("GET", "/notifications"): Action.READ,
    ("GET", "/notifications/areas"): Action.READ,
    ("GET", "/notifications/{ref}"): Action.READ,
    ("GET", "/notifications/{ref}/cap"): Action.READ,
    ("GET", "/notifications/{ref}/stix"): Action.READ,
    ("GET", "/inbox"): Action.READ,
    ("GET", "/entries/{ref}"): Action.READ,
    ("POST", "/entries/{ref}/acknowledgement"): Action.ACKNOWLEDGE,
    ("GET", "/inquiries"): Action.READ,
    ("POST", "/inquiries"): Action.INQUIRE,
    ("POST", "/inquiries/{ref}/reply"): Action.INQUIRE,
    ("GET", "/hotline/phrases"): Action.READ,
    ("POST", "/hotline/messages"): Action.HOTLINE,
    ("GET", "/hotline/conversations/{party}"): Action.READ,
    ("GET", "/hotline/messages/{ref}"): Action.READ,
    ("GET", "/escalations"): Action.READ,
    ("GET", "/receipts/{ref}"): Action.READ,
    ("GET", "/peers"): Action.READ,
    ("POST", "/peers/{party}/release"): Action.ADMINISTER,
    ("GET", "/health"): Action.READ,
    ("GET", "/compliance"): Action.READ,
    ("GET", "/log"): Action.READ,
    ("GET", "/log/entries"): Action.READ,
    ("POST", "/log/verify"): Action.READ,
    ("GET", "/evidence/{ref}"): Action.READ,
    ("GET", "/pending"): Action.READ,
    ("GET", "/pending/{pending_id}"): Action.READ,
    ("POST", "/pending"): Action.NOTIFY,
    ("POST", "/pending/{pending_id}/release"): Action.RELEASE,
    ("POST", "/pending/{pending_id}/break-glass"): Action.BREAK_GLASS,
    ("POST", "/pending/{pending_id}/withdraw"): Action.NOTIFY,
    ("GET", "/subscriptions"): Action.SUBSCRIBE,
    ("POST", "/subscriptions"): Action.SUBSCRIBE,
    ("DELETE", "/subscriptions/{subscription_id}"): Action.SUBSCRIBE,
    ("GET", "/subscriptions/matches"): Action.SUBSCRIBE,
    ("GET", "/search"): Action.READ,
    ("GET", "/categories"): Action.READ,
    ("GET", "/roadmaps"): Action.READ,
    ("GET", "/roadmaps/{ref}"): Action.READ,
    ("POST", "/roadmaps"): Action.NOTIFY,
    ("POST", "/roadmaps/{ref}/sign"): Action.NOTIFY,
    ("POST", "/roadmaps/{ref}/attest"): Action.NOTIFY,
    ("POST", "/roadmaps/{ref}/confirm"): Action.NOTIFY,
    ("POST", "/roadmaps/{ref}/dispute"): Action.NOTIFY,
    ("POST", "/roadmaps/{ref}/answer"): Action.NOTIFY,
}
# Routes that show a body its caller may read: the marker must reach such a caller there.
SHOWS_BODY = {
    ("GET", "/notifications/{ref}"),
    ("GET", "/notifications/{ref}/cap"),
    ("GET", "/notifications/areas"),
    ("GET", "/entries/{ref}"),
    ("GET", "/evidence/{ref}"),
    ("GET", "/search"),
}
# Routes not called by the matrix, with the test that covers them instead.
NOT_CALLED = {
    ("POST", "/session"): "test_auth.py (logging in is open to anyone, rate-limited)",
    ("DELETE", "/session"): "test_auth.py (it would end the matrix's own sessions)",
    ("GET", "/stream"): "test_stream.py (it never ends; refusals are checked here)",
}
CIRCLE = {"center": ["139.8", "35.5"], "radius_km": "30"}  # the map draws it, marked
MARKERS = {"GREEN": "MARK-GREEN-7f3a", "AMBER": "MARK-AMBER-7f3a", "RED": "MARK-RED-7f3a"}
# A CN notification addressed to KR only: JP holds its signed header, never its body, so no
# caller at JP may read it, whatever the role.
OTHER = "OTHER"
MARKERS[OTHER] = "MARK-OTHER-7f3a"


@dataclass
class Caller:
    """One caller of the matrix: a client and the principal it stands for (None: anonymous)."""

    label: str
    client: TestClient
    principal: Principal | None
    csrf: str | None = None


@dataclass
class Matrix:
    """The node with its marked entries, and every caller."""

    api: Api
    refs: dict[str, str]
    callers: list[Caller]


def _mark(federated: Federated) -> dict[str, str]:
    refs = {}
    for tlp, marker in MARKERS.items():
        author = federated.cn if tlp == OTHER else federated.jp
        outcome = lifecycle.notify(
            author,
            status="Exercise",
            audience=ALL if tlp == "GREEN" else ("KR",) if tlp == OTHER else ("JP",),
            tlp="AMBER" if tlp == OTHER else tlp,
            category="geo.earthquake",
            severity="Severe",
            urgency="Immediate",
            certainty="Observed",
            headline=f"quake {marker}",
            description=f"details {marker}",
            lang="en",
            areas=[{"desc": f"coast {marker}", "circles": [CIRCLE]}],
            details={},
        )
        refs[tlp] = outcome.written.ref
    federated.deliver(federated.cn, federated.jp)
    party, seq = refs[OTHER].split(":")
    with federated.jp.store.read() as conn:
        held = logs.get_entry(conn, party, int(seq))
    assert held is not None and held.body is None  # the header only, as the audience rules say
    return refs


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    federated = make_federated(Path(tmp_path_factory.mktemp("matrix")), others=("KR",))
    api = federated.api
    refs = _mark(federated)
    callers = [Caller("anonymous", api.client(), None)]
    for role in ROLES:
        client, csrf = api.session(role)
        callers.append(Caller(f"session {role}", client, Principal(role, role), csrf))
        for scope in scopes_for(role):
            if role in ("admin", "observer") or scope == Scope.NOTIFY:
                token_client = api.token(role, scope)
                callers.append(
                    Caller(
                        f"{role} token {scope.value}", token_client, Principal(role, role, scope)
                    )
                )
    yield Matrix(api, refs, callers)
    api.node.close()
    federated.cn.close()


def _routes(api: Api) -> set[tuple[str, str]]:
    """Every operation of the API's OpenAPI document (a route missing from it fails too)."""
    document = api.client().get("/api/v1/openapi.json").json()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_every_route_is_in_the_matrix(matrix: Matrix) -> None:
    routes = _routes(matrix.api)
    assert routes - set(ROUTES) == set(), "add the new routes to ROUTES"
    assert set(ROUTES) - routes == set(), "ROUTES names routes that do not exist"


def _path(path: str, ref: str) -> str:
    return (
        path.replace("{ref}", ref)
        .replace("{party}", "US")
        .replace("{token_id}", "000000000000")
        .replace("{pending_id}", "nope")
        .replace("{subscription_id}", "999999")
    )


def _expected(needs: Action | str | None, caller: Caller) -> str:
    if needs == "public":
        return "allowed"
    if caller.principal is None:
        return "unauthenticated"
    if needs is None or caller.principal.may(needs):  # type: ignore[arg-type]
        return "allowed"
    return "forbidden"


def _decoded(value: Any) -> Iterator[str]:
    """Every string in a JSON value, and what each decodes to as base64 (bundles carry bodies
    so): a marker hidden in an encoding is still a leak."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _decoded(item)
    elif isinstance(value, list):
        for item in value:
            yield from _decoded(item)
    elif isinstance(value, str):
        yield value
        with contextlib.suppress(ValueError, binascii.Error):
            yield base64.b64decode(value + "=" * (-len(value) % 4), validate=False).decode(
                "utf-8", "replace"
            )


def _call(caller: Caller, method: str, path: str) -> tuple[int, str]:
    headers = {"X-CSRF-Token": caller.csrf} if caller.csrf else {}
    if method == "GET":
        answer = caller.client.get(path, headers=headers)
    else:
        answer = caller.client.request(method, path, json={}, headers=headers)
    text = answer.text
    if answer.headers.get("content-type", "").startswith("application/json"):
        text += "\n".join(_decoded(answer.json()))
    return answer.status_code, text


@pytest.mark.parametrize("tlp", list(MARKERS))
def test_route_role_audience_matrix(matrix: Matrix, tlp: str) -> None:
    failures = []
    for (method, path), needs in sorted(ROUTES.items(), key=str):
        if (method, path) in NOT_CALLED and needs != Action.READ:
            continue
        url = "/api/v1" + _path(path, matrix.refs[tlp])
        if path == "/search":
            url += "?q=quake"  # every marked headline; the answer echoes only this
        for caller in matrix.callers:
            expected = _expected(needs, caller)
            if (method, path) in NOT_CALLED and expected == "allowed":
                continue
            status, text = _call(caller, method, url)
            what = f"{method} {path} as {caller.label} ({tlp})"
            if status >= 500:
                failures.append(f"{what}: {status}")
            if expected == "unauthenticated" and status != 401:
                failures.append(f"{what}: {status}, wanted 401")
            if expected == "forbidden" and status != 403:
                failures.append(f"{what}: {status}, wanted 403")
            readable = tlp != OTHER and caller.principal is not None and caller.principal.reads(tlp)
            # An allowed caller may still be refused a body above its clearance (an export).
            if expected == "allowed" and (status == 401 or (status == 403 and readable)):
                failures.append(f"{what}: refused {status}")
            if not readable and MARKERS[tlp] in text:
                failures.append(f"{what}: the {tlp} body reached a caller who may not read it")
            shown = expected == "allowed" and (method, path) in SHOWS_BODY
            if readable and shown and MARKERS[tlp] not in text:
                failures.append(f"{what}: a caller who may read the body did not get it")
    assert failures == []


# Routes of the node outside /api/v1 that officers' tools read with a token (Basic password or
# Bearer; a session cookie counts for nothing there). "public": anyone, the rest by action.
ROOT_ROUTES: dict[tuple[str, str], Action | str] = {
    ("GET", "/feeds/cap.atom"): "public",
    ("GET", "/feeds/cap/{party}/{seq}.xml"): "public",
    ("GET", "/metrics"): Action.SCRAPE,
}


def test_every_feed_and_metrics_route_is_in_the_matrix() -> None:
    served = {
        (method, route.path)
        for router in (feeds_api.router, metrics_api.router)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or set()
    }
    assert served == set(ROOT_ROUTES)


def _token_of(caller: Caller) -> Principal | None:
    """The caller's principal when it calls with a token (the matrix's tokens have a scope)."""
    principal = caller.principal
    return principal if principal is not None and principal.scope is not None else None


def _root_expected(path: str, caller: Caller, tlp: str) -> int:
    """The status a caller gets: sessions are the public here, and every marked entry is an
    exercise, so none is public."""
    token = _token_of(caller)
    if path == "/metrics":
        if token is None:
            return 401
        return 200 if token.may(Action.SCRAPE) else 403
    if token is None:
        return 200 if path == "/feeds/cap.atom" else 404
    if not token.may(Action.READ):
        return 403
    if path == "/feeds/cap.atom":
        return 200
    return 200 if tlp != OTHER and token.reads(tlp) else 403


@pytest.mark.parametrize("tlp", list(MARKERS))
def test_feed_and_metrics_route_role_audience_matrix(matrix: Matrix, tlp: str) -> None:
    failures = []
    party, seq = matrix.refs[tlp].split(":")
    for caller in matrix.callers:
        token = _token_of(caller)
        for _method, path in ROOT_ROUTES:
            url = path.replace("{party}", party).replace("{seq}", seq)
            if path == "/feeds/cap.atom" and token is not None:
                url += "?exercise=true"  # the marked entries are exercises
            answer = caller.client.get(url)
            what = f"GET {path} as {caller.label} ({tlp})"
            wanted = _root_expected(path, caller, tlp)
            if answer.status_code != wanted:
                failures.append(f"{what}: {answer.status_code}, wanted {wanted}")
            readable = tlp != OTHER and token is not None and token.reads(tlp)
            if not readable and MARKERS[tlp] in answer.text:
                failures.append(f"{what}: the {tlp} body reached a caller who may not read it")
            shows = wanted == 200 and path != "/metrics"
            if readable and shows and MARKERS[tlp] not in answer.text:
                failures.append(f"{what}: a caller who may read the body did not get it")
    assert failures == []
