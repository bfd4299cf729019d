"""Full-text search terms in en, ja, ko, zh and ru: a text to its index terms, a query to terms.

Pure: no I/O. ``parley.node.search`` stores the terms of each entry's text in a postings table
(``parley.store.search``) and looks a query's terms up there; this module decides what a term
is, and confirms a candidate against its text.

* **Normalisation.** Unicode NFKC, then case folding (``str.casefold``), then NFKC again (case
  folding can leave a string that NFKC would change): full-width Latin, half-width katakana,
  compatibility ideographs and ligatures become their plain forms; ``Ё`` matches ``ё``,
  ``STRASSE`` matches ``straße``.
* **Runs.** The normalised text is cut into runs. A *CJK run* is a maximal run of Han
  (with ``々``, ``〆``, ``〇``), Hiragana, Katakana (with ``ー``) and Hangul characters, scripts
  mixed: Japanese writes kanji and kana without spaces. A *word* is a maximal run of other
  letters, digits and combining marks (Latin, Cyrillic, Greek, ...). Everything else
  (spaces, punctuation, symbols, ``_``, ``・``) separates runs.
* **Index terms.** Every word is a term, whole (at most ``MAX_TERM_CHARS`` characters). No
  stemming and no prefixes: ``землетрясение`` does not find ``землетрясения``, nor ``warn``
  ``warning``. A stemmer would change the terms, so adopting one later means re-indexing
  (the postings are derived data: drop them and reset the cursor). Every character of a CJK
  run is a term (its unigram), and so is every overlapping pair (its bigram): ``東日本`` gives
  ``東``, ``日``, ``本``, ``東日``, ``日本``. A trigram index could never answer the one- and
  two-character words that matter most here (``地震``, ``台风``, ``지진``, ``津波``, ``震``).
* **Queries.** The same normalisation and runs. A query matches a text when every query word
  is a word of the text and every query CJK run occurs in the normalised text as it is. Its
  terms (``Query.terms``): each word; for a one-character CJK run its unigram, for a longer
  run its bigrams. A text holding all of them is a candidate; ``Query.matches`` then confirms
  it on the text: ``日本と本語`` holds both bigrams of ``日本語`` but not the word. A CJK run
  is matched as a substring (``京都`` finds ``東京都``): CJK writes no spaces between words.
* **Limits.** A query has at most ``MAX_QUERY_CHARS`` characters and at least one word or CJK
  character; only the first ``MAX_INDEXED_CHARS`` characters of a text are indexed.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from parley.core.errors import InvalidEntryError

__all__ = [
    "MAX_INDEXED_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_TERM_CHARS",
    "Query",
    "index_terms",
    "normalise",
    "parse_query",
    "runs",
    "snippet",
]

MAX_QUERY_CHARS = 200
MAX_TERM_CHARS = 64
MAX_INDEXED_CHARS = 100_000
SNIPPET_CHARS = 120

# The CJK scripts, as code point ranges of the text after NFKC (which maps half-width kana,
# compatibility jamo and most compatibility ideographs to their ordinary forms).
_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005-\u3007"  # 々 〆 〇
    "\u3021-\u3029\u3031-\u3035\u3038-\u303c"  # Hangzhou numerals, kana repeat marks
    "\u3041-\u309f"  # Hiragana
    "\u30a1-\u30fa\u30fc-\u30ff"  # Katakana (not ゠ or the middle dot ・), with ー
    "\u3130-\u318f"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7af"  # Hangul syllables
    "\ud7b0-\ud7ff"  # Hangul Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U0001b000-\U0001b16f"  # Kana supplement, extended A, small kana
    "\U00020000-\U0002fa1f"  # CJK extensions B to F, compatibility supplement
    "\U00030000-\U000323af"  # CJK extensions G, H
)
# A word: letters and digits (``\w`` without ``_``) that are not CJK, with combining marks.
_WORD_CHAR = f"(?:[^\\W_{_CJK}]|[\u0300-\u036f\u0483-\u0489])"
_RUN = re.compile(f"(?P<cjk>[{_CJK}]+)|(?P<word>{_WORD_CHAR}+)")


def normalise(text: str) -> str:
    """``text`` in the form every term is made from: NFKC, case folded, NFKC again."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def runs(normalised: str) -> Iterator[tuple[str, bool]]:
    """The runs of a normalised text in order: ``(run, True)`` for CJK, ``(word, False)``."""
    for match in _RUN.finditer(normalised):
        cjk = match.group("cjk")
        yield (cjk, True) if cjk is not None else (match.group("word"), False)


def _cjk_terms(run: str) -> Iterator[str]:
    yield from run
    for i in range(len(run) - 1):
        yield run[i : i + 2]


def index_terms(text: str) -> set[str]:
    """The distinct index terms of ``text``: its words, and its CJK unigrams and bigrams."""
    terms: set[str] = set()
    for run, cjk in runs(normalise(text[:MAX_INDEXED_CHARS])):
        if cjk:
            terms.update(_cjk_terms(run))
        else:
            terms.add(run[:MAX_TERM_CHARS])
    return terms


@dataclass(frozen=True)
class Query:
    """A parsed search query: the words and the CJK runs a matching text must hold."""

    text: str
    words: tuple[str, ...]
    cjk: tuple[str, ...]

    def terms(self) -> tuple[str, ...]:
        """The index terms every matching text has, distinct, in query order."""
        found: dict[str, None] = {}
        for word in self.words:
            found[word[:MAX_TERM_CHARS]] = None
        for run in self.cjk:
            if len(run) == 1:
                found[run] = None
            for i in range(len(run) - 1):
                found[run[i : i + 2]] = None
        return tuple(found)

    @functools.cached_property
    def _whole_words(self) -> tuple[re.Pattern[str], ...]:
        """Each query word with no word character either side: a whole word of a text."""
        return tuple(
            re.compile(f"(?<!{_WORD_CHAR}){re.escape(word)}(?!{_WORD_CHAR})") for word in self.words
        )

    def matches(self, text: str) -> bool:
        """Whether ``text`` holds every word of the query and every CJK run as it is."""
        normalised = normalise(text[:MAX_INDEXED_CHARS])
        if not all(run in normalised for run in (*self.cjk, *self.words)):
            return False
        return all(pattern.search(normalised) for pattern in self._whole_words)


def parse_query(text: str) -> Query:
    """Parse what a person typed; refuse an empty query, one too long, or one with no term."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidEntryError(
            "query: empty; type at least one word or character",
            hint=f"at most {MAX_QUERY_CHARS} characters",
        )
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidEntryError(
            f"query: {len(text)} characters; at most {MAX_QUERY_CHARS}",
            hint="search for the few most telling words",
        )
    words: dict[str, None] = {}
    cjk: dict[str, None] = {}
    for run, is_cjk in runs(normalise(text)):
        (cjk if is_cjk else words)[run] = None
    if not words and not cjk:
        raise InvalidEntryError(
            f"query: {text!r} has no letter, digit or CJK character to search for"
        )
    return Query(text, tuple(words), tuple(cjk))


def _mapped(flat: str) -> tuple[str, list[int]]:
    """``flat`` normalised, and where each of its characters starts in the normalised text."""
    normalised = normalise(flat)
    if len(normalised) == len(flat):  # the common case: one character for one (near enough)
        return normalised, list(range(len(flat)))
    starts, pieces, offset = [], [], 0
    for char in flat:  # character by character, so that an offset maps back
        starts.append(offset)
        pieces.append(normalise(char))
        offset += len(pieces[-1])
    return "".join(pieces), starts


def snippet(text: str, query: Query, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first place the query matches.

    Spaces are collapsed; ``…`` marks where the text was cut. Without a match in sight (the
    match is past the indexed part) it is the start of the text.
    """
    flat = " ".join(text.split())
    normalised, starts = _mapped(flat)
    at = min(
        (found for needle in (*query.cjk, *query.words) if (found := normalised.find(needle)) >= 0),
        default=0,
    )
    centre = bisect.bisect_right(starts, at) - 1 if starts else 0
    begin = max(0, min(centre - width // 3, len(flat) - width))
    end = min(len(flat), begin + width)
    cut = flat[begin:end]
    return ("…" if begin > 0 else "") + cut + ("…" if end < len(flat) else "")
