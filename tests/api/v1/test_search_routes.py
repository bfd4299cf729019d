"""``GET /api/v1/search``: five languages, short CJK queries, and the caller's clearance."""

from __future__ import annotations

from parley.core.entry import ALL
from parley.node.access import Scope
from parley.node.notifications import lifecycle
from tests.api.v1.conftest import Api


def _notify(api: Api, headline: str, lang: str, tlp: str) -> str:
    outcome = lifecycle.notify(
        api.node,
        status="Exercise",
        audience=ALL if tlp == "GREEN" else ("JP",),
        tlp=tlp,
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline=headline,
        lang=lang,
        areas=[],
        details={},
    )
    return outcome.written.ref


def test_one_and_two_character_cjk_queries_find_their_notifications(api: Api) -> None:
    quake = _notify(api, "宮城県沖で地震が発生", "ja", "GREEN")
    typhoon = _notify(api, "台风即将登陆", "zh", "GREEN")
    korean = _notify(api, "동해안 지진 해일 경보", "ko", "GREEN")
    russian = _notify(api, "Сильное землетрясение на Камчатке", "ru", "GREEN")
    client = api.token("observer", Scope.READ)
    for query, ref in (
        ("地震", quake),
        ("震", quake),
        ("台风", typhoon),
        ("지진", korean),
        ("землетрясение", russian),
    ):
        answer = client.get("/api/v1/search", params={"q": query})
        assert answer.status_code == 200, answer.text
        assert ref in [hit["ref"] for hit in answer.json()["hits"]], query


def test_search_never_returns_what_the_caller_may_not_read(api: Api) -> None:
    secret = _notify(api, "津波 restricted warning", "ja", "AMBER")
    observer = api.token("observer", Scope.READ).get("/api/v1/search", params={"q": "津波"})
    duty = api.token("duty-officer", Scope.READ).get("/api/v1/search", params={"q": "津波"})
    assert secret not in [hit["ref"] for hit in observer.json()["hits"]]
    assert secret in [hit["ref"] for hit in duty.json()["hits"]]


def test_a_bad_query_is_a_problem_naming_the_field(api: Api) -> None:
    client = api.token("observer", Scope.READ)
    empty = client.get("/api/v1/search", params={"q": ""})
    assert empty.status_code == 400 and "query" in empty.json()["detail"]
    long = client.get("/api/v1/search", params={"q": "x" * 201})
    assert long.status_code == 400 and long.json()["field"] == "q"
