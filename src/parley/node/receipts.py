"""Receipts and observations: what a node signs about the entries it receives.

* ``delivered``: appended automatically, in the same transaction that stores a peer's entry,
  for every addressed kind (notification, hotline, inquiry, reply, check, assistance, roadmap)
  whose audience is ALL or names this node's party, once header and body are verified.
* ``acknowledged``: appended when a duty officer or administrator acknowledges the entry
  (``parley ack``), optionally with a short reply. At most one per entry and party.
* ``observation`` of type ``body-withheld``: appended when the author of an entry addressed to
  this node served its header without its body: withholding is evidence, not silence. Types
  ``over-quota`` and ``policy-breach`` record a run of a peer's entries stored header-only
  because they broke the policy's quotas or limits (``parley.node.quotas``).

A receipt names its entry by ``PARTY:SEQ`` and leaf hash, keeps the entry's status, and
inherits its audience and TLP, with the entry's author added to a named audience so the sender
can read the receipt. Receipts never get receipts.

The ``receipts`` table indexes every receipt this node can read (its own and its peers'), so
``parley receipts REF`` answers without scanning logs. It records the receipt's signed time
(``claimed``), the receiver's claimed storage time, and when this node stored it (``observed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select, tuple_

from parley.core.bodies import Receipt, validate_body
from parley.core.canonical import parse_canonical
from parley.core.entry import (
    ADDRESSED_KINDS,
    ALL,
    Audience,
    Header,
    format_ref,
    parse_header,
    parse_ref,
)
from parley.core.errors import ConflictError, InvalidEntryError, NotFoundError
from parley.core.merkle import leaf_hash as compute_leaf_hash
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import logs
from parley.store.schema import receipts

REPLY_MAX = 500
T = TypeVar("T")


def addressed_to(header: Header, party: str) -> bool:
    """Whether ``header`` is an addressed entry of another party sent to ``party``."""
    if header.kind not in ADDRESSED_KINDS or header.party == party:
        return False
    return header.audience == ALL or party in header.audience


def answer_sharing(header: Header) -> tuple[Audience, str]:
    """Audience and TLP of an answer: the entry's, with its author in a named audience."""
    if header.audience == ALL:
        return ALL, header.tlp
    return tuple(sorted({*header.audience, header.party})), header.tlp


def _entry_ref(header: Header, leaf_hash: bytes) -> dict[str, str]:
    return {"ref": header.ref, "leaf_hash": leaf_hash.hex()}


def delivered(header: Header, leaf_hash: bytes, stored_at: int) -> Draft:
    body = {"type": "delivered", "entry": _entry_ref(header, leaf_hash), "stored_at": stored_at}
    validate_body("receipt", body)
    audience, tlp = answer_sharing(header)
    return Draft("receipt", header.status, body, audience, tlp)


def acknowledged(header: Header, leaf_hash: bytes, officer: str, reply: str | None) -> Draft:
    body: dict[str, Any] = {
        "type": "acknowledged", "entry": _entry_ref(header, leaf_hash), "officer": officer,
    }  # fmt: skip
    if reply:
        body["reply"] = reply
    validate_body("receipt", body)
    audience, tlp = answer_sharing(header)
    return Draft("receipt", header.status, body, audience, tlp)


def body_withheld(header: Header, leaf_hash: bytes, detail: str) -> Draft:
    body = {
        "type": "body-withheld", "party": header.party,
        "entry": _entry_ref(header, leaf_hash), "detail": detail,
    }  # fmt: skip
    validate_body("observation", body)
    return Draft("observation", header.status, body, ALL, "GREEN")


def breach_observed(flagged: list[tuple[Header, bytes]], breach: tuple[str, str]) -> Draft:
    """One observation for a run of a peer's entries that broke a quota or a policy limit."""
    (first, leaf_hash), (last, _) = flagged[0], flagged[-1]
    flag, reason = breach
    span = first.ref if first is last else f"{first.ref}..{last.ref}"
    body = {
        "type": flag, "party": first.party, "entry": _entry_ref(first, leaf_hash),
        "detail": f"{len(flagged)} entries ({span}) stored header-only: {reason}",
    }  # fmt: skip
    validate_body("observation", body)
    return Draft("observation", first.status, body, ALL, "GREEN")


def receipt_row(header: Header, receipt_body: Any, observed: int) -> dict[str, Any] | None:
    """The index row of a receipt; None for a receipt of a later format (stored, not indexed)."""
    try:
        receipt = Receipt.model_validate(receipt_body)
        party, seq = parse_ref(receipt.entry.ref)
    except (ValueError, InvalidEntryError):
        return None
    return {
        "entry_party": party, "entry_seq": seq, "by_party": header.party, "type": receipt.type,
        "leaf_hash": bytes.fromhex(receipt.entry.leaf_hash), "receipt_seq": header.seq,
        "claimed": header.time, "stored_at": receipt.stored_at, "observed": observed,
        "officer": receipt.officer, "reply": receipt.reply,
    }  # fmt: skip


def _key(row: Any) -> tuple[str, int, str, str]:
    if isinstance(row, dict):
        return row["entry_party"], row["entry_seq"], row["by_party"], row["type"]
    return row.entry_party, row.entry_seq, row.by_party, row.type


def index_rows(conn: Connection, rows: Iterable[dict[str, Any] | None]) -> None:
    """Record receipts (own or peers'); the first receipt of a kind by a party is kept."""
    fresh: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for row in rows:
        if row is not None:
            fresh.setdefault(_key(row), row)
    if not fresh:
        return
    columns = (receipts.c.entry_party, receipts.c.entry_seq, receipts.c.by_party, receipts.c.type)
    for chunk in _chunks(list(fresh), 200):
        for found in conn.execute(select(*columns).where(tuple_(*columns).in_(chunk))):
            fresh.pop(_key(found), None)
    if fresh:
        conn.execute(insert(receipts), list(fresh.values()))


def not_yet_answered(conn: Connection, drafts: list[Draft], by_party: str) -> list[Draft]:
    """``drafts`` without the receipts ``by_party`` already signed (the index says so).

    A node appends one receipt of each type per entry. The index can hold one the log signed
    before this ingest saw the entry: a node restored from its peers' mirrors has its old
    receipts back before it pulls their logs again.
    """
    keys = {(d.body["entry"]["ref"], d.body["type"]): d for d in drafts if d.kind == "receipt"}
    if not keys:
        return drafts
    wanted = [(*parse_ref(ref), by_party, kind) for ref, kind in keys]
    columns = (receipts.c.entry_party, receipts.c.entry_seq, receipts.c.by_party, receipts.c.type)
    done: set[tuple[str, str]] = set()
    for chunk in _chunks(wanted, 200):
        for found in conn.execute(select(*columns).where(tuple_(*columns).in_(chunk))):
            done.add((format_ref(found.entry_party, found.entry_seq), found.type))
    if not done:
        return drafts
    return [d for d in drafts if d.kind != "receipt"
            or (d.body["entry"]["ref"], d.body["type"]) not in done]  # fmt: skip


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def index_own(
    conn: Connection, headers: Iterable[Header], drafts: Iterable[Draft], now: int
) -> None:
    index_rows(conn, (receipt_row(header, draft.body, now)
                      for header, draft in zip(headers, drafts, strict=True)
                      if header.kind == "receipt"))  # fmt: skip


def answered_parties(conn: Connection, party: str, start: int, end: int) -> list[str | None]:
    """For each of ``party``'s own entries ``start <= seq < end``: whose entry it answers.

    A receipt answers the author of the entry it names; any other kind concerns everyone
    (``None``). The announcing loops use it to tell first the peer that waits for a receipt.
    """
    answered: list[str | None] = []
    for stored in logs.get_range(conn, party, start, end):
        ref = None
        if stored.kind == "receipt" and stored.body is not None:
            body = parse_canonical(stored.body)
            entry = body.get("entry") if isinstance(body, dict) else None
            ref = entry.get("ref") if isinstance(entry, dict) else None
        answered.append(parse_ref(ref)[0] if isinstance(ref, str) else None)
    return answered


def acknowledge(node: Node, ref: str, officer: str, reply: str | None, now: int) -> Header:
    """Append an ``acknowledged`` receipt for an entry addressed to this node."""
    if reply is not None and len(reply) > REPLY_MAX:
        raise InvalidEntryError(f"--reply: at most {REPLY_MAX} characters")
    party, seq = parse_ref(ref)
    with node.store.write() as conn:
        stored = logs.get_entry(conn, party, seq)
        if stored is None:
            raise NotFoundError(f"entry {ref} is not held by this node", hint="'parley sync' first")
        header = parse_header(stored.leaf)
        if not addressed_to(header, node.party):
            raise InvalidEntryError(
                f"{ref} is a {header.kind} entry not addressed to {node.party}; "
                "only addressed entries sent to this party are acknowledged"
            )
        if stored.body is None or stored.flag is not None:
            raise InvalidEntryError(
                f"{ref}: this node does not hold its verified body "
                f"({stored.flag or 'header only'}); it cannot acknowledge what it has not read"
            )
        done = conn.execute(select(receipts.c.receipt_seq).where(
            receipts.c.entry_party == party, receipts.c.entry_seq == seq,
            receipts.c.by_party == node.party, receipts.c.type == "acknowledged",
        )).first()  # fmt: skip
        if done is not None:
            raise ConflictError(f"{ref} was acknowledged already as {node.ref(done.receipt_seq)}")
        draft = acknowledged(header, stored.leaf_hash, officer, reply)
        (receipt,) = node.log.append_in(conn, [draft], now)
        index_own(conn, [receipt], [draft], now)
    return receipt


@dataclass(frozen=True)
class AddresseeStatus:
    """One addressee's answers to an entry, as this node holds them."""

    party: str
    status: str
    delivered: dict[str, Any] | None
    acknowledged: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"party": self.party, "status": self.status, "delivered": self.delivered,
                "acknowledged": self.acknowledged}  # fmt: skip


def status(node: Node, ref: str) -> tuple[Header, list[AddresseeStatus]]:
    """Each addressee's status for entry ``ref``: none, delivered or acknowledged."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
        if stored is None:
            raise NotFoundError(f"entry {ref} is not held by this node")
        header = parse_header(stored.leaf)
        rows = conn.execute(select(receipts).where(
            receipts.c.entry_party == party, receipts.c.entry_seq == seq,
        )).fetchall()  # fmt: skip
    if header.audience == ALL:
        members = [m.party for m in node.context().policy.document.members]
    else:
        members = list(header.audience)
    addressees = sorted({p for p in members if p != header.party})
    leaf_hash = compute_leaf_hash(stored.leaf)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row.by_party not in addressees:
            continue
        found[(row.by_party, row.type)] = {
            "receipt": f"{row.by_party}:{row.receipt_seq}",
            "claimed": row.claimed,
            "stored_at": row.stored_at,
            "observed": row.observed,
            "officer": row.officer,
            "reply": row.reply,
            "matches": row.leaf_hash == leaf_hash,
        }
    result = []
    for addressee in addressees:
        got, ack = found.get((addressee, "delivered")), found.get((addressee, "acknowledged"))
        state = "acknowledged" if ack else "delivered" if got else "none"
        if any(r is not None and not r["matches"] for r in (got, ack)):
            state = "mismatch"
        result.append(AddresseeStatus(addressee, state, got, ack))
    return header, result
