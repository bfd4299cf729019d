"""The hotline phrase catalogue: standard phrases that each side reads in its own language.

A hotline message may carry a phrase code and typed parameters instead of (or beside) free
text. The sender signs the code, the parameters in canonical form, the hash of its catalogue and
its own rendering; the receiver renders the same code and parameters from its own catalogue in
its own language. Both sides read the same facts in their own words, and the signed rendering
shows what the sender saw (docs/hotline.md, docs/protocol.md §7).

The phrases are modelled on the Code for Unplanned Encounters at Sea (CUES, Western Pacific
Naval Symposium, 2014), the IMO Standard Marine Communication Phrases (resolution A.918(22)) and
ICAO radiotelephony practice (Annex 10 Volume II, Doc 9432): short fixed sentences with typed
slots for bearings, distances, speeds, altitudes, times and positions. The wording is Parley's.

The catalogue is two data files of this package, ``phrasebook/catalogue.yaml`` (the phrases,
in en, ja, ko, zh and ru) and ``phrasebook/glossary.yaml`` (unit words around values, group
titles). Its identity is its hash: SHA-256, hex, over the RFC 8785 canonical bytes of
``{"catalogue": <catalogue.yaml>, "glossary": <glossary.yaml>}``. Two nodes whose hashes agree
render every phrase identically.

Parameter values are strings (signed JSON has no floats). ``normalise`` checks each against its
type and returns its canonical form (bearing ``045``, time ``14:05``, decimals without leading
zeros), which is what gets signed; ``render`` puts canonical values into a rendering unchanged,
so every language shows the same digits.

Pure: no clock, no I/O other than reading this package's own data (``importlib.resources``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import yaml

from parley.core.canonical import canonical_bytes
from parley.core.errors import CanonicalizationError
from parley.formats.errors import PhraseError, ValueFormatError
from parley.formats.values import decimal_string

__all__ = [
    "LANGUAGES",
    "PARAM_TYPES",
    "Catalogue",
    "Phrase",
    "PhraseError",
    "catalogue",
    "catalogue_hash",
    "language_for",
    "load_catalogue",
    "normalise",
    "render",
]

LANGUAGES = ("en", "ja", "ko", "zh", "ru")
DATA_FOLDER = "phrasebook"
CATALOGUE_FORMAT = "parley-phrase-catalogue"
GLOSSARY_FORMAT = "parley-phrase-glossary"
CODE_RE = re.compile(r"^[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*$")
PARAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
CODE_MAX = 64
NAME_MAX = 64
# Characters a name may not hold: controls, format characters (bidirectional overrides can make
# a rendering read differently from its bytes), separators other than space, unassigned.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


# --------------------------------------------------------------------------------------------
# Parameter types: each turns an officer's string into its canonical form, or says why not


_DECIMAL_INPUT_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _decimal(text: str, *, low: Decimal, high: Decimal, places: int, unit: str) -> str:
    if not _DECIMAL_INPUT_RE.match(text):
        raise ValueError(f"{text!r} is not a decimal number such as 12.5")
    canonical = decimal_string(text)
    value = Decimal(canonical)
    if not low <= value <= high:
        raise ValueError(f"{canonical} is outside {low}-{high} {unit}")
    fraction = canonical.partition(".")[2]
    if len(fraction) > places:
        raise ValueError(f"{canonical} has more than {places} decimal places")
    return canonical


def _whole(text: str, *, digits: int, high: int, what: str, unit: str = "") -> int:
    """A whole number of at most ``digits`` digits, from 0 to ``high``."""
    if not re.fullmatch(f"[0-9]{{1,{digits}}}", text):
        raise ValueError(f"{text!r} is not {what}")
    number = int(text)
    if number > high:
        raise ValueError(f"{number} is outside 0-{high}{unit}")
    return number


def _bearing(text: str) -> str:
    degrees = _whole(text, digits=3, high=359, what="whole degrees such as 045", unit=" degrees")
    return f"{degrees:03d}"


def _distance(text: str) -> str:
    return _decimal(text, low=Decimal(0), high=Decimal(10000), places=2, unit="nautical miles")


def _speed(text: str) -> str:
    return _decimal(text, low=Decimal(0), high=Decimal(2000), places=1, unit="knots")


ALTITUDE_LIMITS = {"ft": (Decimal(-1500), Decimal(100000)), "m": (Decimal(-500), Decimal(30000))}


def _altitude(text: str) -> str:
    match = re.fullmatch(r"(-?[0-9]+(?:\.[0-9]+)?) ?(ft|m)", text)
    if match is None:
        raise ValueError(f"{text!r} is not an altitude such as 35000ft or 10700m")
    unit = match.group(2)
    low, high = ALTITUDE_LIMITS[unit]
    unit_name = "feet" if unit == "ft" else "metres"
    number = _decimal(match.group(1), low=low, high=high, places=0, unit=unit_name)
    return f"{number} {unit}"


def _time(text: str) -> str:
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTC time HH:MM such as 14:05")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text} is outside 00:00-23:59")
    return f"{hours:02d}:{minutes:02d}"


def _position(text: str) -> str:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not LAT,LON in decimal degrees such as 34.5,129.25")
    try:
        lat = _decimal(parts[0], low=Decimal(-90), high=Decimal(90), places=6, unit="degrees")
        lon = _decimal(parts[1], low=Decimal(-180), high=Decimal(180), places=6, unit="degrees")
    except (ValueError, ValueFormatError) as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return f"{lat},{lon}"


def _name(text: str) -> str:
    name = text.strip()
    if not name:
        raise ValueError("is empty")
    if len(name) > NAME_MAX:
        raise ValueError(f"is {len(name)} characters long, over the limit of {NAME_MAX}")
    for char in name:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise ValueError(f"holds the control or format character U+{ord(char):04X}")
    return name


def _count(text: str) -> str:
    return str(_whole(text, digits=6, high=100000, what="a whole number such as 12"))


def _frequency(text: str) -> str:
    frequency = _decimal(text, low=Decimal(0), high=Decimal(300000), places=4, unit="MHz")
    if Decimal(frequency) == 0:
        raise ValueError("0 is not a frequency")
    return frequency


@dataclass(frozen=True)
class ParamType:
    """A parameter type: what it means, an example, and its canonicalising check."""

    name: str
    doc: str
    example: str
    canonical: Callable[[str], str]


PARAM_TYPES: dict[str, ParamType] = {
    t.name: t
    for t in (
        ParamType("bearing", "bearing, course or heading: whole degrees 0-359", "045", _bearing),
        ParamType("distance", "nautical miles, decimal, 0-10000, 2 places", "5.5", _distance),
        ParamType("speed", "knots, decimal, 0-2000, 1 place", "12", _speed),
        ParamType(
            "altitude",
            "whole feet (-1500-100000) or metres (-500-30000): 35000ft, 10700m",
            "35000ft",
            _altitude,
        ),
        ParamType("time", "UTC time of day HH:MM", "14:05", _time),
        ParamType(
            "position",
            "LAT,LON in decimal degrees (north and east positive), 6 places",
            "34.5,129.25",
            _position,
        ),
        ParamType(
            "name",
            f"name of a vessel, aircraft, unit or station: 1-{NAME_MAX} characters",
            "Kirishima",
            _name,
        ),
        ParamType("count", "whole number 0-100000", "12", _count),
        ParamType(
            "frequency",
            "radio frequency in MHz, decimal, over 0 to 300000, 4 places",
            "156.8",
            _frequency,
        ),
    )
}


# --------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class Phrase:
    """One standard phrase: its code, typed parameters (in order) and renderings by language."""

    code: str
    params: tuple[tuple[str, str], ...]
    texts: Mapping[str, str]

    @property
    def group(self) -> str:
        """The group a phrase belongs to: the part of its code before the first dot."""
        return self.code.split(".", 1)[0]

    @property
    def param_names(self) -> tuple[str, ...]:
        """The phrase's parameter names, in the order it takes them."""
        return tuple(name for name, _type in self.params)


@dataclass(frozen=True)
class Catalogue:
    """A checked catalogue: phrases by code, the glossary, and the hash that names them."""

    phrases: Mapping[str, Phrase]
    groups: Mapping[str, Mapping[str, str]]
    values: Mapping[str, Mapping[str, str]]
    hash: str
    version: int

    @classmethod
    def from_documents(cls, catalogue: Any, glossary: Any) -> Catalogue:
        """Check the two documents (as parsed from YAML) and build the catalogue they define."""
        digest = hashlib.sha256(_canonical({"catalogue": catalogue, "glossary": glossary}))
        groups, values = _check_glossary(glossary)
        if not isinstance(catalogue, dict) or catalogue.get("format") != CATALOGUE_FORMAT:
            raise PhraseError(f"the phrase catalogue is not a {CATALOGUE_FORMAT} document")
        if catalogue.get("languages") != list(LANGUAGES):
            raise PhraseError(f"the phrase catalogue must list the languages {list(LANGUAGES)}")
        phrases: dict[str, Phrase] = {}
        for raw in _list(catalogue.get("phrases"), "phrases"):
            phrase = _check_phrase(raw, groups)
            if phrase.code in phrases:
                raise PhraseError(f"phrase {phrase.code} appears twice in the catalogue")
            phrases[phrase.code] = phrase
        version = catalogue.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise PhraseError("the phrase catalogue needs an integer version")
        return cls(phrases, groups, values, digest.hexdigest(), version)

    def phrase(self, code: str) -> Phrase:
        """Phrase ``code``; ``PhraseError`` with a hint if the catalogue lacks it."""
        phrase = self.phrases.get(code)
        if phrase is None:
            raise PhraseError(
                f"phrase {code!r} is not in the catalogue {self.hash[:16]}",
                hint="'parley hotline phrases' lists the codes",
            )
        return phrase

    def listing(self, group: str | None = None) -> list[Phrase]:
        """The phrases in catalogue order, or those of one group."""
        if group is not None and group not in self.groups:
            raise PhraseError(f"group {group!r} is not one of {', '.join(self.groups)}")
        return [p for p in self.phrases.values() if group is None or p.group == group]

    def group_title(self, group: str, lang: str) -> str:
        """The title of ``group`` in language ``lang``, from the glossary."""
        return self.groups[group][_check_language(lang)]

    def normalise(self, code: str, params: Mapping[str, str]) -> dict[str, str]:
        """Check ``params`` against the phrase's types; return them in canonical form.

        Raises ``PhraseError`` naming the parameter and the limit it breaks, a missing
        parameter, or one the phrase does not take; its ``field`` is ``params.NAME``.
        """
        phrase = self.phrase(code)
        names = phrase.param_names
        unknown = sorted(set(params) - set(names))
        if unknown:
            takes = ", ".join(names) if names else "none"
            raise PhraseError(
                f"phrase {code} takes no parameter {unknown[0]!r} (it takes: {takes})",
                field=f"params.{unknown[0]}",
            )
        canonical: dict[str, str] = {}
        for name, type_name in phrase.params:
            kind = PARAM_TYPES[type_name]
            if name not in params:
                raise PhraseError(
                    f"phrase {code} needs parameter {name!r} ({kind.doc})",
                    hint=f"for example --param {name}={kind.example}",
                    field=f"params.{name}",
                )
            value = params[name]
            if not isinstance(value, str):
                raise PhraseError(
                    f"parameter {name!r} ({type_name}): must be a string", field=f"params.{name}"
                )
            try:
                canonical[name] = kind.canonical(value)
            except (ValueError, ValueFormatError) as exc:
                raise PhraseError(
                    f"parameter {name!r} ({type_name}): {exc}",
                    hint=f"{type_name}: {kind.doc}",
                    field=f"params.{name}",
                ) from None
        return canonical

    def render(self, code: str, params: Mapping[str, str], lang: str) -> str:
        """The phrase in ``lang`` with its parameters checked and put in their words."""
        template = self.phrase(code).texts[_check_language(lang)]
        values = self.normalise(code, params)
        types = dict(self.phrase(code).params)
        words = {name: self._value(types[name], value, lang) for name, value in values.items()}
        return PLACEHOLDER_RE.sub(lambda m: words[m.group(1)], template)

    def _value(self, type_name: str, value: str, lang: str) -> str:
        if type_name == "position":
            lat, lon = value.split(",")
            north = "south" if lat.startswith("-") else "north"
            east = "west" if lon.startswith("-") else "east"
            return _fill(
                self.values["position"][lang],
                {
                    "latitude": _fill(self.values[north][lang], {"value": lat.lstrip("-")}),
                    "longitude": _fill(self.values[east][lang], {"value": lon.lstrip("-")}),
                },
            )
        if type_name == "altitude":
            number, unit = value.split(" ")
            return _fill(self.values[f"altitude-{unit}"][lang], {"value": number})
        return _fill(self.values[type_name][lang], {"value": value})


def _fill(template: str, words: Mapping[str, str]) -> str:
    return PLACEHOLDER_RE.sub(lambda m: words[m.group(1)], template)


def _canonical(value: Any) -> bytes:
    try:
        return canonical_bytes(value)
    except CanonicalizationError as exc:
        raise PhraseError(f"the phrase catalogue leaves the signed-JSON subset: {exc}") from exc


def _check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise PhraseError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return lang


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise PhraseError(f"the phrase catalogue's {what} must be a list")
    return value


def _by_language(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or sorted(value) != sorted(LANGUAGES):
        raise PhraseError(f"{what} needs exactly one text in each of {', '.join(LANGUAGES)}")
    for lang, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise PhraseError(f"{what} in {lang} is empty or not text")
    return {lang: value[lang] for lang in LANGUAGES}


def _check_glossary(glossary: Any) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    if not isinstance(glossary, dict) or glossary.get("format") != GLOSSARY_FORMAT:
        raise PhraseError(f"the phrase glossary is not a {GLOSSARY_FORMAT} document")
    groups = {
        name: _by_language(titles, f"group {name}")
        for name, titles in dict(glossary.get("groups") or {}).items()
    }
    values = {
        name: _by_language(words, f"value {name}")
        for name, words in dict(glossary.get("values") or {}).items()
    }
    needed = {*PARAM_TYPES, "north", "south", "east", "west"} - {"altitude"}
    needed |= {f"altitude-{unit}" for unit in ALTITUDE_LIMITS}
    missing = sorted(needed - set(values))
    if missing:
        raise PhraseError(f"the phrase glossary has no words for {', '.join(missing)}")
    return groups, values


def _check_phrase(raw: Any, groups: Mapping[str, Any]) -> Phrase:
    if not isinstance(raw, dict):
        raise PhraseError("every phrase of the catalogue must be a mapping")
    code = raw.get("code")
    if not isinstance(code, str) or len(code) > CODE_MAX or not CODE_RE.match(code):
        raise PhraseError(f"phrase code {code!r} is not GROUP.NAME in lower case")
    if code.split(".", 1)[0] not in groups:
        raise PhraseError(f"phrase {code}: its group has no title in the glossary")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise PhraseError(f"phrase {code}: params must map names to types")
    for name, type_name in params.items():
        if not isinstance(name, str) or not PARAM_RE.match(name):
            raise PhraseError(f"phrase {code}: parameter name {name!r} is not lower_case")
        if type_name not in PARAM_TYPES:
            raise PhraseError(f"phrase {code}: parameter {name} has unknown type {type_name!r}")
    texts = _by_language(raw.get("text"), f"phrase {code}")
    for lang, text in texts.items():
        used = PLACEHOLDER_RE.findall(text)
        if sorted(set(used)) != sorted(params) or "{" in PLACEHOLDER_RE.sub("", text):
            raise PhraseError(
                f"phrase {code} in {lang}: placeholders {sorted(set(used))} "
                f"differ from its parameters {sorted(params)}"
            )
    return Phrase(code, tuple(params.items()), texts)


# --------------------------------------------------------------------------------------------
# This package's catalogue


def _read(name: str) -> Any:
    data = resources.files("parley.formats").joinpath(DATA_FOLDER, name).read_text("utf-8")
    return yaml.safe_load(data)


def load_catalogue() -> Catalogue:
    """Read and check the catalogue shipped in this package (uncached)."""
    return Catalogue.from_documents(_read("catalogue.yaml"), _read("glossary.yaml"))


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue shipped in this package, read once."""
    return load_catalogue()


def catalogue_hash() -> str:
    """Hash of the shipped catalogue, which a hotline body names as ``catalogue``."""
    return catalogue().hash


def normalise(code: str, params: Mapping[str, str]) -> dict[str, str]:
    """Check ``params`` against phrase ``code`` of the shipped catalogue; return canonical ones."""
    return catalogue().normalise(code, params)


def render(code: str, params: Mapping[str, str], lang: str) -> str:
    """Phrase ``code`` with ``params`` in language ``lang`` (en, ja, ko, zh, ru)."""
    return catalogue().render(code, params, lang)


def language_for(tag: str) -> str:
    """The catalogue language for a BCP 47 tag: its primary subtag if catalogued, else en."""
    primary = tag.split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else "en"
