"""Full-text search over what a node holds, in five languages, on SQLite and PostgreSQL.

Real nodes (``Node.create``) under one policy; peers' logs travel through ``MemoryLog`` and
``sync.pull``. Every test searches right after appending or pulling, without running the index
job: ``search`` catches up by itself.
"""

from __future__ import annotations

import asyncio

import pytest

from parley.core.entry import ALL, TLP_LABELS
from parley.core.errors import InvalidEntryError
from parley.formats.notification import new_notification
from parley.node import search
from parley.node.federation import bodies, peers
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.messaging import hotline
from parley.node.node import Node, now_ms
from parley.node.runtime.search_index import SearchIndex
from parley.store import search as search_rows
from tests.node.conftest import Kit, Network

EVERYTHING = frozenset(TLP_LABELS)
OBSERVER = frozenset({"CLEAR", "GREEN"})
ANALYST = frozenset({"CLEAR", "GREEN", "AMBER", "AMBER+STRICT"})

TEXTS = {
    "ja": (
        "震度6強の地震",
        "午前3時頃に地震が発生しました。",
        "津波警報が発表されています。高台へ避難してください。",
    ),
    "zh": ("台风红色预警", "台风“海葵”预计今晚在福建沿海登陆。", "请居民远离海岸。"),
    "ko": ("규모 6.1 지진", "오늘 새벽 지진이 발생했습니다.", "해안 지역 주민은 대피하십시오."),
    "ru": ("Землетрясение у Камчатки", "Землетрясение магнитудой 7,1.", "Угрозы цунами нет."),
    "en": ("M7.1 earthquake off Miyagi", "A strong earthquake struck.", "Move to high ground."),
}


def notification(
    author: Node,
    lang: str,
    *,
    audience: str | tuple[str, ...] = ALL,
    tlp: str | None = None,
    n: int = 0,
) -> Draft:
    headline, description, instruction = TEXTS[lang]
    body = new_notification(
        category="geo.earthquake",
        identifier=f"{author.party}-{lang}-{n}-{now_ms()}",
        sender=f"{author.party}@parley-test",
        sent_ms=now_ms() // 1000 * 1000,
        status="Exercise",
        headline=headline,
        description=description,
        instruction=instruction,
        lang=lang,
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        areas=[],
    )
    return Draft("notification", "Exercise", body, audience, tlp)


def sync(kit: type[Kit], receiver: Node, author: Node, *, from_author: bool = True) -> None:
    pinned = {p.party: p for p in peers.list_peers(receiver.store)}
    peer = pinned.get(author.party) or kit.pin(receiver, author)
    reader = receiver.party if from_author else None
    pull(receiver, peer, kit.MemoryLog(author, reader, from_author=from_author))


def refs(page: search.SearchPage) -> list[str]:
    return [hit.ref for hit in page.hits]


def found(
    node: Node, query: str, clearance: frozenset[str] = EVERYTHING, **kw: object
) -> list[str]:
    return refs(search.search(node, query, clearance=clearance, **kw))  # type: ignore[arg-type]


def test_one_and_two_character_cjk_words_russian_and_english_are_found_on_each_engine(
    network: Network, database: str | None
) -> None:
    nodes = network("US", "JP", databases={} if database is None else {"JP": database})
    jp = nodes["JP"]
    ja, zh, ko, ru, en = jp.append([notification(jp, lang) for lang in TEXTS])

    assert found(jp, "地震") == [ja.ref]
    assert found(jp, "津波") == [ja.ref]
    assert found(jp, "震") == [ja.ref]
    assert found(jp, "津波警報 避難") == [ja.ref]
    assert found(jp, "台风") == [zh.ref]
    assert found(jp, "지진") == [ko.ref]
    assert found(jp, "землетрясение") == [ru.ref]
    assert found(jp, "ЗЕМЛЕТРЯСЕНИЕ камчатки") == [ru.ref]
    assert found(jp, "earthquake") == [en.ref]
    assert found(jp, "Earthquake MIYAGI") == [en.ref]
    assert found(jp, "tsunami") == []  # the English text has no such word
    assert found(jp, "地震 earthquake") == []  # both must be in one entry
    hit = search.search(jp, "台风", clearance=EVERYTHING).hits[0]
    assert (hit.kind, hit.author, hit.status, hit.tlp) == (
        "notification",
        "JP",
        "Exercise",
        "GREEN",
    )
    assert "台风" in hit.snippet


def test_a_search_right_after_an_append_finds_it_without_the_index_job(
    network: Network, database: str | None
) -> None:
    jp = network("JP", "US", databases={} if database is None else {"JP": database})["JP"]
    assert found(jp, "地震") == []
    (first,) = jp.append([notification(jp, "ja")])
    assert found(jp, "地震") == [first.ref]
    (second,) = jp.append([notification(jp, "ja", n=1)])
    assert found(jp, "地震") == [second.ref, first.ref]


def test_an_entry_addressed_to_another_party_is_never_found(
    network: Network, kit: type[Kit], database: str | None
) -> None:
    nodes = network("US", "JP", "KR", databases={} if database is None else {"JP": database})
    us, jp = nodes["US"], nodes["JP"]
    to_kr, to_jp, to_all = us.append(
        [
            notification(us, "ja", audience=("KR",), n=1),
            notification(us, "ja", audience=("JP",), n=2),
            notification(us, "ja", n=3),
        ]
    )
    to_kr_hotline, to_jp_hotline = us.append(
        [kit.hotline("KR", "地震の件で連絡します"), kit.hotline("JP", "地震の件で連絡します")]
    )
    sync(kit, jp, us)

    hits = found(jp, "地震")
    assert hits == [to_jp_hotline.ref, to_all.ref, to_jp.ref]
    assert to_kr.ref not in hits and to_kr_hotline.ref not in hits
    assert found(us, "地震") == [
        to_jp_hotline.ref,
        to_kr_hotline.ref,
        to_all.ref,
        to_jp.ref,
        to_kr.ref,
    ]


def test_the_callers_tlp_clearance_filters_the_hits(network: Network, database: str | None) -> None:
    nodes = network("US", "JP", databases={} if database is None else {"JP": database})
    jp = nodes["JP"]
    drafts = [
        notification(jp, "zh", tlp="CLEAR", n=1),
        notification(jp, "zh", tlp="GREEN", n=2),
        notification(jp, "zh", audience=("US",), tlp="AMBER", n=3),
        notification(jp, "zh", audience=("US",), tlp="AMBER+STRICT", n=4),
        notification(jp, "zh", audience=("US",), tlp="RED", n=5),
    ]
    clear, green, amber, strict, red = (h.ref for h in jp.append(drafts))

    assert found(jp, "台风", OBSERVER) == [green, clear]
    assert found(jp, "台风", ANALYST) == [strict, amber, green, clear]
    assert found(jp, "台风", EVERYTHING) == [red, strict, amber, green, clear]
    assert found(jp, "台风", frozenset({"RED"})) == [red]
    assert found(jp, "台风", frozenset()) == []


def test_paging_with_the_cursor_sees_every_hit_once_newest_first(
    network: Network, database: str | None
) -> None:
    nodes = network("US", "JP", databases={} if database is None else {"JP": database})
    jp = nodes["JP"]
    drafts = [notification(jp, ["ko", "en"][i % 2], n=i) for i in range(23)]
    appended = jp.append(drafts)
    korean = [h.ref for h in appended if h.seq % 2 == appended[0].seq % 2][::-1]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = search.search(jp, "지진", clearance=EVERYTHING, after_cursor=cursor, limit=5)
        seen += refs(page)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == korean and len(seen) == 12 and pages == 3
    # Each hit's own cursor goes on right after it.
    third = search.search(jp, "지진", clearance=EVERYTHING, limit=3).hits[2]
    assert found(jp, "지진", after_cursor=third.cursor, limit=2) == korean[3:5]


def test_paging_goes_past_many_newer_hits_the_caller_may_not_see(
    network: Network, database: str | None
) -> None:
    nodes = network("US", "JP", databases={} if database is None else {"JP": database})
    jp = nodes["JP"]
    green = [h.ref for h in jp.append([notification(jp, "ja", n=i) for i in range(3)])]
    jp.append([notification(jp, "ja", audience=("US",), tlp="RED", n=i) for i in range(30)])

    first = search.search(jp, "地震", clearance=OBSERVER, limit=2)
    assert refs(first) == green[:0:-1] and first.cursor is not None
    second = search.search(jp, "地震", clearance=OBSERVER, limit=2, after_cursor=first.cursor)
    assert refs(second) == green[:1] and second.cursor is None


def test_a_hotline_phrase_is_found_in_every_catalogue_language_and_free_text_too(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    message = hotline.Outgoing(
        to="JP",
        status="Exercise",
        phrase="intent.no-hostile-intent",
        params={"unit": "Kirov"},
        text="Привет",
        lang="ru",
    )
    sent = hotline.send(us, message)
    sync(kit, jp, us)
    for query in ("враждебных", "敵対", "적대적", "敌对", "hostile", "привет", "kirov"):
        assert found(jp, query) == [sent.ref], query
    assert found(jp, "敵対", kinds=("notification",)) == []
    assert found(jp, "敵対", kinds=("hotline", "inquiry")) == [sent.ref]


def test_an_entry_whose_body_comes_later_is_found_once_it_came(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([notification(us, "ru", audience=("JP",))])
    sync(kit, jp, us, from_author=False)  # a mirror without the body: pending
    assert found(jp, "цунами") == []

    peer = {p.party: p for p in peers.list_peers(jp.store)}["US"]
    assert bodies.fill_bodies(jp, peer, kit.MemoryLog(us, "JP")) == 1
    assert found(jp, "цунами") == [sent.ref]


def test_the_index_job_indexes_new_entries_in_the_background(network: Network) -> None:
    jp = network("JP", "US")["JP"]
    (sent,) = jp.append([notification(jp, "en")])

    async def run_briefly() -> None:
        task = asyncio.create_task(SearchIndex(jp, interval_s=0.05).run())
        for _ in range(200):
            await asyncio.sleep(0.05)
            with jp.store.read() as conn:
                if not search_rows.behind(conn):
                    break
        task.cancel()

    asyncio.run(run_briefly())
    with jp.store.read() as conn:
        assert search_rows.cursor(conn) >= 0 and not search_rows.behind(conn)
    assert found(jp, "earthquake") == [sent.ref]


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("", {}, "query: empty"),
        ("地" * 201, {}, "query: 201 characters; at most 200"),
        ("...", {}, "query: '...' has no letter"),
        ("地震", {"clearance": frozenset({"PURPLE"})}, "clearance: PURPLE"),
        ("地震", {"kinds": ("receipt",)}, "kinds: receipt"),
        ("地震", {"kinds": ()}, "kinds: none given"),
        ("地震", {"limit": 0}, "limit: 0"),
        ("地震", {"limit": 201}, "limit: 201"),
        ("地震", {"after_cursor": "not-a-cursor"}, "after_cursor: 'not-a-cursor'"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    network: Network, query: str, options: dict[str, object], message: str
) -> None:
    jp = network("JP", "US")["JP"]
    kw: dict[str, object] = {"clearance": EVERYTHING, **options}
    with pytest.raises(InvalidEntryError, match=message):
        search.search(jp, query, **kw)  # type: ignore[arg-type]


def test_entry_text_reads_later_versions_of_a_body_leniently() -> None:
    body = {"info": [{"headline": "A", "description": 7}, "junk", {"instruction": "B"}]}
    assert search.entry_text("notification", body) == "A\nB"
    assert search.entry_text("notification", ["not", "a", "body"]) == ""
    assert search.entry_text("receipt", {"reply": "seen"}) == ""
    assert search.entry_text("hotline", {"text": "a\x00b", "rendering": "junk"}) == "a b"
