"""Inquiries and replies: a party asks another about one of its entries, and is answered.

DESIGN.md, "The entry" (kinds) and "Deadlines, time and compliance"; docs/protocol.md §7 and
§11. ``inquire`` appends an ``inquiry`` about entry REF of another party, addressed to REF's
author (audience: that author and this node; TLP inherited from REF, except that CLEAR, which a
named audience cannot carry, falls back to the default AMBER; status inherited). Its
``deadlines.acknowledged_within`` is the reply-within the officer asked for, within the
policy's bounds for class ``inquiry``.

``reply`` appends a ``reply`` naming the inquiry by ref and leaf hash, with the inquiry's
audience, TLP and status. The first reply of the addressee is what answers the inquiry's
acknowledged clock; an ``acknowledged`` receipt does not (a question needs an answer). Replies
are addressed entries themselves: they get receipts and carry deadlines of class ``inquiry``.
"""

from __future__ import annotations

from sqlalchemy import Connection

from parley.core.deadlines import deadlines_for
from parley.core.entry import Header, parse_header, parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.node.messaging import receipts
from parley.node.messaging.drafting import check_draft
from parley.node.node import Node
from parley.store import logs

DEADLINE_CLASS = "inquiry"


def _held(conn: Connection, ref: str) -> logs.StoredEntry:
    party, seq = parse_ref(ref)
    stored = logs.get_entry(conn, party, seq)
    if stored is None:
        raise NotFoundError(f"entry {ref} is not held by this node", hint="'parley sync' first")
    return stored


def inquire(
    node: Node,
    ref: str,
    question: str,
    reply_within: int | None,
    now: int,
    *,
    unit: str | None = None,
) -> Header:
    """Append an inquiry about another party's entry ``ref``; return its header."""
    with node.store.write() as tx:
        stored = _held(tx, ref)
        about = parse_header(stored.leaf)
        if about.party == node.party:
            raise InvalidEntryError(
                f"{ref} is this node's own entry; an inquiry asks another party about its entry"
            )
        document = node.policy_in(tx)
        body = {
            "about": {"ref": about.ref, "leaf_hash": stored.leaf_hash.hex()},
            "question": question,
            "deadlines": deadlines_for(document, DEADLINE_CLASS, reply_within, unit=unit),
        }
        tlp = None if about.tlp == "CLEAR" else about.tlp
        audience = tuple(sorted({about.party, node.party}))
        draft = check_draft("inquiry", about.status, body, audience, tlp)  # type: ignore[arg-type]
        (header,) = node.log.append_in(tx, [draft], now)
    return header


def reply(node: Node, ref: str, text: str, now: int) -> Header:
    """Append a reply to inquiry ``ref`` addressed to this node; return its header."""
    with node.store.write() as tx:
        stored = _held(tx, ref)
        inquiry = parse_header(stored.leaf)
        if inquiry.kind != "inquiry" or not receipts.addressed_to(inquiry, node.party):
            raise InvalidEntryError(
                f"{ref} is a {inquiry.kind} entry, not an inquiry addressed to {node.party}"
            )
        if stored.body is None or stored.flag is not None:
            raise InvalidEntryError(
                f"{ref}: this node does not hold its verified body "
                f"({stored.flag or 'header only'}); it cannot answer what it has not read"
            )
        body = {
            "inquiry": {"ref": inquiry.ref, "leaf_hash": stored.leaf_hash.hex()},
            "text": text,
            "deadlines": deadlines_for(node.policy_in(tx), DEADLINE_CLASS),
        }
        audience, tlp = receipts.answer_sharing(inquiry)
        draft = check_draft("reply", inquiry.status, body, audience, tlp)  # type: ignore[arg-type]
        (header,) = node.log.append_in(tx, [draft], now)
    return header
