"""``/api/v1`` messaging: inbox, entries, acknowledgements, inquiries, hotline, clocks, receipts.

JP serves the API; CN is its peer in the same process (``tests.api.v1.federated``), and what CN
sends reaches JP by the real pull workflow. Each test sends its own entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from parley.core.entry import ALL
from parley.core.entry import Header as EntryHeader
from parley.formats import phrases
from parley.formats.notification import new_notification
from parley.node import officers
from parley.node.access import Scope
from parley.node.log import Draft
from parley.node.messaging import deadlines, inquiries
from parley.node.node import now_ms
from tests.api.v1.federated import Federated, federated_pair
from tests.node.conftest import hotline


@pytest.fixture(scope="module")
def federated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    """JP's API and CN, shared by this module's tests."""
    yield from federated_pair(tmp_path_factory)


COURSE = {"unit": "Kirishima", "course": "45", "speed": "12.0"}


def from_cn(net: Federated, *drafts: Draft) -> list[EntryHeader]:
    """CN appends ``drafts``; JP pulls them."""
    sent = net.cn.append(list(drafts))
    net.deliver(net.cn, net.jp)
    return sent


def notification(headline: str, audience: Any = ALL, tlp: str | None = None) -> Draft:
    body = new_notification(
        category="geo.earthquake",
        identifier=f"id-{headline.replace(' ', '-')}",
        sender="CN@parley-test",
        sent_ms=now_ms() // 1000 * 1000,
        status="Exercise",
        headline=headline,
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        areas=[],
        deadlines={"delivered_within": 3000, "acknowledged_within": 36000},
    )
    return Draft("notification", "Exercise", body, audience, tlp)


def test_an_acknowledgement_with_a_reply_is_appended_once_per_idempotency_key(
    federated: Federated,
) -> None:
    (sent,) = from_cn(federated, hotline("JP", "do you read us?"))
    client = federated.api.token("duty-officer", Scope.NOTIFY)
    url = f"/api/v1/entries/{sent.ref.lower()}/acknowledgement"
    size = federated.jp.size()

    first = client.post(url, json={"reply": "loud and clear"}, headers={"Idempotency-Key": "a1"})
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["kind"] == "receipt" and receipt["answers"] == sent.ref
    assert receipt["audience"] == ["CN", "JP"] and receipt["tlp"] == "AMBER"
    assert federated.jp.size() == size + 1

    again = client.post(url, json={"reply": "loud and clear"}, headers={"Idempotency-Key": "a1"})
    assert again.status_code == 201 and again.json() == receipt
    assert again.headers["Idempotency-Replayed"] == "true"
    assert federated.jp.size() == size + 1

    other = client.post(url, json={"reply": "something else"}, headers={"Idempotency-Key": "a1"})
    assert other.status_code == 409 and "another request" in other.json()["detail"]
    twice = client.post(url, json={})
    assert twice.status_code == 409
    assert f"acknowledged already as {receipt['ref']}" in twice.json()["detail"]
    assert federated.jp.size() == size + 1

    shown = client.get(f"/api/v1/receipts/{sent.ref}").json()
    (jp,) = shown["addressees"]
    assert jp["status"] == "acknowledged" and jp["acknowledged"]["reply"] == "loud and clear"
    assert jp["acknowledged"]["officer"] == "duty-officer"
    (line,) = [
        line
        for line in officers.audit_trail(federated.jp.store, 20)
        if line["action"] == "api POST /entries/{ref}/acknowledgement"
    ]
    assert line["outcome"] == "ok" and line["officer"] == "duty-officer"


def test_an_ack_token_acknowledges_but_may_not_send_on_the_hotline(federated: Federated) -> None:
    (sent,) = from_cn(federated, hotline("JP", "ack only"))
    client = federated.api.token("duty-officer", Scope.ACK)
    answer = client.post(f"/api/v1/entries/{sent.ref}/acknowledgement")
    assert answer.status_code == 201, answer.text
    refused = client.post(
        "/api/v1/hotline/messages", json={"to": "CN", "status": "Exercise", "text": "hi"}
    )
    assert refused.status_code == 403
    assert "a token of scope ack may not hotline" in refused.json()["detail"]
    observer = federated.api.token("observer", Scope.READ)
    assert observer.post(f"/api/v1/entries/{sent.ref}/acknowledgement").status_code == 403


def test_a_phrase_sent_on_the_hotline_reads_in_japanese_in_the_conversation(
    federated: Federated,
) -> None:
    client, csrf = federated.api.session("duty-officer")
    sent = client.post(
        "/api/v1/hotline/messages",
        json={"to": "cn", "status": "Exercise", "phrase": "nav.course-speed", "params": COURSE},
        headers={"X-CSRF-Token": csrf, "Idempotency-Key": "h1"},
    )
    assert sent.status_code == 201, sent.text
    ref = sent.json()["ref"]
    assert sent.json()["audience"] == ["CN", "JP"] and sent.json()["tlp"] == "AMBER"

    talk = client.get("/api/v1/hotline/conversations/CN", params={"lang": "ja"})
    assert talk.status_code == 200, talk.text
    (message,) = [m for m in talk.json()["messages"] if m["ref"] == ref]
    assert message["from"] == "JP" and message["to"] == "CN" and message["direction"] == "sent"
    assert message["rendering"]["lang"] == "ja" and "Kirishima" in message["rendering"]["text"]
    assert message["params"]["course"] == "045" and message["withheld"] is None
    english = client.get(f"/api/v1/hotline/messages/{ref}").json()
    assert english["rendering"]["lang"] == "en"
    assert english["rendering"]["text"] != message["rendering"]["text"]
    book = client.get("/api/v1/hotline/phrases", params={"lang": "ja", "group": "nav"}).json()
    assert any(p["code"] == "nav.course-speed" for p in book["phrases"]) and book["lang"] == "ja"
    assert book["groups"] == [
        {
            "code": "nav",
            "title": "針路・速力・高度",
            "titles": dict(phrases.catalogue().groups["nav"]),
        }
    ]


def test_an_observer_reads_the_hotline_without_its_words(federated: Federated) -> None:
    (sent,) = from_cn(federated, hotline("JP", "amber words"))
    observer = federated.api.token("observer", Scope.READ)
    message = observer.get(f"/api/v1/hotline/messages/{sent.ref}").json()
    assert message["text"] is None and "TLP:AMBER" in message["withheld"]
    talk = observer.get("/api/v1/hotline/conversations/CN").json()
    assert sent.ref in [m["ref"] for m in talk["messages"]]
    assert all(m["text"] is None for m in talk["messages"])


def test_an_inquiry_is_sent_and_an_inquiry_from_a_peer_is_answered(federated: Federated) -> None:
    (about,) = from_cn(federated, notification("Quake at sea", ("JP",)))
    client = federated.api.token("duty-officer", Scope.NOTIFY)
    asked = client.post(
        "/api/v1/inquiries",
        json={"ref": about.ref, "text": "Any tsunami?", "reply_within": "1h"},
        headers={"Idempotency-Key": "q1"},
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["kind"] == "inquiry" and asked.json()["answers"] == about.ref
    shown = client.get(f"/api/v1/entries/{asked.json()['ref']}").json()
    assert shown["body"]["question"] == "Any tsunami?"
    assert shown["body"]["deadlines"]["acknowledged_within"] == 3_600_000

    federated.deliver(federated.jp, federated.cn)
    question = inquiries.inquire(federated.cn, asked.json()["ref"], "Why ask?", None, now_ms())
    federated.deliver(federated.cn, federated.jp)
    answered = client.post(
        f"/api/v1/inquiries/{question.ref}/reply", json={"text": "Standard procedure."}
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["kind"] == "reply" and answered.json()["answers"] == question.ref


def test_the_inquiries_list_shows_both_ways_with_their_reply_clocks_and_replies(
    federated: Federated,
) -> None:
    (about,) = from_cn(federated, notification("Landslide inland", ("JP",), tlp="AMBER"))
    client = federated.api.token("duty-officer", Scope.NOTIFY)
    asked = client.post(
        "/api/v1/inquiries", json={"ref": about.ref, "text": "Roads closed?", "reply_within": "1h"}
    ).json()
    federated.deliver(federated.jp, federated.cn)
    question = inquiries.inquire(federated.cn, asked["ref"], "Who asks?", None, now_ms())
    federated.deliver(federated.cn, federated.jp)

    shown = client.get("/api/v1/inquiries").json()
    assert shown["party"] == "JP"
    ours = next(i for i in shown["asked"] if i["ref"] == asked["ref"])
    assert ours["direction"] == "asked" and ours["asker"] == "JP" and ours["addressee"] == "CN"
    assert ours["question"] == "Roads closed?" and ours["replies"] == []
    assert ours["about"] == {
        "ref": about.ref,
        "kind": "notification",
        "summary": ours["about"]["summary"],
        "matches": True,
    }
    assert "Landslide inland" in ours["about"]["summary"]
    assert ours["clock"]["state"] == "pending" and ours["clock"]["within"] == 3_600_000
    theirs = shown["received"][0]
    assert theirs["ref"] == question.ref and theirs["addressee"] == "JP"
    assert theirs["question"] == "Who asks?" and theirs["about"]["ref"] == asked["ref"]
    assert theirs["clock"]["clock"] == "acknowledged" and theirs["clock"]["state"] == "pending"

    client.post(f"/api/v1/inquiries/{question.ref}/reply", json={"text": "The JP desk."})
    answer = inquiries.reply(federated.cn, asked["ref"], "Two roads are closed.", now_ms())
    federated.deliver(federated.cn, federated.jp)
    shown = client.get("/api/v1/inquiries", params={"limit": 1}).json()
    (theirs,), (ours,) = shown["received"], shown["asked"]
    assert theirs["clock"]["state"] == "met" and theirs["replies"][0]["text"] == "The JP desk."
    assert ours["clock"]["state"] == "met" and ours["clock"]["answer"]["ref"] == answer.ref
    assert [r["text"] for r in ours["replies"]] == ["Two roads are closed."]

    observer = federated.api.token("observer", Scope.READ).get("/api/v1/inquiries").json()
    (hidden,) = [i for i in observer["asked"] if i["ref"] == asked["ref"]]
    assert hidden["question"] is None and hidden["about"] is None
    assert "TLP:AMBER" in hidden["withheld"] and hidden["clock"]["state"] == "met"
    assert hidden["replies"][0]["text"] is None and hidden["replies"][0]["withheld"]


def test_the_inbox_pages_by_an_opaque_cursor_and_polls_for_what_arrives(
    federated: Federated,
) -> None:
    from_cn(federated, hotline("JP", "page one"), hotline("JP", "page two"))
    client = federated.api.token("analyst", Scope.READ)
    first = client.get("/api/v1/inbox", params={"limit": 1, "kind": "hotline"}).json()
    (newest,) = first["items"]
    assert newest["summary"] == "page two" and first["next"] is not None
    older = client.get("/api/v1/inbox", params={"limit": 1, "cursor": first["next"]}).json()
    assert older["items"][0]["summary"] == "page one"
    assert client.get("/api/v1/inbox", params={"cursor": first["poll"]}).json()["items"] == []

    (later,) = from_cn(federated, hotline("JP", "page three"))
    polled = client.get("/api/v1/inbox", params={"cursor": first["poll"]}).json()
    assert [item["ref"] for item in polled["items"]] == [later.ref]
    assert polled["next"] is None and polled["poll"] != first["poll"]


def test_an_observer_gets_no_body_for_amber_and_the_body_for_green(federated: Federated) -> None:
    amber, green = from_cn(
        federated,
        notification("Closed briefing", ("JP",), "AMBER"),
        notification("Open notice"),
    )
    observer = federated.api.token("observer", Scope.READ)
    withheld = observer.get(f"/api/v1/entries/{amber.ref}").json()
    assert withheld["body"] is None and "TLP:AMBER" in withheld["withheld"]
    assert withheld["header"]["tlp"] == "AMBER"
    assert observer.get(f"/api/v1/entries/{green.ref}").json()["body"]["info"]
    items = {i["ref"]: i for i in observer.get("/api/v1/inbox").json()["items"]}
    assert items[amber.ref]["summary"].startswith("[withheld]")
    assert "Open notice" in items[green.ref]["summary"]
    analyst = federated.api.token("analyst", Scope.READ)
    assert analyst.get(f"/api/v1/entries/{amber.ref}").json()["body"] is not None


def test_escalations_list_the_running_and_the_missed_clocks(federated: Federated) -> None:
    (sent,) = from_cn(federated, hotline("JP", "answer soon"))
    deadlines.run_round(federated.jp, now_ms())  # the running server's deadline loop
    answer = federated.api.token("observer", Scope.READ).get("/api/v1/escalations")
    assert answer.status_code == 200, answer.text
    running = {(r["entry"], r["clock"]) for r in answer.json()["open"]}
    missed = {(r["entry"], r["clock"]) for r in answer.json()["missed"]}
    assert (sent.ref, "acknowledged") in running | missed


BAD_INPUT = [
    ("post", "/api/v1/entries/CN:1/acknowledgement", {"reply": "x" * 501}, "body.reply"),
    ("post", "/api/v1/entries/CN:1/acknowledgement", {"replies": "x"}, "body.replies"),
    ("get", "/api/v1/entries/CN-1", None, "path.ref"),
    ("get", "/api/v1/entries/KR:1", None, "path.ref"),
    ("get", "/api/v1/inbox?cursor=bm9wZQ", None, "cursor"),
    ("get", "/api/v1/inbox?kind=receipt", None, "kind"),
    ("get", "/api/v1/inbox?party=KR", None, "party"),
    ("get", "/api/v1/hotline/phrases?lang=fr", None, "lang"),
    ("get", "/api/v1/hotline/phrases?group=nope", None, "group"),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "KR", "status": "Exercise", "text": "x"},
        "body.to",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "CN", "status": "Real", "text": "x"},
        "body.status",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "CN", "status": "Exercise", "phrase": "no.such-phrase"},
        "body.phrase",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "CN", "status": "Exercise", "phrase": "nav.course-speed", "params": {"unit": "x"}},
        "body.params.course",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {
            "to": "CN",
            "status": "Exercise",
            "phrase": "nav.course-speed",
            "params": {"unit": "x", "course": "400", "speed": "12"},
        },
        "body.params.course",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "CN", "status": "Exercise", "phrase": "identity.this-is", "params": {"no": "x"}},
        "body.params.no",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "CN", "status": "Exercise", "text": "x", "acknowledged_within": "1y"},
        "body.acknowledged_within",
    ),
    (
        "post",
        "/api/v1/hotline/messages",
        {"to": "CN", "status": "Exercise", "text": "x", "acknowledged_within": "1w"},
        "body.acknowledged_within",
    ),
    ("post", "/api/v1/inquiries", {"ref": "CN:1", "text": ""}, "body.text"),
    ("get", "/api/v1/inquiries?limit=0", None, "limit"),
    (
        "post",
        "/api/v1/inquiries",
        {"ref": "CN:1", "text": "?", "reply_within": "1w"},
        "body.reply_within",
    ),
    ("post", "/api/v1/inquiries", {"ref": "KR:1", "text": "?"}, "body.ref"),
    ("post", "/api/v1/inquiries", {"ref": "JP:0", "text": "?"}, "body.ref"),
    ("post", "/api/v1/inquiries/JP:0/reply", {"text": "!"}, "path.ref"),
    ("get", "/api/v1/hotline/conversations/JP", None, "path.party"),
    ("get", "/api/v1/hotline/messages/JP:0", None, "path.ref"),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), BAD_INPUT)
def test_bad_input_is_a_400_problem_naming_the_field(
    federated: Federated, method: str, url: str, body: Any, field: str
) -> None:
    client = federated.api.token("admin", Scope.ADMIN)
    answer = client.request(method, url, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"] == field


def test_a_malformed_idempotency_key_is_refused_naming_it(federated: Federated) -> None:
    client = federated.api.token("duty-officer", Scope.NOTIFY)
    answer = client.post(
        "/api/v1/hotline/messages",
        json={"to": "CN", "status": "Exercise", "text": "x"},
        headers={"Idempotency-Key": "k" * 201},
    )
    assert answer.status_code == 400 and answer.json()["field"] == "Idempotency-Key"


def test_a_refused_create_appends_nothing_and_frees_its_key(federated: Federated) -> None:
    client = federated.api.token("duty-officer", Scope.NOTIFY)
    size = federated.jp.size()
    (own,) = federated.jp.append([hotline("CN", "ours")])
    missing = client.post(
        f"/api/v1/entries/{own.ref}/acknowledgement", headers={"Idempotency-Key": "r1"}
    )
    assert missing.status_code == 400 and "not addressed to JP" in missing.json()["detail"]
    assert missing.json()["field"] == "path.ref"
    assert federated.jp.size() == size + 1
    unheld = client.post(
        "/api/v1/entries/CN:99999/acknowledgement", headers={"Idempotency-Key": "r2"}
    )
    assert unheld.status_code == 404
    (sent,) = from_cn(federated, hotline("JP", "the key is free again"))
    reused = client.post(
        f"/api/v1/entries/{sent.ref}/acknowledgement", headers={"Idempotency-Key": "r1"}
    )
    assert reused.status_code == 201 and "Idempotency-Replayed" not in reused.headers


UNKNOWN = "CN:99999"
EVERY_ROUTE = [
    ("get", "/api/v1/inbox?limit=0"),
    ("get", "/api/v1/inbox?unacknowledged=maybe"),
    ("get", f"/api/v1/entries/{UNKNOWN}"),
    ("post", f"/api/v1/entries/{UNKNOWN}/acknowledgement"),
    ("get", "/api/v1/inquiries?limit=100000"),
    ("post", "/api/v1/inquiries"),
    ("post", f"/api/v1/inquiries/{UNKNOWN}/reply"),
    ("post", "/api/v1/inquiries/JP:0/reply"),
    ("get", "/api/v1/hotline/phrases?lang="),
    ("post", "/api/v1/hotline/messages"),
    ("get", "/api/v1/hotline/conversations/JP"),
    ("get", "/api/v1/hotline/conversations/ALL"),
    ("get", f"/api/v1/hotline/messages/{UNKNOWN}"),
    ("get", "/api/v1/hotline/messages/JP:0"),
    ("get", "/api/v1/escalations?limit=100000"),
    ("get", f"/api/v1/receipts/{UNKNOWN}"),
    ("get", "/api/v1/receipts/JP:0"),
]


@pytest.mark.parametrize(("method", "url"), EVERY_ROUTE)
def test_no_route_answers_a_500_to_odd_input(federated: Federated, method: str, url: str) -> None:
    client = federated.api.token("admin", Scope.ADMIN)
    bodies: list[Any] = [
        None,
        {},
        [],
        {"to": "CN", "status": "Exercise"},
        {"ref": "JP:0", "text": "?"},
    ]
    for body in bodies:
        answer = client.request(method, url, json=body)
        assert answer.status_code < 500, (body, answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json"


def test_every_messaging_route_states_its_reply_in_the_openapi_document(
    federated: Federated,
) -> None:
    document = federated.api.client().get("/api/v1/openapi.json").json()
    for path in (
        "/inbox",
        "/entries/{ref}",
        "/entries/{ref}/acknowledgement",
        "/inquiries",
        "/inquiries/{ref}/reply",
        "/hotline/phrases",
        "/hotline/messages",
        "/hotline/conversations/{party}",
        "/hotline/messages/{ref}",
        "/escalations",
        "/receipts/{ref}",
    ):
        for method, operation in document["paths"][path].items():
            success = next(code for code in operation["responses"] if code.startswith("2"))
            reply = operation["responses"][success]["content"]["application/json"]["schema"]
            assert "$ref" in reply, (method, path)
            assert {"400", "401", "403"} <= set(operation["responses"]), (method, path)
