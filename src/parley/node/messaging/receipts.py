"""Receipts and observations: what a node signs about the entries it receives.

* ``delivered``: appended automatically, in the same transaction that stores a peer's entry,
  for every addressed kind (notification, hotline, inquiry, reply, check, assistance, roadmap)
  whose audience is ALL or names this node's party, once header and body are verified.
* ``acknowledged``: appended when a duty officer or administrator acknowledges the entry
  (``parley ack``), optionally with a short reply. At most one per entry and party.
* ``observation`` of type ``body-withheld``: appended when the author of an entry addressed to
  this node served its header without its body: withholding is evidence, not silence. Types
  ``over-quota`` and ``policy-breach`` record a run of a peer's entries stored header-only
  because they broke the policy's quotas or limits (``parley.node.federation.quotas``).

A receipt names its entry by ``PARTY:SEQ`` and leaf hash, keeps the entry's status, and
inherits its audience and TLP, with the entry's author added to a named audience so the sender
can read the receipt. Receipts never get receipts.

An observation a peer signs about one of this node's entries (``observation_about``) is how
the sender learns that a peer stored its entry header-only: ingest queues an ``observation``
webhook for it, and ``observations_about`` finds them for ``parley receipts`` and ``status``.

The ``receipts`` table indexes every receipt this node can read (its own and its peers'), so
``parley receipts REF`` answers without scanning logs. It records the receipt's signed time
(``claimed``), the receiver's claimed storage time, and when this node stored it (``observed``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core.bodies import Receipt, validate_body
from parley.core.canonical import parse_canonical
from parley.core.entry import (
    ADDRESSED_KINDS,
    ALL,
    Audience,
    Body,
    Header,
    format_ref,
    parse_header,
    parse_ref,
)
from parley.core.errors import ConflictError, InvalidEntryError, NotFoundError, ParleyError
from parley.core.merkle import leaf_hash as compute_leaf_hash
from parley.node.access import withheld_from
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import inbox as inbox_rows
from parley.store import logs
from parley.store import receipts as receipt_rows
from parley.store.engine import Writing

REPLY_MAX = 500
SPAN_RE = re.compile(r"\(([A-Z0-9]{2,8}):([0-9]+)\.\.([A-Z0-9]{2,8}):([0-9]+)\)")


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
    """The ``delivered`` receipt a node appends once it has verified and stored ``header``."""
    body = {"type": "delivered", "entry": _entry_ref(header, leaf_hash), "stored_at": stored_at}
    validate_body("receipt", body)
    audience, tlp = answer_sharing(header)
    return Draft("receipt", header.status, body, audience, tlp)


def acknowledged(header: Header, leaf_hash: bytes, officer: str, reply: str | None) -> Draft:
    """The ``acknowledged`` receipt of an officer, with an optional short reply."""
    body: dict[str, Any] = {
        "type": "acknowledged",
        "entry": _entry_ref(header, leaf_hash),
        "officer": officer,
    }
    if reply:
        body["reply"] = reply
    validate_body("receipt", body)
    audience, tlp = answer_sharing(header)
    return Draft("receipt", header.status, body, audience, tlp)


def automatic_acknowledgement(header: Header, leaf_hash: bytes) -> Draft:
    """An ``acknowledged`` receipt by the node itself (a communication check): no officer."""
    body = {"type": "acknowledged", "entry": _entry_ref(header, leaf_hash)}
    validate_body("receipt", body)
    audience, tlp = answer_sharing(header)
    return Draft("receipt", header.status, body, audience, tlp)


def body_withheld(header: Header, leaf_hash: bytes, detail: str) -> Draft:
    """The ``body-withheld`` observation about an entry served without the body owed to us."""
    body = {
        "type": "body-withheld",
        "party": header.party,
        "entry": _entry_ref(header, leaf_hash),
        "detail": detail,
    }
    validate_body("observation", body)
    return Draft("observation", header.status, body, ALL, "GREEN")


def breach_observed(flagged: list[tuple[Header, bytes]], breach: tuple[str, str]) -> Draft:
    """One observation for a run of a peer's entries that broke a quota or a policy limit."""
    (first, leaf_hash), (last, _) = flagged[0], flagged[-1]
    flag, reason = breach
    span = first.ref if first is last else f"{first.ref}..{last.ref}"
    body = {
        "type": flag,
        "party": first.party,
        "entry": _entry_ref(first, leaf_hash),
        "detail": f"{len(flagged)} entries ({span}) stored header-only: {reason}",
    }
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
        "entry_party": party,
        "entry_seq": seq,
        "by_party": header.party,
        "type": receipt.type,
        "leaf_hash": bytes.fromhex(receipt.entry.leaf_hash),
        "receipt_seq": header.seq,
        "claimed": header.time,
        "stored_at": receipt.stored_at,
        "observed": observed,
        "officer": receipt.officer,
        "reply": receipt.reply,
    }


def _key(row: Any) -> tuple[str, int, str, str]:
    if isinstance(row, dict):
        return row["entry_party"], row["entry_seq"], row["by_party"], row["type"]
    return row.entry_party, row.entry_seq, row.by_party, row.type


def index_rows(tx: Writing, rows: Iterable[dict[str, Any] | None]) -> None:
    """Record receipts (own or peers'); the first receipt of a kind by a party is kept."""
    fresh: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for row in rows:
        if row is not None:
            fresh.setdefault(_key(row), row)
    if not fresh:
        return
    for key in receipt_rows.existing_keys(tx, list(fresh)):
        fresh.pop(key, None)
    receipt_rows.insert_receipts(tx, fresh.values())


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
    held = receipt_rows.existing_keys(conn, wanted)
    done = {(format_ref(party, seq), kind) for party, seq, _, kind in held}
    if not done:
        return drafts
    return [
        d
        for d in drafts
        if d.kind != "receipt" or (d.body["entry"]["ref"], d.body["type"]) not in done
    ]


def index_own(tx: Writing, headers: Iterable[Header], drafts: Iterable[Draft], now: int) -> None:
    """Index the receipts among this node's own new entries (``headers`` of ``drafts``)."""
    index_rows(
        tx,
        (
            receipt_row(header, draft.body, now)
            for header, draft in zip(headers, drafts, strict=True)
            if header.kind == "receipt"
        ),
    )


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
    with node.store.write() as tx:
        stored = logs.get_entry(tx, party, seq)
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
        key = (party, seq, node.party, receipt_rows.ReceiptType.ACKNOWLEDGED)
        done = receipt_rows.receipt_seq(tx, key)
        if done is not None:
            raise ConflictError(f"{ref} was acknowledged already as {node.ref(done)}")
        draft = acknowledged(header, stored.leaf_hash, officer, reply)
        (receipt,) = node.log.append_in(tx, [draft], now)
        index_own(tx, [receipt], [draft], now)
    return receipt


def received(node: Node) -> list[tuple[str, str, str, int]]:
    """``(entry ref, by party, type, claimed ms)`` of each receipt peers signed for our entries."""
    with node.store.read() as conn:
        rows = receipt_rows.received_from_others(conn, node.party)
    return [(format_ref(r.entry_party, r.entry_seq), r.by_party, r.type, r.claimed) for r in rows]


@dataclass(frozen=True)
class AddresseeStatus:
    """One addressee's answers to an entry, as this node holds them."""

    party: str
    status: str
    delivered: dict[str, Any] | None
    acknowledged: dict[str, Any] | None
    observed: tuple[dict[str, Any], ...] = ()  # its observations about the entry (header-only)

    @property
    def header_only(self) -> str | None:
        """Why the addressee stored the entry header-only, as its observation says; or None."""
        if not self.observed:
            return None
        seen = self.observed[0]
        return f"stored header-only by {self.party}: {seen['type']}: {seen['detail']}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the addressee's status."""
        return {
            "party": self.party,
            "status": self.status,
            "delivered": self.delivered,
            "acknowledged": self.acknowledged,
            "header_only": self.header_only,
            "observations": list(self.observed),
        }


def status(
    node: Node, ref: str, *, clearance: frozenset[str] | None = None
) -> tuple[Header, list[AddresseeStatus]]:
    """Each addressee's status for entry ``ref``: none, delivered, acknowledged (or mismatch).

    ``observed``: the addressee's signed observations that it stored this node's entry without
    its body (policy breach, over quota, ...); ``header_only`` says why in one line. A receipt
    inherits the entry's TLP, so a reader whose ``clearance`` does not cover it gets no reply
    text (``reply`` None, ``reply_withheld`` True).
    """
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
        if stored is None:
            raise NotFoundError(f"entry {ref} is not held by this node")
        header = parse_header(stored.leaf)
        rows = receipt_rows.for_entry(conn, party, seq)
    if header.audience == ALL:
        members = [m.party for m in node.context().policy.document.members]
    else:
        members = list(header.audience)
    addressees = sorted({p for p in members if p != header.party})
    leaf_hash = compute_leaf_hash(stored.leaf)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    withheld = withheld_from(clearance, header.tlp) is not None
    for row in rows:
        if row.by_party not in addressees:
            continue
        found[(row.by_party, row.type)] = {
            "receipt": f"{row.by_party}:{row.receipt_seq}",
            "claimed": row.claimed,
            "stored_at": row.stored_at,
            "observed": row.observed,
            "officer": row.officer,
            "reply": None if withheld else row.reply,
            "reply_withheld": withheld and row.reply is not None,
            "matches": row.leaf_hash == leaf_hash,
        }
    seen = observations_about(node, ref)
    result = []
    for addressee in addressees:
        got, ack = found.get((addressee, "delivered")), found.get((addressee, "acknowledged"))
        state = "acknowledged" if ack else "delivered" if got else "none"
        if any(r is not None and not r["matches"] for r in (got, ack)):
            state = "mismatch"
        observed = tuple(o for o in seen if o["by"] == addressee)
        result.append(AddresseeStatus(addressee, state, got, ack, observed))
    return header, result


REACHED = {"delivered": ("delivered", "acknowledged"), "acknowledged": ("acknowledged",)}


def await_status(
    node: Node,
    ref: str,
    until: str,
    timeout_s: float,
    *,
    poll_s: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    clearance: frozenset[str] | None = None,
) -> tuple[Header, list[AddresseeStatus], bool]:
    """``status`` once every addressee has reached ``until``, or at ``timeout_s``.

    The flag says whether all reached it. An addressee whose receipt names another leaf
    (``mismatch``) or that stored the entry header-only never will: the wait ends there.
    """
    if until not in REACHED:
        raise InvalidEntryError(f"--until must be one of {', '.join(REACHED)}, not {until!r}")
    deadline = clock() + timeout_s
    while True:
        header, rows = status(node, ref, clearance=clearance)
        if all(row.status in REACHED[until] for row in rows):
            return header, rows, True
        hopeless = any(row.status == "mismatch" or row.observed for row in rows)
        if hopeless or clock() >= deadline:
            return header, rows, False
        sleep(min(poll_s, max(0.0, deadline - clock())))


# Observations peers signed about this node's entries ---------------------------------------


def observation_about(header: Header, value: Any, party: str) -> dict[str, Any] | None:
    """What a peer's observation says about an entry of ``party``; None if it names none.

    ``first`` and ``last`` are the seqs of the run it covers: a breach observation names the
    first entry of a run and states the span (``US:3..US:5``) in its detail.
    """
    if header.kind != "observation" or header.party == party or not isinstance(value, dict):
        return None
    entry = value.get("entry")
    ref = entry.get("ref") if isinstance(entry, dict) else None
    try:
        named, first = parse_ref(ref) if isinstance(ref, str) else ("", 0)
    except ParleyError:
        return None
    if named != party:
        return None
    given = value.get("detail")
    detail = given if isinstance(given, str) else ""
    last = first
    span = SPAN_RE.search(detail)
    if span and span.group(1) == span.group(3) == party and int(span.group(2)) == first:
        last = max(first, int(span.group(4)))
    return {
        "observation": header.ref,
        "by": header.party,
        "time": header.time,
        "type": str(value.get("type")),
        "entry": ref,
        "first": first,
        "last": last,
        "detail": detail,
    }


def observations_about(
    node: Node, ref: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Peers' observations about this node's entries (about ``ref`` only), newest first."""
    seq = None if ref is None else parse_ref(ref)[1]
    if ref is not None and parse_ref(ref)[0] != node.party:
        return []
    found = []
    with node.store.read() as conn:
        for stored in inbox_rows.peer_observations(conn, node.party, limit):
            if stored.body is None or stored.salt is None:
                continue
            try:
                value = Body(stored.salt, stored.body).value()
            except ParleyError:
                continue
            about = observation_about(parse_header(stored.leaf), value, node.party)
            if about is not None and (seq is None or about["first"] <= seq <= about["last"]):
                found.append(about)
    return found
