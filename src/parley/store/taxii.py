"""The TAXII 2.1 tables: the object index, collections and write statuses (``parley.node.taxii``).

Every listing is a keyset range of the local object sequence ``seq`` within one collection
(``seq > after ORDER BY seq LIMIT n``, on the index ``(collection, seq)``), so the last page of
a large collection costs what the first does; ``added_after`` is turned into such a bound first
(``first_seq_added_after``), since ``date_added`` grows strictly with ``seq``. Version filters
(TAXII 2.1 s3.4.2: ``first``, ``last``) are correlated lookups on ``(collection, stix_id,
version)`` among the rows the reader may read, so a version the reader may not see never hides
one it may.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from parley.store.engine import Writing
from parley.store.schema import entries, meta, taxii_collections, taxii_objects, taxii_status

BACKFILL_KEY = "taxii.backfill"  # "after,through": entries stored before migration 0013


@dataclass(frozen=True)
class ObjectRow:
    """One indexed STIX object: where it is in the sequence, when it came, and its JSON."""

    seq: int
    date_added: int
    stix_id: str
    version: int
    spec_version: str
    object: bytes


@dataclass(frozen=True)
class ObjectQuery:
    """What one listing asks for; ``tlps`` are the labels the reader may read."""

    collection: str
    tlps: tuple[str, ...]
    after: int = -1
    limit: int = 100
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()
    first: bool = False
    last: bool = False
    every: bool = True
    exact: tuple[int, ...] = ()


def last_position(conn: Connection) -> tuple[int, int]:
    """The highest object sequence and ``date_added`` stored ((-1, -1) when none)."""
    row = conn.execute(select(func.max(taxii_objects.c.seq), func.max(taxii_objects.c.date_added)))
    seq, added = row.one()
    return (-1 if seq is None else int(seq), -1 if added is None else int(added))


def versions_present(
    conn: Connection, collection: str, keys: Sequence[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Which (id, version) pairs of ``keys`` the collection already holds."""
    c = taxii_objects.c
    found: set[tuple[str, int]] = set()
    ids = sorted({key[0] for key in keys})
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(c.stix_id, c.version).where(
                c.collection == collection, c.stix_id.in_(ids[start : start + 500])
            )
        )
        found.update((row.stix_id, int(row.version)) for row in rows)
    return found & set(keys)


def insert_objects(tx: Writing, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert index rows, all with the same columns."""
    if rows:
        tx.execute(insert(taxii_objects), list(rows))


def collection_ids(conn: Connection) -> set[str]:
    """The ids of every collection known here."""
    return {str(row.id) for row in conn.execute(select(taxii_collections.c.id))}


def insert_collection(tx: Writing, ident: str, audience: str, status: str, now: int) -> None:
    """Name a new (audience, status) collection."""
    tx.execute(
        insert(taxii_collections).values(id=ident, audience=audience, status=status, created=now)
    )


def collections(conn: Connection) -> list[tuple[str, str, str]]:
    """Every collection known here: (id, audience, status), oldest first."""
    c = taxii_collections.c
    rows = conn.execute(select(c.id, c.audience, c.status).order_by(c.created, c.id))
    return [(str(r.id), str(r.audience), str(r.status)) for r in rows]


def collection(conn: Connection, ident: str) -> tuple[str, str] | None:
    """(audience, status) of the collection ``ident``, or None if none is held here."""
    c = taxii_collections.c
    row = conn.execute(select(c.audience, c.status).where(c.id == ident)).first()
    return None if row is None else (str(row.audience), str(row.status))


def readable_in(conn: Connection, collection: str, tlps: Sequence[str]) -> bool:
    """Whether the collection holds any object marked with one of ``tlps``."""
    c = taxii_objects.c
    found = conn.execute(
        select(c.seq).where(c.collection == collection, c.tlp.in_(list(tlps))).limit(1)
    ).first()
    return found is not None


def first_seq_added_after(conn: Connection, added_after: int) -> int:
    """The bound ``after`` that keeps exactly the objects added after ``added_after``."""
    c = taxii_objects.c
    seq = conn.execute(select(func.min(c.seq)).where(c.date_added > added_after)).scalar()
    if seq is None:
        return last_position(conn)[0]
    return int(seq) - 1


def _version_filter(query: ObjectQuery) -> ColumnElement[bool] | None:
    if query.every:
        return None
    o = taxii_objects.alias("other")
    c = taxii_objects.c
    same = and_(
        o.c.collection == c.collection,
        o.c.stix_id == c.stix_id,
        o.c.tlp.in_(list(query.tlps)),
    )
    wanted: list[ColumnElement[bool]] = []
    if query.last:
        newer = or_(o.c.version > c.version, and_(o.c.version == c.version, o.c.seq > c.seq))
        wanted.append(~exists().where(same, newer))
    if query.first:
        older = or_(o.c.version < c.version, and_(o.c.version == c.version, o.c.seq < c.seq))
        wanted.append(~exists().where(same, older))
    if query.exact:
        wanted.append(c.version.in_(list(query.exact)))
    return or_(*wanted)


def objects_page(conn: Connection, query: ObjectQuery) -> list[ObjectRow]:
    """Up to ``limit + 1`` objects after ``after`` in sequence order (one more tells ``more``)."""
    c = taxii_objects.c
    where: list[ColumnElement[bool]] = [
        c.collection == query.collection,
        c.seq > query.after,
        c.tlp.in_(list(query.tlps)),
    ]
    if query.ids:
        where.append(c.stix_id.in_(list(query.ids)))
    if query.types:
        where.append(c.type.in_(list(query.types)))
    if query.spec_versions:
        where.append(c.spec_version.in_(list(query.spec_versions)))
    versions = _version_filter(query)
    if versions is not None:
        where.append(versions)
    statement = (
        select(c.seq, c.date_added, c.stix_id, c.version, c.spec_version, c.object)
        .where(*where)
        .order_by(c.seq)
        .limit(query.limit + 1)
    )
    return [
        ObjectRow(
            int(r.seq), int(r.date_added), r.stix_id, int(r.version), r.spec_version, r.object
        )
        for r in conn.execute(statement)
    ]


def insert_status(tx: Writing, ident: str, officer: str, now: int, resource: str) -> None:
    """Keep the status resource of one TAXII write."""
    tx.execute(
        insert(taxii_status).values(id=ident, officer=officer, created=now, resource=resource)
    )


def status_of(conn: Connection, ident: str) -> tuple[str, str] | None:
    """(officer, resource) of the status ``ident``, or None."""
    c = taxii_status.c
    row = conn.execute(select(c.officer, c.resource).where(c.id == ident)).first()
    return None if row is None else (str(row.officer), str(row.resource))


def backfill_state(conn: Connection) -> tuple[int, int] | None:
    """(after, through): the ingest range still to index after migration 0013, or None."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == BACKFILL_KEY)).scalar()
    if value is None:
        return None
    after, _, through = str(value).partition(",")
    return int(after), int(through)


def set_backfill_state(tx: Writing, state: tuple[int, int] | None) -> None:
    """Move the backfill on (``state``), or end it (None)."""
    if state is None:
        tx.execute(delete(meta).where(meta.c.key == BACKFILL_KEY))
        return
    value = f"{state[0]},{state[1]}"
    moved = tx.execute(update(meta).where(meta.c.key == BACKFILL_KEY).values(value=value))
    if moved.rowcount == 0:
        tx.execute(insert(meta).values(key=BACKFILL_KEY, value=value))


def held_notifications(
    conn: Connection, after: int, through: int, limit: int
) -> list[dict[str, Any]]:
    """Notification rows with a body, ``after < ingest <= through``, in ingest order."""
    c = entries.c
    statement = (
        select(c.ingest, c.party, c.seq, c.kind, c.status, c.audience, c.tlp, c.body)
        .where(
            c.ingest > after,
            c.ingest <= through,
            c.kind == "notification",
            c.body.is_not(None),
        )
        .order_by(c.ingest)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(statement)]
