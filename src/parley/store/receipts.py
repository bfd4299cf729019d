"""The store's queries on the ``receipts`` index (``parley.node.messaging.receipts``).

One row per receipt this node can read, its own and its peers': the entry it names
(``entry_party``, ``entry_seq``, ``leaf_hash``), who signed it (``by_party``, ``receipt_seq``),
its ``type`` and its times. At most one row per entry, signer and type: the first one stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, insert, select, tuple_

from parley.store.engine import Writing
from parley.store.schema import receipts

__all__ = [
    "CHUNK",
    "ReceiptKey",
    "ReceiptType",
    "all_receipts",
    "existing_keys",
    "for_entries",
    "for_entry",
    "insert_receipts",
    "receipt_seq",
    "received_from_others",
]

CHUNK = 200  # keys per IN (...) clause
ReceiptKey = tuple[str, int, str, str]  # entry party, entry seq, signer, type


class ReceiptType(StrEnum):
    """The ``type`` of a receipt: which clock of the entry it answers."""

    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"


_KEY = (receipts.c.entry_party, receipts.c.entry_seq, receipts.c.by_party, receipts.c.type)
_ENTRY = (receipts.c.entry_party, receipts.c.entry_seq)


def _chunks(items: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


def existing_keys(conn: Connection, keys: Sequence[ReceiptKey]) -> set[ReceiptKey]:
    """Those of ``keys`` (entry party, entry seq, signer, type) the index already holds."""
    found: set[ReceiptKey] = set()
    for chunk in _chunks(keys):
        for row in conn.execute(select(*_KEY).where(tuple_(*_KEY).in_(chunk))):
            found.add((row.entry_party, row.entry_seq, row.by_party, row.type))
    return found


def insert_receipts(tx: Writing, rows: Iterable[dict[str, Any]]) -> None:
    """Add index rows in the caller's write transaction ``tx`` (the caller removed duplicates)."""
    fresh = list(rows)
    if fresh:
        tx.execute(insert(receipts), fresh)


def receipt_seq(conn: Connection, key: ReceiptKey) -> int | None:
    """The seq of the receipt ``key`` names, if the index holds it."""
    where = [column == value for column, value in zip(_KEY, key, strict=True)]
    value = conn.execute(select(receipts.c.receipt_seq).where(*where)).first()
    return None if value is None else int(value.receipt_seq)


def for_entry(conn: Connection, party: str, seq: int) -> list[Row[Any]]:
    """Every receipt of entry ``party:seq``."""
    return list(
        conn.execute(
            select(receipts).where(receipts.c.entry_party == party, receipts.c.entry_seq == seq)
        ).fetchall()
    )


def for_entries(
    conn: Connection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], list[Row[Any]]]:
    """The receipts of the entries ``keys`` (party, seq), by entry."""
    found: dict[tuple[str, int], list[Row[Any]]] = {}
    for chunk in _chunks(keys):
        for row in conn.execute(select(receipts).where(tuple_(*_ENTRY).in_(chunk))):
            found.setdefault((row.entry_party, row.entry_seq), []).append(row)
    return found


def all_receipts(conn: Connection) -> list[Row[Any]]:
    """Every receipt in the index."""
    return list(conn.execute(select(receipts)).fetchall())


def received_from_others(conn: Connection, party: str) -> list[Row[Any]]:
    """The receipts other parties signed for ``party``'s entries."""
    return list(
        conn.execute(
            select(receipts).where(receipts.c.entry_party == party, receipts.c.by_party != party)
        ).fetchall()
    )


def receipts_of_leaf(
    conn: Connection, party: str, seq: int, leaf_hash: bytes
) -> list[tuple[str, int]]:
    """``(by_party, receipt_seq)`` of every receipt naming exactly this leaf, in order."""
    rows = conn.execute(
        select(receipts.c.by_party, receipts.c.receipt_seq)
        .where(
            receipts.c.entry_party == party,
            receipts.c.entry_seq == seq,
            receipts.c.leaf_hash == leaf_hash,
        )
        .order_by(receipts.c.by_party, receipts.c.receipt_seq)
    )
    return [(row.by_party, row.receipt_seq) for row in rows]
