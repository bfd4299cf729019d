"""The hotline phrase catalogue: complete in five languages, typed parameters, a hash per version."""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from parley.core.canonical import canonical_bytes
from parley.formats import phrases
from parley.formats.errors import PhraseError
from parley.formats.phrases import LANGUAGES, PARAM_TYPES, Catalogue

CATALOGUE = phrases.catalogue()
PHRASES = list(CATALOGUE.phrases.values())
OTHER_LANGUAGES = [lang for lang in LANGUAGES if lang != "en"]

KANA = re.compile(r"[\u3040-\u30ff]")
KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def in_its_script(lang: str, text: str) -> bool:
    if lang == "ja":
        return bool(KANA.search(text) or KANJI.search(text))
    if lang == "ko":
        return bool(HANGUL.search(text))
    if lang == "zh":
        return bool(KANJI.search(text)) and not KANA.search(text) and not HANGUL.search(text)
    if lang == "ru":
        return bool(CYRILLIC.search(text))
    return text.isascii() or "°" in text


def documents() -> tuple[Any, Any]:
    folder = resources.files("parley.formats").joinpath("phrasebook")
    return (
        yaml.safe_load(folder.joinpath("catalogue.yaml").read_text("utf-8")),
        yaml.safe_load(folder.joinpath("glossary.yaml").read_text("utf-8")),
    )


EXAMPLES = {name: kind.example for name, kind in PARAM_TYPES.items()}


def example_params(phrase: phrases.Phrase) -> dict[str, str]:
    return {name: EXAMPLES[kind] for name, kind in phrase.params}


# --------------------------------------------------------------------------------------------
# The catalogue as shipped


def test_the_catalogue_holds_at_least_sixty_phrases_in_every_required_group() -> None:
    assert len(PHRASES) >= 60
    groups = {phrase.group for phrase in PHRASES}
    assert {"identity", "intent", "nav", "clear", "warn", "assist", "ack", "emergency"} <= groups
    used = {kind for phrase in PHRASES for _name, kind in phrase.params}
    assert used == set(PARAM_TYPES)


@pytest.mark.parametrize("phrase", PHRASES, ids=lambda p: p.code)
def test_every_phrase_is_complete_in_five_languages_with_every_placeholder(
    phrase: phrases.Phrase,
) -> None:
    assert sorted(phrase.texts) == sorted(LANGUAGES)
    for lang, text in phrase.texts.items():
        used = re.findall(r"\{([^{}]*)\}", text)
        assert sorted(set(used)) == sorted(phrase.param_names), (phrase.code, lang)


@pytest.mark.parametrize("phrase", PHRASES, ids=lambda p: p.code)
def test_every_rendering_is_in_its_own_script_and_none_is_the_english(
    phrase: phrases.Phrase,
) -> None:
    english = phrase.texts["en"]
    for lang in LANGUAGES:
        template = phrase.texts[lang]
        rendered = CATALOGUE.render(phrase.code, example_params(phrase), lang)
        assert in_its_script(lang, template), (phrase.code, lang, template)
        assert in_its_script(lang, rendered), (phrase.code, lang, rendered)
        if lang != "en":
            assert template != english, (phrase.code, lang)
            assert rendered != CATALOGUE.render(phrase.code, example_params(phrase), "en")


def test_the_shipped_catalogue_is_read_from_package_data_and_named_by_its_hash() -> None:
    catalogue, glossary = documents()
    digest = hashlib.sha256(canonical_bytes({"catalogue": catalogue, "glossary": glossary}))
    assert CATALOGUE.hash == phrases.catalogue_hash() == digest.hexdigest()
    assert phrases.load_catalogue().hash == CATALOGUE.hash


def test_renderings_put_canonical_values_in_each_language_s_words() -> None:
    params = {"unit": "Haiyang 6", "position": "-34.50,129.25"}
    assert phrases.render("emergency.distress", params, "en") == (
        "Haiyang 6 is in distress at 34.50°S 129.25°E and needs immediate assistance."
    )
    assert phrases.render("emergency.distress", params, "ja").startswith(
        "Haiyang 6は南緯34.50° 東経129.25°で遭難"
    )
    altitude = {"aircraft": "CCA981", "altitude": "035000ft"}
    assert phrases.render("nav.climbing", altitude, "en") == "CCA981 is climbing to 35000 ft."
    assert phrases.render("nav.climbing", altitude, "zh") == "CCA981正在爬升至35000英尺。"
    assert phrases.render("nav.climbing", {**altitude, "altitude": "10700 m"}, "ru") == (
        "«CCA981» набирает высоту 10700 м."
    )
    assert phrases.render("ack.wait", {"minutes": "05"}, "ko") == (
        "대기해 주십시오. 5분 이내에 답변하겠습니다."
    )
    assert phrases.render("nav.heading", {"aircraft": "A", "heading": "7"}, "en").endswith("007°.")


def test_language_for_maps_bcp47_tags_to_catalogue_languages() -> None:
    assert [phrases.language_for(t) for t in ("ja-JP", "zh-Hans", "KO", "ru", "fr", "en-GB")] == [
        "ja",
        "zh",
        "ko",
        "ru",
        "en",
        "en",
    ]


@pytest.mark.parametrize(
    ("code", "params", "lang", "words"),
    [
        ("nav.no-such", {}, "en", "'nav.no-such' is not in the catalogue"),
        ("ack.received", {}, "fr", "language 'fr' is not one of en, ja, ko, zh, ru"),
        ("ack.received", {"unit": "x"}, "en", "takes no parameter 'unit' (it takes: none)"),
        ("nav.course-speed", {"unit": "x", "course": "1"}, "en", "needs parameter 'speed'"),
        (
            "nav.course-speed",
            {"unit": "x", "course": "1", "speed": "2001"},
            "en",
            "'speed' (speed): 2001 is outside 0-2000 knots",
        ),
        (
            "nav.course-speed",
            {"unit": "x", "course": "1", "speed": "1e3"},
            "en",
            "'speed' (speed): '1e3' is not a decimal number",
        ),
        (
            "nav.altitude",
            {"aircraft": "x", "altitude": "35000"},
            "en",
            "'altitude' (altitude): '35000' is not an altitude such as 35000ft",
        ),
        (
            "nav.altitude",
            {"aircraft": "x", "altitude": "31000 m"},
            "en",
            "31000 is outside -500-30000 metres",
        ),
        ("intent.leave-area", {"unit": "x", "time": "24:00"}, "en", "outside 00:00-23:59"),
        ("warn.navigation-hazard", {"position": "91,10"}, "en", "91 is outside -90-90 degrees"),
        ("warn.navigation-hazard", {"position": "45"}, "en", "is not LAT,LON"),
        (
            "identity.this-is",
            {"station": "x" * 65},
            "en",
            "65 characters long, over the limit of 64",
        ),
        ("identity.this-is", {"station": "JP\u202eevil"}, "en", "format character U+202E"),
        ("identity.this-is", {"station": "  "}, "en", "'station' (name): is empty"),
        ("comms.contact-on", {"unit": "x", "frequency": "0"}, "en", "0 is not a frequency"),
        ("assist.medical", {"unit": "x", "count": "-1"}, "en", "'-1' is not a whole number"),
    ],
)
def test_bad_input_is_refused_naming_the_parameter_and_the_limit(
    code: str, params: dict[str, str], lang: str, words: str
) -> None:
    with pytest.raises(PhraseError) as caught:
        phrases.render(code, params, lang)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"unit": "x", "course": "1"}, "params.speed"),
        ({"unit": "x", "course": "360", "speed": "2"}, "params.course"),
        ({"unit": "", "course": "1", "speed": "2"}, "params.unit"),
        ({"unit": "x", "course": "1", "speed": "2", "depth": "3"}, "params.depth"),
    ],
)
def test_a_refused_parameter_is_named_as_the_field_at_fault(
    params: dict[str, str], field: str
) -> None:
    with pytest.raises(PhraseError) as caught:
        phrases.normalise("nav.course-speed", params)
    assert caught.value.field == field


def test_a_non_string_parameter_value_is_refused() -> None:
    with pytest.raises(PhraseError, match="'minutes' .*must be a string"):
        phrases.normalise("ack.wait", {"minutes": 5})  # type: ignore[dict-item]


# --------------------------------------------------------------------------------------------
# The hash names one version of the catalogue


@pytest.mark.parametrize("index", range(len(PHRASES)))
def test_changing_any_phrase_changes_the_hash(index: int) -> None:
    catalogue, glossary = documents()
    original = Catalogue.from_documents(catalogue, glossary).hash
    edits: list[Any] = [lambda p: p.update(code=p["code"] + "-x")]
    edits += [
        lambda p, lang=lang: p["text"].update({lang: p["text"][lang] + " "}) for lang in LANGUAGES
    ]
    if catalogue["phrases"][index]["params"]:
        name = next(iter(catalogue["phrases"][index]["params"]))
        edits.append(
            lambda p: p["params"].update({name: "count" if p["params"][name] == "name" else "name"})
        )
    hashes = {original}
    for edit in edits:
        edited = copy.deepcopy(catalogue)
        edit(edited["phrases"][index])
        hashes.add(Catalogue.from_documents(edited, glossary).hash)
    assert len(hashes) == len(edits) + 1


def test_changing_the_glossary_changes_the_hash() -> None:
    catalogue, glossary = documents()
    edited = copy.deepcopy(glossary)
    edited["values"]["distance"]["ja"] = "{value} 海里"
    assert Catalogue.from_documents(catalogue, edited).hash != CATALOGUE.hash


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda c, g: c["phrases"][0]["text"].pop("ko"), "exactly one text in each"),
        (lambda c, g: c["phrases"][0]["text"].update(ja="こちらです。"), "placeholders"),
        (
            lambda c, g: c["phrases"][0]["text"].update(en="This is {station} {extra}."),
            "placeholders",
        ),
        (lambda c, g: c["phrases"][0]["params"].update(station="colour"), "unknown type"),
        (lambda c, g: c["phrases"].append(copy.deepcopy(c["phrases"][0])), "appears twice"),
        (lambda c, g: c["phrases"][0].update(code="Identity.This"), "not GROUP.NAME"),
        (lambda c, g: c["phrases"][0].update(code="nogroup.this-is"), "no title in the glossary"),
        (lambda c, g: c.update(version=1.5), "signed-JSON subset"),
        (lambda c, g: g["values"].pop("speed"), "no words for speed"),
        (lambda c, g: c.update(languages=["en", "ja"]), "must list the languages"),
    ],
)
def test_a_malformed_catalogue_is_refused_with_the_reason(edit: Any, words: str) -> None:
    catalogue, glossary = documents()
    edit(catalogue, glossary)
    with pytest.raises(PhraseError, match=re.escape(words)):
        Catalogue.from_documents(catalogue, glossary)


# --------------------------------------------------------------------------------------------
# Properties of parameter validation and rendering


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[str]:
    return st.decimals(Decimal(low), Decimal(high), places=places).map(lambda d: format(d, "f"))


def names() -> st.SearchStrategy[str]:
    allowed = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    return st.text(allowed, min_size=1, max_size=64).filter(lambda s: bool(s.strip()))


VALID: dict[str, st.SearchStrategy[str]] = {
    "bearing": st.integers(0, 359).map(str),
    "distance": decimals("0", "10000", 2),
    "speed": decimals("0", "2000", 1),
    "altitude": st.one_of(
        st.integers(-1500, 100000).map(lambda n: f"{n}ft"),
        st.integers(-500, 30000).map(lambda n: f"{n} m"),
    ),
    "time": st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]}:{t[1]:02d}"),
    "position": st.tuples(decimals("-90", "90", 6), decimals("-180", "180", 6)).map(",".join),
    "name": names(),
    "count": st.integers(0, 100000).map(str),
    "frequency": decimals("0.0001", "300000", 4),
}


@st.composite
def phrase_with_params(draw: st.DrawFn) -> tuple[phrases.Phrase, dict[str, str]]:
    phrase = draw(st.sampled_from(PHRASES))
    return phrase, {name: draw(VALID[kind]) for name, kind in phrase.params}


def shown(kind: str, value: str) -> list[str]:
    """The parts of a canonical value a rendering must show unchanged."""
    if kind == "position":
        return [part.lstrip("-") for part in value.split(",")]
    if kind == "altitude":
        return [value.split(" ")[0]]
    return [value]


@given(phrase_with_params(), st.sampled_from(LANGUAGES))
def test_valid_parameters_render_in_every_language_with_their_canonical_values(
    case: tuple[phrases.Phrase, dict[str, str]], lang: str
) -> None:
    phrase, params = case
    canonical = phrases.normalise(phrase.code, params)
    assert phrases.normalise(phrase.code, canonical) == canonical
    rendered = phrases.render(phrase.code, params, lang)
    assert rendered == phrases.render(phrase.code, canonical, lang)
    if not any("{" in value for value in canonical.values()):
        assert "{" not in rendered
    for name, kind in phrase.params:
        for part in shown(kind, canonical[name]):
            assert part in rendered, (phrase.code, lang, name, part)
    canonical_bytes({"params": canonical})  # what is signed stays in the signed-JSON subset


@given(st.integers(360, 10**6))
def test_bearings_outside_0_359_are_refused_naming_parameter_and_limit(degrees: int) -> None:
    with pytest.raises(PhraseError, match=r"parameter 'course' \(bearing\): .*0-359"):
        phrases.normalise("nav.altering-course", {"unit": "A", "course": str(degrees)})


@given(st.integers(0, 359))
def test_bearings_are_canonical_three_digit_degrees(degrees: int) -> None:
    params = {"unit": "A", "course": str(degrees).zfill(3)}
    assert phrases.normalise("nav.altering-course", params)["course"] == f"{degrees:03d}"


@given(st.decimals(Decimal("10000.01"), Decimal("1e9"), places=2))
def test_distances_over_the_limit_are_refused_naming_the_limit(distance: Decimal) -> None:
    with pytest.raises(PhraseError, match=r"'distance' \(distance\): .* 0-10000 nautical miles"):
        phrases.normalise("clear.keep-clear", {"unit": "A", "distance": format(distance, "f")})


@given(
    st.floats(allow_nan=True, allow_infinity=True).map(repr).filter(lambda s: "e" in s or "n" in s)
)
def test_float_spellings_are_not_decimal_strings(text: str) -> None:
    with pytest.raises(PhraseError, match="'speed'"):
        phrases.normalise("nav.reducing-speed", {"unit": "A", "speed": text})


@given(st.integers(24, 99), st.integers(0, 99))
def test_times_outside_the_day_are_refused(hours: int, minutes: int) -> None:
    with pytest.raises(PhraseError, match=r"'time' \(time\).*00:00-23:59"):
        phrases.normalise("intent.leave-area", {"unit": "A", "time": f"{hours}:{minutes:02d}"})


@given(
    st.text(min_size=1, max_size=80).filter(
        lambda s: any(unicodedata.category(c) in ("Cc", "Cf") for c in s.strip())
    )
)
def test_names_with_control_or_format_characters_are_refused(name: str) -> None:
    with pytest.raises(PhraseError, match="'unit' \\(name\\)"):
        phrases.normalise("intent.request", {"unit": name})
