"""The hotline: a bilateral channel whose standard phrases each side reads in its own language.

Sending (``send``) appends one ``hotline`` entry (docs/protocol.md §7, docs/hotline.md):

* the audience is exactly the two parties, sender and recipient, and the recipient must be a
  member of the network's policy; TLP is AMBER unless the officer says otherwise;
* the status is given explicitly (Actual, Exercise, Test, Draft), as for every command that
  sends: nothing guesses whether a message is real;
* a phrase is signed as its code, its parameters in canonical form, the hash of this node's
  catalogue and the sender's own rendering in the node's language (``[node] lang`` in
  parley.toml, else the party's: JP ja, CN zh, KR ko, RU ru, others en); free text goes as it is
  written;
* the deadlines are the policy's ``hotline`` class (acknowledged within 5 minutes by default);
  escalating a missed deadline is the deadlines service's job, not this module's;
* ``in_reply_to`` names the answered message exactly (``PARTY:SEQ`` and leaf hash), and only a
  hotline message between the same two parties can be answered.

Reading (``conversation``, ``message``) renders each phrase again from this node's catalogue in
the reader's language, next to the sender's signed rendering. When the sender's catalogue hash
differs from this node's, the message says so: the local rendering may then not be what the
sender meant, and the signed rendering is the sender's word. Acknowledgement status comes from
the receipts this node holds (``parley.node.messaging.receipts``): delivered, acknowledged, by
whom, when; each message's clocks (acknowledged within, missed, late, escalated) are judged at read
time by ``parley.node.messaging.deadlines``, the same judgement ``parley status`` and the inbox
show. A reader whose ``clearance`` (``parley.node.access``) does not cover a message's TLP (AMBER
by default) sees its header, receipts and clocks, never its phrase, text or reply: the message
says why (``withheld``).

``phrase_book`` is the catalogue as ``parley hotline phrases --json`` and the API list it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from parley.core.deadlines import deadlines_for
from parley.core.entry import ALL, Body, Header, check_party, parse_header, parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError, ParleyError
from parley.formats import phrases
from parley.node.access import withheld_from
from parley.node.messaging import clock_views
from parley.node.messaging.drafting import check_draft
from parley.node.node import Node, now_ms
from parley.store import inbox as entry_rows
from parley.store import logs
from parley.store import receipts as receipt_rows

KIND = "hotline"
DEADLINE_CLASS = "hotline"
DEFAULT_LIMIT = 100


def node_language(node: Node) -> str:
    """The catalogue language this node reads and writes hotline phrases in."""
    return phrases.language_for(node.config.language)


def chosen_language(node: Node, lang: str | None) -> str:
    """``lang`` if given (one of the catalogue's languages), else the node's."""
    return node_language(node) if lang is None else checked_language(lang)


def checked_language(lang: str) -> str:
    """``lang`` if it is one of the catalogue's languages, else an error naming them."""
    if lang not in phrases.LANGUAGES:
        raise InvalidEntryError(
            f"--lang {lang!r} is not one of {', '.join(phrases.LANGUAGES)}", field="lang"
        )
    return lang


def phrase_book(lang: str, group: str | None = None) -> dict[str, Any]:
    """The phrase catalogue (of one ``group``, or all) with each phrase rendered in ``lang``.

    The groups are the situations the phrases are for (identity, intentions, warnings, ...),
    each with its title in ``lang`` and in every language, in catalogue order.
    """
    catalogue = phrases.catalogue()
    lang = checked_language(lang)
    return {
        "catalogue": catalogue.hash,
        "version": catalogue.version,
        "lang": lang,
        "languages": list(phrases.LANGUAGES),
        "types": {
            t.name: {"doc": t.doc, "example": t.example} for t in phrases.PARAM_TYPES.values()
        },
        "groups": [
            {"code": code, "title": titles[lang], "titles": dict(titles)}
            for code, titles in catalogue.groups.items()
            if group is None or code == group
        ],
        "phrases": [
            {
                "code": p.code,
                "group": p.group,
                "params": [{"name": n, "type": t} for n, t in p.params],
                "text": p.texts[lang],
                "texts": dict(p.texts),
            }
            for p in catalogue.listing(group)
        ],
    }


# --------------------------------------------------------------------------------------------
# Sending


@dataclass(frozen=True)
class Outgoing:
    """What an officer asks to send: a phrase with parameters, free text, or both.

    ``acknowledged_within`` (ms) asks for an acknowledgement deadline other than the policy's
    default for hotline messages, within its bounds.
    """

    to: str
    status: str
    phrase: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None
    lang: str | None = None
    tlp: str | None = None
    reply_to: str | None = None
    acknowledged_within: int | None = None


def _recipient(node: Node, to: str) -> str:
    check_party(to, what="recipient")
    if to == node.party:
        raise InvalidEntryError(f"a hotline message goes to another party, not to {to} itself")
    node.context().policy.document.member(to)
    return to


def _phrase_fields(message: Outgoing, lang: str) -> dict[str, Any]:
    if message.phrase is None:
        if message.params:
            raise InvalidEntryError("--param needs --phrase: parameters belong to a phrase")
        return {}
    catalogue = phrases.catalogue()
    params = catalogue.normalise(message.phrase, message.params)
    return {
        "phrase": message.phrase,
        "params": params,
        "catalogue": catalogue.hash,
        "rendering": {"lang": lang, "text": catalogue.render(message.phrase, params, lang)},
    }


def hotline_body(node: Node, message: Outgoing) -> dict[str, Any]:
    """The body of a hotline message from this node, checked against the catalogue and policy."""
    to = _recipient(node, message.to)
    if message.phrase is None and not message.text:
        raise InvalidEntryError("a hotline message needs --phrase or --text (or both)")
    lang = chosen_language(node, message.lang)
    body: dict[str, Any] = {"to": to, **_phrase_fields(message, lang)}
    if message.text:
        body["text"] = message.text
    if message.reply_to is not None:
        body["in_reply_to"] = _answered(node, message.reply_to, to)
    document = node.context().policy.document
    body["deadlines"] = deadlines_for(document, DEADLINE_CLASS, message.acknowledged_within)
    return body


def send(node: Node, message: Outgoing, now: int | None = None) -> Header:
    """Sign and append one hotline message; return its header."""
    body = hotline_body(node, message)
    audience = ",".join(sorted({node.party, body["to"]}))
    draft = check_draft(
        KIND, message.status, body, audience, message.tlp, policy=node.context().policy.document
    )
    (header,) = node.append([draft], now_ms() if now is None else now)
    return header


def _answered(node: Node, ref: str, to: str) -> dict[str, str]:
    """The exact reference of the hotline message ``ref`` between this node and ``to``."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
    if stored is None:
        raise NotFoundError(
            f"--reply-to {ref}: this node holds no such entry", hint="'parley sync' first"
        )
    header = parse_header(stored.leaf)
    fields = _fields(_body(stored.body, stored.salt)) if stored.body is not None else {}
    between = (party == node.party and fields.get("to") == to) or (
        party == to and fields.get("to") == node.party
    )
    if header.kind != KIND or not between:
        raise InvalidEntryError(
            f"--reply-to {ref} is not a hotline message between {node.party} and {to}"
        )
    return {"ref": ref, "leaf_hash": stored.leaf_hash.hex()}


# --------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class Rendered:
    """A hotline phrase rendered in one language."""

    lang: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form of the rendering."""
        return {"lang": self.lang, "text": self.text}


@dataclass(frozen=True)
class Answer:
    """The addressee's receipts for a message, as this node holds them."""

    party: str
    status: str  # none, delivered, acknowledged, mismatch
    delivered: dict[str, Any] | None = None
    acknowledged: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the answer: its fields, in their order."""
        return asdict(self)


@dataclass(frozen=True)
class Message:
    """One hotline message as this node reads it."""

    ref: str
    leaf_hash: str
    author: str
    to: str
    direction: str  # sent (by this node) or received
    time: int  # the author's claimed time (header), ms
    status: str
    tlp: str
    body_held: bool
    answer: Answer
    phrase: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    catalogue: str | None = None
    signed: Rendered | None = None
    text: str | None = None
    in_reply_to: str | None = None
    acknowledged_within: int | None = None
    local: Rendered | None = None
    catalogue_matches: bool | None = None
    note: str | None = None
    clocks: list[dict[str, Any]] = field(default_factory=list)  # the addressee's, judged now
    withheld: str | None = None  # why the reader is not shown what it says (clearance)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the message."""
        return {
            "ref": self.ref,
            "leaf_hash": self.leaf_hash,
            "from": self.author,
            "to": self.to,
            "direction": self.direction,
            "time": self.time,
            "status": self.status,
            "tlp": self.tlp,
            "body_held": self.body_held,
            "phrase": self.phrase,
            "params": self.params,
            "catalogue": self.catalogue,
            "catalogue_matches": self.catalogue_matches,
            "signed_rendering": None if self.signed is None else self.signed.to_dict(),
            "rendering": None if self.local is None else self.local.to_dict(),
            "note": self.note,
            "text": self.text,
            "in_reply_to": self.in_reply_to,
            "acknowledged_within": self.acknowledged_within,
            "answer": self.answer.to_dict(),
            "clocks": self.clocks,
            "withheld": self.withheld,
        }


def _body(data: bytes | None, salt: bytes | None) -> Any:
    return None if data is None else Body(salt or b"", data).value()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _fields(body: Any) -> dict[str, Any]:
    """The fields of a hotline body, read leniently: a peer may write a later version."""
    if not isinstance(body, dict):
        return {}
    fields: dict[str, Any] = {
        name: _text(body.get(name)) for name in ("to", "phrase", "catalogue", "text")
    }
    params = body.get("params")
    fields["params"] = (
        {k: v for k, v in params.items() if isinstance(v, str)} if isinstance(params, dict) else {}
    )
    rendering = body.get("rendering")
    if isinstance(rendering, dict):
        lang, text = _text(rendering.get("lang")), _text(rendering.get("text"))
        fields["signed"] = Rendered(lang, text) if lang and text is not None else None
    reply = body.get("in_reply_to")
    fields["in_reply_to"] = _text(reply.get("ref")) if isinstance(reply, dict) else None
    deadlines = body.get("deadlines")
    ack = deadlines.get("acknowledged_within") if isinstance(deadlines, dict) else None
    fields["acknowledged_within"] = ack if isinstance(ack, int) else None
    return fields


def _reading(fields: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The reader's rendering of the phrase from this node's catalogue, with a note if needed."""
    code = fields.get("phrase")
    if code is None:
        return {}
    catalogue = phrases.catalogue()
    theirs = fields.get("catalogue") or "none"
    matches = theirs == catalogue.hash
    notes = (
        []
        if matches
        else [
            f"the sender's phrase catalogue ({theirs[:16]}) differs from this node's "
            f"({catalogue.hash[:16]}): the signed rendering is the sender's word"
        ]
    )
    local = None
    try:
        local = Rendered(lang, catalogue.render(code, fields["params"], lang))
    except ParleyError as exc:
        notes.append(f"not rendered here: {exc.message}")
    return {"local": local, "catalogue_matches": matches, "note": "; ".join(notes) or None}


def _answer(addressee: str, leaf_hash: bytes, rows: Iterable[Any], withheld: bool) -> Answer:
    found: dict[str, dict[str, Any]] = {}
    mismatch = False
    for row in rows:
        mismatch |= row.leaf_hash != leaf_hash
        found[row.type] = {
            "receipt": f"{row.by_party}:{row.receipt_seq}",
            "claimed": row.claimed,
            "stored_at": row.stored_at,
            "observed": row.observed,
            "officer": row.officer,
            "reply": None if withheld else row.reply,
            "reply_withheld": withheld and row.reply is not None,
        }
    delivered, acknowledged = found.get("delivered"), found.get("acknowledged")
    status = "acknowledged" if acknowledged else "delivered" if delivered else "none"
    return Answer(addressee, "mismatch" if mismatch else status, delivered, acknowledged)


@dataclass(frozen=True)
class _Reading:
    """What reading messages needs besides the row: receipts, language, time, judgement."""

    conn: Connection
    answers: Mapping[tuple[str, int], list[Any]]
    lang: str
    now: int
    clearance: frozenset[str] | None = None


def _message(node: Node, row: logs.StoredEntry, reading: _Reading) -> Message | None:
    """The message of a stored hotline entry, or None if it is not between this node and a peer."""
    header = parse_header(row.leaf)
    held = row.body is not None and row.flag is None
    fields = _fields(_body(row.body, row.salt)) if held else {}
    if header.party == node.party or held:
        to = fields.get("to")
    else:  # header only: it is ours to know about only if its audience names this node
        to = node.party if header.audience != ALL and node.party in header.audience else None
    if to is None or (header.party != node.party and to != node.party):
        return None
    addressee = to if header.party == node.party else node.party
    withheld = withheld_from(reading.clearance, header.tlp)
    if withheld is not None:  # the routing above is the node's; what it says is the reader's
        fields = {}
    answers, lang = reading.answers, reading.lang
    rows = [r for r in answers.get((header.party, header.seq), []) if r.by_party == addressee]
    return Message(
        ref=header.ref,
        leaf_hash=row.leaf_hash.hex(),
        author=header.party,
        to=to,
        direction="sent" if header.party == node.party else "received",
        time=header.time,
        status=header.status,
        tlp=header.tlp,
        body_held=held,
        answer=_answer(addressee, row.leaf_hash, rows, withheld is not None),
        phrase=fields.get("phrase"),
        params=fields.get("params", {}),
        catalogue=fields.get("catalogue"),
        signed=fields.get("signed"),
        text=fields.get("text"),
        in_reply_to=fields.get("in_reply_to"),
        acknowledged_within=fields.get("acknowledged_within"),
        withheld=withheld,
        **_reading(fields, lang),
    )


def summary(node: Node, body: Any, lang: str | None = None) -> str:
    """A hotline body in one line: its phrase rendered in ``lang`` (the node's), then its text.

    Falls back to the sender's signed rendering when this node's catalogue cannot render it.
    """
    fields = _fields(body)
    parts = []
    if fields.get("phrase") is not None:
        local = _reading(fields, chosen_language(node, lang)).get("local")
        signed = fields.get("signed")
        shown = local or signed
        parts.append(shown.text if shown is not None else f"phrase {fields['phrase']}")
    if fields.get("text"):
        parts.append(fields["text"])
    return " / ".join(parts) or "(empty hotline message)"


def _judged(
    node: Node, conn: Connection, message: Message, row: logs.StoredEntry, now: int
) -> Message:
    """``message`` with its addressee's clocks judged at ``now``."""
    addressee = message.to if message.direction == "sent" else node.party
    policy = node.policy_in(conn)
    clocks = clock_views.addressee_clocks(node, conn, row, policy, now, addressee)
    return replace(message, clocks=clocks)


def conversation(
    node: Node,
    peer: str,
    lang: str | None = None,
    limit: int = DEFAULT_LIMIT,
    now: int | None = None,
    *,
    clearance: frozenset[str] | None = None,
) -> list[Message]:
    """The hotline messages between this node and ``peer``, both ways, oldest first.

    Ordered by the authors' claimed times (then by reference); the last ``limit`` are returned.
    What a reader's ``clearance`` does not cover is withheld (module docstring).
    """
    check_party(peer, what="peer")
    if peer == node.party:
        raise InvalidEntryError(f"a hotline conversation is with another party, not {peer}")
    if limit < 1:
        raise InvalidEntryError("--limit must be at least 1")
    lang = chosen_language(node, lang)
    with node.store.read() as conn:
        rows = entry_rows.entries_of_kinds(conn, [KIND], parties=[node.party, peer])
        answers = receipt_rows.for_entries(conn, [(row.party, row.seq) for row in rows])
        reading = _Reading(conn, answers, lang, now_ms() if now is None else now, clearance)
        found = [(m, row) for row in rows if (m := _message(node, row, reading)) is not None]
        found = [(m, row) for m, row in found if peer in (m.author, m.to)]
        found.sort(key=lambda pair: (pair[0].time, *parse_ref(pair[0].ref)))
        return [_judged(node, conn, m, row, reading.now) for m, row in found[-limit:]]


def message(
    node: Node,
    ref: str,
    lang: str | None = None,
    now: int | None = None,
    *,
    clearance: frozenset[str] | None = None,
) -> Message:
    """One hotline message sent or addressed to this node, as ``conversation`` shows it."""
    party, seq = parse_ref(ref)
    lang = chosen_language(node, lang)
    with node.store.read() as conn:
        row = logs.get_entry(conn, party, seq)
        if row is None:
            raise NotFoundError(f"entry {ref} is not held by this node", hint="'parley sync' first")
        reading = _Reading(
            conn,
            receipt_rows.for_entries(conn, [(party, seq)]),
            lang,
            now_ms() if now is None else now,
            clearance,
        )
        found = _message(node, row, reading) if row.kind == KIND else None
        if found is not None:
            found = _judged(node, conn, found, row, reading.now)
    if found is None:
        raise InvalidEntryError(f"{ref} is not a hotline message sent or addressed to {node.party}")
    return found
