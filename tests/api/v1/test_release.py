"""``/api/v1/pending``: two-person release between authenticated officers, through the API.

The module's ``api`` node reads ``[release] categories = ["nuclear.*"]`` from its parley.toml,
as a restarted server would, and has a second duty officer beside the conftest's one per role.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from parley.node import officers, webhooks
from parley.node.access import Scope
from parley.node.node import now_ms
from parley.node.notifications import lifecycle, release
from parley.store import live as live_rows
from tests.api.v1.conftest import Api
from tests.support import OFFICER_PASSWORD

SECOND = "second-duty"
NUCLEAR: dict[str, Any] = {
    "status": "Actual",
    "category": "nuclear.facility-event",
    "severity": "Severe",
    "urgency": "Immediate",
    "certainty": "Observed",
    "headline": "INES 2 event at Example-2",
    "details": {"facility": "Example-2", "release": "no"},
    "areas": [{"desc": "Example-2", "circle": {"center": ["141.03", "37.42"], "radius_km": "30"}}],
}
REASON = "night shift alone; the convention's forthwith duty cannot wait"


@pytest.fixture(scope="module", autouse=True)
def release_categories(api: Api) -> None:
    config = api.home / "parley.toml"
    config.write_text(config.read_text() + '\n[release]\ncategories = ["nuclear.*"]\n')
    api.node.config = api.node.home.load_config()  # what a restarted server reads
    officers.add_officer(api.node.store, SECOND, "duty-officer", OFFICER_PASSWORD, now_ms())


def duty(api: Api, officer: str = "duty-officer") -> TestClient:
    return api.token(officer, Scope.NOTIFY)


def prepare(api: Api, **changes: Any) -> dict[str, Any]:
    answer = duty(api).post("/api/v1/pending", json=NUCLEAR | changes)
    assert answer.status_code == 201, answer.text
    prepared: dict[str, Any] = answer.json()
    return prepared


def body_of(api: Api, ref: str) -> dict[str, Any]:
    with api.node.store.read() as conn:
        return lifecycle.notification_at(conn, ref).body


def test_a_second_officer_releases_and_the_signed_body_names_roles_not_names(api: Api) -> None:
    size = api.node.size()
    pending = prepare(api)
    assert (pending["state"], pending["prepared_by"], pending["ref"]) == (
        "pending",
        "duty-officer",
        None,
    )
    assert api.node.size() == size  # unsigned, in no log
    url = f"/api/v1/pending/{pending['id']}/release"
    same = duty(api).post(url)
    assert same.status_code == 403
    assert "two-person release" in same.json()["detail"]
    assert "break-glass" in same.json()["hint"]
    assert officers.audit_trail(api.node.store, 1)[0]["outcome"] == "refused"
    answer = duty(api, SECOND).post(url)
    assert answer.status_code == 200, answer.text
    released = answer.json()
    assert released["pending"]["state"] == "released"
    body = body_of(api, released["ref"])
    assert body["release"] == {"prepared_by": "duty-officer", "released_by": "duty-officer"}
    assert SECOND not in orjson.dumps(body).decode()
    assert api.node.size() == size + 1
    assert duty(api, "admin").post(url).status_code == 409


def test_break_glass_needs_a_reason_then_tells_every_officer(api: Api) -> None:
    webhooks.add(api.node.store, "http://127.0.0.1:9/hook", ["release.break-glass"], now_ms())
    pending = prepare(api)
    url = f"/api/v1/pending/{pending['id']}/break-glass"
    short = duty(api).post(url, json={"reason": "alone"})
    assert short.status_code == 400
    assert short.json()["field"] == "reason"
    answer = duty(api).post(url, json={"reason": REASON})
    assert answer.status_code == 200, answer.text
    ref = answer.json()["ref"]
    assert body_of(api, ref)["release"]["break_glass"] is True
    with api.node.store.read() as conn:
        events = [e for e in live_rows.after(conn, 0, 1000) if e.kind == "release.break-glass"]
    assert [orjson.loads(e.data)["ref"] for e in events] == [ref]
    assert [r["event"] for r in webhooks.outbox(api.node.store)] == ["release.break-glass"]
    line = officers.audit_trail(api.node.store, 1)[0]
    assert (line["outcome"], line["detail"]["reason"]) == ("ok", REASON)


def test_an_observer_may_list_but_not_prepare_and_sees_amber_texts_withheld(api: Api) -> None:
    pending = prepare(api, audience=["JP"], tlp="AMBER")
    observer = api.token("observer", Scope.READ)
    assert observer.post("/api/v1/pending", json=NUCLEAR).status_code == 403
    listed = observer.get("/api/v1/pending")
    assert listed.status_code == 200
    mine = next(item for item in listed.json() if item["id"] == pending["id"])
    assert mine["headline"] is None and "AMBER" in mine["withheld"]
    analyst = api.token("analyst", Scope.READ).get(f"/api/v1/pending/{pending['id']}").json()
    assert analyst["headline"] == NUCLEAR["headline"]


def test_a_repeated_prepare_with_one_idempotency_key_keeps_one_pending_release(api: Api) -> None:
    client = duty(api)
    headers = {"Idempotency-Key": "prepare-1"}
    first = client.post("/api/v1/pending", json=NUCLEAR, headers=headers)
    again = client.post("/api/v1/pending", json=NUCLEAR, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotency-Replayed"] == "true"
    other = client.post("/api/v1/pending", json=NUCLEAR | {"headline": "x"}, headers=headers)
    assert other.status_code == 409


def test_withdraw_is_for_the_preparer_or_an_administrator(api: Api) -> None:
    pending = prepare(api)
    url = f"/api/v1/pending/{pending['id']}/withdraw"
    assert duty(api, SECOND).post(url).status_code == 403
    answer = duty(api).post(url)
    assert answer.status_code == 200 and answer.json()["state"] == "withdrawn"
    assert pending["id"] not in [p["id"] for p in duty(api).get("/api/v1/pending").json()]
    every = duty(api).get("/api/v1/pending", params={"all": "true"}).json()
    assert pending["id"] in [p["id"] for p in every]


def test_post_notifications_signs_an_exercise_and_keeps_an_actual_one_pending(api: Api) -> None:
    client = duty(api)
    exercise = client.post("/api/v1/notifications", json=NUCLEAR | {"status": "Exercise"})
    assert exercise.status_code == 201, exercise.text
    assert "release" not in body_of(api, exercise.json()["ref"])
    size = api.node.size()
    actual = client.post("/api/v1/notifications", json=NUCLEAR)
    assert actual.status_code == 202, actual.text
    pending = actual.json()
    assert actual.headers["location"] == f"/api/v1/pending/{pending['id']}"
    assert pending["state"] == "pending" and pending["ref"] is None
    assert api.node.size() == size  # kept unsigned: nothing appended
    assert release.needs_release(api.node, "nuclear.facility-event", "Actual")
