"""``/api/v1/notifications``: create, update, cancel, import, list, read and export, for real.

Most tests share one node (``api``, JP alone); those about receipts and about what a peer sent
use a three-party network (``net``: JP serves the API, US and KR are peers whose logs JP pulls
through ``MemoryLog``). Each test marks its notifications with a word of its own and lists with
``text=`` that word, so the tests of one module do not see each other's notifications.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.api.v1.app import BODY_LIMITS, PREFIX
from parley.node import officers
from parley.node.access import ROLES, Scope
from parley.node.federation.peers import Peer
from parley.node.federation.pull import pull
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from tests.api.v1.conftest import Api
from tests.node.conftest import MemoryLog, make_network, pin
from tests.support import OFFICER_PASSWORD

DATA = Path(__file__).resolve().parents[2] / "data"
CAP_FILE = DATA / "cap" / "real_1.2" / "australia_bom.cap"
STIX_FILE = DATA / "stix" / "oasis_examples" / "indicator-for-c2-ip-address.json"
URL = "/api/v1/notifications"
TOKYO = {"desc": "Tokyo Bay", "circle": {"center": ["139.8", "35.5"], "radius_km": "30"}}
OKINAWA = {
    "desc": "Okinawa",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[127.5, 26.0], [128.5, 26.0], [128.5, 27.0], [127.5, 27.0], [127.5, 26.0]]
        ],
    },
}
LISBON = {"desc": "Lisbon", "circle": {"center": ["-9.14", "38.72"], "radius_km": "20"}}


def marker() -> str:
    """A word no other test writes."""
    return f"mark{uuid.uuid4().hex[:12]}"


def alert(mark: str, **changes: Any) -> dict[str, Any]:
    """A valid native alert whose description carries ``mark``."""
    return {
        "category": "geo.earthquake",
        "status": "Exercise",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "headline": "Earthquake off Chiba",
        "description": f"A strong earthquake ({mark}).",
        "areas": [TOKYO],
        "details": {"magnitude": "7.1", "epicenter": "35.5,139.8"},
        "expires": "+6h",
        **changes,
    }


def refs(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["ref"] for item in answer.json()["items"]]


def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    found: dict[str, Any] = answer.json()
    assert found["type"].startswith("https://parley.invalid/problems/")
    return found


@pytest.fixture(scope="module")
def duty(api: Api) -> TestClient:
    return api.token("duty-officer", Scope.NOTIFY)


# Create, list, read ---------------------------------------------------------------------------


def test_a_notification_is_created_listed_and_read_with_its_incident(
    api: Api, duty: TestClient
) -> None:
    mark = marker()
    made = duty.post(URL, json=alert(mark))
    assert made.status_code == 201, made.text
    ref = made.json()["ref"]
    assert ref.startswith("JP:") and len(made.json()["leaf_hash"]) == 64
    listed = duty.get(URL, params={"text": mark}).json()["items"]
    assert [item["ref"] for item in listed] == [ref]
    assert listed[0]["summary"]["headline"] == "Earthquake off Chiba"
    assert listed[0]["summary"]["areas"] == ["Tokyo Bay"]
    assert (listed[0]["status"], listed[0]["tlp"], listed[0]["withheld"]) == (
        "Exercise",
        "GREEN",
        None,
    )
    one = duty.get(f"{URL}/{ref.lower()}")  # a reference in any case
    assert one.status_code == 200, one.text
    shown = one.json()
    assert shown["header"]["ref"] == ref and shown["header"]["kind"] == "notification"
    assert shown["body"]["details"] == {"magnitude": "7.1", "epicenter": ["139.8", "35.5"]}
    assert shown["incident"]["state"] == "active"
    assert [link["ref"] for link in shown["incident"]["chain"]] == [ref]


def test_a_repeated_idempotency_key_returns_the_first_reply_and_appends_nothing(
    api: Api, duty: TestClient
) -> None:
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    body = alert(marker())
    first = duty.post(URL, json=body, headers=key)
    assert first.status_code == 201 and "idempotency-replayed" not in first.headers
    size = api.node.size()
    again = duty.post(URL, json=body, headers=key)
    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    assert api.node.size() == size
    other = duty.post(URL, json={**body, "headline": "Another"}, headers=key)
    assert "another request" in problem(other, 409)["detail"]
    assert api.node.size() == size


def test_a_failed_create_gives_its_idempotency_key_back(api: Api, duty: TestClient) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    bad = duty.post(URL, json=alert(marker(), details={"magnitude": "strong"}), headers=key)
    assert problem(bad, 400)["field"] == "body.details.magnitude"
    good = duty.post(URL, json=alert(marker()), headers=key)
    assert good.status_code == 201, good.text


def test_writes_are_audited_with_what_they_made(api: Api, duty: TestClient) -> None:
    ref = duty.post(URL, json=alert(marker())).json()["ref"]
    lines = officers.audit_trail(api.node.store, 20)
    made = [line for line in lines if line["action"] == "api POST /notifications"]
    assert made and made[0]["outcome"] == "ok" and made[0]["officer"] == "duty-officer"
    assert ref in str(made[0]["detail"])


# Update and cancel ----------------------------------------------------------------------------


def test_update_then_cancel_follow_the_incident(api: Api, duty: TestClient) -> None:
    mark = marker()
    first = duty.post(URL, json=alert(mark)).json()["ref"]
    change = {"headline": "Earthquake off Chiba (revised)", "details": {"magnitude": 7.3}}
    updated = duty.post(f"{URL}/{first}/update", json=change)
    assert updated.status_code == 201, updated.text
    second = updated.json()["ref"]
    incident = duty.get(f"{URL}/{first}").json()["incident"]
    assert incident["headline"] == "Earthquake off Chiba (revised)"
    assert incident["details"]["magnitude"] == "7.3"
    assert [link["ref"] for link in incident["chain"]] == [first, second]
    stale = problem(duty.post(f"{URL}/{first}/update", json=change), 400)
    assert "superseded" in stale["detail"] and stale["field"] == "ref"
    key = {"Idempotency-Key": f"cancel-{uuid.uuid4()}"}
    cancelled = duty.post(f"{URL}/{second}/cancel", json={}, headers=key)
    assert cancelled.status_code == 201, cancelled.text
    size = api.node.size()
    assert duty.post(f"{URL}/{second}/cancel", json={}, headers=key).json() == cancelled.json()
    assert api.node.size() == size
    assert duty.get(f"{URL}/{first}").json()["incident"]["state"] == "cancelled"
    ended = problem(duty.post(f"{URL}/{cancelled.json()['ref']}/cancel", json={}), 400)
    assert "already ended" in ended["detail"]
    assert refs(duty.get(URL, params={"text": mark})) == [cancelled.json()["ref"], second, first]


def test_an_all_clear_ends_the_incident(duty: TestClient) -> None:
    ref = duty.post(URL, json=alert(marker())).json()["ref"]
    done = duty.post(f"{URL}/{ref}/cancel", json={"all_clear": True})
    assert done.status_code == 201, done.text
    assert duty.get(f"{URL}/{ref}").json()["incident"]["state"] == "all-clear"


def test_an_empty_update_and_a_bad_ref_are_400(duty: TestClient) -> None:
    ref = duty.post(URL, json=alert(marker())).json()["ref"]
    assert problem(duty.post(f"{URL}/{ref}/update", json={}), 400)["field"] == "body"
    for bad in ("JP-3", "JP:abc", "J:1", "jp:-1"):
        assert problem(duty.get(f"{URL}/{bad}"), 400)["field"] == "ref", bad
        assert problem(duty.post(f"{URL}/{bad}/cancel", json={}), 400)["field"] == "ref", bad
    problem(duty.get(f"{URL}/JP:99999"), 404)
    assert "key, not a notification" in problem(duty.get(f"{URL}/JP:0"), 404)["detail"]


# Import ---------------------------------------------------------------------------------------


def test_a_real_cap_alert_is_imported_once(api: Api, duty: TestClient) -> None:
    data = CAP_FILE.read_bytes()
    headers = {"content-type": "application/cap+xml"}
    first = duty.post(f"{URL}/import", content=data, headers=headers)
    assert first.status_code == 201, first.text
    [made] = first.json()["notifications"]
    assert made["new"] and made["identifier"].startswith("AusBoM-")
    size = api.node.size()
    again = duty.post(f"{URL}/import", content=data, headers=headers)
    assert again.status_code == 200
    assert again.json()["notifications"] == [{**made, "new": False}]
    assert api.node.size() == size
    audited = officers.audit_trail(api.node.store, 20)
    imports = [line for line in audited if line["action"] == "api POST /notifications/import"]
    assert any(made["ref"] in str(line["detail"]) for line in imports)
    cap = duty.get(f"{URL}/{made['ref']}/cap")
    assert cap.status_code == 200 and cap.headers["content-type"] == "application/cap+xml"
    assert made["identifier"].encode() in cap.content


def test_a_stix_bundle_needs_a_status_and_exports_back(duty: TestClient) -> None:
    data = STIX_FILE.read_bytes()
    headers = {"content-type": "application/stix+json;version=2.1"}
    assert problem(duty.post(f"{URL}/import", content=data, headers=headers), 400)["field"] == (
        "status"
    )
    made = duty.post(f"{URL}/import?status=Exercise", content=data, headers=headers)
    assert made.status_code == 201, made.text
    ref = made.json()["notifications"][0]["ref"]
    stix = duty.get(f"{URL}/{ref}/stix")
    assert stix.status_code == 200 and stix.headers["content-type"] == "application/stix+json"
    assert stix.json()["type"] == "bundle"
    plain = duty.post(URL, json=alert(marker())).json()["ref"]
    assert "no STIX form" in problem(duty.get(f"{URL}/{plain}/stix"), 400)["detail"]


def test_an_import_must_be_what_its_content_type_says(duty: TestClient) -> None:
    cap, stix = CAP_FILE.read_bytes(), STIX_FILE.read_bytes()
    wrong = duty.post(f"{URL}/import", content=stix, headers={"content-type": "application/xml"})
    assert problem(wrong, 400)["field"] == "body"
    none = duty.post(f"{URL}/import", content=cap, headers={"content-type": "text/plain"})
    assert problem(none, 400)["field"] == "Content-Type"
    broken = duty.post(
        f"{URL}/import", content=b"<alert>no</alert>", headers={"content-type": "text/xml"}
    )
    assert problem(broken, 400)["field"] == "body"


def test_an_analyst_imports_but_does_not_notify(api: Api) -> None:
    analyst = api.token("analyst", Scope.ANALYST)
    refused = problem(analyst.post(URL, json=alert(marker())), 403)
    assert "may not notify" in refused["detail"]
    data = (DATA / "cap" / "real_1.2" / "iceland_met_office.cap").read_bytes()
    made = analyst.post(f"{URL}/import", content=data, headers={"content-type": "application/xml"})
    assert made.status_code in (200, 201), made.text


# Rights and readers ---------------------------------------------------------------------------


def test_a_read_token_cannot_write(api: Api) -> None:
    reader = api.token("duty-officer", Scope.READ)
    for path, body in ((URL, alert(marker())), (f"{URL}/JP:1/cancel", {})):
        refused = problem(reader.post(path, json=body), 403)
        assert "scope read" in refused["detail"]
    headers = {"content-type": "application/cap+xml"}
    refused = problem(reader.post(f"{URL}/import", content=b"<a/>", headers=headers), 403)
    assert "scope read may not import" in refused["detail"]
    assert reader.get(URL).status_code == 200
    problem(api.client().get(URL), 401)


def test_a_session_writes_only_with_its_csrf_token(api: Api) -> None:
    client, csrf = api.session("duty-officer")
    refused = problem(client.post(URL, json=alert(marker())), 403)
    assert "X-CSRF-Token" in refused["detail"]
    made = client.post(URL, json=alert(marker()), headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text


def test_an_observer_reads_green_bodies_but_not_amber_ones(api: Api, duty: TestClient) -> None:
    mark = marker()
    green = duty.post(URL, json=alert(mark)).json()["ref"]
    amber = duty.post(URL, json=alert(mark, audience=["jp"])).json()["ref"]
    observer = api.token("observer", Scope.READ)
    items = {item["ref"]: item for item in observer.get(URL, params={"limit": 200}).json()["items"]}
    assert items[green]["summary"] is not None and items[green]["withheld"] is None
    assert items[amber]["tlp"] == "AMBER" and items[amber]["summary"] is None
    assert items[amber]["withheld"] == "TLP:AMBER is above the clearance of an observer"
    shown = observer.get(f"{URL}/{amber}").json()
    assert shown["body"] is None and shown["incident"] is None
    assert shown["withheld"] == "TLP:AMBER is above the clearance of an observer"
    assert shown["header"]["body_hash"]  # the signed header is never withheld
    assert observer.get(f"{URL}/{green}").json()["body"] is not None
    assert "withheld" in problem(observer.get(f"{URL}/{amber}/cap"), 403)["detail"]
    # A body filter matches only a body the reader may read: it cannot reveal what AMBER says.
    assert refs(observer.get(URL, params={"text": mark})) == [green]
    analyst = api.token("analyst", Scope.READ)
    assert analyst.get(f"{URL}/{amber}").json()["body"] is not None
    assert refs(analyst.get(URL, params={"text": mark})) == [amber, green]


def test_red_is_for_the_duty_desk(api: Api, duty: TestClient) -> None:
    red = duty.post(URL, json=alert(marker(), audience=["JP"], tlp="RED")).json()["ref"]
    analyst = api.token("analyst", Scope.READ)
    assert (
        "TLP:RED is above the clearance of an analyst"
        == (analyst.get(f"{URL}/{red}").json()["withheld"])
    )
    assert duty.get(f"{URL}/{red}").json()["body"] is not None


# Filters and the cursor -----------------------------------------------------------------------


def test_each_filter_narrows_the_list(api: Api, duty: TestClient) -> None:
    mark = marker()
    quake = duty.post(URL, json=alert(mark)).json()["ref"]
    time.sleep(0.005)  # three signed times apart, for since and until
    storm = duty.post(
        URL,
        json=alert(
            mark,
            category="met.tropical-cyclone",
            severity="Moderate",
            status="Test",
            areas=[OKINAWA],
            details={},
            headline="Typhoon near Okinawa",
        ),
    ).json()["ref"]
    time.sleep(0.005)
    other = duty.post(
        URL,
        json=alert(mark, category="general.other", severity="Minor", areas=[LISBON], details={}),
    ).json()["ref"]
    every = [other, storm, quake]

    def listed(**params: str) -> list[str]:
        return refs(duty.get(URL, params={"text": mark, **params}))

    assert listed() == every
    assert listed(category="geo") == [quake]
    assert listed(category="met.tropical-cyclone") == [storm]
    assert listed(severity="Moderate") == [storm, quake]
    assert listed(severity="Extreme") == []
    assert listed(status="Test") == [storm]
    assert listed(party="jp") == every
    assert listed(area="139,35,141,36") == [quake]  # a box round Tokyo Bay
    assert listed(area="127.9,26.5,50") == [storm]  # a circle round Okinawa
    assert listed(area="-10,38,-9,39") == [other]
    assert refs(duty.get(URL, params={"text": mark.upper()})) == every  # case-insensitive
    times = {
        item["ref"]: item["time"] for item in duty.get(URL, params={"text": mark}).json()["items"]
    }
    assert listed(since=str(times[storm])) == [other, storm]
    assert listed(until=str(times[storm])) == [storm, quake]
    iso = "2000-01-01T00:00:00Z"
    assert listed(since=iso) == every and listed(until=iso) == []


def test_a_cursor_walk_sees_every_item_once_while_new_ones_arrive(duty: TestClient) -> None:
    mark = marker()
    before = [duty.post(URL, json=alert(mark)).json()["ref"] for _ in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"text": mark, "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = duty.get(URL, params=params).json()
        seen += [item["ref"] for item in page["items"]]
        duty.post(URL, json=alert(mark))  # arrives while the walk goes on
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == before[::-1] and pages == 3
    assert len(refs(duty.get(URL, params={"text": mark, "limit": "200"}))) == 7 + pages


def test_bad_filters_and_cursors_are_400_naming_them(duty: TestClient) -> None:
    for params, field in (
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "LTE"}, "cursor"),  # base64url of "-1"
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"area": "1,2,3,4,5"}, "area"),
        ({"area": "10,10,5,20"}, "area"),
        ({"area": "0,95,10"}, "area"),
        ({"since": "yesterday"}, "since"),
        ({"severity": "Huge"}, "severity"),
        ({"status": "Real"}, "status"),
        ({"category": "Geo Quake"}, "category"),
        ({"party": "not a party"}, "party"),
    ):
        assert problem(duty.get(URL, params=params), 400)["field"] == field, params


# Bad input ------------------------------------------------------------------------------------


def test_bad_input_is_400_naming_the_field(duty: TestClient) -> None:
    without_status = alert(marker())
    del without_status["status"]
    bad_circle = {"desc": "x", "circle": {"center": ["200", "35"], "radius_km": "5"}}
    holed = {
        "desc": "x",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                [[1, 1], [2, 1], [2, 2], [1, 1]],
            ],
        },
    }
    for body, field in (
        (without_status, "body.status"),
        (alert(marker(), status="Draft"), "body.status"),
        (alert(marker(), areas=[bad_circle]), "body.areas.0.circle"),
        (alert(marker(), areas=[TOKYO, holed]), "body.areas.1.geometry"),
        (alert(marker(), areas=[{"desc": "nowhere"}]), "body.areas.0"),
        (alert(marker(), areas=[]), "body.areas"),
        (alert(marker(), surprise=1), "body.surprise"),
        (alert(marker(), category="geo.meteor"), "body.category"),
        (alert(marker(), details={"colour": "red"}), "body.details.colour"),
        (alert(marker(), expires="soon"), "body.expires"),
        (alert(marker(), tlp="RED"), "body.tlp"),
        (alert(marker(), audience=[]), "body.audience"),
        (alert(marker(), severity="Huge"), "body.severity"),
    ):
        assert problem(duty.post(URL, json=body), 400)["field"] == field, field
    assert problem(duty.post(URL, content=b"{", headers={"content-type": "application/json"}), 400)


def test_request_bodies_are_bounded(duty: TestClient) -> None:
    assert BODY_LIMITS[("POST", f"{PREFIX}/notifications/import")] == 16 * 1024 * 1024
    huge = alert(marker(), description="x" * (1024 * 1024))
    problem(duty.post(URL, json=huge), 413)
    ref = duty.post(URL, json=alert(marker())).json()["ref"]
    problem(duty.post(f"{URL}/{ref}/update", json={"description": "x" * 70_000}), 413)


def test_the_openapi_document_describes_every_notification_route(api: Api) -> None:
    document = api.client().get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path, method, status in (
        ("/notifications", "post", "201"),
        ("/notifications", "get", "200"),
        ("/notifications/import", "post", "201"),
        ("/notifications/{ref}", "get", "200"),
        ("/notifications/{ref}/update", "post", "201"),
        ("/notifications/{ref}/cancel", "post", "201"),
        ("/notifications/{ref}/cap", "get", "200"),
        ("/notifications/{ref}/stix", "get", "200"),
    ):
        operation = paths[path][method]
        assert status in operation["responses"] and "400" in operation["responses"], path
        assert operation["responses"][status]["content"], (path, method)
    assert "application/cap+xml" in paths["/notifications/import"]["post"]["requestBody"]["content"]


FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
texts = st.text(max_size=30) | st.sampled_from(["", "0", "-1", "JP:1", "1,2,3", "1,2,3,4", "∞"])


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["category", "severity", "party", "status", "since", "until", "area", "text", "limit"]
            + ["cursor"]
        ),
        texts,
        max_size=4,
    )
)
def test_no_query_of_the_list_is_a_5xx(duty: TestClient, params: dict[str, str]) -> None:
    answer = duty.get(URL, params=params)
    assert answer.status_code in (200, 400), answer.text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(list(alert("x")) + ["lang", "audience", "tlp", "instruction"]),
        json_values,
        max_size=3,
    )
)
def test_no_create_body_is_a_5xx(duty: TestClient, changes: dict[str, Any]) -> None:
    answer = duty.post(URL, json=alert("fuzz", **changes))
    assert answer.status_code in (201, 400, 422), answer.text


@FUZZ
@given(
    ref=texts, data=st.binary(max_size=64), media=st.sampled_from(["text/xml", "application/json"])
)
def test_no_ref_or_import_body_is_a_5xx(
    duty: TestClient, ref: str, data: bytes, media: str
) -> None:
    for answer in (
        duty.get(f"{URL}/{quote(ref.encode('utf-8', 'surrogatepass'), safe='')}"),
        duty.post(f"{URL}/import?status=Test", content=data, headers={"content-type": media}),
    ):
        assert answer.status_code < 500, answer.text


# A network: receipts, clocks, and what peers sent ---------------------------------------------


@dataclass
class Net:
    """JP's API, the three nodes, and each pin (receiver, author) made once."""

    api: Api
    nodes: dict[str, Node]
    pins: dict[tuple[str, str], Peer]

    def pull(self, receiver: str, author: str) -> None:
        """``receiver`` pulls ``author``'s log as ``author`` serves it to ``receiver``."""
        peer = self.pins[(receiver, author)]
        pull(self.nodes[receiver], peer, MemoryLog(self.nodes[author], receiver))


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    folder = tmp_path_factory.mktemp("net")
    nodes = make_network(folder, ("JP", "US", "KR"))
    jp = nodes["JP"]
    for role in ROLES:
        officers.add_officer(jp.store, role, role, OFFICER_PASSWORD, now_ms())
    app = create_app(jp)
    app.state.published = jp.checkpoint()
    mounted = next(r for r in app.routes if getattr(r, "path", "") == PREFIX)
    limits = mounted.app.state.api_limits  # type: ignore[attr-defined]
    limits.by_address = AnonymousLimiter(rate=1e9, burst=1e9)
    limits.by_caller = AnonymousLimiter(rate=1e9, burst=1e9)
    pins = {
        (receiver, author): pin(nodes[receiver], nodes[author])
        for receiver, author in (("JP", "US"), ("US", "JP"))
    }
    yield Net(Api(jp, app, folder / "jp", {}), nodes, pins)
    for node in nodes.values():
        node.close()


def test_receipts_and_clocks_of_each_addressee_are_shown(net: Net) -> None:
    duty = net.api.token("duty-officer", Scope.NOTIFY)
    ref = duty.post(URL, json=alert(marker())).json()["ref"]
    net.pull("US", "JP")  # US stores it and signs `delivered`
    net.pull("JP", "US")  # JP stores US's receipt
    shown = duty.get(f"{URL}/{ref}").json()
    by_party = {a["party"]: a for a in shown["addressees"]}
    assert set(by_party) == {"US", "KR"}
    assert by_party["US"]["status"] == "delivered"
    assert by_party["US"]["delivered"]["matches"] is True
    assert by_party["KR"]["status"] == "none" and by_party["KR"]["delivered"] is None
    clocks = {(c["party"], c["clock"]): c for a in shown["addressees"] for c in a["clocks"]}
    assert clocks[("US", "delivered")]["answer"]["ref"].startswith("US:")
    assert clocks[("KR", "delivered")]["answer"] is None
    assert clocks[("KR", "acknowledged")]["state"] in ("pending", "missed")


def test_a_peer_notification_not_addressed_to_us_is_listed_header_only(net: Net) -> None:
    api, us = net.api, net.nodes["US"]
    mark = marker()
    fields = alert(mark)
    shared = lifecycle.notify(
        us,
        status="Exercise",
        audience="ALL",
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="For everyone",
        description=fields["description"],
        areas=[{"desc": "Guam", "circles": [{"center": ["144.8", "13.4"], "radius_km": "10"}]}],
    ).written.ref
    private = lifecycle.notify(
        us,
        status="Exercise",
        audience=("KR",),
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="For KR only",
        description=fields["description"],
        areas=[{"desc": "Guam", "circles": [{"center": ["144.8", "13.4"], "radius_km": "10"}]}],
    ).written.ref
    net.pull("JP", "US")
    duty = api.token("duty-officer", Scope.READ)
    items = {
        i["ref"]: i for i in duty.get(URL, params={"party": "us", "limit": 200}).json()["items"]
    }
    assert items[shared]["summary"]["headline"] == "For everyone"
    assert items[private]["summary"] is None
    assert items[private]["audience"] == ["KR", "US"]
    assert "JP is not in its audience" in items[private]["withheld"]
    shown = duty.get(f"{URL}/{private.lower()}").json()
    assert shown["body"] is None and "JP is not in its audience" in shown["withheld"]
    assert "withheld" in problem(duty.get(f"{URL}/{private}/cap"), 403)["detail"]
    assert refs(duty.get(URL, params={"text": mark})) == [shared]
    problem(duty.post(f"{URL}/{shared}/cancel", json={}), 403)  # a read token
    notifier = api.token("duty-officer", Scope.NOTIFY)
    assert (
        "only its author"
        in problem(notifier.post(f"{URL}/{shared}/cancel", json={}), 400)["detail"]
    )
    assert problem(duty.get(f"{URL}/XX:1"), 400)["field"] == "ref"  # not a member
