"""Version 2 of the ``assistance`` body: the message types of OASIS EDXL-RM 1.0 as signed bodies.

docs/protocol.md §7 ("assistance, version 2") is the contract; this module is its schema.
A version 2 body carries ``v: 2`` and one of the EDXL-RM 1.0 message types of ``MESSAGE_TYPES``
(EDXL-RM 1.0 §3.1 lists sixteen; the two left out are named in ``LEFT_OUT`` with the reason).
A body without ``v`` is version 1 (``parley.core.bodies.Assistance``): it stays valid forever in
the logs that signed it, and ``parley.core.assistance_state`` reads it as a note that takes
part in no lifecycle.

Invariants the schema keeps, so that the state machine can trust its input:

* every type but ``RequestResource`` and ``OfferUnsolicitedResource`` names the request it
  belongs to (``request``), so a board groups entries by request in one pass;
* a ``RequestResource`` names the notification or incident it answers (``incident``);
* resource lines carry a catalogue type (``parley.formats.resources`` checks it on writing), a
  decimal quantity and a UCUM unit; line ids are unique within a body;
* types that act on an offer (requisition, commit, deployment, release, return) name it in
  ``refers_to``; quantities they take name the offer's line ids.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.core.entry import HEX64_RE, REF_RE

QUANTITY = r"^[0-9]{1,9}(\.[0-9]{1,6})?$"
DECIMAL_DEGREES = r"^-?[0-9]{1,3}(\.[0-9]{1,7})?$"
LINE_ID = r"^[a-z0-9][a-z0-9-]{0,31}$"
RESOURCE_TYPE = r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+){1,3}$"
UCUM = r"^[!-~]{1,40}$"  # UCUM c/s codes are printable ASCII without spaces
SHORT_TEXT = 500
LONG_TEXT = 20_000
MAX_LINES = 200

MESSAGE_TYPES = (
    "RequestResource",
    "ResponseToRequestResource",
    "OfferUnsolicitedResource",
    "RequisitionResource",
    "CommitResource",
    "RequestResourceDeploymentStatus",
    "ReportResourceDeploymentStatus",
    "ReleaseResource",
    "RequestReturn",
    "ResponseToRequestReturn",
    "RequestQuote",
    "ResponseToRequestQuote",
    "RequestInformation",
    "ResponseToRequestInformation",
)
LEFT_OUT = {
    "RequestExtendedDeploymentDuration": "an offer's availability window is signed with the "
    "offer; a longer stay is a new offer and requisition, so no entry changes a signed window",
    "ResponseToRequestExtendedDeploymentDuration": "left out with the request it answers",
}
# Who may write each type: the requester (author of the RequestResource), the offerer (author
# of the offer named in ``refers_to``), or any party of the audience.
REQUESTER_TYPES = frozenset(
    {
        "RequisitionResource",
        "RequestResourceDeploymentStatus",
        "ReleaseResource",
        "ResponseToRequestReturn",
        "RequestQuote",
    }
)
OFFERER_TYPES = frozenset({"CommitResource", "ReportResourceDeploymentStatus", "RequestReturn"})
ON_OFFER = (REQUESTER_TYPES | OFFERER_TYPES) - {"RequestQuote"}
ANSWERS = ("accept", "decline", "provisional")
DEPLOYMENT = ("mobilising", "en-route", "arrived", "deployed", "demobilising", "returned")

MessageType = Literal[
    "RequestResource",
    "ResponseToRequestResource",
    "OfferUnsolicitedResource",
    "RequisitionResource",
    "CommitResource",
    "RequestResourceDeploymentStatus",
    "ReportResourceDeploymentStatus",
    "ReleaseResource",
    "RequestReturn",
    "ResponseToRequestReturn",
    "RequestQuote",
    "ResponseToRequestQuote",
    "RequestInformation",
    "ResponseToRequestInformation",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Ref(_Strict):
    """Another entry, exactly: ``PARTY:SEQ`` and its leaf hash (hex)."""

    ref: str = Field(pattern=REF_RE.pattern)
    leaf_hash: str = Field(pattern=HEX64_RE.pattern)


class Place(_Strict):
    """Where a resource is needed or comes from: a name, and a point as decimal strings."""

    name: str = Field(min_length=1, max_length=SHORT_TEXT)
    lat: str | None = Field(default=None, pattern=DECIMAL_DEGREES)
    lon: str | None = Field(default=None, pattern=DECIMAL_DEGREES)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Place:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("a place needs both lat and lon, or neither")
        if self.lat is not None and self.lon is not None:
            if abs(float(self.lat)) > 90 or abs(float(self.lon)) > 180:
                raise ValueError("lat must be within ±90 and lon within ±180")
        return self


class Window(_Strict):
    """When a resource is needed or available: ms UTC, ``start`` ≤ ``end``."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError("window end is before its start")
        return self


class Conditions(_Strict):
    """Terms of an offer or a request (EDXL-RM ``ResourceInformation``/``Funding`` concepts)."""

    customs: str | None = Field(default=None, max_length=SHORT_TEXT)
    self_sufficient: bool | None = None
    cost: str | None = Field(default=None, max_length=SHORT_TEXT)


class Line(_Strict):
    """One resource line: a catalogue type, a quantity in a UCUM unit, places and a window."""

    id: str = Field(pattern=LINE_ID)
    type: str = Field(pattern=RESOURCE_TYPE, max_length=64)
    quantity: str = Field(pattern=QUANTITY)
    unit: str = Field(pattern=UCUM)
    product: str | None = Field(default=None, max_length=SHORT_TEXT)
    doses: int | None = Field(default=None, ge=0, le=10**12)
    needed_at: Place | None = None
    origin: Place | None = None
    window: Window | None = None
    conditions: Conditions | None = None
    fills: str | None = Field(default=None, pattern=LINE_ID)  # the request line an offer fills
    description: str | None = Field(default=None, max_length=SHORT_TEXT * 4)


class Take(_Strict):
    """A quantity of one offer line that a requisition, commitment, release or return names."""

    line: str = Field(pattern=LINE_ID)
    quantity: str = Field(pattern=QUANTITY)


class Deadlines(_Strict):
    """As ``parley.core.bodies.Deadlines`` (protocol §11)."""

    delivered_within: int | None = Field(default=None, ge=0)
    acknowledged_within: int | None = Field(default=None, ge=0)


class AssistanceV2(_Strict):
    """Body of an ``assistance`` entry, version 2 (docs/protocol.md, assistance version 2)."""

    v: Literal[2]
    type: MessageType
    incident: Ref | None = None
    request: Ref | None = None
    refers_to: Ref | None = None
    resources: list[Line] = Field(default_factory=list, max_length=MAX_LINES)
    takes: list[Take] = Field(default_factory=list, max_length=MAX_LINES)
    answer: Literal["accept", "decline", "provisional"] | None = None
    deployment: (
        Literal["mobilising", "en-route", "arrived", "deployed", "demobilising", "returned"] | None
    ) = None
    beyond_request: bool = False
    text: str | None = Field(default=None, max_length=LONG_TEXT)
    deadlines: Deadlines | None = None

    @model_validator(mode="after")
    def _coherent(self) -> AssistanceV2:
        for problem in _problems(self):
            raise ValueError(problem)
        return self


def _problems(body: AssistanceV2) -> list[str]:
    """What is wrong with the shape of a version 2 body, by the invariants of the docstring."""
    kind = body.type
    problems: list[str] = []
    if kind == "RequestResource" and body.incident is None:
        problems.append("a RequestResource names the notification or incident it answers")
    if kind not in ("RequestResource", "OfferUnsolicitedResource") and body.request is None:
        problems.append(f"a {kind} names the request it belongs to ('request')")
    if kind in ("RequestResource", "ResponseToRequestResource", "OfferUnsolicitedResource"):
        if kind != "ResponseToRequestResource" or body.answer != "decline":
            if not body.resources:
                problems.append(f"a {kind} lists at least one resource line")
    if kind == "ResponseToRequestResource" and body.answer is None:
        problems.append("a ResponseToRequestResource answers accept, decline or provisional")
    if kind in ("ResponseToRequestReturn",) and body.answer not in ("accept", "decline"):
        problems.append("a ResponseToRequestReturn answers accept or decline")
    if kind in ON_OFFER and body.refers_to is None:
        problems.append(f"a {kind} names the offer it acts on ('refers_to')")
    if kind in ("RequisitionResource", "CommitResource") and not body.takes:
        problems.append(f"a {kind} takes at least one offer line ('takes')")
    if kind == "ReportResourceDeploymentStatus" and body.deployment is None:
        problems.append("a ReportResourceDeploymentStatus states the deployment status")
    ids = [line.id for line in body.resources]
    if len(set(ids)) != len(ids):
        problems.append("resource line ids repeat")
    taken = [take.line for take in body.takes]
    if len(set(taken)) != len(taken):
        problems.append("a line is taken twice in one body")
    return problems


def is_version_2(body: object) -> bool:
    """Whether a decoded ``assistance`` body claims version 2 (a ``v`` of 2)."""
    return isinstance(body, dict) and body.get("v") == 2
