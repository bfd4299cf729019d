"""The pages' catalogues: every message of the pages translated into ja, ko, zh and ru.

Each ``locale/<lang>/LC_MESSAGES/messages.po`` holds exactly the messages of
``i18n.template_catalogue()``, none fuzzy or empty, each in its language's script and none left
in English (but for ``AS_IS``); the compiled ``.mo`` the pages read says what the ``.po`` says.
The checks are plain functions, shown to fail on broken catalogues below.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from parley.web import i18n

TRANSLATED = tuple(lang for lang in i18n.LANGS if lang != "en")

# Messages whose translation is the English itself: the time scale.
AS_IS = frozenset({"UTC"})

# Latin words a translation may carry beside its own script: codes and names that stay as they
# are (the time scale, traffic-light protocol, CAP, the INES scale, product names, the
# PARTY:SEQ reference form, party codes, ISO 8601, (Geo)JSON, the identifiers officers search by
# (CVE, CVSS, STIX, CAS, IMO, MMSI, ICAO) and the h and d of a +DURATION
# such as +1d12h, typed as they are). Any other Latin word is English left behind.
LATIN_TERMS = frozenset(
    {
        "UTC",
        "TLP",
        "CAP",
        "INES",
        "IoC",
        "Parley",
        "Natural",
        "Earth",
        "PARTY",
        "SEQ",
        "JP",
        "KR",
        "CN",
        "RU",
        "US",
        "ISO",
        "JSON",
        "GeoJSON",
        "CVE",
        "CVSS",
        "STIX",
        "CAS",
        "IMO",
        "MMSI",
        "ICAO",
        "h",
        "d",
    }
)

KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN_WORD = re.compile(r"[A-Za-z]+")
# Traditional forms that Simplified Chinese (zh-Hans) writes otherwise.
TRADITIONAL = re.compile("[這們報時確認發區務應災無資訊號後開關過電網絡續]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")

# Per language: (name of the script, a pattern it must match, patterns it must not match).
SCRIPTS: dict[str, tuple[str, re.Pattern[str], tuple[re.Pattern[str], ...]]] = {
    "ja": (
        "Kana or CJK ideographs",
        re.compile(f"{KANA.pattern}|{CJK.pattern}"),
        (HANGUL, CYRILLIC),
    ),
    "ko": ("Hangul", HANGUL, (KANA, CYRILLIC)),
    "zh": ("CJK ideographs", CJK, (KANA, HANGUL, CYRILLIC, TRADITIONAL)),
    "ru": ("Cyrillic", CYRILLIC, (KANA, HANGUL, CJK)),
}


def po_path(lang: str, locale: Path = i18n.LOCALE) -> Path:
    return locale / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def load(path: Path, lang: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


@functools.cache
def expected_ids() -> frozenset[str]:
    """Every message id of the pages, as ``tools/catalogues.py`` writes them."""
    return frozenset(str(message.id) for message in i18n.template_catalogue() if message.id)


def script_problem(lang: str, msgid: str, text: str) -> str | None:
    """What is wrong with ``text`` as the ``lang`` translation of ``msgid``, or None."""
    if msgid in AS_IS:
        return None
    if text == msgid:
        return "left in English"
    name, required, forbidden = SCRIPTS[lang]
    if not required.search(text):
        return f"not in {name}: {text!r}"
    for pattern in forbidden:
        found = pattern.search(text)
        if found:
            return f"holds {found.group(0)!r}, not of this language's script: {text!r}"
    english = [word for word in LATIN_WORD.findall(text) if word not in LATIN_TERMS]
    if english:
        return f"holds Latin words {english} (English left, or a code missing from LATIN_TERMS)"
    if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(msgid)):
        return f"placeholders differ from the message id: {text!r}"
    return None


def problems(lang: str, catalogue: Catalog, expected: frozenset[str]) -> list[str]:
    """Each problem of ``catalogue`` as ``lang: 'msgid': what``; empty when it is all right."""
    found: list[str] = []
    present: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue  # the header
        msgid = str(message.id)
        present.add(msgid)
        where = f"{lang}: {msgid!r}"
        if msgid not in expected:
            found.append(f"{where}: stale (no template or module has it); run tools/catalogues.py")
            continue
        if message.fuzzy:
            found.append(f"{where}: fuzzy")
        text = message.string if isinstance(message.string, str) else ""
        if not text:
            found.append(f"{where}: empty (untranslated)")
            continue
        problem = script_problem(lang, msgid, text)
        if problem:
            found.append(f"{where}: {problem}")
    for obsolete in catalogue.obsolete:
        found.append(f"{lang}: {obsolete!r}: obsolete entry (#~) left in the file")
    for msgid in sorted(expected - present):
        found.append(f"{lang}: {msgid!r}: missing; run tools/catalogues.py and translate it")
    return found


def compiled_mismatches(lang: str, catalogue: Catalog, compiled: NullTranslations) -> list[str]:
    """Messages whose compiled translation is not the ``.po``'s, as ``lang: 'msgid': what``."""
    found: list[str] = []
    for message in catalogue:
        if not message.id or not isinstance(message.string, str):
            continue
        got = compiled.gettext(str(message.id))
        if got != message.string:
            found.append(f"{lang}: {message.id!r}: compiled {got!r}, .po says {message.string!r}")
    return found


def compile_catalogue(catalogue: Catalog) -> Translations:
    """``catalogue`` compiled in memory, as ``pybabel compile`` would (fuzzy entries left out)."""
    out = io.BytesIO()
    write_mo(out, catalogue)
    out.seek(0)
    return Translations(out, domain=i18n.DOMAIN)


def report(found: list[str]) -> str:
    return f"{len(found)} problem(s):\n" + "\n".join(found)


# --- the real catalogues --------------------------------------------------------------------


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalogue_translates_every_message_in_its_script(lang: str) -> None:
    found = problems(lang, load(po_path(lang), lang), expected_ids())
    assert not found, report(found)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalogue_compiles_to_what_it_says(lang: str) -> None:
    catalogue = load(po_path(lang), lang)
    found = compiled_mismatches(lang, catalogue, compile_catalogue(catalogue))
    assert not found, report(found)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_pages_read_the_compiled_catalogue_of_the_po(lang: str) -> None:
    catalogue = load(po_path(lang), lang)
    found = compiled_mismatches(lang, catalogue, i18n.translations(lang))
    assert not found, report(found) + "\n(a stale .mo: run 'make catalogues')"
    sample = ("Dashboard", "Acknowledge", "Severe", "duty-officer", "overdue by")
    for msgid in sample:
        assert i18n.translations(lang).gettext(msgid) not in ("", msgid), f"{lang}: {msgid!r}"


def test_the_allowlists_are_short_and_name_real_messages() -> None:
    assert expected_ids() >= AS_IS
    assert len(AS_IS) <= 3
    assert len(LATIN_TERMS) <= 30


# --- the checks fail on broken catalogues ---------------------------------------------------


def test_a_broken_copy_of_a_real_catalogue_fails_naming_language_and_message(
    tmp_path: Path,
) -> None:
    locale = tmp_path / "locale"
    copy = po_path("ja", locale)
    copy.parent.mkdir(parents=True)
    shutil.copyfile(po_path("ja"), copy)
    catalogue = load(copy, "ja")
    assert problems("ja", catalogue, expected_ids()) == []

    catalogue["Dashboard"].string = "Dashboard"
    catalogue["Severe"].flags.add("fuzzy")
    catalogue["Save"].string = ""
    catalogue["Settings"].string = "설정"
    catalogue["Language"].string = "言語 Language"
    catalogue.delete("Log out")
    catalogue.add("Gone from the templates", "消えた")
    with copy.open("wb") as out:
        write_po(out, catalogue, width=100)
    found = problems("ja", load(copy, "ja"), expected_ids())

    assert "ja: 'Dashboard': left in English" in found
    assert "ja: 'Severe': fuzzy" in found
    assert "ja: 'Save': empty (untranslated)" in found
    assert any(p.startswith("ja: 'Settings': not in Kana or CJK") for p in found)
    assert any(p.startswith("ja: 'Language': holds Latin words ['Language']") for p in found)
    assert "ja: 'Log out': missing; run tools/catalogues.py and translate it" in found
    assert any(p.startswith("ja: 'Gone from the templates': stale") for p in found)
    assert len(found) == 7, found

    before = compile_catalogue(load(po_path("ja"), "ja"))  # a .mo older than the broken .po
    mismatches = compiled_mismatches("ja", load(copy, "ja"), before)
    assert any(m.startswith("ja: 'Dashboard': compiled 'ダッシュボード'") for m in mismatches)


@pytest.mark.parametrize(
    ("lang", "msgid", "text", "problem"),
    [
        ("ja", "Flood", "Flood", "left in English"),
        ("ja", "Flood", "홍수", "not in Kana or CJK ideographs"),
        ("ja", "Flood", "洪水 наводнение", "holds 'н'"),
        ("ko", "Flood", "洪水", "not in Hangul"),
        ("ko", "Flood", "홍수（こうずい）", "holds 'こ'"),
        ("zh", "Flood", "こうずい", "not in CJK ideographs"),
        ("zh", "Flood", "洪水と", "holds 'と'"),
        ("zh", "Flood", "洪水홍수", "holds '홍'"),
        ("zh", "Time zone", "時区", "holds '時'"),
        ("ru", "Flood", "Flood", "left in English"),
        ("ru", "Flood", "洪水", "not in Cyrillic"),
        ("ru", "Flood", "Наводнение (flood)", "holds Latin words ['flood']"),
        ("ru", "Due in %(n)s min", "Срок через мин", "placeholders differ"),
    ],
)
def test_the_script_check_fails_a_bad_translation(
    lang: str, msgid: str, text: str, problem: str
) -> None:
    found = script_problem(lang, msgid, text)
    assert found is not None and found.startswith(problem), found


@pytest.mark.parametrize(
    ("lang", "msgid", "text"),
    [
        ("ja", "UTC", "UTC"),
        ("ru", "Flood", "Наводнение"),
        ("ru", "s", "с"),
        ("zh", "Audience", "全体参与方 · TLP"),
        (
            "ko",
            "This is not a reference (PARTY:SEQ, e.g. JP:42):",
            "참조가 아닙니다(PARTY:SEQ, 예: JP:42):",
        ),
    ],
)
def test_the_script_check_passes_codes_beside_the_script(lang: str, msgid: str, text: str) -> None:
    assert script_problem(lang, msgid, text) is None
