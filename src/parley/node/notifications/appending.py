"""Appending notifications with their idempotency keys, in the caller's write transaction.

Every notification this node writes gets a ``notification_keys`` row (``store.notifications``)
in the transaction that appends it: its key (identifier, sender and ``sent`` to the second, hashed),
its seq, and its incident (the seq of the first message of its chain). Because the lookup and
the insert happen under the single-writer lock, no two imports of one message can both append
it. An entry reference (``PARTY:SEQ`` + leaf hash) needs the referenced entry's leaf hash, so a
message that references one still waiting to be signed flushes the batch first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core.canonical import canonical_bytes
from parley.core.entry import Audience
from parley.core.errors import LimitExceededError, NotFoundError, ParleyError
from parley.core.merkle import leaf_hash as compute_leaf_hash
from parley.formats.notification import body_identity, parse_cap_reference
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import notifications as notification_rows
from parley.store.engine import Writing

__all__ = [
    "KIND",
    "Appender",
    "Item",
    "Written",
    "cap_time",
    "leaf_hash_at",
    "notification_key",
    "over_limit",
]

KIND = "notification"


@dataclass
class Written:
    """One notification of an import or command: its entry, and whether it is new."""

    identifier: str
    ref: str = ""
    leaf_hash: str = ""
    new: bool = True


@dataclass
class Item:
    """A checked notification waiting to be signed; ``what`` names it in messages."""

    body: dict[str, Any]
    status: str
    audience: Audience
    tlp: str
    what: str


def cap_time(ms: int) -> int:
    """``ms`` cut to whole seconds, as CAP writes ``<sent>``, so identity survives CAP export."""
    return ms - ms % 1000


def over_limit(item: Item, size: int, limit: int) -> LimitExceededError:
    """The error for a notification whose body of ``size`` bytes is over ``limit``."""
    return LimitExceededError(
        f"{item.what}: the notification body is {size} bytes, over the policy's body limit of "
        f"{limit} bytes",
        hint="a CAP alert is never split: shorten it (areas, resources) or raise the limit",
    )


def notification_key(identifier: str, sender: str, sent: int) -> bytes:
    """The stored idempotency key: SHA-256 of the canonical JSON ``[identifier, sender, sent]``.

    ``sent`` counts in whole seconds, as CAP 1.2 writes it: a CAP 1.1 time with a fraction of a
    second names the same message once exported as CAP 1.2.
    """
    return hashlib.sha256(canonical_bytes([identifier, sender, cap_time(sent)])).digest()


def leaf_hash_at(conn: Connection, party: str, seq: int) -> str:
    """The leaf hash (hex) of entry ``party:seq``; a clear error if it is not stored."""
    value = notification_rows.leaf_hash_of(conn, party, seq)
    if value is None:
        raise NotFoundError(f"entry {party}:{seq} is not stored here")
    return value.hex()


class Appender:
    """Appends notifications in the caller's write transaction, keeping the key table in step.

    Signing waits for ``flush``, so a batch costs one checkpoint; a message that references one
    still waiting flushes first, since an entry reference needs the leaf hash. ``body_limit``
    names the message whose body is too large when the log refuses a batch.
    """

    def __init__(self, node: Node, tx: Writing, now: int, body_limit: int) -> None:
        self.node, self.tx, self.now, self.body_limit = node, tx, now, body_limit
        self.waiting: list[tuple[Item, bytes, int | None, Written]] = []
        self.by_key: dict[bytes, Written] = {}
        self.copies: list[tuple[Written, Written]] = []

    def add(self, item: Item, incident: int | None = None) -> Written:
        """Queue ``item`` (or find it already there); ``incident`` joins it to a chain."""
        identifier, sender, sent = body_identity(item.body)
        key = notification_key(identifier, sender, sent)
        if key in self.by_key:
            again = Written(identifier, new=False)
            self.copies.append((again, self.by_key[key]))
            return again
        found = notification_rows.find_key(self.tx, self.node.party, key)
        if found is not None:
            self.by_key[key] = Written(
                identifier,
                self.node.ref(found.seq),
                leaf_hash_at(self.tx, self.node.party, found.seq),
                new=False,
            )
            return self.by_key[key]
        if "references" not in item.body and item.body.get("cap_references"):
            links, linked = self._links(item.body["cap_references"])
            if links:
                item = Item(
                    dict(item.body, references=links),
                    item.status,
                    item.audience,
                    item.tlp,
                    item.what,
                )
                incident = linked if incident is None else incident
        written = self.by_key[key] = Written(identifier)
        self.waiting.append((item, key, incident, written))
        return written

    def _links(self, cap_references: list[str]) -> tuple[list[dict[str, str]], int | None]:
        """Entry references for the CAP references this node holds, and their incident."""
        links: dict[str, dict[str, str]] = {}
        incidents = []
        for text in cap_references:
            sender, identifier, sent = parse_cap_reference(text)
            key = notification_key(identifier, sender, sent)
            if any(waiting_key == key for _, waiting_key, _, _ in self.waiting):
                self.flush()
            found = notification_rows.find_key(self.tx, self.node.party, key)
            if found is not None:
                ref = self.node.ref(found.seq)
                links[ref] = {
                    "ref": ref,
                    "leaf_hash": leaf_hash_at(self.tx, self.node.party, found.seq),
                }
                incidents.append(found.incident)
        return list(links.values()), min(incidents) if incidents else None

    def flush(self) -> None:
        """Sign and append what is waiting, and record its keys; same transaction."""
        waiting, self.waiting = self.waiting, []
        if waiting:
            drafts = [Draft(KIND, i.status, i.body, i.audience, i.tlp) for i, _, _, _ in waiting]
            try:
                headers = self.node.log.append_in(self.tx, drafts, self.now)
            except LimitExceededError as exc:
                raise self._too_large(waiting) or exc from exc
            rows = []
            for header, (item, key, incident, written) in zip(headers, waiting, strict=True):
                identifier, sender, sent = body_identity(item.body)
                written.ref = header.ref
                written.leaf_hash = compute_leaf_hash(header.leaf).hex()
                rows.append(
                    {
                        "party": self.node.party,
                        "key": key,
                        "identifier": identifier,
                        "sender": sender,
                        "sent": sent,
                        "seq": header.seq,
                        "incident": header.seq if incident is None else incident,
                    }
                )
            notification_rows.insert_keys(self.tx, rows)
        for again, first in self.copies:
            again.ref, again.leaf_hash = first.ref, first.leaf_hash

    def _too_large(
        self, waiting: list[tuple[Item, bytes, int | None, Written]]
    ) -> ParleyError | None:
        for item, _, _, _ in waiting:
            size = len(canonical_bytes(item.body))
            if size > self.body_limit:
                return over_limit(item, size, self.body_limit)
        return None
