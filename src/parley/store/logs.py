"""Reading and writing logs in the store: entries, subtree hashes, checkpoints, log state.

Everything here takes an open connection; the caller decides the transaction (a write under
the single-writer lock, or a read snapshot). Own and mirrored logs share these functions.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Row,
    Select,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from parley.core.merkle import NodeId
from parley.store.engine import Writing
from parley.store.schema import checkpoints, entries, log_state, node_key, tree_nodes


@dataclass(frozen=True)
class LogState:
    """The head of one log held here (own or mirrored): tree size, root hash, last entry time."""

    party: str
    size: int
    root: bytes
    last_time: int


@dataclass(frozen=True)
class StoredEntry:
    """One row of ``entries``: the leaf, its body and salt if held, and the ingest flag if any."""

    party: str
    seq: int
    ingest: int
    leaf: bytes
    leaf_hash: bytes
    kind: str
    time: int
    body: bytes | None
    salt: bytes | None
    flag: str | None
    audience: str = ""  # as stored: "ALL" or "A,B"
    tlp: str = ""
    status: str = ""


# The statements of the delivery path are built once (a statement built per call costs more
# than SQLite's work); each names its parameters with bindparam.
_STATE = select(log_state).where(log_state.c.party == bindparam("party"))
_STATE_UPDATE = (
    update(log_state)
    .where(log_state.c.party == bindparam("key"))
    .values(size=bindparam("size"), root=bindparam("root"), last_time=bindparam("last_time"))
)
_NEXT_INGEST = select(func.max(entries.c.ingest))
_NODES = select(tree_nodes.c.node_id, tree_nodes.c.hash).where(
    tree_nodes.c.party == bindparam("party"),
    tree_nodes.c.node_id.in_(bindparam("ids", expanding=True)),
)
_CHECKPOINT_INSERT = insert(checkpoints)
_LATEST_CHECKPOINT = (
    select(checkpoints.c.size, checkpoints.c.note)
    .where(checkpoints.c.party == bindparam("party"))
    .order_by(checkpoints.c.size.desc())
    .limit(1)
)
_CHECKPOINT_AT = select(checkpoints.c.note).where(
    checkpoints.c.party == bindparam("party"), checkpoints.c.size == bindparam("size")
)


def get_state(conn: Connection, party: str) -> LogState | None:
    """The head of ``party``'s log, or None if this node holds no entry of it."""
    row = conn.execute(_STATE, {"party": party}).first()
    return None if row is None else LogState(row.party, row.size, row.root, row.last_time)


def held_logs(conn: Connection) -> dict[str, tuple[int, bytes]]:
    """Every log held here (own and mirrored): party -> (tree size, root hash)."""
    rows = conn.execute(select(log_state.c.party, log_state.c.size, log_state.c.root))
    return {row.party: (int(row.size), bytes(row.root)) for row in rows}


def put_state(tx: Writing, state: LogState, *, existed: bool) -> None:
    """Write the head of a log: update its row if it ``existed``, else insert one."""
    values = {"size": state.size, "root": state.root, "last_time": state.last_time}
    if existed:
        tx.execute(_STATE_UPDATE, {"key": state.party, **values})
    else:
        tx.execute(insert(log_state).values(party=state.party, **values))


def next_ingest(conn: Connection) -> int:
    """The next local ingest sequence number, by which every listing pages."""
    current = conn.execute(_NEXT_INGEST).scalar()
    return 0 if current is None else int(current) + 1


def entries_after(conn: Connection, ingest: int, limit: int) -> list[StoredEntry]:
    """The next ``limit`` entries stored after ``ingest``, in ingest order."""
    rows = conn.execute(
        select(entries).where(entries.c.ingest > ingest).order_by(entries.c.ingest).limit(limit)
    )
    return [stored_entry(row) for row in rows]


def last_ingest(conn: Connection) -> int:
    """The ingest sequence of the newest stored entry (-1: none yet)."""
    current = conn.execute(_NEXT_INGEST).scalar()
    return -1 if current is None else int(current)


def insert_entries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert entry rows, all with the same columns, in one ``executemany``."""
    if rows:
        _insert_rows(conn, entries, rows)


def insert_nodes(conn: Connection, party: str, nodes: Iterable[tuple[NodeId, bytes]]) -> None:
    """Store the perfect-subtree hashes that appending to ``party``'s log completed."""
    rows = [{"party": party, "node_id": node_key(*nid), "hash": h} for nid, h in nodes]
    if rows:
        _insert_rows(conn, tree_nodes, rows)


def _insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (all with the same keys) in one DBAPI ``executemany``.

    The statement is the one SQLAlchemy compiles for the dialect, but the values go to the
    driver as they are: they already have their columns' DBAPI types (int, str, bytes, None),
    and SQLAlchemy's per-row parameter processing cost more than SQLite's inserts themselves
    (a page of 1,000 entries completes about 2,000 subtree hashes).
    """
    sql, order = _insert_sql(table, conn.dialect, tuple(rows[0]))
    if order is None:  # named parameters (psycopg): the rows as they are
        params: list[Any] = list(rows)
    elif len(order) == 1:
        params = [(row[order[0]],) for row in rows]
    else:
        params = list(map(itemgetter(*order), rows))  # tuples in the statement's order
    conn.exec_driver_sql(sql, params)


@functools.lru_cache(maxsize=64)
def _insert_sql(
    table: Table, dialect: Dialect, keys: tuple[str, ...]
) -> tuple[str, tuple[str, ...] | None]:
    """The INSERT text of ``table`` for ``keys``, and its parameter order (None when named).

    Compiled once per table, dialect and set of columns: compiling costs more than the insert.
    """
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = compiled.positiontup
    return compiled.string, None if order is None else tuple(order)


def get_nodes(conn: Connection, party: str, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Fetch perfect-subtree hashes in one query."""
    if not ids:
        return {}
    by_key = {node_key(*nid): nid for nid in ids}
    rows = conn.execute(_NODES, {"party": party, "ids": list(by_key)})
    return {by_key[row.node_id]: row.hash for row in rows}


def insert_checkpoint(
    tx: Writing, party: str, size: int, note: str, root: bytes, time: int
) -> None:
    """Record a checkpoint note of ``party``'s log at ``size``, with its root and log time."""
    tx.execute(
        _CHECKPOINT_INSERT, {"party": party, "size": size, "note": note, "root": root, "time": time}
    )


def latest_checkpoint(conn: Connection, party: str) -> tuple[int, str] | None:
    """The held checkpoint of ``party``'s log with the largest size: (size, note)."""
    row = conn.execute(_LATEST_CHECKPOINT, {"party": party}).first()
    return None if row is None else (row.size, row.note)


def checkpoint_at(conn: Connection, party: str, size: int) -> str | None:
    """The held checkpoint note of ``party``'s log at exactly ``size``, if any."""
    return conn.execute(_CHECKPOINT_AT, {"party": party, "size": size}).scalar()


def checkpoint_time(conn: Connection, party: str, size: int) -> int | None:
    """The log's time at its checkpoint of ``size`` (protocol s6), if held."""
    row = conn.execute(
        select(checkpoints.c.time).where(checkpoints.c.party == party, checkpoints.c.size == size)
    ).first()
    return None if row is None else int(row.time)


def first_checkpoint_after(conn: Connection, party: str, seq: int) -> tuple[int, int] | None:
    """Size and time of the first held checkpoint that contains entry ``seq``."""
    row = conn.execute(
        select(checkpoints.c.size, checkpoints.c.time)
        .where(checkpoints.c.party == party, checkpoints.c.size > seq)
        .order_by(checkpoints.c.size)
        .limit(1)
    ).first()
    return None if row is None else (row.size, row.time)


def all_checkpoints(conn: Connection, party: str) -> list[str]:
    """Every held checkpoint note of ``party``'s log, ascending (``iter_checkpoints`` pages)."""
    rows = conn.execute(
        select(checkpoints.c.note).where(checkpoints.c.party == party).order_by(checkpoints.c.size)
    )
    return [row.note for row in rows]


def iter_checkpoints(conn: Connection, party: str, batch: int = 5000) -> Iterator[str]:
    """Every checkpoint note of a log in ascending size, read in bounded batches."""
    query = select(checkpoints.c.size, checkpoints.c.note).where(checkpoints.c.party == party)
    for row in _in_batches(conn, query, checkpoints.c.size, batch):
        yield row.note


def _in_batches(
    conn: Connection, query: Select[Any], key: ColumnElement[int], batch: int
) -> Iterator[Row[Any]]:
    """The rows of ``query`` in ascending ``key`` (0 or more), ``batch`` rows a round trip."""
    after = -1
    while True:
        rows = conn.execute(query.where(key > after).order_by(key).limit(batch)).fetchall()
        if not rows:
            return
        yield from rows
        after = rows[-1]._mapping[key]


def stored_entry(row: Any) -> StoredEntry:
    """A ``StoredEntry`` from a row of the ``entries`` table."""
    return StoredEntry(
        row.party,
        row.seq,
        row.ingest,
        row.leaf,
        row.leaf_hash,
        row.kind,
        row.time,
        row.body,
        row.salt,
        row.flag,
        row.audience,
        row.tlp,
        row.status,
    )


_RANGE = (
    select(entries)
    .where(
        entries.c.party == bindparam("party"),
        entries.c.seq >= bindparam("start"),
        entries.c.seq < bindparam("end"),
    )
    .order_by(entries.c.seq)
)


def get_range(conn: Connection, party: str, start: int, end: int) -> list[StoredEntry]:
    """Entries with start <= seq < end, in order."""
    rows = conn.execute(_RANGE, {"party": party, "start": start, "end": end})
    return [stored_entry(row) for row in rows]


def get_entry(conn: Connection, party: str, seq: int) -> StoredEntry | None:
    """The entry ``party:seq``, if held."""
    row = conn.execute(
        select(entries).where(entries.c.party == party, entries.c.seq == seq)
    ).first()
    return None if row is None else stored_entry(row)


def find_by_leaf_hash(conn: Connection, party: str, leaf_hash: bytes) -> StoredEntry | None:
    """The entry of ``party``'s log whose leaf hash is ``leaf_hash``, if held."""
    row = conn.execute(
        select(entries).where(entries.c.party == party, entries.c.leaf_hash == leaf_hash).limit(1)
    ).first()
    return None if row is None else stored_entry(row)


def key_and_policy_entries(conn: Connection, party: str) -> list[StoredEntry]:
    """The key and policy entries of a log: the key history an offline verifier needs."""
    rows = conn.execute(
        select(entries)
        .where(
            entries.c.party == party,
            or_(entries.c.kind == "key", entries.c.kind == "policy"),
        )
        .order_by(entries.c.seq)
    )
    return [stored_entry(row) for row in rows]


def key_and_policy_marks(conn: Connection, party: str) -> tuple[tuple[int, bytes], ...]:
    """Seq and leaf hash of each key and policy entry: tells whether they changed, cheaply."""
    rows = conn.execute(
        select(entries.c.seq, entries.c.leaf_hash)
        .where(entries.c.party == party, entries.c.kind.in_(("key", "policy")))
        .order_by(entries.c.seq)
    )
    return tuple((int(row.seq), bytes(row.leaf_hash)) for row in rows)


def iter_log(conn: Connection, party: str, batch: int = 5000) -> Iterable[StoredEntry]:
    """Every entry of a log in seq order, read in bounded batches (memory stays flat)."""
    query = select(entries).where(entries.c.party == party)
    for row in _in_batches(conn, query, entries.c.seq, batch):
        yield stored_entry(row)


def latest_checkpoint_within(conn: Connection, party: str, size: int) -> tuple[int, str] | None:
    """The latest stored checkpoint of ``party`` whose tree this node holds (size <= ``size``)."""
    row = conn.execute(
        select(checkpoints.c.size, checkpoints.c.note)
        .where(checkpoints.c.party == party, checkpoints.c.size <= size)
        .order_by(checkpoints.c.size.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.size, row.note)


def put_body(tx: Writing, party: str, seq: int, body: bytes, salt: bytes) -> None:
    """Attach a body (checked by the caller against its header) to an entry; clear its flag."""
    tx.execute(
        update(entries)
        .where(entries.c.party == party, entries.c.seq == seq)
        .values(body=body, salt=salt, flag=None)
    )


def iter_kinds(
    conn: Connection, party: str, kinds: Sequence[str], batch: int = 5000
) -> Iterator[StoredEntry]:
    """Every entry of ``kinds`` in a log, in seq order, read in bounded batches."""
    start = 0
    while True:
        rows = conn.execute(
            select(entries)
            .where(
                entries.c.party == party, entries.c.kind.in_(list(kinds)), entries.c.seq >= start
            )
            .order_by(entries.c.seq)
            .limit(batch)
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield stored_entry(row)
        start = rows[-1].seq + 1


def entry_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """How many entries are held, by (party, kind): the node's own log and every mirror."""
    rows = conn.execute(
        select(entries.c.party, entries.c.kind, func.count()).group_by(
            entries.c.party, entries.c.kind
        )
    )
    return {(row[0], row[1]): int(row[2]) for row in rows}
