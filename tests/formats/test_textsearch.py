"""Search terms: words, CJK unigrams and bigrams, confirmation on the text, and query limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.errors import InvalidEntryError
from parley.formats.textsearch import (
    MAX_QUERY_CHARS,
    index_terms,
    normalise,
    parse_query,
    runs,
    snippet,
)

JA = "気象庁によると、午前3時頃に震度6強の地震が発生しました。津波警報が発表されています。"
ZH = "中央气象台发布台风红色预警：台风“海葵”预计今晚在福建沿海登陆。"
KO = "오늘 새벽 규모 6.1의 지진이 발생했습니다. 해안 지역 주민은 대피하십시오."
RU = "Землетрясение магнитудой 7,1 произошло у побережья Камчатки. Угрозы цунами нет."
EN = "A magnitude 7.1 earthquake struck off the coast; a tsunami warning is in effect."


def found(query: str, text: str) -> bool:
    """What the store and the confirmation do together: all terms indexed, then the text."""
    parsed = parse_query(query)
    return set(parsed.terms()) <= index_terms(text) and parsed.matches(text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("地震", JA),
        ("津波", JA),
        ("震", JA),
        ("津波警報", JA),
        ("台风", ZH),
        ("风", ZH),
        ("台风 登陆", ZH),
        ("지진", KO),
        ("지", KO),
        ("대피", KO),
        ("землетрясение", RU),
        ("ЗЕМЛЕТРЯСЕНИЕ Камчатки", RU),
        ("цунами", RU),
        ("tsunami", EN),
        ("Tsunami WARNING", EN),
        ("7", EN),
    ],
)
def test_one_and_two_character_cjk_words_and_whole_words_are_found(query: str, text: str) -> None:
    assert found(query, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("地震", ZH),  # the traditional form is 地震 in zh too, but this text has none
        ("台风", JA),
        ("津波警報", "津波が来た。警報が出た。"),  # both bigrams apart: not the word
        ("日本語", "日本と本語"),  # holds the bigrams 日本 and 本語, not 日本語
        ("землетрясения", RU),  # no stemming: another form of the word
        ("warn", EN),  # no prefixes
        ("tsunami flood", EN),  # every word must be there
    ],
)
def test_what_is_not_in_the_text_is_not_found(query: str, text: str) -> None:
    assert not found(query, text)


def test_bigrams_apart_are_candidates_that_the_text_confirmation_drops() -> None:
    query = parse_query("日本語")
    assert set(query.terms()) == {"日本", "本語"}
    assert set(query.terms()) <= index_terms("日本と本語")
    assert not query.matches("日本と本語")


def test_width_and_case_variants_normalise_to_one_term() -> None:
    assert found("ｶﾀｶﾅ", "カタカナで書いた")
    assert found("ＴＳＵＮＡＭＩ", "tsunami")
    assert found("STRASSE", "Berliner Straße")
    assert found("ёлка", "ЁЛКА")
    assert index_terms("Ｍ７") == {"m7"}


def test_a_cjk_run_gives_every_unigram_and_every_overlapping_bigram() -> None:
    assert index_terms("東日本") == {"東", "日", "本", "東日", "日本"}
    assert index_terms("地震 tsunami") == {"地", "震", "地震", "tsunami"}


def test_punctuation_and_the_katakana_middle_dot_separate_runs() -> None:
    assert list(runs(normalise("ロシア・ウクライナ, snake_case!"))) == [
        ("ロシア", True),
        ("ウクライナ", True),
        ("snake", False),
        ("case", False),
    ]


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_is_refused_naming_the_field(query: str) -> None:
    with pytest.raises(InvalidEntryError, match="query: empty"):
        parse_query(query)


def test_a_query_over_the_limit_is_refused_naming_the_limit() -> None:
    parse_query("地" * MAX_QUERY_CHARS)
    with pytest.raises(
        InvalidEntryError, match=f"query: 201 characters; at most {MAX_QUERY_CHARS}"
    ):
        parse_query("地" * (MAX_QUERY_CHARS + 1))


def test_a_query_without_letters_is_refused() -> None:
    with pytest.raises(InvalidEntryError, match="no letter, digit or CJK character"):
        parse_query("!!! ・ ---")


def test_the_snippet_shows_the_match_in_its_original_form() -> None:
    text = "前置き。" * 40 + "ＴＳＵＮＡＭＩ警報が発表されました。" + "後書き。" * 40
    cut = snippet(text, parse_query("警報"))
    assert "ＴＳＵＮＡＭＩ警報" in cut and cut.startswith("…") and cut.endswith("…")
    assert snippet("short text", parse_query("absent")) == "short text"


def test_the_snippet_finds_its_place_when_normalising_changes_the_length() -> None:
    text = "Straße ﬁeld " * 30 + "津波警報" + " Ende" * 30
    cut = snippet(text, parse_query("警報"))
    assert "津波警報" in cut


# Properties ---------------------------------------------------------------------------------

CJK_CHARS = st.sampled_from(
    list("地震津波台风警報发生避難해일지진대피東京日本語本々ーカタかなアイウ")
    + [chr(c) for c in (0x4E00, 0x9FFF, 0x3400, 0x20000, 0xAC00, 0xD7A3, 0x3041, 0x30FC)]
)
WORD_CHARS = st.sampled_from(list("abcxyzABCXYZéüßİıǅ0179абвгдеёжзийЖЁЙ") + ["\u0301"])
SEPARATORS = st.sampled_from(list(" ,.;:!?-_/\n\t・、。「」()（）"))
TEXT = st.lists(
    st.one_of(
        st.text(CJK_CHARS, min_size=1, max_size=12),
        st.text(WORD_CHARS, min_size=1, max_size=12),
        st.text(SEPARATORS, min_size=1, max_size=3),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300)
@given(TEXT, st.data())
def test_any_one_or_two_character_piece_of_a_cjk_run_is_found(
    text: str, data: st.DataObject
) -> None:
    cjk = [run for run, is_cjk in runs(normalise(text)) if is_cjk]
    if not cjk:
        return
    run = data.draw(st.sampled_from(cjk))
    size = data.draw(st.integers(1, min(2, len(run))))
    start = data.draw(st.integers(0, len(run) - size))
    assert found(run[start : start + size], text)


@settings(max_examples=300)
@given(TEXT, st.data())
def test_any_piece_of_a_cjk_run_is_found(text: str, data: st.DataObject) -> None:
    cjk = [run for run, is_cjk in runs(normalise(text)) if is_cjk]
    if not cjk:
        return
    run = data.draw(st.sampled_from(cjk))
    start = data.draw(st.integers(0, len(run) - 1))
    end = data.draw(st.integers(start + 1, len(run)))
    assert found(run[start:end], text)


@settings(max_examples=300)
@given(TEXT, st.data())
def test_any_whole_word_is_found(text: str, data: st.DataObject) -> None:
    words = [run for run, is_cjk in runs(normalise(text)) if not is_cjk]
    if not words:
        return
    assert found(data.draw(st.sampled_from(words)), text)


@settings(max_examples=300)
@given(TEXT, TEXT)
def test_a_confirmed_match_always_holds_every_term_of_its_query(text: str, query: str) -> None:
    try:
        parsed = parse_query(query[:MAX_QUERY_CHARS])
    except InvalidEntryError:
        return
    if parsed.matches(text):
        assert set(parsed.terms()) <= index_terms(text)


@settings(max_examples=200)
@given(TEXT)
def test_normalising_twice_changes_nothing(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


@settings(max_examples=300)
@given(TEXT, TEXT)
def test_a_query_word_matches_exactly_when_it_is_one_of_the_texts_words(
    text: str, query: str
) -> None:
    try:
        parsed = parse_query(query[:MAX_QUERY_CHARS])
    except InvalidEntryError:
        return
    words = {run for run, is_cjk in runs(normalise(text)) if not is_cjk}
    by_words = parse_query(" ".join(parsed.words)).matches(text) if parsed.words else True
    assert by_words == all(word in words for word in parsed.words)
