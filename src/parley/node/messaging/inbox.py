"""The inbox, and one entry read whole: what an officer needs to find and read a reference.

DESIGN.md, "Services and edges" and "Federation" (receipts, deadlines). Every edge (``parley
inbox``, ``parley show``, the API and pages) shows what these functions compute.

* **What is in it.** The entries of other parties' logs that are addressed to this party: an
  addressed kind (``parley.core.entry.ADDRESSED_KINDS``) whose audience is ALL or names this
  party. Its own entries and system kinds (receipts, observations, ...) are not in it.
* **Order and paging.** Newest first by the local ingest sequence, which is assigned under the
  single-writer lock: never by timestamps, which the authors sign and which may go backwards
  across logs. A page carries ``cursor`` (the highest ingest seen) for a poller, which asks
  for what came ``after`` it, and ``older`` (where the next older page starts, if any).
* **Each item.** Reference, kind, author, status, TLP, claimed time, a one-line summary, whether
  the body is held (or why not: the entry row's flag), this node's receipt state, and the
  clocks still running for this node, judged at ``now`` by ``clock_views.running_clocks``, the
  judgement ``parley status`` shows.
* **One entry** (``entry``): any entry held, its header, its body decoded if held (or why
  not), and for an addressed kind each addressee's receipts and clocks; ``held`` says whether
  an entry is here with its verified body.
* **Clearance.** Given a reader's ``clearance`` (``parley.node.access.CLEARANCE`` of its role),
  an entry whose TLP it does not cover shows no body, no summary and no reply text, and says
  why (``withheld``); a category filter does not match it either, so a filter cannot tell a
  reader what the body says. Headers, receipt states and clocks are shown to every reader.
* **The own log** (``own_log``): this node's entries from a seq on (``parley log show``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from parley.core.entry import (
    ADDRESSED_KINDS,
    STATUSES,
    Body,
    Header,
    check_party,
    parse_header,
    parse_ref,
)
from parley.core.errors import InvalidEntryError, NotFoundError, ParleyError
from parley.core.policy import PolicyDocument
from parley.formats.notification import render_headline
from parley.node import checked_bodies
from parley.node.access import withheld_from
from parley.node.messaging import clock_views, deadlines, hotline, receipts
from parley.node.node import Node
from parley.store import inbox as rows
from parley.store import logs
from parley.store.entries import EntryFlag

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SCAN_PAGE = 200
SUMMARY_MAX = 160
KINDS = tuple(sorted(ADDRESSED_KINDS))

FLAG_REASONS: dict[str, str] = {
    EntryFlag.DEADLINE_BOUNDS: "its deadlines are outside the policy's bounds",
    EntryFlag.OVER_QUOTA: "its author was over the policy's quota",
    EntryFlag.BODY_WITHHELD: "its author served the header without the body",
    EntryFlag.BODY_PENDING: "its body has not been fetched yet",
}


@dataclass(frozen=True)
class Filters:
    """What an officer narrows the inbox to; every field optional."""

    party: str | None = None
    kind: str | None = None
    category: str | None = None
    status: str | None = None
    unacknowledged: bool = False

    def check(self) -> None:
        """Refuse a malformed party code in the filters."""
        if self.party is not None:
            check_party(self.party, what="--party")
        if self.kind is not None and self.kind not in ADDRESSED_KINDS:
            raise InvalidEntryError(
                f"--kind {self.kind!r} is not an addressed kind", hint=f"one of {', '.join(KINDS)}"
            )
        if self.status is not None and self.status not in STATUSES:
            raise InvalidEntryError(f"--status {self.status!r} is not one of {', '.join(STATUSES)}")

    def described(self) -> str:
        """The filters as the options that set them: ``--kind hotline --unacknowledged``."""
        given = [
            f"--{name} {value}"
            for name, value in (
                ("party", self.party),
                ("kind", self.kind),
                ("category", self.category),
                ("status", self.status),
            )
            if value is not None
        ]
        return " ".join(given + (["--unacknowledged"] if self.unacknowledged else []))


@dataclass(frozen=True)
class Item:
    """One entry of the inbox, as this node reads it at ``now``."""

    ref: str
    ingest: int
    leaf_hash: str
    kind: str
    author: str
    status: str
    tlp: str
    time: int
    summary: str
    body_held: bool
    flag: str | None
    receipt: str  # none, delivered, acknowledged, mismatch: this node's receipts
    clocks: list[dict[str, Any]] = field(default_factory=list)  # still running for this node
    withheld: str | None = None  # why the reader is not shown what it says (clearance)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the item."""
        return {
            "ref": self.ref,
            "ingest": self.ingest,
            "leaf_hash": self.leaf_hash,
            "kind": self.kind,
            "author": self.author,
            "status": self.status,
            "tlp": self.tlp,
            "time": self.time,
            "summary": self.summary,
            "body_held": self.body_held,
            "flag": self.flag,
            "receipt": self.receipt,
            "clocks": self.clocks,
            "withheld": self.withheld,
        }


@dataclass(frozen=True)
class Page:
    """A page of the inbox, newest first, with where to go on from."""

    items: list[Item]
    cursor: int  # the highest ingest sequence this page covers: poll ``after`` it
    older: int | None  # ``before`` for the next older page; None if there is none
    empty: str | None  # why there is nothing, when there is nothing

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the page."""
        return {
            "items": [i.to_dict() for i in self.items],
            "cursor": self.cursor,
            "older": self.older,
            "empty": self.empty,
        }


def one_line(text: str, limit: int = SUMMARY_MAX) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def why_no_body(stored: logs.StoredEntry, header: Header, party: str) -> str | None:
    """Why this node shows no body for an entry; None when it holds and may show it."""
    if stored.flag is not None:
        reason = FLAG_REASONS.get(stored.flag, "stored header-only")
        return f"{reason} ({stored.flag})"
    if stored.body is None or stored.salt is None:
        if not header.readable_by(party):
            return f"{party} is not in its audience: this node holds the signed header only"
        return "this node holds the signed header only"
    return None


def body_of(stored: logs.StoredEntry) -> tuple[Any, str | None]:
    """The decoded body of a held entry, or None and why it cannot be read."""
    if stored.body is None or stored.salt is None:
        return None, None
    try:
        return checked_bodies.value_of(Body(stored.salt, stored.body)), None
    except ParleyError as exc:
        return None, f"its body is not readable: {exc.message}"


def summary_of(node: Node, header: Header, value: Any) -> str:
    """One line saying what an addressed entry says, by kind."""
    if not isinstance(value, dict):
        return header.kind
    if header.kind == "notification":
        return render_headline(value, node.config.language)
    if header.kind == "hotline":
        return hotline.summary(node, value)
    texts: dict[str, Callable[[], str]] = {
        "inquiry": lambda: f"question about {_ref(value.get('about'))}: {value.get('question')}",
        "reply": lambda: f"reply to {_ref(value.get('inquiry'))}: {value.get('text')}",
        "check": lambda: "communication check",
        "assistance": lambda: (
            f"assistance {value.get('type')}: {value.get('text') or value.get('status') or ''}"
        ),
        "roadmap": lambda: (
            f"roadmap {value.get('type')}: {value.get('title') or value.get('text') or ''}"
        ),
    }
    maker = texts.get(header.kind)
    return header.kind if maker is None else maker().strip()


def _ref(value: Any) -> str:
    return str(value.get("ref")) if isinstance(value, dict) else "?"


def _receipt_state(found: dict[str, bytes], leaf_hash: bytes) -> str:
    if any(hashed != leaf_hash for hashed in found.values()):
        return "mismatch"
    return "acknowledged" if "acknowledged" in found else "delivered" if found else "none"


def _item(
    node: Node,
    conn: Connection,
    stored: logs.StoredEntry,
    header: Header,
    value: Any,
    answered: dict[str, bytes],
    policy: PolicyDocument,
    now: int,
    clearance: frozenset[str] | None,
) -> Item:
    reason = why_no_body(stored, header, node.party)
    withheld = withheld_from(clearance, header.tlp)
    if withheld is not None:
        summary = f"[withheld] {withheld}"
    elif reason is not None:
        summary = f"[header only] {reason}"
    else:
        summary = summary_of(node, header, value)
    running = clock_views.running_clocks(node, conn, stored, policy, now, [node.party])
    return Item(
        ref=header.ref,
        ingest=stored.ingest,
        leaf_hash=stored.leaf_hash.hex(),
        kind=header.kind,
        author=header.party,
        status=header.status,
        tlp=header.tlp,
        time=header.time,
        summary=one_line(summary),
        body_held=reason is None,
        flag=stored.flag,
        receipt=_receipt_state(answered, stored.leaf_hash),
        clocks=[c.to_dict() for c in running],
        withheld=withheld,
    )


def _matches(node: Node, header: Header, value: Any, filters: Filters) -> bool:
    if not receipts.addressed_to(header, node.party):
        return False  # the store's audience match is a prefilter
    if filters.category is None:
        return True
    return (
        header.kind == "notification"
        and isinstance(value, dict)
        and (value.get("category") == filters.category)
    )


def _answered(
    node: Node, conn: Connection, stored: logs.StoredEntry, header: Header, policy: PolicyDocument
) -> bool:
    """Whether this party answered the entry by an entry of its own (an offer it accepted).

    The store's ``unacknowledged`` prefilter sees acknowledgement receipts only; the clock
    judgement also counts the answers of ``deadlines.entry_answers``, and the inbox agrees.
    """
    return bool(deadlines.entry_answers(node, conn, stored, header, [node.party], policy))


def listing(
    node: Node,
    now: int,
    filters: Filters | None = None,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = DEFAULT_LIMIT,
    clearance: frozenset[str] | None = None,
) -> Page:
    """A page of the inbox (module docstring): newest first, or what came ``after`` a cursor.

    ``clearance``: the TLP labels the reader may read (None: no clearance applies).
    """
    filters = filters or Filters()
    filters.check()
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidEntryError(f"--limit must be between 1 and {MAX_LIMIT}")
    kinds = [filters.kind] if filters.kind else list(KINDS)
    found: list[tuple[logs.StoredEntry, Header, Any]] = []
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        cursor = rows.latest_ingest(conn) if after is None else after
        older = None
        position_after, position_before = after, before
        while len(found) < limit:
            page = rows.addressed_page(
                conn,
                node.party,
                kinds,
                author=filters.party,
                status=filters.status,
                unacknowledged=filters.unacknowledged,
                after=position_after,
                before=position_before,
                limit=SCAN_PAGE,
            )
            for stored in page:
                if after is not None:
                    position_after = cursor = stored.ingest
                else:
                    position_before = stored.ingest
                header = parse_header(stored.leaf)
                readable = stored.flag is None and withheld_from(clearance, header.tlp) is None
                value = body_of(stored)[0] if readable else None
                if _matches(node, header, value, filters) and not (
                    filters.unacknowledged and _answered(node, conn, stored, header, policy)
                ):
                    found.append((stored, header, value))
                    if len(found) == limit:
                        older = stored.ingest if after is None else None
                        break
            if len(page) < SCAN_PAGE:
                break
        answered = rows.receipts_by(conn, [(s.party, s.seq) for s, _, _ in found], node.party)
        items = [
            _item(node, conn, s, h, v, answered.get((s.party, s.seq), {}), policy, now, clearance)
            for s, h, v in found
        ]
    if after is not None:
        items.reverse()
    return Page(items, cursor, older, None if items else _empty(node, filters, after, before))


def _empty(node: Node, filters: Filters, after: int | None, before: int | None) -> str:
    if filters.described():
        return f"nothing matches {filters.described()}"
    if after is not None:
        return f"nothing new addressed to {node.party}"
    if before is not None:
        return f"nothing older addressed to {node.party}"
    return f"nothing addressed to {node.party} yet"


# One entry, read whole --------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    """Everything this node holds about one entry (``parley show``)."""

    ref: str
    leaf_hash: str
    ingest: int
    header: dict[str, Any]
    flag: str | None
    body: Any
    why_no_body: str | None
    addressees: list[dict[str, Any]]  # addressed kinds: receipts and clocks per addressee
    witnessed: int | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of what ``parley show`` prints."""
        return {
            "ref": self.ref,
            "leaf_hash": self.leaf_hash,
            "ingest": self.ingest,
            "header": self.header,
            "flag": self.flag,
            "body": self.body,
            "why_no_body": self.why_no_body,
            "witnessed": self.witnessed,
            "addressees": self.addressees,
        }


def entry(node: Node, ref: str, now: int, *, clearance: frozenset[str] | None = None) -> EntryView:
    """Entry ``ref`` as this node holds it: header, body (or why not), receipts, clocks.

    A reader whose ``clearance`` does not cover the entry's TLP gets no body and no reply text
    of a receipt, and ``why_no_body`` says so.
    """
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
    if stored is None:
        raise NotFoundError(f"entry {ref} is not held by this node", hint="'parley sync' first")
    header = parse_header(stored.leaf)
    withheld = withheld_from(clearance, header.tlp)
    value, unreadable = (None, None) if withheld is not None else body_of(stored)
    reason = withheld or why_no_body(stored, header, node.party) or unreadable
    addressees: list[dict[str, Any]] = []
    witnessed = None
    if header.kind in ADDRESSED_KINDS:
        _header, answers = receipts.status(node, ref, clearance=clearance)
        judged = deadlines.entry_clocks(node, ref, now)
        witnessed = judged.witnessed
        clocks: dict[str, list[dict[str, Any]]] = {}
        for clock in judged.clocks:
            if clock.within is not None:
                clocks.setdefault(clock.party, []).append(clock.to_dict())
        addressees = [a.to_dict() | {"clocks": clocks.get(a.party, [])} for a in answers]
    shown = header.to_dict() | {"ref": header.ref}
    return EntryView(
        header.ref,
        stored.leaf_hash.hex(),
        stored.ingest,
        shown,
        stored.flag,
        value if reason is None else None,
        reason,
        addressees,
        witnessed,
    )


def held(node: Node, ref: str) -> bool:
    """Whether this node holds entry ``ref`` with its verified body (not flagged)."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
    return stored is not None and stored.body is not None and stored.flag is None


def own_log(node: Node, start: int, limit: int) -> list[tuple[Header, str]]:
    """The own log's entries from seq ``start`` (at most ``limit``), with leaf hashes (hex)."""
    with node.store.read() as conn:
        stored = logs.get_range(conn, node.party, start, start + limit)
    return [(parse_header(s.leaf), s.leaf_hash.hex()) for s in stored]
