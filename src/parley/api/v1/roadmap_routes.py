"""``/api/v1/roadmaps``: road maps (docs/protocol.md §7.2), as ``parley roadmap`` does them.

Each route calls ``parley.node.roadmaps``, the service the CLI calls, so both show the same
state. Writing needs the ``notify`` action (a duty officer or an administrator); reading the
state needs ``read`` and a clearance that covers the road map's TLP. Creates take an
``Idempotency-Key`` and land in the audit trail. A transition the state refuses (a party
attesting another's step, a locked or verified step, an entry not yet witnessed) is a 400 whose
detail names the step and its state.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from parley.api.v1 import inputs
from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.inputs import IdempotencyKey, RefPath
from parley.api.v1.messaging_models import Appended, Status, Tlp
from parley.api.v1.schemas import PROBLEMS, Strict
from parley.core.errors import InvalidEntryError
from parley.core.roadmap_body import LANG
from parley.node import roadmaps
from parley.node.access import Action, Principal
from parley.node.node import now_ms

router = APIRouter(tags=["roadmaps"], responses=PROBLEMS)

Reader = Annotated[Principal, Depends(allowed(Action.READ))]
Writer = Annotated[Principal, Depends(allowed(Action.NOTIFY))]
Texts = Annotated[
    dict[str, Annotated[str, Field(min_length=1, max_length=20_000)]], Field(max_length=10)
]
EvidenceItem = Annotated[
    str,
    Field(
        pattern=r"^([0-9a-f]{64}|[A-Z][A-Z0-9]{1,7}:(0|[1-9][0-9]{0,15}))$",
        description="A file's SHA-256 (hex) or an entry `PARTY:SEQ`.",
    ),
]


class NewRoadmap(Strict):
    """A road map version: the document of docs/protocol.md §7.2 (without `v` and `type`)."""

    document: dict[str, Any]
    status: Status
    replaces: Annotated[str | None, Field(pattern=inputs.REF_PATTERN)] = None
    to: Annotated[str | None, Field(max_length=200, description="ALL or parties.")] = None
    tlp: Tlp | None = None


class Attestation(Strict):
    """A claim that a step is done."""

    step: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    evidence: Annotated[list[EvidenceItem], Field(max_length=100)] = []
    text: Texts | None = None


class Word(Strict):
    """A confirmation, a dispute (``text`` is then its reason) or an answer to a dispute."""

    evidence: Annotated[list[EvidenceItem], Field(max_length=100)] = []
    text: Texts | None = None


class Version(BaseModel):
    """A version of the road map and its signatures."""

    ref: str
    version: int
    signed: list[str]
    missing: list[str]
    adopted_at: int | None


class StepView(BaseModel):
    """Where one step stands."""

    id: str
    party: str
    status: Literal["locked", "unlocked", "claimed", "verified", "disputed", "overdue"]
    waits_for: list[str]
    attestation: str | None
    claimed_at: int | None
    verified_at: int | None
    late: bool
    stances: dict[str, str]
    history: list[dict[str, Any]]


class Refusal(BaseModel):
    """An entry the state refused, and why."""

    ref: str
    reason: str


class RoadmapView(BaseModel):
    """The state of a road map as of ``at``: the JSON of `parley roadmap show --json`."""

    roadmap: str
    at: int
    in_force: Version | None
    title: dict[str, str] | None
    versions: list[Version]
    steps: list[StepView]
    milestones: dict[str, bool]
    scoreboard: dict[str, dict[str, int]]
    refused: list[Refusal]
    unwitnessed: list[str]


class RoadmapItem(BaseModel):
    """A road map this node holds."""

    roadmap: str
    id: str
    title: dict[str, str]


def _evidence(items: list[str]) -> list[dict[str, str]]:
    return [{"entry": i} if ":" in i else {"sha256": i} for i in items]


def _texts(texts: dict[str, str] | None) -> dict[str, str] | None:
    for lang in texts or {}:
        if not re.fullmatch(LANG, lang):
            raise InvalidEntryError(f"{lang!r} is not a language tag", field="body.text")
    return texts or None


@router.get("/roadmaps", response_model=list[RoadmapItem])
def roadmap_list(request: Request, principal: Reader) -> list[dict[str, Any]]:
    """The road maps this node holds (`parley roadmap show`)."""
    return roadmaps.listing(node_of(request))


@router.get("/roadmaps/{ref}", response_model=RoadmapView)
def roadmap_state(
    ref: RefPath,
    request: Request,
    principal: Reader,
    at: Annotated[int | None, Query(ge=0, le=2**53 - 1, description="As of (ms).")] = None,
) -> dict[str, Any]:
    """The state of the road map of version `ref` (`parley roadmap show REF --json`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    when = now_ms() if at is None else at
    return roadmaps.show(node, ref, when, principal.clearance).to_dict()


def _create(
    request: Request,
    response: Response,
    principal: Principal,
    key: str | None,
    parts: tuple[Any, ...],
    write: Any,
) -> dict[str, Any]:
    value, repeated = inputs.created(
        request, response, principal, key, parts, lambda: inputs.appended(write())
    )
    if not repeated:
        audit(request, principal, {"ref": value["ref"]})
    return value


@router.post("/roadmaps", status_code=201, response_model=Appended)
def draft(
    wanted: NewRoadmap,
    request: Request,
    response: Response,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Append a road map version, or an amendment of `replaces` (`parley roadmap draft`)."""
    node = node_of(request)
    replaces = (
        None
        if wanted.replaces is None
        else inputs.reference(node, wanted.replaces, "body.replaces")
    )

    def write() -> Any:
        with inputs.at("body.document"):
            return roadmaps.draft(
                node,
                wanted.document,
                wanted.status,
                now_ms(),
                replaces=replaces,
                to=wanted.to,
                tlp=wanted.tlp,
            )

    return _create(request, response, principal, idempotency_key, (wanted.model_dump(),), write)


@router.post("/roadmaps/{ref}/sign", status_code=201, response_model=Appended)
def sign(
    ref: RefPath,
    request: Request,
    response: Response,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Co-sign the road map version `ref` (`parley roadmap sign`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    return _create(
        request,
        response,
        principal,
        idempotency_key,
        (ref,),
        lambda: roadmaps.sign(node, ref, now_ms()),
    )


@router.post("/roadmaps/{ref}/attest", status_code=201, response_model=Appended)
def attest(
    ref: RefPath,
    claim: Attestation,
    request: Request,
    response: Response,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Attest that a step of the road map of version `ref` is done (`parley roadmap attest`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    evidence, text = _evidence(claim.evidence), _texts(claim.text)
    return _create(
        request,
        response,
        principal,
        idempotency_key,
        (ref, claim.model_dump()),
        lambda: roadmaps.attest(node, ref, claim.step, evidence, text, now_ms()),
    )


def _word(
    ref: str,
    word: str,
    said: Word,
    request: Request,
    response: Response,
    principal: Principal,
    idempotency_key: str | None,
) -> dict[str, Any]:
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    evidence, text = _evidence(said.evidence), _texts(said.text)

    def write() -> Any:
        if word == "answer":
            if text is None:
                raise InvalidEntryError("an answer needs text", field="body.text")
            return roadmaps.answer_dispute(node, ref, text, evidence, now_ms())
        return roadmaps.answer_attestation(node, ref, word, evidence, text, now_ms())

    parts = (ref, word, said.model_dump())
    return _create(request, response, principal, idempotency_key, parts, write)


@router.post("/roadmaps/{ref}/confirm", status_code=201, response_model=Appended)
def confirm(
    ref: RefPath,
    said: Word,
    request: Request,
    response: Response,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Confirm the attestation `ref` of a step this party verifies (`parley roadmap confirm`)."""
    return _word(ref, "confirm", said, request, response, principal, idempotency_key)


@router.post("/roadmaps/{ref}/dispute", status_code=201, response_model=Appended)
def dispute(
    ref: RefPath,
    said: Word,
    request: Request,
    response: Response,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Dispute the attestation `ref`; `text` is the reason (`parley roadmap dispute`)."""
    return _word(ref, "dispute", said, request, response, principal, idempotency_key)


@router.post("/roadmaps/{ref}/answer", status_code=201, response_model=Appended)
def answer(
    ref: RefPath,
    said: Word,
    request: Request,
    response: Response,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Answer the dispute `ref` of a step this party attested (`parley roadmap answer`)."""
    return _word(ref, "answer", said, request, response, principal, idempotency_key)
