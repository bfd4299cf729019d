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

``listing`` is what a desk reads: the inquiries addressed to this party and those it asked,
newest first, each with the entry it asks about, the question, the addressee's reply clock
judged at ``now`` (``deadlines.judge_stored``, the one judgement) and the replies that name it.
A reader whose ``clearance`` does not cover an inquiry's TLP gets no question, no summary of
the entry asked about and no reply text, and ``withheld`` says why; headers and clocks are
shown to every reader, as in the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from parley.core import deadlines as clocks
from parley.core.deadlines import deadlines_for
from parley.core.entry import Header, parse_header, parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.core.policy import PolicyDocument
from parley.node.access import withheld_from
from parley.node.messaging import deadlines, inbox, receipts
from parley.node.messaging.drafting import check_draft
from parley.node.node import Node
from parley.store import inbox as rows
from parley.store import logs

DEADLINE_CLASS = "inquiry"
KIND = "inquiry"
RECEIVED, ASKED = "received", "asked"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SCAN_PAGE = 200


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


# What a desk reads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A reply that names an inquiry, by its addressee."""

    ref: str
    claimed: int
    witnessed: int | None
    text: str | None  # None when withheld from the reader, or not held
    withheld: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the reply."""
        return {
            "ref": self.ref,
            "claimed": self.claimed,
            "witnessed": self.witnessed,
            "text": self.text,
            "withheld": self.withheld,
        }


@dataclass(frozen=True)
class Inquiry:
    """One inquiry as this node reads it at a time: addressed to it, or asked by it."""

    ref: str
    leaf_hash: str
    direction: str  # RECEIVED (addressed to this party) or ASKED (by this party)
    asker: str
    addressee: str
    status: str
    tlp: str
    time: int
    about: dict[str, Any] | None  # the entry asked about; None when the body is not shown
    question: str | None
    withheld: str | None  # why the reader is not shown the question
    clock: dict[str, Any] | None  # the addressee's reply clock (``acknowledged``), judged
    replies: list[Reply] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the inquiry."""
        return {
            "ref": self.ref,
            "leaf_hash": self.leaf_hash,
            "direction": self.direction,
            "asker": self.asker,
            "addressee": self.addressee,
            "status": self.status,
            "tlp": self.tlp,
            "time": self.time,
            "about": self.about,
            "question": self.question,
            "withheld": self.withheld,
            "clock": self.clock,
            "replies": [r.to_dict() for r in self.replies],
        }


@dataclass(frozen=True)
class Inquiries:
    """The inquiries addressed to a party and those it asked, each newest first."""

    party: str
    received: list[Inquiry]
    asked: list[Inquiry]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of both lists."""
        return {
            "party": self.party,
            "received": [i.to_dict() for i in self.received],
            "asked": [i.to_dict() for i in self.asked],
        }


def listing(
    node: Node,
    now: int,
    *,
    limit: int = DEFAULT_LIMIT,
    clearance: frozenset[str] | None = None,
) -> Inquiries:
    """The newest ``limit`` inquiries addressed to this node and asked by it, judged at ``now``.

    ``clearance``: the TLP labels the reader may read (None: no clearance applies).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidEntryError(f"--limit must be between 1 and {MAX_LIMIT}")
    with node.store.read() as conn:
        policy = node.policy_in(conn)

        def views(found: list[logs.StoredEntry], direction: str) -> list[Inquiry]:
            return [_view(node, conn, s, direction, policy, now, clearance) for s in found]

        received = views(_addressed_here(node, conn, limit), RECEIVED)
        asked = views(rows.own_page(conn, node.party, [KIND], limit), ASKED)
    return Inquiries(node.party, received, asked)


def _addressed_here(node: Node, conn: Connection, limit: int) -> list[logs.StoredEntry]:
    """Other parties' inquiries addressed to this node, newest first by ingest."""
    found: list[logs.StoredEntry] = []
    before = None
    while len(found) < limit:
        page = rows.addressed_page(conn, node.party, [KIND], before=before, limit=SCAN_PAGE)
        found += [s for s in page if receipts.addressed_to(parse_header(s.leaf), node.party)]
        if len(page) < SCAN_PAGE:
            break
        before = page[-1].ingest
    return found[:limit]


def _view(
    node: Node,
    conn: Connection,
    stored: logs.StoredEntry,
    direction: str,
    policy: PolicyDocument,
    now: int,
    clearance: frozenset[str] | None,
) -> Inquiry:
    header = parse_header(stored.leaf)
    others = deadlines.addressees(header, [m.party for m in policy.members])
    addressee = node.party if direction == RECEIVED or not others else others[0]
    reason = withheld_from(clearance, header.tlp) or inbox.why_no_body(stored, header, node.party)
    value, unreadable = (None, None) if reason is not None else inbox.body_of(stored)
    reason = reason or unreadable
    shown = value if reason is None and isinstance(value, dict) else {}
    question = shown.get("question")
    judged = deadlines.judge_stored(node, conn, stored, policy, now, [addressee]).clocks
    reply_clock = next(
        (c for c in judged if c.clock == clocks.ACKNOWLEDGED and c.within is not None), None
    )
    answers = deadlines.entry_answers(node, conn, stored, header, [addressee], policy)
    return Inquiry(
        ref=header.ref,
        leaf_hash=stored.leaf_hash.hex(),
        direction=direction,
        asker=header.party,
        addressee=addressee,
        status=header.status,
        tlp=header.tlp,
        time=header.time,
        about=_about(node, conn, shown.get("about"), clearance) if shown else None,
        question=question if isinstance(question, str) else None,
        withheld=reason,
        clock=None if reply_clock is None else reply_clock.to_dict(),
        replies=[_reply(node, conn, a, clearance) for a in answers],
    )


def _about(
    node: Node, conn: Connection, named: Any, clearance: frozenset[str] | None
) -> dict[str, Any] | None:
    """The entry an inquiry names: its ref, kind, one line of what it says, whether it matches."""
    if not isinstance(named, dict) or not isinstance(named.get("ref"), str):
        return None
    about: dict[str, Any] = {"ref": named["ref"], "kind": None, "summary": None, "matches": None}
    try:
        party, seq = parse_ref(named["ref"])
    except InvalidEntryError:
        return about
    stored = logs.get_entry(conn, party, seq)
    if stored is None:
        return about
    header = parse_header(stored.leaf)
    about |= {"kind": header.kind, "matches": stored.leaf_hash.hex() == named.get("leaf_hash")}
    hidden = withheld_from(clearance, header.tlp) or inbox.why_no_body(stored, header, node.party)
    value = None if hidden is not None else inbox.body_of(stored)[0]
    if value is not None:
        about["summary"] = inbox.one_line(inbox.summary_of(node, header, value))
    return about


def _reply(
    node: Node, conn: Connection, answer: clocks.Answer, clearance: frozenset[str] | None
) -> Reply:
    party, seq = parse_ref(answer.ref)
    stored = logs.get_entry(conn, party, seq)
    text: str | None = None
    reason: str | None = "this node does not hold the reply"
    if stored is not None:
        header = parse_header(stored.leaf)
        reason = withheld_from(clearance, header.tlp) or inbox.why_no_body(
            stored, header, node.party
        )
        value = None if reason is not None else inbox.body_of(stored)[0]
        said = value.get("text") if isinstance(value, dict) else None
        text = said if isinstance(said, str) else None
    return Reply(answer.ref, answer.stamp.claimed, answer.stamp.witnessed, text, reason)
