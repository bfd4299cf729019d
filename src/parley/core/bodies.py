"""Body schemas of the entry kinds other than ``notification`` (docs/protocol.md, Bodies).

``notification`` bodies are defined by ``parley.formats.notification`` (CAP-shaped); every other
kind is defined here. Schemas are strict (unknown fields refused) for what a node *writes*;
a verifier stores a peer's bodies of unknown kinds, or with fields from a later version, as
they are (forward compatibility) and interprets only the kinds it needs (key, policy).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parley.core import roadmap_body
from parley.core.entry import HEX64_RE, PARTY_RE, REF_RE
from parley.core.errors import InvalidEntryError

HEX64 = HEX64_RE.pattern
SHORT_TEXT = 500
LONG_TEXT = 20_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EntryRef(_Strict):
    """Names another entry: ``PARTY:SEQ`` plus its leaf hash (hex), so a reference is exact."""

    ref: str = Field(pattern=REF_RE.pattern)
    leaf_hash: str = Field(pattern=HEX64)


class Deadlines(_Strict):
    """Response times in ms a sender asks of each addressee (protocol §11); absent: no deadline."""

    delivered_within: int | None = Field(default=None, ge=0)
    acknowledged_within: int | None = Field(default=None, ge=0)


class Receipt(_Strict):
    """Body of a ``receipt``: an addressee's ``delivered`` or ``acknowledged`` answer (§11)."""

    type: Literal["delivered", "acknowledged"]
    entry: EntryRef
    stored_at: int | None = Field(default=None, ge=0)
    officer: str | None = Field(default=None, max_length=100)
    reply: str | None = Field(default=None, max_length=SHORT_TEXT)

    @model_validator(mode="after")
    def _ack_fields(self) -> Receipt:
        if self.type == "delivered" and (self.officer or self.reply):
            raise ValueError("a delivered receipt carries no officer or reply")
        return self


class Rendering(_Strict):
    """The sender's own text of a hotline phrase in its language, signed with the phrase."""

    lang: str = Field(min_length=2, max_length=35)
    text: str = Field(max_length=LONG_TEXT)


class Hotline(_Strict):
    """Body of a ``hotline`` message: a catalogue phrase, free text, or both (docs/hotline.md)."""

    to: str = Field(pattern=PARTY_RE.pattern)
    phrase: str | None = Field(default=None, max_length=64)
    params: dict[str, str] = Field(default_factory=dict)
    catalogue: str | None = Field(default=None, pattern=HEX64)
    rendering: Rendering | None = None
    text: str | None = Field(default=None, max_length=LONG_TEXT)
    in_reply_to: EntryRef | None = None
    deadlines: Deadlines

    @model_validator(mode="after")
    def _has_content(self) -> Hotline:
        if self.phrase is None and not self.text:
            raise ValueError("a hotline message needs a phrase or free text")
        if self.phrase is not None and (self.catalogue is None or self.rendering is None):
            raise ValueError("a phrase needs the catalogue hash and the sender's rendering")
        return self


class Inquiry(_Strict):
    """Body of an ``inquiry``: a question about an entry, answered only by a ``reply`` (§11)."""

    about: EntryRef
    question: str = Field(min_length=1, max_length=LONG_TEXT)
    deadlines: Deadlines


class Reply(_Strict):
    """Body of a ``reply``: the answer to an inquiry, which stops its acknowledged clock."""

    inquiry: EntryRef
    text: str = Field(min_length=1, max_length=LONG_TEXT)
    deadlines: Deadlines | None = None


class Check(_Strict):
    """Body of a communication ``check`` to a pinned peer, answered by its receipts (§11)."""

    nonce: str = Field(pattern=r"^[0-9a-f]{32}$")
    deadlines: Deadlines


class Resource(_Strict):
    """One line of an assistance offer or request: a quantity of a kind of resource."""

    kind: str = Field(min_length=1, max_length=100)
    quantity: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    unit: str = Field(min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=SHORT_TEXT * 4)


class Assistance(_Strict):
    """Body of an ``assistance`` entry: a request, offer, accept, decline or status report."""

    type: Literal["request", "offer", "accept", "decline", "status"]
    incident: EntryRef | None = None
    refers_to: EntryRef | None = None
    resources: list[Resource] = Field(default_factory=list)
    status: str | None = Field(default=None, max_length=100)
    text: str | None = Field(default=None, max_length=LONG_TEXT)
    deadlines: Deadlines | None = None


class Step(_Strict):
    """One step of a roadmap: what ``party`` is to do, by when, after which other steps."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    party: str = Field(pattern=PARTY_RE.pattern)
    title: str = Field(min_length=1, max_length=SHORT_TEXT)
    due: int | None = Field(default=None, ge=0)
    after: list[str] = Field(default_factory=list)


class Roadmap(_Strict):
    """Body of a version 1 ``roadmap`` entry (no ``v`` field): a plan, or an attestation.

    Version 2 bodies (``"v": 2``) are ``parley.core.roadmap_body``; docs/protocol.md §7.2 says
    how version 1 entries read under version 2 (as history, outside every version 2 state).
    """

    type: Literal["roadmap", "attest"]
    title: str | None = Field(default=None, max_length=SHORT_TEXT)
    steps: list[Step] = Field(default_factory=list)
    roadmap: EntryRef | None = None
    step: str | None = None
    text: str | None = Field(default=None, max_length=LONG_TEXT)
    deadlines: Deadlines | None = None


class Evidence(_Strict):
    """Equivocation evidence (``parley.core.equivocation``) with a sentence for people."""

    type: Literal["equivocation"]
    party: str = Field(pattern=PARTY_RE.pattern)
    log_key: str = Field(min_length=44, max_length=44)
    checkpoints: list[str] = Field(min_length=2, max_length=2)
    old_root: str | None = Field(default=None, min_length=44, max_length=44)
    proof: list[str] = Field(max_length=64)
    detail: str = Field(max_length=LONG_TEXT)


class Observation(_Strict):
    """Body of an ``observation``: a node's signed note of a peer's misbehaviour (§7)."""

    type: Literal[
        "body-withheld", "over-quota", "clock-skew", "policy-breach", "late", "bad-mirror"
    ]
    party: str = Field(pattern=PARTY_RE.pattern)
    entry: EntryRef | None = None
    log: str | None = Field(default=None, pattern=PARTY_RE.pattern)  # bad-mirror: whose log
    detail: str = Field(max_length=LONG_TEXT)


SCHEMAS: dict[str, type[_Strict]] = {
    "receipt": Receipt,
    "hotline": Hotline,
    "inquiry": Inquiry,
    "reply": Reply,
    "check": Check,
    "assistance": Assistance,
    "roadmap": Roadmap,
    "evidence": Evidence,
    "observation": Observation,
}


def _versioned(kind: str, body: Any) -> type[BaseModel] | None:
    """The schema of a later body version that ``body`` claims (its ``v``), if any."""
    if kind == "assistance" and isinstance(body, dict) and "v" in body:
        from parley.core.assistance import AssistanceV2

        return AssistanceV2
    return None


def validate_body(kind: str, body: Any) -> None:
    """Check ``body`` against the schema of ``kind``; raise naming the first bad field."""
    if kind == "roadmap" and roadmap_body.is_v2(body):
        roadmap_body.parse_body(body)  # version 2 (docs/protocol.md §7.2)
        return
    schema = _versioned(kind, body) or SCHEMAS.get(kind)
    if schema is None:
        raise InvalidEntryError(f"kind {kind!r} has no body schema in this module")
    try:
        schema.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidEntryError(f"{kind} body {where}: {first['msg']}") from exc
