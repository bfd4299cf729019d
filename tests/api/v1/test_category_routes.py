"""``GET /api/v1/categories?lang=``: titles, detail field docs and typed_as hints translated.

English stays the default (tools read the ids); ``lang`` asks for the officer's language, as
the hotline routes do. Codes, names, kinds and choices stay as they are in every language,
since a request is written with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from parley.node.access import Scope
from tests.api.v1.conftest import Api

URL = "/api/v1/categories"
SCRIPT = {
    "ja": re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
}
TEXTS = ("title", "doc", "typed_as")


def _categories(api: Api, **params: str) -> dict[str, dict[str, Any]]:
    answer = api.token("observer", Scope.READ).get(URL, params=params)
    assert answer.status_code == 200, answer.text
    return {category["code"]: category for category in answer.json()}


def _fields(fields: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for field in fields:
        yield field
        yield from _fields(field["fields"])


def _every_field(categories: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for c in categories.values() for f in _fields(c["details"])]


def _field(category: dict[str, Any], *path: str) -> dict[str, Any]:
    found: dict[str, Any] = {"fields": category["details"]}
    for name in path:
        found = next(f for f in found["fields"] if f["name"] == name)
    return found


def _without_texts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_texts(v) for k, v in value.items() if k not in TEXTS}
    if isinstance(value, list):
        return [_without_texts(v) for v in value]
    return value


def test_categories_are_in_english_when_no_language_is_asked(api: Api) -> None:
    nuclear = _categories(api)["nuclear.facility-event"]
    assert nuclear["title"] == "Event at a nuclear facility"
    ines = _field(nuclear, "ines_level")
    assert ines["doc"] == "INES level 0-7, where known"
    assert ines["typed_as"] == "a whole number"
    assert _field(nuclear, "art5", "accident_time")["doc"] == "(a) time of the accident"
    assert _categories(api, lang="en") == _categories(api)


def test_categories_in_japanese_carry_japanese_titles_docs_and_hints(api: Api) -> None:
    english, japanese = _categories(api), _categories(api, lang="ja")
    nuclear = japanese["nuclear.facility-event"]
    assert nuclear["title"] == "原子力施設での事象"
    ines = _field(nuclear, "ines_level")
    assert ines["doc"] == "INESレベル（0～7、判明している場合）"
    assert ines["typed_as"] == "整数"
    assert _field(nuclear, "art5", "accident_time")["doc"] == "（ａ）事故の発生時刻"
    assert _field(japanese["geo.earthquake"], "depth_km")["doc"] == "震源の深さ（キロメートル）"
    for ours, theirs in zip(_every_field(japanese), _every_field(english), strict=True):
        for text in ("doc", "typed_as"):
            assert ours[text] != theirs[text], (ours["name"], ours[text])
            assert SCRIPT["ja"].search(ours[text]), (ours["name"], ours[text])


def test_categories_in_russian_carry_russian_docs_and_hints(api: Api) -> None:
    english, russian = _categories(api), _categories(api, lang="ru")
    nuclear = russian["nuclear.facility-event"]
    assert nuclear["title"] == "Событие на ядерной установке"
    assert _field(nuclear, "art5", "protective_measures")["doc"] == (
        "(ж) принятые или планируемые защитные меры за пределами площадки"
    )
    assert _field(nuclear, "ines_provisional")["typed_as"] == "да или нет"
    for ours, theirs in zip(_every_field(russian), _every_field(english), strict=True):
        for text in ("doc", "typed_as"):
            assert ours[text] != theirs[text], (ours["name"], ours[text])
            assert SCRIPT["ru"].search(ours[text]), (ours["name"], ours[text])


@pytest.mark.parametrize("lang", ["ja", "ko", "zh", "ru"])
def test_a_language_changes_only_the_texts_never_codes_names_kinds_or_choices(
    api: Api, lang: str
) -> None:
    english, translated = _categories(api), _categories(api, lang=lang)
    assert _without_texts(translated) == _without_texts(english)
    assert list(translated) == list(english)


@pytest.mark.parametrize("lang", ["fr", "", "JA", "ja-JP", "en;drop"])
def test_an_unknown_language_is_a_400_problem_naming_lang(api: Api, lang: str) -> None:
    answer = api.token("observer", Scope.READ).get(URL, params={"lang": lang})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"] == "lang"
