"""``/api/v1`` node routes: peers, health, compliance, the log, evidence bundles.

JP serves the API; CN is its peer in the same process (``tests.api.v1.federated``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parley.core.bundle import load_bundle, verify_bundle
from parley.core.checkpoint import Checkpoint, parse_note, witness_name_for
from parley.node import officers
from parley.node.access import Scope
from parley.node.federation import peers, witnessing
from parley.node.node import now_ms
from parley.store import logs
from parley.store import witnessing as witness_rows
from tests.api.v1.federated import Federated, federated_pair
from tests.node.conftest import hotline


@pytest.fixture(scope="module")
def federated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    """JP's API and CN, shared by this module's tests."""
    yield from federated_pair(tmp_path_factory)


def audited(net: Federated, action: str) -> list[dict[str, object]]:
    return [line for line in officers.audit_trail(net.jp.store, 50) if line["action"] == action]


def cosigned_by_cn(net: Federated) -> int:
    """CN cosigns JP's latest checkpoint; JP keeps the cosignature. Its time (ms)."""
    size, note = net.jp.checkpoint() or (0, "")
    checkpoint = Checkpoint.parse_body(parse_note(note).text.encode())
    at = now_ms() // 1000 * 1000
    with net.cn.store.write() as tx:
        line = witnessing.cosign_checkpoint(net.cn, tx, "JP", checkpoint, note, at)
    name = witness_name_for(net.cn.log.origin)
    with net.jp.store.write() as tx:
        witness_rows.put_cosignatures(
            tx, [witness_rows.Cosignature("JP", size, name, checkpoint.root, at, line)]
        )
    return at


def test_peers_show_lag_checkpoint_cosignature_age_and_a_hold_an_admin_releases(
    federated: Federated,
) -> None:
    federated.cn.append([hotline("JP", "sync me")])
    federated.deliver(federated.cn, federated.jp)
    cosigned = cosigned_by_cn(federated)
    peers.hold(federated.jp.store, "CN", "equivocation: two roots at size 3")
    reader = federated.api.token("observer", Scope.READ)

    (cn,) = reader.get("/api/v1/peers").json()
    assert cn["party"] == "CN" and cn["held"] == "equivocation: two roots at size 3"
    assert cn["synced"] == federated.cn.size() and cn["lag"] == 0
    with federated.cn.store.read() as conn:  # the log's time at it, as its author keeps it
        own_time = logs.checkpoint_time(conn, "CN", cn["checkpoint"])
    assert own_time is not None and cn["checkpoint_time"] == own_time
    assert cn["cosigned"] == cosigned and cn["cosignature_age"] >= 0
    assert cn["cosigned_size"] == (federated.jp.checkpoint() or (0, ""))[0]

    duty = federated.api.token("duty-officer", Scope.NOTIFY)
    refused = duty.post("/api/v1/peers/CN/release")
    assert refused.status_code == 403
    assert audited(federated, "api POST /peers/{party}/release")[0]["outcome"] == "refused"
    admin = federated.api.token("admin", Scope.ADMIN)
    released = admin.post("/api/v1/peers/cn/release")
    assert released.status_code == 200, released.text
    assert released.json()["held"] is None and released.json()["party"] == "CN"
    line = audited(federated, "api POST /peers/{party}/release")[0]
    assert line["outcome"] == "ok" and line["officer"] == "admin"
    assert admin.post("/api/v1/peers/KR/release").json()["field"] == "path.party"


def test_health_shows_peers_clocks_and_alerts(federated: Federated) -> None:
    answer = federated.api.token("observer", Scope.READ).get("/api/v1/health")
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["node"] == "JP" and [p["party"] for p in shown["peers"]] == ["CN"]
    assert {"open", "missed", "alerts"} <= set(shown)


def test_compliance_is_public_for_an_observer_and_members_for_a_duty_officer(
    federated: Federated,
) -> None:
    observer = federated.api.token("observer", Scope.READ).get("/api/v1/compliance")
    assert observer.status_code == 200 and observer.json()["scope"] == "public"
    duty = federated.api.token("duty-officer", Scope.READ)
    assert duty.get("/api/v1/compliance").json()["scope"] == "members"
    assert duty.get("/api/v1/compliance", params={"public": True}).json()["scope"] == "public"


def test_the_log_state_and_its_verification(federated: Federated) -> None:
    client = federated.api.token("observer", Scope.READ)
    state = client.get("/api/v1/log").json()
    assert state["party"] == "JP" and state["size"] == federated.jp.size()
    assert state["checkpoint"] == state["size"] and state["note"].startswith(state["origin"])
    verified = client.post("/api/v1/log/verify")
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["ok"] and report["error"] is None
    assert (report["size"], report["root"]) == (state["size"], state["root"])


def test_the_log_entries_page_newest_first_to_seq_zero(federated: Federated) -> None:
    client = federated.api.token("observer", Scope.READ)
    size = federated.jp.size()
    assert size >= 3
    first = client.get("/api/v1/log/entries", params={"limit": 2}).json()
    assert first["size"] == size
    assert [e["seq"] for e in first["entries"]] == [size - 1, size - 2]
    assert first["entries"][0]["ref"] == f"JP:{size - 1}" and first["next"] == size - 2
    seen = [e["seq"] for e in first["entries"]]
    page = first
    while page["next"] is not None:
        page = client.get("/api/v1/log/entries", params={"limit": 2, "before": page["next"]}).json()
        seen += [e["seq"] for e in page["entries"]]
    assert seen == list(range(size - 1, -1, -1))
    newest = first["entries"][0]
    assert {"kind", "status", "audience", "tlp", "time", "leaf_hash"} <= set(newest)
    assert "body" not in newest
    beyond = client.get("/api/v1/log/entries", params={"before": 10**30}).json()
    assert beyond["entries"][0]["seq"] == size - 1


def test_an_evidence_bundle_verifies_offline_with_or_without_the_body(
    federated: Federated,
) -> None:
    (sent,) = federated.cn.append([hotline("JP", "evidence, please")])
    federated.deliver(federated.cn, federated.jp)
    duty = federated.api.token("duty-officer", Scope.NOTIFY)
    ack = duty.post(f"/api/v1/entries/{sent.ref}/acknowledgement", json={"reply": "seen"})
    assert ack.status_code == 201, ack.text

    whole = duty.get(f"/api/v1/evidence/{sent.ref}")
    assert whole.status_code == 200, whole.text
    assert whole.headers["Parley-Body"] == "included" and "Parley-Left-Out" not in whole.headers
    report = verify_bundle(load_bundle(whole.content))
    assert report.entry.body is not None and report.entry.body["text"] == "evidence, please"
    assert len(report.receipts) == 2  # delivered, and acknowledged with its reply

    observer = federated.api.token("observer", Scope.READ)
    partial = observer.get(f"/api/v1/evidence/{sent.ref}")
    assert partial.status_code == 200, partial.text
    assert partial.headers["Parley-Body"] == "left-out"
    assert partial.headers["Parley-Left-Out"] == ack.json()["ref"]
    report = verify_bundle(load_bundle(partial.content))
    assert report.entry.body is None and len(report.receipts) == 1
    asked = duty.get(f"/api/v1/evidence/{sent.ref}", params={"without_body": True})
    assert asked.headers["Parley-Body"] == "left-out"
    assert len(audited(federated, "api GET /evidence/{ref}")) == 3


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/evidence/CN:99999"),
        ("get", "/api/v1/evidence/cn-1"),
        ("get", "/api/v1/evidence/JP:0?without_body=perhaps"),
        ("post", "/api/v1/peers/JP/release"),
        ("post", "/api/v1/peers/ALL/release"),
        ("get", "/api/v1/compliance?public=perhaps"),
        ("post", "/api/v1/log/verify"),
        ("get", "/api/v1/log"),
        ("get", "/api/v1/log/entries?before=-1"),
        ("get", "/api/v1/log/entries?limit=0"),
        ("get", "/api/v1/log/entries?before=0"),
    ],
)
def test_no_node_route_answers_a_500_to_odd_input(
    federated: Federated, method: str, url: str
) -> None:
    client = federated.api.token("admin", Scope.ADMIN)
    bodies: list[object] = [None, {}, [], "x"]
    for body in bodies:
        answer = client.request(method, url, json=body)
        assert answer.status_code < 500, (body, answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json"


def test_every_node_route_states_its_reply_in_the_openapi_document(federated: Federated) -> None:
    document = federated.api.client().get("/api/v1/openapi.json").json()
    for path in (
        "/peers",
        "/peers/{party}/release",
        "/health",
        "/compliance",
        "/log",
        "/log/entries",
        "/log/verify",
        "/evidence/{ref}",
    ):
        for method, operation in document["paths"][path].items():
            reply = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in reply or reply.get("type") == "array", (method, path)
            assert {"400", "401", "403"} <= set(operation["responses"]), (method, path)
    headers = document["paths"]["/evidence/{ref}"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == {"Parley-Body", "Parley-Left-Out"}
