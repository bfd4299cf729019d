"""The request and reply bodies of ``/api/v1``'s messaging routes (``messaging_routes``).

Each reply model is the JSON form a ``parley.node.messaging`` service gives (its ``to_dict``),
field for field, so the OpenAPI document states exactly what the CLI's ``--json`` prints. Times
are integer milliseconds UTC, durations milliseconds; ``witnessed`` times are the k-th earliest
third-party cosignature (docs/protocol.md §11). A body a reader may not read is ``null`` and
``withheld`` says why.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from parley.api.v1.inputs import PARTY_PATTERN, REF_PATTERN
from parley.api.v1.schemas import SignedHeader, Strict
from parley.core.bodies import LONG_TEXT
from parley.node.messaging.receipts import REPLY_MAX

Status = Literal["Actual", "Exercise", "Test", "Draft"]
Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
Duration = Annotated[
    str, Field(max_length=32, description="A duration: `30s`, `10m`, `48h`, `1d12h` or `PT6H`.")
]
Text = Annotated[str, Field(min_length=1, max_length=LONG_TEXT)]


# Requests -----------------------------------------------------------------------------------


class Acknowledgement(Strict):
    """An officer's acknowledgement of an entry, with an optional short reply."""

    reply: Annotated[str | None, Field(max_length=REPLY_MAX)] = None


class NewInquiry(Strict):
    """A question to the author of an entry, with a reply deadline (the policy's default)."""

    ref: Annotated[str, Field(pattern=REF_PATTERN, description="The entry asked about.")]
    text: Text
    reply_within: Duration | None = None


class InquiryReply(Strict):
    """The answer to an inquiry addressed to this node."""

    text: Text


class NewHotlineMessage(Strict):
    """A hotline message: a standard phrase with parameters, free text, or both."""

    to: Annotated[str, Field(pattern=PARTY_PATTERN, description="The other party.")]
    status: Status
    phrase: Annotated[str | None, Field(max_length=64, description="A phrase code.")] = None
    params: Annotated[dict[str, Annotated[str, Field(max_length=200)]], Field(max_length=32)] = {}
    text: Annotated[str | None, Field(max_length=LONG_TEXT)] = None
    lang: Annotated[
        str | None,
        Field(max_length=8, description="The language of the signed rendering (the node's)."),
    ] = None
    tlp: Tlp | None = None
    reply_to: Annotated[
        str | None, Field(pattern=REF_PATTERN, description="The hotline message answered.")
    ] = None
    acknowledged_within: Duration | None = None


# Replies ------------------------------------------------------------------------------------


class Appended(Strict):
    """A new entry of this node's log, as a create answers it."""

    ref: str
    kind: str
    leaf_hash: str
    status: str
    audience: str | list[str]
    tlp: str
    time: int
    answers: str | None = Field(None, description="The entry it answers, if any.")


class ClockAnswer(Strict):
    """The answer that stopped a clock: its entry, claimed and witnessed times."""

    ref: str
    claimed: int
    witnessed: int | None


class Clock(Strict):
    """One deadline clock of one addressee, judged at the time of the request."""

    party: str
    clock: str = Field(description="`delivered` or `acknowledged`.")
    state: str = Field(description="`pending`, `met`, `late` or `missed`.")
    within: int | None
    due: int | None
    answer: ClockAnswer | None
    late_by: int | None
    remaining: int | None
    witnessed: bool
    skew: list[str]
    escalated: int | None = Field(None, description="When the sender's node escalated it.")


class Receipt(Strict):
    """A receipt an addressee signed, as this node holds it."""

    receipt: str
    claimed: int
    stored_at: int | None
    observed: int | None
    officer: str | None
    reply: str | None
    reply_withheld: bool = Field(description="A reply exists that the reader may not read.")
    matches: bool | None = Field(None, description="Whether it names the entry's leaf hash.")


class Observation(Strict):
    """An addressee's signed observation that it stored the entry header-only."""

    observation: str
    by: str
    time: int
    type: str
    entry: str
    first: int
    last: int
    detail: str


class Addressee(Strict):
    """One addressee's answers to an entry."""

    party: str
    status: str = Field(description="`none`, `delivered`, `acknowledged` or `mismatch`.")
    delivered: Receipt | None
    acknowledged: Receipt | None
    header_only: str | None
    observations: list[Observation]


class EntryAddressee(Addressee):
    """One addressee's answers to an entry, with its clocks."""

    clocks: list[Clock]


class ReportAddressee(Addressee):
    """One addressee's answers to an entry, with each clock by name (null: none runs)."""

    clocks: dict[str, Clock | None]


class InboxItem(Strict):
    """One entry of the inbox."""

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
    receipt: str = Field(description="`none`, `delivered`, `acknowledged` or `mismatch`.")
    clocks: list[Clock]
    withheld: str | None


class InboxPage(Strict):
    """A page of the inbox, newest first."""

    items: list[InboxItem]
    next: str | None = Field(description="`cursor` of the next older page; null at the end.")
    poll: str = Field(description="`cursor` that asks for what arrives after this page.")
    empty: str | None = Field(description="Why there is nothing, when there is nothing.")


class EntryView(Strict):
    """One entry read whole: header, body (or why not), and each addressee's answers."""

    ref: str
    leaf_hash: str
    ingest: int
    header: SignedHeader
    flag: str | None
    body: Any = Field(description="The decoded body; null when not held or `withheld`.")
    withheld: str | None
    witnessed: int | None
    addressees: list[EntryAddressee]


class ReceiptReport(Strict):
    """Each addressee's receipts and clocks for one entry (`parley receipts REF`)."""

    ref: str
    kind: str
    time: int
    witnessed: int | None
    addressees: list[ReportAddressee]


class ClockRow(Strict):
    """A tracked clock: an entry, an addressee, a deadline."""

    entry: str
    kind: str
    addressee: str
    clock: str
    within: int
    due: int
    state: str = Field(description="`open`, `missed` or `late`.")
    remaining: int = Field(description="`due` minus now: negative when overdue.")
    answered: int | None
    escalated: int | None


class Escalations(Strict):
    """The clocks still running, soonest due first, and the missed and late ones."""

    open: list[ClockRow]
    missed: list[ClockRow]


class AskedAbout(Strict):
    """The entry an inquiry asks about, as this node holds it."""

    ref: str
    kind: str | None = Field(description="Its kind; null when this node does not hold it.")
    summary: str | None = Field(description="One line of what it says, if the reader may read it.")
    matches: bool | None = Field(description="Whether the inquiry names its leaf hash.")


class InquiryAnswer(Strict):
    """A reply of the addressee that names an inquiry."""

    ref: str
    claimed: int
    witnessed: int | None
    text: str | None
    withheld: str | None


class Inquiry(Strict):
    """One inquiry, addressed to this node (`received`) or asked by it (`asked`)."""

    ref: str
    leaf_hash: str
    direction: Literal["received", "asked"]
    asker: str
    addressee: str
    status: str
    tlp: str
    time: int
    about: AskedAbout | None
    question: str | None
    withheld: str | None
    clock: Clock | None = Field(description="The addressee's reply clock (`acknowledged`).")
    replies: list[InquiryAnswer] = Field(description="The first one stops the clock.")


class Inquiries(Strict):
    """The inquiries addressed to this node and those it asked, each newest first."""

    party: str
    received: list[Inquiry]
    asked: list[Inquiry]


class Rendering(Strict):
    """A phrase in one language."""

    lang: str
    text: str


class HotlineAnswer(Strict):
    """The addressee's receipts of a hotline message."""

    party: str
    status: str
    delivered: Receipt | None
    acknowledged: Receipt | None


class HotlineMessage(Strict):
    """One hotline message, its phrase rendered in the asked language beside the signed one."""

    ref: str
    leaf_hash: str
    sender: str = Field(alias="from")
    to: str
    direction: str = Field(description="`sent` by this node, or `received`.")
    time: int
    status: str
    tlp: str
    body_held: bool
    phrase: str | None
    params: dict[str, str]
    catalogue: str | None
    catalogue_matches: bool | None
    signed_rendering: Rendering | None
    rendering: Rendering | None
    note: str | None
    text: str | None
    in_reply_to: str | None
    acknowledged_within: int | None
    answer: HotlineAnswer
    clocks: list[Clock]
    withheld: str | None


class Conversation(Strict):
    """The hotline messages between this node and one party, oldest first."""

    party: str
    peer: str
    lang: str
    catalogue: str
    messages: list[HotlineMessage]


class ParamType(Strict):
    """A phrase parameter type: what it accepts, and an example."""

    doc: str
    example: str


class PhraseParam(Strict):
    """One parameter of a phrase."""

    name: str
    type: str


class Phrase(Strict):
    """One phrase of the catalogue."""

    code: str
    group: str
    params: list[PhraseParam]
    text: str = Field(description="The phrase in the asked language.")
    texts: dict[str, str]


class PhraseGroup(Strict):
    """A group of phrases: the situation they are for, titled in the asked language."""

    code: str
    title: str = Field(description="The group's title in the asked language.")
    titles: dict[str, str]


class PhraseBook(Strict):
    """The phrase catalogue, rendered in one language."""

    catalogue: str
    version: int
    lang: str
    languages: list[str]
    types: dict[str, ParamType]
    groups: list[PhraseGroup]
    phrases: list[Phrase]
