"""The store's queries of full-text search (``parley.node.search``): postings, texts, a cursor.

* **Indexing.** Entries are indexed in ingest order, past a cursor kept in ``meta``
  (``CURSOR_KEY``), as ``parley.store.deadlines`` tracks clocks. An indexed entry has one
  ``search_docs`` row (the text it was indexed with) and one ``search_terms`` row per distinct
  term (``term``, ``ingest``: the primary key, so the postings of a term are one index range
  in ingest order). An entry whose body is still pending waits in ``search_pending``.
* **Looking up.** ``walk`` goes down the postings of one term newest first and keeps the
  entries that also hold every other term given (an ``EXISTS`` probe of the primary key per
  term); ``term_counts`` says which term is the rarest, to walk. ``candidates`` then reads,
  of the entries walked, those whose TLP and kind the caller may read and whose body is still
  held, with their indexed text; the caller confirms each on its text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from parley.store.engine import Writing
from parley.store.entries import EntryFlag
from parley.store.schema import entries, meta, search_docs, search_pending, search_terms

__all__ = [
    "CURSOR_KEY",
    "Candidate",
    "Document",
    "Unindexed",
    "add_pending",
    "behind",
    "candidates",
    "cursor",
    "drop_pending",
    "entries_after",
    "insert_documents",
    "pending_settled",
    "set_cursor",
    "term_counts",
    "walk",
]

CURSOR_KEY = "search.ingest"


@dataclass(frozen=True)
class Unindexed:
    """An entry as indexing reads it: what decides whether and how it is indexed."""

    ingest: int
    party: str
    kind: str
    audience: str  # as stored: "ALL" or "A,B"
    tlp: str
    body: bytes | None
    salt: bytes | None
    flag: str | None


@dataclass(frozen=True)
class Document:
    """What indexing stores of one entry: its text and its distinct terms."""

    ingest: int
    text: str
    terms: Iterable[str]


@dataclass(frozen=True)
class Candidate:
    """An entry holding every term looked up, with what a result shows and the indexed text."""

    ingest: int
    party: str
    seq: int
    kind: str
    status: str
    tlp: str
    audience: str
    time: int
    text: str


_e = entries.c
_UNINDEXED = (_e.ingest, _e.party, _e.kind, _e.audience, _e.tlp, _e.body, _e.salt, _e.flag)


def _unindexed(row: Any) -> Unindexed:
    return Unindexed(
        row.ingest, row.party, row.kind, row.audience, row.tlp, row.body, row.salt, row.flag
    )


# Built once: every search runs these first (building a statement costs more than SQLite).
_CURSOR = select(meta.c.value).where(meta.c.key == CURSOR_KEY)
_NEWER = select(_e.ingest).where(_e.ingest > bindparam("ingest")).limit(1)
_SETTLED = (
    select(*_UNINDEXED)
    .select_from(search_pending.join(entries, _e.ingest == search_pending.c.ingest))
    .where(or_(_e.body.is_not(None), _e.flag.is_(None), _e.flag != EntryFlag.BODY_PENDING))
    .order_by(search_pending.c.ingest)  # walks the (short) waiting list, not the entries
    .limit(bindparam("limit"))
)


def cursor(conn: Connection) -> int:
    """The ingest sequence up to which entries have been indexed (-1 before the first)."""
    value = conn.execute(_CURSOR).scalar()
    return -1 if value is None else int(value)


def set_cursor(tx: Writing, ingest: int) -> None:
    """Move the indexing cursor to ``ingest`` in the caller's transaction ``tx``."""
    moved = tx.execute(update(meta).where(meta.c.key == CURSOR_KEY).values(value=str(ingest)))
    if moved.rowcount == 0:
        tx.execute(insert(meta).values(key=CURSOR_KEY, value=str(ingest)))


def behind(conn: Connection) -> bool:
    """Whether an entry past the cursor, or a pending one now settled, awaits indexing."""
    newer = conn.execute(_NEWER, {"ingest": cursor(conn)}).first()
    return newer is not None or bool(pending_settled(conn, 1))


def entries_after(conn: Connection, ingest: int, limit: int) -> list[Unindexed]:
    """The next ``limit`` entries stored after ``ingest``, in ingest order."""
    rows = conn.execute(
        select(*_UNINDEXED).where(_e.ingest > ingest).order_by(_e.ingest).limit(limit)
    )
    return [_unindexed(row) for row in rows]


def add_pending(tx: Writing, ingests: Sequence[int]) -> None:
    """Remember entries to index once their pending body arrives."""
    if ingests:
        tx.execute(insert(search_pending), [{"ingest": i} for i in ingests])


def pending_settled(conn: Connection, limit: int) -> list[Unindexed]:
    """Waiting entries whose body came, or that will never get one (no longer pending)."""
    return [_unindexed(row) for row in conn.execute(_SETTLED, {"limit": limit})]


def drop_pending(tx: Writing, ingests: Sequence[int]) -> None:
    """Forget waiting entries (indexed now, or never to be)."""
    if ingests:
        tx.execute(delete(search_pending).where(search_pending.c.ingest.in_(list(ingests))))


def insert_documents(tx: Writing, documents: Sequence[Document]) -> int:
    """Store the texts and postings of ``documents`` (not yet indexed); return the postings."""
    if not documents:
        return 0
    docs = [(d.ingest, d.text) for d in documents]
    postings = sorted((term, d.ingest) for d in documents for term in d.terms)  # B-tree order
    _insert_tuples(tx, "search_docs", ("ingest", "text"), docs)
    _insert_tuples(tx, "search_terms", ("term", "ingest"), postings)
    return len(postings)


_TABLES = {"search_docs": search_docs, "search_terms": search_terms}


def _insert_tuples(
    tx: Writing, table: str, columns: tuple[str, str], rows: Sequence[tuple[Any, Any]]
) -> None:
    """Bulk insert: a posting is too small for SQLAlchemy's per-row processing.

    PostgreSQL: ``COPY`` in the caller's transaction (psycopg's ``executemany`` stores some
    40,000 postings a second, ``COPY`` several times that). SQLite: one ``executemany``.
    """
    if not rows:
        return
    if tx.dialect.name == "postgresql":
        cursor: Any = tx.connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql, order = _insert_sql(table, tx.dialect, columns)
    tx.exec_driver_sql(sql, rows if order == columns else [row[::-1] for row in rows])


@functools.lru_cache(maxsize=8)
def _insert_sql(
    table: str, dialect: Dialect, columns: tuple[str, str]
) -> tuple[str, tuple[str, ...] | None]:
    """The INSERT of ``table`` for the dialect, and its parameter order."""
    compiled = insert(_TABLES[table]).compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup
    return compiled.string, None if order is None else tuple(order)


def term_counts(conn: Connection, terms: Sequence[str], bound: int) -> dict[str, int]:
    """How many entries hold each term, counted up to ``bound`` (a cheap rarity estimate)."""
    counts = {}
    for term in terms:
        postings = select(literal(1)).where(search_terms.c.term == term).limit(bound).subquery()
        counts[term] = int(conn.execute(select(func.count()).select_from(postings)).scalar() or 0)
    return counts


def walk(conn: Connection, terms: Sequence[str], *, before: int | None, limit: int) -> list[int]:
    """Up to ``limit`` ingests of indexed entries holding every term, newest first.

    The postings of ``terms[0]`` (best the rarest) are walked down from ``before``; each
    further term is a probe of the primary key per posting walked: a scalar subquery, which
    no planner turns into a join (PostgreSQL merged the postings lists of both terms, reading
    all of a common term's to intersect it with a rare one's). Nothing else is joined here
    either: PostgreSQL scanned ``search_docs`` in ingest order for a term whose frequency it
    overestimated.
    """
    walked = search_terms.alias("walked")
    where = [walked.c.term == terms[0]]
    if before is not None:
        where.append(walked.c.ingest < before)
    for number, term in enumerate(terms[1:]):
        probe = search_terms.alias(f"probe{number}")
        found = select(literal(1)).where(probe.c.term == term, probe.c.ingest == walked.c.ingest)
        where.append(found.scalar_subquery().is_not(None))
    query = select(walked.c.ingest).where(*where).order_by(walked.c.ingest.desc()).limit(limit)
    return [int(ingest) for ingest in conn.execute(query).scalars()]


_CANDIDATES = (
    select(
        _e.ingest,
        _e.party,
        _e.seq,
        _e.kind,
        _e.status,
        _e.tlp,
        _e.audience,
        _e.time,
        search_docs.c.text,
    )
    .select_from(entries.join(search_docs, search_docs.c.ingest == _e.ingest))
    .where(
        _e.ingest.in_(bindparam("ingests", expanding=True)),
        _e.tlp.in_(bindparam("tlps", expanding=True)),
        _e.kind.in_(bindparam("kinds", expanding=True)),
        _e.body.is_not(None),
    )
    .order_by(_e.ingest.desc())
)


def candidates(
    conn: Connection, ingests: Sequence[int], *, tlps: Sequence[str], kinds: Sequence[str]
) -> list[Candidate]:
    """The entries ``ingests`` a caller may see, newest first, with their indexed text.

    Only those of ``kinds``, with a TLP in ``tlps``, whose body this node still holds.
    """
    if not ingests:
        return []
    params = {"ingests": list(ingests), "tlps": list(tlps), "kinds": list(kinds)}
    return [
        Candidate(
            row.ingest,
            row.party,
            row.seq,
            row.kind,
            row.status,
            row.tlp,
            row.audience,
            row.time,
            row.text,
        )
        for row in conn.execute(_CANDIDATES, params)
    ]
