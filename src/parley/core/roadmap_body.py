"""Body schemas of ``roadmap`` entries, version 2 (docs/protocol.md §7.2, Road maps).

A version 2 body carries ``"v": 2`` and a ``type``:

* ``document``: a road map version: parties (members of the network, or outside it), goals,
  steps, milestones and pacing rules; version n > 1 names the version it ``replaces``;
* ``sign``: a member party's co-signature of a document, by ``PARTY:SEQ`` and leaf hash;
* ``attest``: a claim that a step is done, with evidence;
* ``confirm`` / ``dispute``: a verifier's answer to an attestation (a dispute gives a reason);
* ``answer``: the responsible side's answer to a dispute.

A body without ``v`` is a version 1 body (``parley.core.bodies.Roadmap``): it keeps its own
schema and takes no part in any version 2 state. Validation here is of one body alone (ids
unique, references resolve inside the document, no cycle among steps); what depends on other
entries (who may sign, attest or confirm, and when) is judged by ``parley.core.roadmap``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from parley.core.entry import HEX64_RE, PARTY_RE, REF_RE
from parley.core.errors import InvalidEntryError

VERSION = 2
ID = r"^[a-z0-9][a-z0-9-]{0,31}$"
LANG = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$"
SHORT_TEXT = 500
LONG_TEXT = 20_000
MAX_ITEMS = 5_000
EVIDENCE_KINDS = ("sha256", "entry")

StepId = Annotated[str, Field(pattern=ID)]
PartyCode = Annotated[str, Field(pattern=PARTY_RE.pattern)]
Texts = Annotated[
    dict[
        Annotated[str, Field(pattern=LANG)],
        Annotated[str, Field(min_length=1, max_length=LONG_TEXT)],
    ],
    Field(min_length=1, max_length=10),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Ref(_Strict):
    """Another entry, exactly: ``PARTY:SEQ`` and its leaf hash (hex)."""

    ref: str = Field(pattern=REF_RE.pattern)
    leaf_hash: str = Field(pattern=HEX64_RE.pattern)


class Party(_Strict):
    """A party to the road map; ``member``: in the network, so it co-signs and attests."""

    code: PartyCode
    member: bool
    name: str | None = Field(default=None, max_length=SHORT_TEXT)


class Goal(_Strict):
    """A goal of the road map, in one or more languages."""

    id: StepId
    text: Texts


class Requirement(_Strict):
    """A precondition: another step done (attested) or verified, or a milestone reached."""

    step: StepId | None = None
    state: Literal["done", "verified"] = "verified"
    milestone: StepId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Requirement:
        if (self.step is None) == (self.milestone is None):
            raise ValueError("a requirement names either a step or a milestone")
        return self


class Due(_Strict):
    """A step's window: not before ``not_before`` (ms), done by ``by`` (ms)."""

    not_before: int | None = Field(default=None, ge=0)
    by: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Due:
        if self.by is None and self.not_before is None:
            raise ValueError("a due window needs by, not_before, or both")
        if self.by is not None and self.not_before is not None and self.by < self.not_before:
            raise ValueError("by is earlier than not_before")
        return self


class Step(_Strict):
    """One step: who does what, of which type, after what, by when, proven how, checked by whom."""

    id: StepId
    party: PartyCode
    action: Texts
    type: Literal["concession", "request", "verification"]
    requires: list[Requirement] = Field(default_factory=list, max_length=100)
    due: Due | None = None
    evidence: list[Literal["sha256", "entry"]] = Field(default_factory=list, max_length=2)
    verifiers: list[PartyCode] = Field(min_length=1, max_length=32)


class Milestone(_Strict):
    """A named set of steps, reached when every one of them is verified."""

    id: StepId
    name: Texts
    steps: list[StepId] = Field(min_length=1, max_length=MAX_ITEMS)


class Pacing(_Strict):
    """A pacing rule: ``steps`` start once ``after`` are verified, together or one by one."""

    mode: Literal["parallel", "sequence"]
    steps: list[StepId] = Field(min_length=1, max_length=MAX_ITEMS)
    after: list[StepId] = Field(default_factory=list, max_length=MAX_ITEMS)


class Deadlines(_Strict):
    """Response times (ms) asked of each addressee, as on every addressed kind (§11)."""

    delivered_within: int | None = Field(default=None, ge=0)
    acknowledged_within: int | None = Field(default=None, ge=0)


class Document(_Strict):
    """A road map version (module docstring)."""

    v: Literal[2]
    type: Literal["document"]
    roadmap: StepId
    version: int = Field(ge=1, le=100_000)
    replaces: Ref | None = None
    title: Texts
    parties: list[Party] = Field(min_length=2, max_length=64)
    goals: list[Goal] = Field(default_factory=list, max_length=100)
    steps: list[Step] = Field(min_length=1, max_length=MAX_ITEMS)
    milestones: list[Milestone] = Field(default_factory=list, max_length=500)
    pacing: list[Pacing] = Field(default_factory=list, max_length=500)
    deadlines: Deadlines | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Document:
        check_document(self)
        return self

    @property
    def members(self) -> frozenset[str]:
        """The member parties: every one co-signs before this version is in force."""
        return frozenset(p.code for p in self.parties if p.member)

    def step(self, step_id: str) -> Step | None:
        """The step with id ``step_id``, if this version has it."""
        return next((s for s in self.steps if s.id == step_id), None)


class Evidence(_Strict):
    """One piece of evidence: a file by SHA-256 (hex), or an entry by ``PARTY:SEQ``."""

    sha256: str | None = Field(default=None, pattern=HEX64_RE.pattern)
    entry: str | None = Field(default=None, pattern=REF_RE.pattern)
    note: str | None = Field(default=None, max_length=SHORT_TEXT)

    @model_validator(mode="after")
    def _one(self) -> Evidence:
        if (self.sha256 is None) == (self.entry is None):
            raise ValueError("evidence is either sha256 or entry")
        return self

    @property
    def kind(self) -> str:
        """``sha256`` or ``entry``."""
        return "sha256" if self.sha256 is not None else "entry"


EvidenceList = Annotated[list[Evidence], Field(max_length=100)]


class Sign(_Strict):
    """A member party's co-signature of a road map version."""

    v: Literal[2]
    type: Literal["sign"]
    document: Ref


class Attest(_Strict):
    """The responsible side's claim that ``step`` is done, under an adopted version."""

    v: Literal[2]
    type: Literal["attest"]
    document: Ref
    step: StepId
    evidence: EvidenceList = Field(default_factory=list)
    text: Texts | None = None


class Confirm(_Strict):
    """A verifier's confirmation of an attestation."""

    v: Literal[2]
    type: Literal["confirm"]
    attestation: Ref
    evidence: EvidenceList = Field(default_factory=list)
    text: Texts | None = None


class Dispute(_Strict):
    """A verifier's dispute of an attestation, with its reason."""

    v: Literal[2]
    type: Literal["dispute"]
    attestation: Ref
    reason: Texts
    evidence: EvidenceList = Field(default_factory=list)


class Answer(_Strict):
    """The responsible side's answer to a dispute."""

    v: Literal[2]
    type: Literal["answer"]
    dispute: Ref
    text: Texts
    evidence: EvidenceList = Field(default_factory=list)


Body = Document | Sign | Attest | Confirm | Dispute | Answer
_BODY: TypeAdapter[Body] = TypeAdapter(Annotated[Body, Field(discriminator="type")])


def is_v2(body: Any) -> bool:
    """Whether ``body`` claims version 2 (a ``v`` field); version 1 bodies have none."""
    return isinstance(body, dict) and "v" in body


def parse_body(body: Any) -> Body:
    """The version 2 body ``body``; raise ``InvalidEntryError`` naming the first bad field."""
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise InvalidEntryError(
            f"roadmap body v: expected {VERSION}, got {body.get('v')!r}"
            if isinstance(body, dict)
            else "roadmap body: expected an object"
        )
    try:
        return _BODY.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidEntryError(f"roadmap body {where}: {first['msg']}") from exc


def check_document(doc: Document) -> None:
    """Refuse a document whose ids or references do not resolve, or whose steps form a cycle."""
    parties = {p.code: p for p in doc.parties}
    _unique("parties", [p.code for p in doc.parties])
    _unique("goals", [g.id for g in doc.goals])
    _unique("steps", [s.id for s in doc.steps])
    _unique("milestones", [m.id for m in doc.milestones])
    if not doc.members:
        raise ValueError("parties: at least one member party is needed")
    if (doc.version == 1) != (doc.replaces is None):
        raise ValueError(
            "replaces: version 1 replaces nothing; a later version names the one it replaces"
        )
    steps = {s.id for s in doc.steps}
    milestones = {m.id for m in doc.milestones}
    for step in doc.steps:
        _check_step(step, parties, steps, milestones)
    for milestone in doc.milestones:
        for step_id in milestone.steps:
            if step_id not in steps:
                raise ValueError(f"milestone {milestone.id}: no step {step_id}")
    for number, rule in enumerate(doc.pacing):
        for step_id in [*rule.steps, *rule.after]:
            if step_id not in steps:
                raise ValueError(f"pacing.{number}: no step {step_id}")
    graph = waits(doc)
    for number, rule in enumerate(doc.pacing):
        together = set(rule.steps) if rule.mode == "parallel" else set()
        for step_id in together:
            if together & set(graph[step_id]):
                raise ValueError(f"pacing.{number}: step {step_id} waits for a step it runs with")
    cycle = find_cycle(graph)
    if cycle:
        raise ValueError(f"steps wait for each other in a cycle: {' -> '.join(cycle)}")


def _check_step(
    step: Step, parties: dict[str, Party], steps: set[str], milestones: set[str]
) -> None:
    where = f"step {step.id}"
    if step.party not in parties:
        raise ValueError(f"{where}: party {step.party} is not among the parties")
    for verifier in step.verifiers:
        if verifier == step.party:
            raise ValueError(f"{where}: {verifier} cannot verify its own step")
        if verifier in parties and not parties[verifier].member:
            raise ValueError(f"{where}: {verifier} is outside the network and cannot verify")
    _unique(f"{where} verifiers", step.verifiers)
    for req in step.requires:
        if req.step is not None and req.step not in steps:
            raise ValueError(f"{where}: requires unknown step {req.step}")
        if req.milestone is not None and req.milestone not in milestones:
            raise ValueError(f"{where}: requires unknown milestone {req.milestone}")


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what}: {item} appears twice")
        seen.add(item)


def waits(doc: Document) -> dict[str, dict[str, str]]:
    """For each step, the steps it waits for and how far: ``done`` or ``verified``.

    Requirements (milestones expanded to their steps) and pacing rules (``after``, and in a
    sequence the step before) all count; a step waited for both ways must be verified.
    """
    members = {m.id: m.steps for m in doc.milestones}
    graph: dict[str, dict[str, str]] = {s.id: {} for s in doc.steps}

    def wait(step_id: str, other: str, level: str) -> None:
        if graph[step_id].get(other) != "verified":
            graph[step_id][other] = level

    for step in doc.steps:
        for req in step.requires:
            if req.step is not None:
                wait(step.id, req.step, req.state)
            for other in members.get(req.milestone or "", []):
                wait(step.id, other, "verified")
    for rule in doc.pacing:
        for position, step_id in enumerate(rule.steps):
            for other in rule.after:
                wait(step_id, other, "verified")
            if rule.mode == "sequence" and position > 0:
                wait(step_id, rule.steps[position - 1], "verified")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str]:
    """A cycle in ``graph`` (step -> steps it waits for) as a path, or [] if there is none."""
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return []
