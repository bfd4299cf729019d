"""The CAP 1.2 Atom feed at ``/feeds/cap.atom``, read as a feed reader reads it (feedparser).

Two real nodes (JP serving, CN a peer whose notifications JP pulled) under one policy. Every
linked CAP document is fetched and validated against the CAP 1.2 XSD.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree
from starlette.testclient import TestClient

from parley.core.entry import ALL
from parley.formats.cap_schema import CAP12_NS, validate_cap
from parley.node import feeds, officers
from parley.node.access import Scope
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from tests.api.v1.federated import Federated, make_federated
from tests.support import OFFICER_PASSWORD

# Real `parley serve` processes: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.fleet

TOKYO = {"center": ["139.7", "35.7"], "radius_km": "20"}
OSAKA = {"center": ["135.5", "34.7"], "radius_km": "20"}


@dataclass
class Fleet:
    """JP's app with its peer CN, the refs written by marker, and clients by caller."""

    federated: Federated
    refs: dict[str, str]

    def client(self, **headers: str) -> TestClient:
        return self.federated.api.client(**headers)

    def token(self, officer: str, scope: Scope) -> str:
        secret, _ = officers.issue_token(self.federated.jp.store, officer, scope, now_ms())
        return secret


def write(node: Node, marker: str, **given: Any) -> str:
    """A notification whose headline, description and area name carry ``marker``."""
    fields: dict[str, Any] = {
        "status": "Actual",
        "audience": ALL,
        "tlp": "CLEAR",
        "category": "geo.earthquake",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "lang": "en",
        "details": {},
        "areas": [{"desc": f"area {marker}", "circles": [TOKYO]}],
    }
    fields.update(given)
    outcome = lifecycle.notify(
        node, headline=f"quake {marker}", description=f"details {marker}", **fields
    )
    return outcome.written.ref


# marker -> who writes it and how; only PUBLIC-* may ever reach the public.
WRITTEN: dict[str, tuple[str, dict[str, Any]]] = {
    "PUBLIC-ONE": ("JP", {}),
    "PUBLIC-PEER": ("CN", {}),
    "PUBLIC-OSAKA": (
        "JP",
        {
            "category": "met.flood",
            "severity": "Minor",
            "areas": [{"desc": "area PUBLIC-OSAKA", "circles": [OSAKA]}],
        },
    ),
    "GREEN-ALL": ("JP", {"tlp": "GREEN"}),
    "AMBER-JP": ("JP", {"audience": ("JP",), "tlp": "AMBER"}),
    "RED-JP": ("JP", {"audience": ("JP",), "tlp": "RED"}),
    "PEER-AMBER-JP": ("CN", {"audience": ("JP",), "tlp": "AMBER"}),
    "EXERCISE-CLEAR": ("JP", {"status": "Exercise"}),
    "TEST-CLEAR": ("JP", {"status": "Test"}),
}
PUBLIC_MARKERS = {"PUBLIC-ONE", "PUBLIC-PEER", "PUBLIC-OSAKA"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    federated = make_federated(Path(tmp_path_factory.mktemp("feeds")))
    nodes = {"JP": federated.jp, "CN": federated.cn}
    refs = {
        marker: write(nodes[author], marker, **given) for marker, (author, given) in WRITTEN.items()
    }
    federated.deliver(federated.cn, federated.jp)
    yield Fleet(federated, refs)
    federated.jp.close()
    federated.cn.close()


def basic(token: str, user: str = "reader") -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def parsed(answer: Any) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    document = feedparser.parse(answer.content)
    assert not document.bozo, document.get("bozo_exception")
    return document


def titles(document: Any) -> list[str]:
    return [entry.title for entry in document.entries]


def cap_of(client: TestClient, entry: Any) -> etree._Element:
    """The item's CAP document, fetched by its link and validated against the CAP 1.2 XSD."""
    (link,) = [link for link in entry.links if link.type == "application/cap+xml"]
    answer = client.get(link.href)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/cap+xml")
    alert = etree.fromstring(answer.content)
    validate_cap(alert, "1.2")
    return alert


def test_public_feed_lists_only_public_actual_alerts_with_valid_cap(fleet: Fleet) -> None:
    client = fleet.client()
    document = parsed(client.get("/feeds/cap.atom"))
    shown = {title.split()[-1] for title in titles(document)}
    assert shown == PUBLIC_MARKERS
    for entry in document.entries:
        alert = cap_of(client, entry)
        assert alert.findtext(f"{{{CAP12_NS}}}status") == "Actual"
    assert document.feed.title.endswith("public CAP alerts")


def test_restricted_notification_in_the_public_feed_attack(fleet: Fleet) -> None:
    """Nothing but ALL + TLP:CLEAR + Actual reaches an anonymous reader, by feed or by link."""
    client = fleet.client()
    everything = client.get("/feeds/cap.atom").text
    for query in ("?category=geo", "?severity=Minor", "?area=139.7,35.7"):
        everything += client.get("/feeds/cap.atom" + query).text
    for marker, ref in fleet.refs.items():
        party, seq = ref.split(":")
        answer = client.get(f"/feeds/cap/{party}/{seq}.xml")
        if marker in PUBLIC_MARKERS:
            assert answer.status_code == 200
            continue
        assert answer.status_code == 404, (marker, answer.status_code)
        assert marker not in answer.text and marker not in everything


def test_token_feed_shows_what_the_token_may_read_over_basic_and_bearer(fleet: Fleet) -> None:
    duty = fleet.token("duty-officer", Scope.READ)
    by_basic = parsed(fleet.client(**basic(duty)).get("/feeds/cap.atom?exercise=true"))
    by_bearer = parsed(
        fleet.client(authorization=f"Bearer {duty}").get("/feeds/cap.atom?exercise=true")
    )
    assert titles(by_basic) == titles(by_bearer)
    shown = {title.split()[-1] for title in titles(by_basic)}
    assert shown == set(WRITTEN)  # a duty officer reads everything JP holds, RED included
    reader = fleet.client(**basic(duty))
    for entry in by_basic.entries:
        cap_of(reader, entry)

    observer = fleet.client(**basic(fleet.token("observer", Scope.READ)))
    text = observer.get("/feeds/cap.atom").text
    assert "GREEN-ALL" in text
    for marker in ("AMBER-JP", "RED-JP", "PEER-AMBER-JP"):
        assert marker not in text  # above an observer's clearance (TLP:CLEAR and GREEN)
        party, seq = fleet.refs[marker].split(":")
        assert observer.get(f"/feeds/cap/{party}/{seq}.xml").status_code == 403


def test_officer_password_as_basic_password_is_refused(fleet: Fleet) -> None:
    answer = fleet.client(**basic(OFFICER_PASSWORD, "duty-officer")).get("/feeds/cap.atom")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.headers["content-type"] == "application/problem+json"


def test_scrape_token_may_not_read_the_feed(fleet: Fleet) -> None:
    answer = fleet.client(**basic(fleet.token("admin", Scope.SCRAPE))).get("/feeds/cap.atom")
    assert answer.status_code == 403


def test_exercise_and_test_are_marked_and_only_in_feeds_that_ask(fleet: Fleet) -> None:
    reader = fleet.client(**basic(fleet.token("analyst", Scope.READ)))
    plain = titles(parsed(reader.get("/feeds/cap.atom")))
    assert not any("EXERCISE" in t or "TEST-CLEAR" in t for t in plain)
    document = parsed(reader.get("/feeds/cap.atom?exercise=true"))
    by_marker = {entry.title.split()[-1]: entry for entry in document.entries}
    exercise, test = by_marker["EXERCISE-CLEAR"], by_marker["TEST-CLEAR"]
    assert exercise.title.startswith("[EXERCISE] ")
    assert test.title.startswith("[TEST] ")
    assert cap_of(reader, exercise).findtext(f"{{{CAP12_NS}}}status") == "Exercise"
    assert cap_of(reader, test).findtext(f"{{{CAP12_NS}}}status") == "Test"
    assert by_marker["PUBLIC-ONE"].title == "quake PUBLIC-ONE"


def test_filters_narrow_by_category_severity_and_area(fleet: Fleet) -> None:
    client = fleet.client()

    def shown(query: str) -> set[str]:
        return {t.split()[-1] for t in titles(parsed(client.get("/feeds/cap.atom?" + query)))}

    assert shown("category=met") == {"PUBLIC-OSAKA"}
    assert shown("category=geo.earthquake") == {"PUBLIC-ONE", "PUBLIC-PEER"}
    assert shown("severity=Severe") == {"PUBLIC-ONE", "PUBLIC-PEER"}
    assert shown("area=135.5,34.7") == {"PUBLIC-OSAKA"}  # a point in Osaka's circle
    assert shown("area=139,35,140.5,36") == {"PUBLIC-ONE", "PUBLIC-PEER"}  # a box round Tokyo
    assert shown("area=135.5,34.7,5") == {"PUBLIC-OSAKA"}  # a circle


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("category=NOT A CODE", "category"),
        ("severity=Apocalyptic", "severity"),
        ("area=200,95", "area"),
        ("area=1,2,3,4,5", "area"),
        ("exercise=maybe", "exercise"),
        ("cursor=not-ours", "cursor"),
    ],
)
def test_bad_filter_value_is_a_problem_naming_the_parameter(
    fleet: Fleet, query: str, parameter: str
) -> None:
    answer = fleet.client(**basic(fleet.token("analyst", Scope.READ))).get(
        "/feeds/cap.atom?" + query
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"] == parameter


def test_public_feed_refuses_the_exercise_flag_naming_it(fleet: Fleet) -> None:
    answer = fleet.client().get("/feeds/cap.atom?exercise=true")
    assert answer.status_code == 400
    assert answer.json()["field"] == "exercise"


def test_etag_per_caller_and_conditional_get(fleet: Fleet) -> None:
    public = fleet.client()
    first = public.get("/feeds/cap.atom")
    assert first.headers["vary"] == "Authorization"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert public.get("/feeds/cap.atom", headers={"if-none-match": etag}).status_code == 304
    assert public.get("/feeds/cap.atom", headers={"if-modified-since": modified}).status_code == 304
    assert public.get("/feeds/cap.atom", headers={"if-none-match": '"other"'}).status_code == 200
    token = fleet.token("analyst", Scope.READ)
    mine = fleet.client(**basic(token)).get("/feeds/cap.atom")
    assert mine.headers["etag"] != etag
    assert mine.headers["vary"] == "Authorization"
    other = fleet.client(**basic(fleet.token("analyst", Scope.READ))).get("/feeds/cap.atom")
    assert other.headers["etag"] not in (etag, mine.headers["etag"])  # one per token

    write(fleet.federated.jp, "PUBLIC-LATER")
    again = public.get("/feeds/cap.atom", headers={"if-none-match": etag})
    assert again.status_code == 200 and "PUBLIC-LATER" in again.text
    assert again.headers["etag"] != etag
    later = public.get("/feeds/cap.atom", headers={"if-modified-since": modified})
    assert later.status_code == 200


def test_walking_next_sees_every_item_once_while_items_arrive(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = fleet.client(**basic(fleet.token("duty-officer", Scope.READ)))
    everything = [e.id for e in parsed(whole.get("/feeds/cap.atom?exercise=true")).entries]
    assert len(everything) >= 9
    monkeypatch.setattr(feeds, "MAX_ITEMS", 2)
    reader = fleet.client(**basic(fleet.token("duty-officer", Scope.READ)))  # its own ETags
    url: str | None = "/feeds/cap.atom?exercise=true"
    seen: list[str] = []
    pages = 0
    while url is not None and pages < 50:
        document = parsed(reader.get(url))
        assert len(document.entries) <= 2
        seen.extend(entry.id for entry in document.entries)
        if pages == 0:
            write(fleet.federated.jp, "ARRIVED-DURING-WALK")  # newer: after the walk's start
        nexts = [link.href for link in document.feed.links if link.rel == "next"]
        url = nexts[0] if nexts else None
        pages += 1
    assert url is None
    assert seen == everything  # every item once, newest first, none twice


def test_host_header_injection_attack_cannot_move_the_feeds_links(fleet: Fleet) -> None:
    own = fleet.federated.jp.config.urls
    answer = fleet.client().get("/feeds/cap.atom", headers={"host": "evil.example"})
    document = parsed(answer)
    hrefs = [link.href for entry in document.entries for link in entry.links]
    hrefs += [link.href for link in document.feed.links]
    assert hrefs and all(href.startswith(own[0] + "/feeds/") for href in hrefs)
    assert "evil.example" not in answer.text
