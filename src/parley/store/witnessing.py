"""Rows of witnessing: cosignatures, what this node cosigned, external witnesses, equivocations.

Cosignatures are kept per (log, checkpoint size, witness name), outside every log (DESIGN.md,
Witnessing): they are facts about a checkpoint, gathered from the witnesses' answers to this
node's submissions and from peers' ``GET /fed/v1/checkpoint``. Callers verify a cosignature
before they store it; this module only reads and writes rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import cosignatures, equivocations, external_witnesses, witnessed


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature line by ``witness`` on ``party``'s checkpoint of ``size``."""

    party: str
    size: int
    witness: str
    root: bytes
    time: int  # ms (the cosignature's timestamp is whole seconds)
    line: str


@dataclass(frozen=True)
class Witnessed:
    """The latest checkpoint of ``party``'s log this node has cosigned, as a cosigned note."""

    party: str
    size: int
    root: bytes
    note: str
    cosigned: int


@dataclass(frozen=True)
class ExternalWitness:
    """An external C2SP witness this node submits its checkpoints to, and how that last went."""

    name: str
    url: str
    vkey: str
    added: int
    size: int | None
    last_error: str | None


@dataclass(frozen=True)
class Equivocation:
    """Equivocation evidence held against ``party``, and the ``evidence`` entry that tells of it."""

    id: int
    party: str
    evidence: str
    source: str
    detected: int
    entry_seq: int | None


# Built once: the delivery path runs them for every checkpoint a node cosigns or is answered.
_COSIGNATURE = select(cosignatures.c.time).where(
    cosignatures.c.party == bindparam("party"),
    cosignatures.c.size == bindparam("size"),
    cosignatures.c.witness == bindparam("witness"),
)
_COSIGNATURE_INSERT = insert(cosignatures)
_WITNESSED = select(witnessed).where(witnessed.c.party == bindparam("party"))
_WITNESSED_UPDATE = (
    update(witnessed)
    .where(witnessed.c.party == bindparam("key"))
    .values(
        size=bindparam("size"),
        root=bindparam("root"),
        note=bindparam("note"),
        cosigned=bindparam("cosigned"),
    )
)


def put_cosignatures(tx: Writing, rows: Iterable[Cosignature]) -> int:
    """Store cosignatures not yet held (a witness's first cosignature of a size stays)."""
    stored = 0
    for row in rows:
        key = {"party": row.party, "size": row.size, "witness": row.witness}
        if tx.execute(_COSIGNATURE, key).first() is None:
            tx.execute(_COSIGNATURE_INSERT, row.__dict__)
            stored += 1
    return stored


def cosignatures_at(conn: Connection, party: str, size: int) -> list[Cosignature]:
    """The held cosignatures on ``party``'s checkpoint of ``size``, by witness name."""
    rows = conn.execute(
        select(cosignatures)
        .where(cosignatures.c.party == party, cosignatures.c.size == size)
        .order_by(cosignatures.c.witness)
    )
    return [Cosignature(**row._mapping) for row in rows]


def earliest_times(conn: Connection, party: str, seq: int, witnesses: Iterable[str]) -> list[int]:
    """Each named witness's earliest cosignature time on a checkpoint containing ``seq``, sorted."""
    names = list(witnesses)
    if not names:
        return []
    rows = conn.execute(
        select(func.min(cosignatures.c.time))
        .where(
            cosignatures.c.party == party,
            cosignatures.c.size > seq,
            cosignatures.c.witness.in_(names),
        )
        .group_by(cosignatures.c.witness)
    )
    return sorted(int(row[0]) for row in rows)


def cosigned_sizes(
    conn: Connection, party: str, seq: int, counted: set[str]
) -> Iterator[tuple[int, int]]:
    """(size, counted cosignatures) of cosigned checkpoints containing ``seq``, smallest first.

    Streamed, so the caller stops at the first size that reaches the quorum.
    """
    result = conn.execute(
        select(cosignatures.c.size, cosignatures.c.witness)
        .where(cosignatures.c.party == party, cosignatures.c.size > seq)
        .order_by(cosignatures.c.size)
    )
    for size, group in itertools.groupby(result, key=lambda row: int(row.size)):
        yield size, len({row.witness for row in group} & counted)


def latest_cosigned_size(conn: Connection, party: str, witness: str) -> int | None:
    """The largest size of ``party``'s log that ``witness`` has cosigned, if any."""
    return conn.execute(
        select(func.max(cosignatures.c.size)).where(
            cosignatures.c.party == party, cosignatures.c.witness == witness
        )
    ).scalar()


def latest_cosignature(conn: Connection, party: str, witness: str) -> Cosignature | None:
    """``witness``'s cosignature on the largest checkpoint of ``party``'s log it cosigned."""
    row = conn.execute(
        select(cosignatures)
        .where(cosignatures.c.party == party, cosignatures.c.witness == witness)
        .order_by(cosignatures.c.size.desc())
        .limit(1)
    ).first()
    return None if row is None else Cosignature(**row._mapping)


def get_witnessed(conn: Connection, party: str) -> Witnessed | None:
    """What this node last cosigned of ``party``'s log, if anything."""
    row = conn.execute(_WITNESSED, {"party": party}).first()
    return None if row is None else Witnessed(**row._mapping)


def all_witnessed(conn: Connection) -> list[Witnessed]:
    """What this node last cosigned of every log, by party."""
    rows = conn.execute(select(witnessed).order_by(witnessed.c.party))
    return [Witnessed(**row._mapping) for row in rows]


def put_witnessed(tx: Writing, row: Witnessed) -> None:
    """Record what this node now cosigns of a log, replacing what it cosigned before."""
    values: dict[str, Any] = dict(row.__dict__)
    changes = {"key": values.pop("party"), **values}
    if not tx.execute(_WITNESSED_UPDATE, changes).rowcount:
        tx.execute(insert(witnessed).values(party=row.party, **values))


def list_external(conn: Connection) -> list[ExternalWitness]:
    """The external witnesses this node submits to, by name."""
    rows = conn.execute(select(external_witnesses).order_by(external_witnesses.c.name))
    return [ExternalWitness(**row._mapping) for row in rows]


def put_external(tx: Writing, name: str, url: str, vkey: str, added: int) -> None:
    """Add an external witness, or replace its URL and vkey and reset its progress."""
    values = {"url": url, "vkey": vkey, "added": added, "size": None, "last_error": None}
    exists = tx.execute(
        select(external_witnesses.c.name).where(external_witnesses.c.name == name)
    ).first()
    if exists is None:
        tx.execute(insert(external_witnesses).values(name=name, **values))
    else:
        tx.execute(
            update(external_witnesses).where(external_witnesses.c.name == name).values(**values)
        )


def remove_external(tx: Writing, name: str) -> bool:
    """Remove an external witness; False if there was none of that name."""
    result = tx.execute(external_witnesses.delete().where(external_witnesses.c.name == name))
    return bool(result.rowcount)


def record_external(tx: Writing, name: str, size: int | None, error: str | None) -> None:
    """Record a submission to an external witness: the size it acknowledged, or the error."""
    values: dict[str, Any] = {"last_error": error}
    if size is not None:
        values["size"] = size
    tx.execute(update(external_witnesses).where(external_witnesses.c.name == name).values(**values))


def add_equivocation(tx: Writing, party: str, evidence: str, source: str, detected: int) -> int:
    """Store verified evidence against ``party`` from ``source``; return the row's id."""
    result = tx.execute(
        insert(equivocations).values(
            party=party, evidence=evidence, source=source, detected=detected, entry_seq=None
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # noqa: S101 - an insert into a table with an integer key
    return int(key[0])


def set_equivocation_entry(tx: Writing, equivocation_id: int, seq: int) -> None:
    """Note the seq of the ``evidence`` entry this node appended for a stored equivocation."""
    tx.execute(
        update(equivocations).where(equivocations.c.id == equivocation_id).values(entry_seq=seq)
    )


def list_equivocations(conn: Connection, party: str | None = None) -> list[Equivocation]:
    """The stored equivocations, oldest first, of one ``party`` or of every party."""
    query = select(equivocations).order_by(equivocations.c.id)
    if party is not None:
        query = query.where(equivocations.c.party == party)
    return [Equivocation(**row._mapping) for row in conn.execute(query)]
