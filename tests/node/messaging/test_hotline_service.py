"""The hotline service: what a sender signs, and how each side reads the conversation.

Real nodes in one process under one policy (``network``); entries travel by the real pull
workflow from an in-memory copy of the author's log, as a peer would serve it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parley.core.entry import Body, parse_header
from parley.core.errors import InvalidEntryError, ParleyError, PolicyError
from parley.formats import phrases
from parley.node.access import CLEARANCE
from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.home import NodeConfig, NodeHome
from parley.node.log import Draft
from parley.node.messaging import hotline, receipts
from parley.node.node import Node, now_ms
from parley.store import logs

COURSE = {"unit": "Kirishima", "course": "45", "speed": "12.0"}


def stored_body(node: Node, ref: str) -> tuple[Any, dict[str, Any]]:
    party, seq = ref.split(":")
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, int(seq))
    assert stored is not None and stored.body is not None and stored.salt is not None
    return parse_header(stored.leaf), Body(stored.salt, stored.body).value()


def deliver(kit: Any, author: Node, reader: Node) -> None:
    """``reader`` pulls ``author``'s log as the author serves it to the reader."""
    with reader.store.read() as conn:
        peer = peers.find_peer(conn, author.party)
    if peer is None:
        peer = kit.pin(reader, author)
    pull(reader, peer, kit.MemoryLog(author, reader.party))


def send(node: Node, to: str, **fields: Any) -> str:
    return hotline.send(node, hotline.Outgoing(to=to, status="Exercise", **fields)).ref


def test_a_phrase_is_signed_with_canonical_params_catalogue_hash_rendering_and_deadlines(
    network: Any,
) -> None:
    nodes = network("JP", "CN", "KR")
    jp = nodes["JP"]
    ref = send(jp, "CN", phrase="nav.course-speed", params=COURSE)
    header, body = stored_body(jp, ref)
    assert header.kind == "hotline" and header.status == "Exercise"
    assert header.audience == ("CN", "JP") and header.tlp == "AMBER"
    assert body["params"] == {"unit": "Kirishima", "course": "045", "speed": "12.0"}
    assert body["catalogue"] == phrases.catalogue_hash()
    assert body["rendering"] == {
        "lang": "ja",
        "text": "Kirishimaは針路045°、速力12.0ノットで航行中です。",
    }
    document = jp.context().policy.document
    bounds = document.deadline("hotline")
    assert bounds is not None
    assert body["deadlines"] == {
        "delivered_within": bounds.delivered_within.default,
        "acknowledged_within": bounds.acknowledged_within.default,
    }
    assert "text" not in body and "in_reply_to" not in body


def test_free_text_and_an_explicit_language_and_tlp(network: Any) -> None:
    jp = network("JP", "CN")["JP"]
    ref = send(
        jp, "CN", phrase="ack.received", text="[bold]as written[/bold]", lang="en", tlp="RED"
    )
    header, body = stored_body(jp, ref)
    assert header.tlp == "RED"
    assert body["rendering"] == {"lang": "en", "text": "Your message is received."}
    assert body["text"] == "[bold]as written[/bold]"


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"to": "JP", "text": "x"}, InvalidEntryError, "another party"),
        ({"to": "US", "text": "x"}, PolicyError, "not a member"),
        ({"to": "CN"}, InvalidEntryError, "--phrase or --text"),
        ({"to": "CN", "text": "x", "params": {"a": "1"}}, InvalidEntryError, "--param needs"),
        (
            {"to": "CN", "phrase": "nav.course-speed", "params": {**COURSE, "course": "360"}},
            phrases.PhraseError,
            "'course' (bearing): 360 is outside 0-359",
        ),
        ({"to": "CN", "phrase": "nav.no-such-phrase"}, phrases.PhraseError, "not in the catalogue"),
        ({"to": "CN", "phrase": "ack.received", "lang": "fr"}, InvalidEntryError, "--lang"),
        ({"to": "CN", "text": "x", "tlp": "CLEAR"}, InvalidEntryError, "CLEAR"),
        ({"to": "CN", "text": "x", "reply_to": "JP:0"}, InvalidEntryError, "not a hotline"),
        ({"to": "CN", "text": "x", "reply_to": "CN:99"}, ParleyError, "holds no such entry"),
    ],
)
def test_a_bad_message_is_refused_and_nothing_is_appended(
    network: Any, fields: dict[str, Any], error: type[Exception], words: str
) -> None:
    jp = network("JP", "CN")["JP"]
    before = jp.size()
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        hotline.send(jp, hotline.Outgoing(status="Exercise", **fields))
    assert jp.size() == before


def test_a_reply_names_only_a_hotline_message_between_the_same_two_parties(network: Any) -> None:
    nodes = network("JP", "CN", "KR")
    jp = nodes["JP"]
    to_kr = send(jp, "KR", text="for KR")
    with pytest.raises(InvalidEntryError, match="between JP and CN"):
        send(jp, "CN", text="x", reply_to=to_kr)
    first = send(jp, "CN", text="first")
    _header, body = stored_body(jp, send(jp, "CN", text="again", reply_to=first))
    assert body["in_reply_to"]["ref"] == first and len(body["in_reply_to"]["leaf_hash"]) == 64


def test_each_side_reads_the_phrase_in_its_own_language_next_to_the_signed_one(
    network: Any, kit: Any
) -> None:
    nodes = network("JP", "CN", "KR")
    jp, cn = nodes["JP"], nodes["CN"]
    asked = send(jp, "CN", phrase="nav.course-speed", params=COURSE)
    deliver(kit, jp, cn)
    (received,) = hotline.conversation(cn, "JP")
    assert received.ref == asked and received.direction == "received"
    assert received.local == hotline.Rendered("zh", "Kirishima航向045°，航速12.0节。")
    assert received.signed is not None and received.signed.lang == "ja"
    assert received.catalogue_matches is True and received.note is None
    answered = send(cn, "JP", phrase="ack.will-comply", reply_to=asked)
    deliver(kit, cn, jp)
    sent, reply = hotline.conversation(jp, "CN")
    assert (sent.ref, sent.direction, reply.ref, reply.direction) == (
        asked,
        "sent",
        answered,
        "received",
    )
    assert reply.local == hotline.Rendered("ja", "要請に従います。")
    assert reply.signed == hotline.Rendered("zh", "我方将照办。")
    assert reply.in_reply_to == asked
    assert [m.ref for m in hotline.conversation(jp, "CN", lang="ru", limit=1)] == [answered]
    assert hotline.conversation(jp, "CN", lang="ru")[1].local == hotline.Rendered("ru", "Выполним.")
    assert hotline.conversation(jp, "KR") == []


def test_a_differing_catalogue_is_named_and_the_signed_rendering_is_kept(
    network: Any, kit: Any
) -> None:
    nodes = network("JP", "CN")
    jp, cn = nodes["JP"], nodes["CN"]
    deadlines = {"acknowledged_within": 3000}
    older = {
        "to": "CN",
        "phrase": "ack.received",
        "params": {},
        "catalogue": "0" * 64,
        "rendering": {"lang": "ja", "text": "受領"},
        "deadlines": deadlines,
    }
    unknown = {**older, "phrase": "ack.from-a-later-catalogue"}
    jp.append([Draft("hotline", "Exercise", body, ("CN", "JP"), None) for body in (older, unknown)])
    deliver(kit, jp, cn)
    first, second = hotline.conversation(cn, "JP")
    assert first.catalogue_matches is False and first.note is not None
    assert "differs from this node's" in first.note
    assert first.local == hotline.Rendered("zh", "已收到贵方消息。")
    assert first.signed == hotline.Rendered("ja", "受領")
    assert second.local is None and second.note is not None
    assert "not rendered here" in second.note and second.signed == hotline.Rendered("ja", "受領")


def test_acknowledgement_status_comes_from_the_receipts_held(network: Any, kit: Any) -> None:
    nodes = network("JP", "CN")
    jp, cn = nodes["JP"], nodes["CN"]
    ref = send(jp, "CN", phrase="ack.wait", params={"minutes": "5"})
    (mine,) = hotline.conversation(jp, "CN")
    assert mine.answer.status == "none" and mine.answer.party == "CN"
    deliver(kit, jp, cn)
    (theirs,) = hotline.conversation(cn, "JP")
    assert theirs.answer.status == "delivered" and theirs.answer.party == "CN"
    receipts.acknowledge(cn, ref, "duty", "keeping clear", now_ms())
    deliver(kit, cn, jp)
    (mine,) = hotline.conversation(jp, "CN")
    assert mine.answer.status == "acknowledged"
    assert mine.answer.acknowledged is not None
    assert mine.answer.acknowledged["officer"] == "duty"
    assert mine.answer.acknowledged["reply"] == "keeping clear"
    assert mine.answer.acknowledged["claimed"] >= mine.time
    assert hotline.message(jp, ref).answer == mine.answer


def test_a_third_party_sees_no_conversation_it_is_not_part_of(network: Any, kit: Any) -> None:
    nodes = network("JP", "CN", "KR")
    jp, kr = nodes["JP"], nodes["KR"]
    ref = send(jp, "CN", text="between JP and CN only")
    deliver(kit, jp, kr)
    assert hotline.conversation(kr, "JP") == []
    with pytest.raises(InvalidEntryError, match="not a hotline message sent or addressed to KR"):
        hotline.message(kr, ref)


def test_the_node_language_defaults_by_party_and_follows_parley_toml(tmp_path: Path) -> None:
    def config(party: str, lang: str | None = None) -> NodeConfig:
        return NodeConfig(party, "centre", "parley-test", "sqlite://", lang=lang)

    assert [config(p).language for p in ("JP", "CN", "KR", "RU", "US")] == [
        "ja",
        "zh",
        "ko",
        "ru",
        "en",
    ]
    assert config("JP", "en-GB").language == "en-GB"
    home = NodeHome(tmp_path / "jp")
    home.create(config("JP", "zh-Hant"))
    assert home.load_config().lang == "zh-Hant"
    assert phrases.language_for(home.load_config().language) == "zh"
    home.config_path.write_text(home.config_path.read_text().replace("zh-Hant", "../x"))
    with pytest.raises(ParleyError, match="not a language tag"):
        home.load_config()


def test_a_reader_without_the_clearance_sees_the_conversation_without_its_words(
    network: Any, kit: Any
) -> None:
    nodes = network("JP", "CN")
    jp, cn = nodes["JP"], nodes["CN"]
    mine = send(jp, "CN", phrase="nav.course-speed", params=COURSE)
    theirs = send(cn, "JP", text="received, turning")
    deliver(kit, cn, jp)
    receipts.acknowledge(jp, theirs, "duty", "noted", now_ms())
    observer = CLEARANCE["observer"]

    shown = hotline.conversation(jp, "CN", "en", clearance=observer)
    assert [(m.ref, m.to, m.direction) for m in shown] == [
        (mine, "CN", "sent"),
        (theirs, "JP", "received"),
    ]
    for message in shown:
        assert message.withheld is not None and "TLP:AMBER" in message.withheld
        assert message.phrase is None and message.text is None and message.local is None
    assert shown[1].answer.acknowledged is not None
    assert shown[1].answer.acknowledged["reply"] is None
    assert shown[1].answer.acknowledged["reply_withheld"] is True
    assert hotline.message(jp, theirs, clearance=observer).text is None
    assert hotline.message(jp, theirs, clearance=CLEARANCE["analyst"]).text == "received, turning"


def test_the_phrase_book_renders_every_phrase_in_the_asked_language() -> None:
    book = hotline.phrase_book("ja", "nav")
    assert book["lang"] == "ja" and book["catalogue"] == phrases.catalogue_hash()
    assert book["phrases"] and all(p["group"] == "nav" for p in book["phrases"])
    assert all(p["text"] == p["texts"]["ja"] for p in book["phrases"])
    with pytest.raises(InvalidEntryError, match="'fr' is not one of") as refused:
        hotline.phrase_book("fr")
    assert refused.value.field == "lang"
