"""Request and reply bodies of the notification routes (``notification_routes``).

Requests are ``Strict`` (unknown fields refused, naming them). Replies name every field a route
returns, so the OpenAPI document describes them; what the signed body itself holds is described
in docs/formats.md and left open here (``dict``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from parley.api.v1.schemas import SignedHeader, Strict

Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
Text = Annotated[str, Field(min_length=1, max_length=100_000)]
Lang = Annotated[str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", max_length=35)]
When = Annotated[
    str | int,
    Field(description="ISO 8601 (UTC unless an offset is given), +DURATION (+6h), or ms."),
]
Audience = Annotated[
    str | list[Annotated[str, Field(max_length=8)]],
    Field(description='ALL, or the party codes addressed, e.g. ["KR", "US"].'),
]
Decimal = Annotated[str, Field(max_length=40, description="A decimal number as a string.")]


class Circle(Strict):
    """A circle: its centre ``[lon, lat]`` and radius in km, as decimal strings."""

    center: Annotated[list[Decimal], Field(min_length=2, max_length=2)]
    radius_km: Decimal


class Area(Strict):
    """An area: a name, and GeoJSON polygons (RFC 7946, no holes), a circle, or both."""

    desc: Annotated[str, Field(min_length=1, max_length=1000)]
    geometry: dict[str, Any] | None = Field(
        None, description="A GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection."
    )
    circle: Circle | None = None


Details = Annotated[
    dict[str, Any],
    Field(
        description="Category details (docs/formats.md): a string is read as `parley notify "
        "--detail NAME=VALUE` reads it (`+30h`, `7.1`, `35.6,139.7`); other values as the "
        "signed body holds them."
    ),
]


class NewNotification(Strict):
    """A native alert (``parley notify``). ``status`` is required: no default."""

    category: Annotated[str, Field(min_length=1, max_length=64)]
    status: Literal["Actual", "Exercise", "Test"]
    severity: Severity
    urgency: Urgency
    certainty: Certainty
    headline: Annotated[str, Field(min_length=1, max_length=1000)]
    description: Text | None = None
    instruction: Text | None = None
    lang: Lang = "en"
    areas: Annotated[list[Area], Field(min_length=1, max_length=100)]
    details: Details = Field(default_factory=dict)
    expires: When | None = None
    audience: Audience | None = None
    tlp: Tlp | None = Field(None, description="Default GREEN for ALL, AMBER for named parties.")


class Revision(Strict):
    """What an Update changes (CAP Update merge rules, ``parley notify update``)."""

    headline: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    description: Text | None = None
    instruction: Text | None = None
    lang: Lang | None = Field(None, description="The language whose texts change.")
    severity: Severity | None = None
    urgency: Urgency | None = None
    certainty: Certainty | None = None
    expires: When | None = None
    details: Details | None = None


class Ending(Strict):
    """How an incident ends: a Cancel, or with ``all_clear`` an all-clear Update."""

    all_clear: bool = False


class Created(BaseModel):
    """A notification the node signed and appended."""

    ref: str = Field(description="PARTY:SEQ")
    leaf_hash: str
    identifier: str = Field(description="Its CAP identifier.")
    warnings: list[str] = Field(description="What the network's regime rules warn about.")


class ImportedOne(BaseModel):
    """One notification of an import: new, or imported before (the same reference)."""

    ref: str
    leaf_hash: str
    identifier: str
    new: bool


class Imported(BaseModel):
    """What an import made."""

    notifications: list[ImportedOne]
    warnings: list[str]


class Summary(BaseModel):
    """What a list shows of a body the caller may read."""

    category: str | None
    msg_type: str | None
    identifier: str | None
    sent: int | None
    expires: int | None
    lang: str | None
    event: str | None
    headline: str | None
    severity: str | None
    urgency: str | None
    certainty: str | None
    areas: list[str]


class ListedNotification(BaseModel):
    """A notification in a list: its signed header fields, and a summary or why it is withheld."""

    ref: str
    party: str
    seq: int
    time: int = Field(description="The signed header time, ms UTC.")
    status: str
    audience: str | list[str]
    tlp: str
    leaf_hash: str
    flag: str | None = Field(description="Why the node stores it header-only, if it does.")
    summary: Summary | None
    withheld: str | None = Field(description="Why the body is not shown; null when it is.")


class NotificationPage(BaseModel):
    """A page of notifications, newest first by local ingest."""

    items: list[ListedNotification]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end.")


class Receipt(BaseModel):
    """A receipt an addressee signed."""

    receipt: str
    claimed: int
    stored_at: int | None
    observed: int
    officer: str | None
    reply: str | None
    matches: bool = Field(description="Whether it names this entry's leaf hash.")


class Answer(BaseModel):
    """The entry that answered a clock."""

    ref: str
    claimed: int
    witnessed: int | None


class Clock(BaseModel):
    """One deadline clock of one addressee, judged when read."""

    party: str
    clock: str
    state: str
    within: int | None
    due: int | None
    answer: Answer | None
    late_by: int | None
    remaining: int | None
    witnessed: bool
    skew: list[str]


class Observation(BaseModel):
    """An addressee's signed observation that it stored the entry header-only."""

    observation: str
    by: str
    time: int
    type: str
    entry: str | None
    first: int
    last: int
    detail: str


class Addressee(BaseModel):
    """One addressee's receipts and clocks."""

    party: str
    status: str = Field(description="none, delivered, acknowledged or mismatch")
    delivered: Receipt | None
    acknowledged: Receipt | None
    header_only: str | None
    observations: list[Observation]
    clocks: list[Clock]


class ChainLink(BaseModel):
    """One message of an incident."""

    ref: str
    leaf_hash: str
    status: str
    msg_type: str
    sent: int


class Incident(BaseModel):
    """The incident's current state, derived from every message of it held here."""

    state: str = Field(description="active, expired, cancelled or all-clear")
    category: str
    status: str
    msg_type: str
    identifier: str
    sender: str
    first_sent: int
    last_sent: int
    messages: int
    updates: int
    acks: int
    errors: int
    headline: str | None = None
    event: str | None = None
    severity: str | None = None
    urgency: str | None = None
    certainty: str | None = None
    onset: int | None = None
    expires: int | None = None
    details: dict[str, Any]
    info: list[dict[str, Any]]
    chain: list[ChainLink]


class NotificationDetail(BaseModel):
    """One notification: header, body or why withheld, incident, receipts and clocks."""

    ref: str
    leaf_hash: str
    header: SignedHeader
    flag: str | None
    body: dict[str, Any] | None
    withheld: str | None
    witnessed: int | None = Field(description="Witnessed time (k-th cosignature), if any.")
    incident: Incident | None
    addressees: list[Addressee]


class PendingView(BaseModel):
    """A pending release; ``headline`` and ``fields`` are null above the reader's clearance."""

    id: str
    created: int
    prepared_by: str
    prepared_role: str
    category: str
    status: str
    audience: str | list[str]
    tlp: str
    state: Literal["pending", "released", "withdrawn"]
    headline: str | None
    fields: dict[str, Any] | None
    released_by: str | None
    released_role: str | None
    released_at: int | None
    break_glass: bool
    break_glass_reason: str | None
    ref: str | None = Field(description="The signed notification, once released.")
    withdrawn_by: str | None
    withdrawn_at: int | None
    withheld: str | None = None
