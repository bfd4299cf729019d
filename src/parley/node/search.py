"""Full-text search over what this node holds, in en, ja, ko, zh and ru, on both engines.

What a term is, and how a candidate is confirmed, is ``parley.formats.textsearch`` (words,
CJK unigrams and bigrams); the postings are ``parley.store.search``. This service decides
what is indexed and who sees what:

* **What is indexed.** Entries whose body this node holds and may read (``readable_by`` this
  party), of the kinds in ``SEARCHABLE_KINDS``: a notification's headline, description and
  instruction in every info block; a hotline message's free text, the sender's signed
  rendering of its phrase and, when this node's phrase catalogue is the sender's, the phrase
  rendered in each catalogue language (so a Russian message's phrase is found in Japanese); an
  inquiry's question; a reply's text; an assistance entry's text and resources; a roadmap's
  title, steps and text. An entry stored header-only is never indexed; one whose body is
  pending is indexed when the body comes (``search_pending``).
* **When.** ``index_new`` indexes the entries past the cursor, a page per call, in the
  caller's write transaction. The runtime's ``SearchIndex`` job calls it every half second;
  ``search`` itself first catches up in short write transactions (``catch_up``, at most
  ``CATCH_UP_PAGES`` pages) when the cursor is behind, so a query right after an append finds
  it, whichever process appended. A store far behind (just migrated: some 1,000 entries a
  second are indexed on SQLite) is the job's to catch up; meanwhile a page says ``behind``.
  Indexing commits without its own flush to disk (``durable=False``): the postings are derived
  data, and a commit lost to a power cut loses the cursor's move with them.
* **Who sees what.** ``search`` returns only entries whose body this node still holds (the
  SQL checks the ``entries`` row, so an erased body is never shown from the index) and that
  this party may read, whose TLP is in the caller's ``clearance`` (the TLP labels the
  officer's role may read; the edge maps roles to labels) and whose kind is asked for.
* **Order and paging.** Newest first by the local ingest sequence. A page ends with
  ``cursor``, opaque, to pass as ``after_cursor`` for the next page; None when nothing is
  left. Each page confirms at most ``SCAN_BUDGET`` candidates, so a page can be short and still
  carry a cursor: follow it until it is None. Every hit is on exactly one page.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core.entry import ALL, TLP_LABELS, Body, format_ref, readable_by
from parley.core.errors import InvalidEntryError, ParleyError
from parley.formats import phrases
from parley.formats.textsearch import MAX_INDEXED_CHARS, Query, index_terms, parse_query, snippet
from parley.node.node import Node
from parley.store import search as rows
from parley.store.engine import Writing
from parley.store.entries import EntryFlag

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "SEARCHABLE_KINDS",
    "Hit",
    "SearchPage",
    "catch_up",
    "entry_text",
    "index_new",
    "search",
]

SEARCHABLE_KINDS = ("notification", "hotline", "inquiry", "reply", "assistance", "roadmap")
INDEX_PAGE = 500
CATCH_UP_PAGES = 2  # a search indexes at most this many pages first; the job does the rest
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
COUNT_BOUND = 5000  # postings counted per term to find the rarest
COUNTED_TERMS = 16  # terms of a query whose postings are counted
SQL_TERMS = 6  # the rarest terms intersected in SQL; the text confirms the others
SCAN_BUDGET = 2000  # candidates confirmed per page at most
_CURSOR_TAG = b"s1"

log = logging.getLogger("parley.search")


@dataclass(frozen=True)
class Hit:
    """One entry that matches a query, as a result list shows it."""

    ref: str
    kind: str
    author: str
    status: str
    tlp: str
    time: int
    snippet: str
    cursor: str  # where a page that ends with this hit goes on

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the hit."""
        return {
            "ref": self.ref,
            "kind": self.kind,
            "author": self.author,
            "status": self.status,
            "tlp": self.tlp,
            "time": self.time,
            "snippet": self.snippet,
            "cursor": self.cursor,
        }


@dataclass(frozen=True)
class SearchPage:
    """A page of hits, newest first; ``cursor`` goes on (None: nothing left)."""

    query: str
    hits: list[Hit]
    cursor: str | None
    behind: bool  # entries not yet indexed exist: the index job is still catching up

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the page."""
        return {
            "query": self.query,
            "hits": [hit.to_dict() for hit in self.hits],
            "cursor": self.cursor,
            "behind": self.behind,
        }


# What is indexed ---------------------------------------------------------------------------


def _strings(*values: Any) -> Iterator[str]:
    for value in values:
        if isinstance(value, str) and value:
            yield value


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _phrase_texts(body: dict[str, Any]) -> Iterator[str]:
    """A hotline phrase in every language of this node's catalogue, if it is the sender's."""
    code, params = body.get("phrase"), body.get("params")
    catalogue = phrases.catalogue()
    if not isinstance(code, str) or body.get("catalogue") != catalogue.hash:
        return
    params = {k: v for k, v in params.items() if isinstance(v, str)} if params else {}
    for lang in phrases.LANGUAGES:
        with contextlib.suppress(ParleyError):
            yield catalogue.render(code, params, lang)


def _texts(kind: str, body: dict[str, Any]) -> Iterator[str]:
    if kind == "notification":
        for info in _dicts(body.get("info")):
            yield from _strings(info.get("headline"), info.get("description"))
            yield from _strings(info.get("instruction"))
    elif kind == "hotline":
        rendering = body.get("rendering")
        yield from _strings(body.get("text"))
        yield from _strings(rendering.get("text") if isinstance(rendering, dict) else None)
        yield from _phrase_texts(body)
    elif kind == "inquiry":
        yield from _strings(body.get("question"))
    elif kind in ("reply", "assistance", "roadmap"):
        yield from _strings(body.get("title"), body.get("text"))
        for item in _dicts(body.get("resources")) + _dicts(body.get("steps")):
            yield from _strings(item.get("kind"), item.get("description"), item.get("title"))


def entry_text(kind: str, body: Any) -> str:
    """The searchable text of a body of ``kind``: its fields one per line, de-duplicated.

    Read leniently (a peer may write a later version of a schema); at most
    ``MAX_INDEXED_CHARS`` characters, without NUL (which PostgreSQL's text refuses).
    """
    if not isinstance(body, dict) or kind not in SEARCHABLE_KINDS:
        return ""
    texts = dict.fromkeys(text.replace("\x00", " ").strip() for text in _texts(kind, body))
    return "\n".join(text for text in texts if text)[:MAX_INDEXED_CHARS]


def _audience(stored: str) -> str | tuple[str, ...]:
    return ALL if stored == ALL else tuple(stored.split(","))


def _readable(node: Node, party: str, audience: str, tlp: str) -> bool:
    return readable_by(node.party, author=party, audience=_audience(audience), tlp=tlp)


def _document(node: Node, entry: rows.Unindexed) -> rows.Document | None:
    """What to store of a held, readable entry; None for one with nothing to index."""
    if entry.body is None or entry.salt is None or entry.kind not in SEARCHABLE_KINDS:
        return None
    if not _readable(node, entry.party, entry.audience, entry.tlp):
        return None
    try:
        text = entry_text(entry.kind, Body(entry.salt, entry.body).value())
    except ParleyError:
        log.warning("entry at ingest %d: its body is not canonical JSON; not indexed", entry.ingest)
        return None
    return rows.Document(entry.ingest, text, index_terms(text)) if text else None


def index_new(node: Node, tx: Writing, page: int = INDEX_PAGE) -> int:
    """Index the next ``page`` entries past the cursor, and pending entries whose body came.

    Runs in the caller's write transaction ``tx``; returns how many entries it indexed.
    """
    settled = rows.pending_settled(tx, page)
    fresh = rows.entries_after(tx, rows.cursor(tx), page)
    documents = [doc for entry in settled + fresh if (doc := _document(node, entry)) is not None]
    waiting = [
        entry.ingest
        for entry in fresh
        if entry.body is None and entry.flag == EntryFlag.BODY_PENDING
        if entry.kind in SEARCHABLE_KINDS
    ]
    rows.drop_pending(tx, [entry.ingest for entry in settled])
    rows.add_pending(tx, waiting)
    rows.insert_documents(tx, documents)
    if fresh:
        rows.set_cursor(tx, fresh[-1].ingest)
    return len(documents)


def catch_up(node: Node, pages: int = CATCH_UP_PAGES) -> bool:
    """Index what is behind the cursor in short write transactions; whether some is left."""
    with node.store.read() as conn:
        if not rows.behind(conn):
            return False
    for _ in range(pages):
        with node.store.write(durable=False) as tx:
            index_new(node, tx)
            left = rows.behind(tx)
        if not left:
            return False
    return True


# Searching ---------------------------------------------------------------------------------


def _encode_cursor(ingest: int) -> str:
    raw = _CURSOR_TAG + ingest.to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != len(_CURSOR_TAG) + 8 or not raw.startswith(_CURSOR_TAG):
        raise InvalidEntryError(
            f"after_cursor: {cursor!r} is not a search cursor",
            hint="pass the cursor of the previous page as it came",
        )
    return int.from_bytes(raw[len(_CURSOR_TAG) :], "big")


def _check(clearance: frozenset[str], kinds: tuple[str, ...], limit: int) -> None:
    unknown = sorted(set(clearance) - set(TLP_LABELS))
    if unknown:
        raise InvalidEntryError(
            f"clearance: {', '.join(unknown)} is not a TLP 2.0 label",
            hint=f"labels are {', '.join(TLP_LABELS)}",
        )
    strange = sorted(set(kinds) - set(SEARCHABLE_KINDS))
    if strange or not kinds:
        raise InvalidEntryError(
            f"kinds: {', '.join(strange) or 'none given'}: not a searchable kind",
            hint=f"searchable kinds are {', '.join(SEARCHABLE_KINDS)}",
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidEntryError(f"limit: {limit}; between 1 and {MAX_LIMIT}")


def search(
    node: Node,
    query: str,
    *,
    clearance: frozenset[str],
    kinds: tuple[str, ...] | None = None,
    after_cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SearchPage:
    """The entries this node holds that match ``query``, newest first, a page at a time.

    ``clearance`` is the set of TLP labels the caller may read (e.g. CLEAR and GREEN for an
    observer); ``kinds`` narrows the kinds (default: every searchable kind); ``after_cursor``
    is the ``cursor`` of the previous page. Bad input raises ``InvalidEntryError``.
    """
    parsed = parse_query(query)
    wanted = SEARCHABLE_KINDS if kinds is None else tuple(kinds)
    _check(clearance, wanted, limit)
    before = None if after_cursor is None else _decode_cursor(after_cursor)
    behind = catch_up(node)
    if not clearance:
        return SearchPage(query, [], None, behind)
    with node.store.read() as conn:
        counts = rows.term_counts(conn, parsed.terms()[:COUNTED_TERMS], COUNT_BOUND)
        if 0 in counts.values():
            return SearchPage(query, [], None, behind)
        terms = sorted(counts, key=counts.__getitem__)[:SQL_TERMS]
        hits, cursor = _page(node, conn, parsed, terms, sorted(clearance), wanted, before, limit)
    return SearchPage(query, hits, cursor, behind)


def _page(
    node: Node,
    conn: Connection,
    query: Query,
    terms: list[str],
    tlps: list[str],
    kinds: tuple[str, ...],
    before: int | None,
    limit: int,
) -> tuple[list[Hit], str | None]:
    """Walk the postings newest first until ``limit`` hits, the end, or the scan budget."""
    hits: list[Hit] = []
    walked, batch = 0, limit + 8
    while walked < SCAN_BUDGET:
        ingests = rows.walk(conn, terms, before=before, limit=batch)
        done = len(ingests) < batch  # the postings end here
        for candidate in rows.candidates(conn, ingests, tlps=tlps, kinds=kinds):
            if not _readable(node, candidate.party, candidate.audience, candidate.tlp):
                continue
            if query.matches(candidate.text):
                hits.append(_hit(candidate, query))
                if len(hits) == limit:
                    last = done and candidate.ingest == ingests[-1]
                    return hits, None if last else hits[-1].cursor
        if done:
            return hits, None
        walked, before = walked + len(ingests), ingests[-1]
        batch = min(batch * 4, SCAN_BUDGET)
    return hits, None if before is None else _encode_cursor(before)


def _hit(candidate: rows.Candidate, query: Query) -> Hit:
    return Hit(
        ref=format_ref(candidate.party, candidate.seq),
        kind=candidate.kind,
        author=candidate.party,
        status=candidate.status,
        tlp=candidate.tlp,
        time=candidate.time,
        snippet=snippet(candidate.text, query),
        cursor=_encode_cursor(candidate.ingest),
    )
