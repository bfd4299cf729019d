"""``/api/v1``: the inbox, entries, acknowledgements, inquiries, the hotline, clocks, receipts.

Each route calls the ``parley.node.messaging`` service that the CLI command named in its
docstring calls, so both show the same facts. A reader sees only what its role's TLP clearance
covers (``parley.node.access``): the services withhold the rest themselves and say why
(``withheld``). Creates take an ``Idempotency-Key`` (``inputs.created``) and land in the audit
trail; a read is audited only by the CLI, where a person runs it once, not by a tool that polls.

Acknowledging an entry twice is a 409 naming the first receipt: the service refuses a second
``acknowledged`` receipt (one per entry and party); only a repeat under the same
``Idempotency-Key`` returns the first reply.

Hotline phrases are rendered in the ``lang`` the request asks for (default ``en``); the
officer's own language setting comes with the pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from parley.api.v1 import inputs
from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.inputs import IdempotencyKey, PartyPath, RefPath
from parley.api.v1.messaging_models import (
    Acknowledgement,
    Appended,
    Conversation,
    EntryView,
    Escalations,
    HotlineMessage,
    InboxPage,
    Inquiries,
    InquiryReply,
    NewHotlineMessage,
    NewInquiry,
    PhraseBook,
    ReceiptReport,
)
from parley.api.v1.schemas import PROBLEMS
from parley.core.deadlines import deadlines_for, duration_unit, parse_duration
from parley.core.entry import STATUSES
from parley.formats import phrases
from parley.node.access import Action, Principal
from parley.node.messaging import clock_views, deadlines, hotline, inbox, inquiries, receipts
from parley.node.node import now_ms

router = APIRouter(tags=["messaging"], responses=PROBLEMS)

Reader = Annotated[Principal, Depends(allowed(Action.READ))]
Acknowledger = Annotated[Principal, Depends(allowed(Action.ACKNOWLEDGE))]
Inquirer = Annotated[Principal, Depends(allowed(Action.INQUIRE))]
HotlineSender = Annotated[Principal, Depends(allowed(Action.HOTLINE))]

Lang = Annotated[
    str,
    Query(
        pattern="^(" + "|".join(phrases.LANGUAGES) + ")$",
        description="The language phrases are rendered in.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=inbox.MAX_LIMIT, description="At most this many.")]


# The inbox and entries ----------------------------------------------------------------------


@router.get("/inbox", response_model=InboxPage)
def inbox_page(
    request: Request,
    principal: Reader,
    party: Annotated[str | None, Query(pattern=inputs.PARTY_PATTERN)] = None,
    kind: Annotated[str | None, Query(pattern="^(" + "|".join(inbox.KINDS) + ")$")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
    unacknowledged: bool = False,
    limit: Limit = inbox.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """What other parties addressed to this node, newest first (`parley inbox`).

    Pass `next` as `cursor` for the older page, or `poll` for what arrived since.
    """
    node = node_of(request)
    author = None if party is None else inputs.party(node, party, "party")
    after, before = inputs.read_cursor(cursor)
    filters = inbox.Filters(author, kind, category, status, unacknowledged)
    page = inbox.listing(
        node,
        now_ms(),
        filters,
        after=after,
        before=before,
        limit=limit,
        clearance=principal.clearance,
    )
    older = page.older if after is None else None
    return {
        "items": [item.to_dict() for item in page.items],
        "next": None if older is None else inputs.cursor("b", older),
        "poll": inputs.cursor("a", page.cursor),
        "empty": page.empty,
    }


@router.get("/entries/{ref}", response_model=EntryView)
def entry(ref: RefPath, request: Request, principal: Reader) -> dict[str, Any]:
    """Any entry held here, its body if the caller may read it, each addressee's answers."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    shown = inbox.entry(node, ref, now_ms(), clearance=principal.clearance).to_dict()
    shown["withheld"] = shown.pop("why_no_body")
    return shown


@router.post("/entries/{ref}/acknowledgement", status_code=201, response_model=Appended)
def acknowledge(
    ref: RefPath,
    request: Request,
    response: Response,
    principal: Acknowledger,
    idempotency_key: IdempotencyKey = None,
    body: Acknowledgement | None = None,
) -> dict[str, Any]:
    """Acknowledge an entry addressed to this node, optionally with a short reply (`parley ack`).

    A second acknowledgement is a 409 naming the first receipt.
    """
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    reply = None if body is None else body.reply

    def act() -> dict[str, Any]:
        with inputs.at("path.ref"):  # not addressed here, or its body not held
            header = receipts.acknowledge(node, ref, principal.officer, reply, now_ms())
        return inputs.appended(header, answers=ref)

    value, repeated = inputs.created(
        request, response, principal, idempotency_key, (ref, reply), act
    )
    if not repeated:
        audit(request, principal, {"ref": ref, "receipt": value["ref"]})
    return value


# Inquiries ----------------------------------------------------------------------------------


@router.get("/inquiries", response_model=Inquiries)
def inquiry_list(
    request: Request,
    principal: Reader,
    limit: Annotated[
        int, Query(ge=1, le=inquiries.MAX_LIMIT, description="At most this many of each.")
    ] = inquiries.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The inquiries addressed to this node and those it asked, newest first.

    Each with the entry it asks about, the question, the addressee's reply clock judged now,
    and the replies that name it (the first stops the clock).
    """
    node = node_of(request)
    return inquiries.listing(node, now_ms(), limit=limit, clearance=principal.clearance).to_dict()


@router.post("/inquiries", status_code=201, response_model=Appended)
def inquire(
    wanted: NewInquiry,
    request: Request,
    response: Response,
    principal: Inquirer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Ask the author of an entry a question, with a reply deadline (`parley inquire`)."""
    node = node_of(request)
    ref = inputs.reference(node, wanted.ref, "body.ref")
    within = unit = None
    if wanted.reply_within is not None:
        with inputs.at("body.reply_within"):
            within = parse_duration(wanted.reply_within, "reply_within")
            unit = duration_unit(wanted.reply_within)
            deadlines_for(node.context().policy.document, inquiries.DEADLINE_CLASS, within)

    def act() -> dict[str, Any]:
        with inputs.at("body.ref"):  # this node's own entry
            header = inquiries.inquire(node, ref, wanted.text, within, now_ms(), unit=unit)
        return inputs.appended(header, answers=ref)

    parts = (ref, wanted.model_dump())
    value, repeated = inputs.created(request, response, principal, idempotency_key, parts, act)
    if not repeated:
        audit(request, principal, {"ref": ref, "inquiry": value["ref"]})
    return value


@router.post("/inquiries/{ref}/reply", status_code=201, response_model=Appended)
def reply(
    ref: RefPath,
    answer: InquiryReply,
    request: Request,
    response: Response,
    principal: Inquirer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Answer an inquiry addressed to this node (`parley reply`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")

    def act() -> dict[str, Any]:
        with inputs.at("path.ref"):  # not an inquiry addressed here, or its body not held
            header = inquiries.reply(node, ref, answer.text, now_ms())
        return inputs.appended(header, answers=ref)

    parts = (ref, answer.text)
    value, repeated = inputs.created(request, response, principal, idempotency_key, parts, act)
    if not repeated:
        audit(request, principal, {"ref": ref, "reply": value["ref"]})
    return value


# The hotline --------------------------------------------------------------------------------


@router.get("/hotline/phrases", response_model=PhraseBook)
def phrase_book(
    principal: Reader,
    lang: Lang = "en",
    group: Annotated[str | None, Query(max_length=32, description="Only this group.")] = None,
) -> dict[str, Any]:
    """The phrase catalogue: codes, typed parameters, renderings (`parley hotline phrases`)."""
    with inputs.at("group"):
        return hotline.phrase_book(lang, group)


@router.post("/hotline/messages", status_code=201, response_model=Appended)
def send_hotline(
    wanted: NewHotlineMessage,
    request: Request,
    response: Response,
    principal: HotlineSender,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Send a standard phrase and/or free text to one party (`parley hotline send`)."""
    node = node_of(request)
    message = _outgoing(request, wanted)

    def act() -> dict[str, Any]:
        return inputs.appended(hotline.send(node, message), answers=message.reply_to)

    parts = (wanted.model_dump(),)
    value, repeated = inputs.created(request, response, principal, idempotency_key, parts, act)
    if not repeated:
        detail = {"to": message.to, "phrase": message.phrase, "status": message.status}
        audit(request, principal, detail | {"message": value["ref"]})
    return value


def _outgoing(request: Request, wanted: NewHotlineMessage) -> hotline.Outgoing:
    """The message asked for, each field checked where it is named, then as a whole."""
    node = node_of(request)
    to = inputs.party(node, wanted.to, "body.to")
    reply_to = (
        None
        if wanted.reply_to is None
        else inputs.reference(node, wanted.reply_to, "body.reply_to")
    )
    within = None
    if wanted.acknowledged_within is not None:
        with inputs.at("body.acknowledged_within"):
            within = parse_duration(wanted.acknowledged_within, "acknowledged_within")
            deadlines_for(node.context().policy.document, hotline.DEADLINE_CLASS, within)
    if wanted.lang is not None:
        with inputs.at("body.lang"):
            hotline.checked_language(wanted.lang)
    if wanted.phrase is not None:
        with inputs.at("body.phrase"):
            phrases.catalogue().phrase(wanted.phrase)
        with inputs.at("body.params"), inputs.within("body"):  # body.params.NAME
            phrases.normalise(wanted.phrase, wanted.params)
    message = hotline.Outgoing(
        to=to,
        status=wanted.status,
        phrase=wanted.phrase,
        params=wanted.params,
        text=wanted.text,
        lang=wanted.lang,
        tlp=wanted.tlp,
        reply_to=reply_to,
        acknowledged_within=within,
    )
    with inputs.at("body"):
        hotline.hotline_body(node, message)
    return message


@router.get("/hotline/conversations/{party}", response_model=Conversation)
def conversation(
    party: PartyPath,
    request: Request,
    principal: Reader,
    lang: Lang = "en",
    limit: Annotated[int, Query(ge=1, le=1000)] = hotline.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The conversation with one party, both ways, oldest first (`parley hotline log`)."""
    node = node_of(request)
    peer = inputs.party(node, party, "path.party")
    with inputs.at("path.party"):  # this node's own party
        messages = hotline.conversation(node, peer, lang, limit, clearance=principal.clearance)
    return {
        "party": node.party,
        "peer": peer,
        "lang": lang,
        "catalogue": phrases.catalogue_hash(),
        "messages": [m.to_dict() for m in messages],
    }


@router.get("/hotline/messages/{ref}", response_model=HotlineMessage)
def hotline_message(
    ref: RefPath, request: Request, principal: Reader, lang: Lang = "en"
) -> dict[str, Any]:
    """One hotline message sent or addressed to this node (`parley hotline show`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    with inputs.at("path.ref"):  # not a hotline message sent or addressed here
        return hotline.message(node, ref, lang, clearance=principal.clearance).to_dict()


# Clocks and receipts ------------------------------------------------------------------------


@router.get("/escalations", response_model=Escalations)
def escalations(request: Request, principal: Reader, limit: Limit = 100) -> dict[str, Any]:
    """Deadlines still running, and the missed and late ones (`parley status`)."""
    node = node_of(request)
    now = now_ms()
    return {
        "open": clock_views.open_clocks(node, now, limit),
        "missed": clock_views.tracked(node, [deadlines.MISSED, deadlines.LATE], limit, now=now),
    }


@router.get("/receipts/{ref}", response_model=ReceiptReport)
def receipt_report(ref: RefPath, request: Request, principal: Reader) -> dict[str, Any]:
    """Each addressee's receipts and clocks for one entry (`parley receipts`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    return clock_views.receipt_report(node, ref, clearance=principal.clearance).to_dict()
