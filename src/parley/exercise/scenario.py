"""Scenario files: an exercise or demo as data (docs/exercises.md).

A scenario is YAML or JSON: a name, a description, and steps. Each step happens ``at`` seconds
after the start, at one ``party``, and does one ``action``. Every entry a scenario produces
carries status Exercise, so no page, export or feed can present it as real. Validation names
the file, the step number and the field.

Steps that answer another step (``update``, ``cancel``, ``ack``, ``reply``, ``expect-miss``)
name it by ``of``; what they may answer is checked here, before anything runs: only the author
updates or cancels its own ``notify``, only an addressee acknowledges, and a step that is
expected to go unacknowledged is never acknowledged by the party that misses it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parley.core.assistance import Line, MessageType, Take
from parley.core.entry import PARTY_RE, TLP_LABELS
from parley.core.errors import InvalidEntryError, ParleyError

PARTY = PARTY_RE.pattern
STEP_ID = r"^[a-z0-9][a-z0-9-]{0,40}$"


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, pattern=STEP_ID)
    at: float = Field(default=0, ge=0, le=86400)
    party: str = Field(pattern=PARTY)
    to: list[str] | Literal["ALL"] = "ALL"
    tlp: str | None = None
    title: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _tlp_known(self) -> _Step:
        if self.tlp is not None and self.tlp not in TLP_LABELS:
            raise ValueError(f"tlp must be one of {list(TLP_LABELS)}")
        return self


def _readable_as(field: str, read: Any) -> Any:
    """Run ``read``; a Parley error becomes a validation error naming ``field``."""
    try:
        return read()
    except ParleyError as exc:
        raise ValueError(f"{field}: {exc.message}") from exc


def detail_pairs(category: str, details: dict[str, Any]) -> list[str]:
    """Scenario ``details`` as ``parley notify --detail NAME=VALUE`` pairs."""
    from parley.formats.categories import CATEGORIES

    known = CATEGORIES.get(category)
    kinds = {} if known is None else {f.name: f.kind for f in known.details}
    pairs = []
    for name, value in details.items():
        if isinstance(value, bool):
            pairs.append(f"{name}={'true' if value else 'false'}")
        elif isinstance(value, list) and kinds.get(name) == "areas":
            pairs.extend(f"{name}={item}" for item in value)
        elif isinstance(value, list):
            pairs.append(f"{name}={','.join(value)}")
        else:
            pairs.append(f"{name}={value}")
    return pairs


class ImportCap(_Step):
    """Import a CAP 1.2 file at the step's party, as ``parley import`` would."""

    action: Literal["import-cap"]
    file: str = Field(min_length=1)
    category: str | None = None


class ImportStix(_Step):
    """A STIX 2.1 bundle shared with a named list of parties (a restricted cyber report)."""

    action: Literal["import-stix"]
    file: str = Field(min_length=1)
    category: str | None = None

    @model_validator(mode="after")
    def _named_audience(self) -> ImportStix:
        if self.to == "ALL":
            raise ValueError("to: an import-stix step names its audience, e.g. [JP, KR]")
        return self


Text = Annotated[str, Field(min_length=1, max_length=20000)]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
DetailValue = str | int | bool | list[str]


class Notify(_Step):
    """A native notification; ``details`` as ``parley notify --detail NAME=VALUE`` reads them."""

    action: Literal["notify"]
    category: str = Field(pattern=r"^[a-z]+\.[a-z0-9-]+$")
    headline: str = Field(min_length=1, max_length=500)
    severity: Severity
    urgency: Urgency
    certainty: Certainty
    area: str = Field(min_length=1, description="LAT,LON,KM")
    area_desc: str | None = Field(default=None, max_length=500)
    description: Text | None = None
    instruction: Text | None = None
    expires: str | None = None
    details: dict[str, DetailValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _readable(self) -> Notify:
        from parley.formats.notification import new_notification
        from parley.node.notifications.input import parse_area, parse_details, parse_when

        area = _readable_as("area", lambda: parse_area(self.area, self.area_desc))
        details = _readable_as(
            "details",
            lambda: parse_details(self.category, detail_pairs(self.category, self.details), 0),
        )
        if self.expires is not None:
            _readable_as("expires", lambda: parse_when(self.expires or "", 0))
        _readable_as(
            "notification",
            lambda: new_notification(
                category=self.category,
                identifier="scenario-check",
                sender="scenario@check",
                sent_ms=0,
                status="Exercise",
                headline=self.headline,
                urgency=self.urgency,
                severity=self.severity,
                certainty=self.certainty,
                areas=[area],
                details=details,
                description=self.description,
                instruction=self.instruction,
            ),
        )
        return self


class Update(_Step):
    """An Update of an earlier ``notify`` (or ``update``) step of the same party."""

    action: Literal["update"]
    of: str = Field(pattern=STEP_ID)
    headline: str | None = Field(default=None, min_length=1, max_length=500)
    description: Text | None = None
    instruction: Text | None = None
    severity: Severity | None = None
    urgency: Urgency | None = None
    certainty: Certainty | None = None
    details: dict[str, DetailValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _changes_something(self) -> Update:
        fields = (
            self.headline,
            self.description,
            self.instruction,
            self.severity,
            self.urgency,
            self.certainty,
        )
        if all(value is None for value in fields) and not self.details:
            raise ValueError("an update changes something: headline, details, severity, ...")
        return self


class Cancel(_Step):
    """The end of an incident: a Cancel, or with ``all_clear`` an all-clear Update."""

    action: Literal["cancel"]
    of: str = Field(pattern=STEP_ID)
    all_clear: bool = False


class Hotline(_Step):
    """A hotline message: a catalogue phrase with its parameters, or free text."""

    action: Literal["hotline"]
    text: Text | None = None
    phrase: str | None = Field(default=None, max_length=64)
    params: dict[str, str] = Field(default_factory=dict)
    reply_to: str | None = Field(default=None, pattern=STEP_ID)
    acknowledged_within: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _says_something(self) -> Hotline:
        if self.phrase is None and self.text is None:
            raise ValueError("a hotline step needs a phrase (with params) or text, or both")
        if self.params and self.phrase is None:
            raise ValueError("params belong to a phrase: give phrase too")
        if self.to == "ALL" or len(self.to) != 1:
            raise ValueError("to: a hotline step names exactly one party")
        if self.phrase is not None:
            from parley.formats import phrases

            phrase = self.phrase
            _readable_as("phrase", lambda: phrases.normalise(phrase, self.params))
        return self


class Ack(_Step):
    """A duty officer at ``party`` acknowledges the entry of step ``of``."""

    action: Literal["ack"]
    of: str = Field(pattern=STEP_ID)
    reply: str | None = Field(default=None, min_length=1, max_length=500)
    officer: str = Field(default="duty", min_length=1, max_length=64)


class ExpectMiss(_Step):
    """No entry: ``party`` is expected never to acknowledge step ``of``, so its deadline passes."""

    action: Literal["expect-miss"]
    of: str = Field(pattern=STEP_ID)


class Reply(_Step):
    """``party`` answers the inquiry of step ``of``."""

    action: Literal["reply"]
    of: str = Field(pattern=STEP_ID)
    text: Text


class Inquiry(_Step):
    """An inquiry about an earlier step's entry, with the reply deadline."""

    action: Literal["inquiry"]
    about: str = Field(pattern=STEP_ID)
    question: str = Field(min_length=1, max_length=20000)
    reply_within: int = Field(ge=1)


class Resource(BaseModel):
    """A kind and quantity of resources in an assistance request or offer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1, max_length=100)
    quantity: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    unit: str = Field(min_length=1, max_length=50)
    description: str | None = None


class Assistance(_Step):
    """An assistance request, offer, acceptance, decline or status."""

    action: Literal["assistance"]
    type: Literal["request", "offer", "accept", "decline", "status"]
    incident: str | None = Field(default=None, pattern=STEP_ID)
    refers_to: str | None = Field(default=None, pattern=STEP_ID)
    resources: list[Resource] = Field(default_factory=list)
    text: str | None = None


class Assist(_Step):
    """A step of the assistance lifecycle (version 2, EDXL-RM 1.0; docs/protocol.md §7.1).

    ``request`` and ``offer`` name earlier steps; the runner waits until the acting node holds
    them, and the node service checks the step against the catalogue and the lifecycle.
    """

    action: Literal["assist"]
    type: MessageType
    incident: str | None = Field(default=None, pattern=STEP_ID)
    request: str | None = Field(default=None, pattern=STEP_ID)
    offer: str | None = Field(default=None, pattern=STEP_ID)
    resources: list[Line] = Field(default_factory=list)
    takes: list[Take] = Field(default_factory=list)
    answer: Literal["accept", "decline", "provisional"] | None = None
    deployment: str | None = None
    beyond_request: bool = False
    text: str | None = None


class Roadmap(_Step):
    """A road map step (docs/protocol.md §7.2): draft, sign, attest, confirm, dispute, answer.

    ``of`` names the step whose entry it acts on: for ``draft`` the version it amends (none for
    a first version), for ``sign`` and ``attest`` a version, for ``confirm`` and ``dispute`` an
    attestation, for ``answer`` a dispute. ``due`` sets step ids' due times, in seconds after
    the draft.
    """

    action: Literal["roadmap"]
    do: Literal["draft", "sign", "attest", "confirm", "dispute", "answer"]
    of: str | None = Field(default=None, pattern=STEP_ID)
    document: str | None = Field(default=None, min_length=1)
    due: dict[str, float] = Field(default_factory=dict)
    step: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    text: Text | None = None
    evidence: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Roadmap:
        if (self.do == "draft") != (self.document is not None):
            raise ValueError("document: a draft step, and only a draft, names its document file")
        if self.do != "draft" and self.of is None:
            raise ValueError(f"of: a {self.do} step names the step whose entry it acts on")
        if (self.do == "attest") != (self.step is not None):
            raise ValueError("step: an attest step, and only an attest, names the step attested")
        if self.do in ("dispute", "answer") and not self.text:
            raise ValueError(f"text: a {self.do} step says why")
        for digest in self.evidence:
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(f"evidence: {digest!r} is not a SHA-256 in hex")
        return self


Step = Annotated[
    ImportCap
    | ImportStix
    | Notify
    | Update
    | Cancel
    | Hotline
    | Ack
    | ExpectMiss
    | Reply
    | Inquiry
    | Assistance
    | Assist
    | Roadmap,
    Field(discriminator="action"),
]
ANSWERS = (Update, Cancel, Ack, ExpectMiss, Reply)
ACTIONS = frozenset(
    {
        "import-cap",
        "import-stix",
        "notify",
        "update",
        "cancel",
        "hotline",
        "ack",
        "expect-miss",
        "reply",
        "inquiry",
        "assistance",
        "assist",
        "roadmap",
    }
)
NO_ENTRY = (ExpectMiss,)


class Scenario(BaseModel):
    """A whole scenario: its parties, its steps in order, and what it expects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    parties: list[str] = Field(min_length=2)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Scenario:
        known: dict[str, Step] = {}
        for number, step in enumerate(self.steps, start=1):
            where = f"step {number}"
            parties = [step.party] + ([] if step.to == "ALL" else list(step.to))
            for party in parties:
                if party not in self.parties:
                    raise ValueError(f"{where}: party {party} is not in the scenario's parties")
            for name in ("about", "incident", "refers_to", "of", "reply_to", "request", "offer"):
                target = getattr(step, name, None)
                if target is not None and target not in known:
                    raise ValueError(f"{where}: {name} names unknown or later step {target!r}")
            if isinstance(step, ANSWERS):
                _check_answer(where, step, known[step.of], self.parties, known)
            if isinstance(step, Hotline) and step.reply_to is not None:
                _check_hotline_reply(where, step, known[step.reply_to])
            if step.id is not None:
                if step.id in known:
                    raise ValueError(f"{where}: step id {step.id!r} is used twice")
                known[step.id] = step
        times = [step.at for step in self.steps]
        if times != sorted(times):
            raise ValueError("steps must be in time order ('at' never decreases)")
        _check_misses(self.steps)
        return self

    def step(self, step_id: str) -> Step:
        """The step with id ``step_id``."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def addressees(step: Step, parties: list[str], known: dict[str, Step]) -> list[str]:
    """Who receives the entry of ``step`` (not its author): its ``to``, or what it answers."""
    if isinstance(step, Update | Cancel):
        return addressees(known[step.of], parties, known)
    if isinstance(step, Reply):
        inquiry = known[step.of]
        return sorted({inquiry.party, *addressees(inquiry, parties, known)} - {step.party})
    named = parties if step.to == "ALL" else step.to
    return sorted(set(named) - {step.party})


def _check_answer(
    where: str, step: Step, target: Step, parties: list[str], known: dict[str, Step]
) -> None:
    """What an ``of`` may name: see the module docstring."""
    name = type(step).__name__.lower().replace("expectmiss", "expect-miss")
    if step.to != "ALL":
        raise ValueError(f"{where}, to: a {name} step keeps the audience of the step it answers")
    if isinstance(target, Ack | ExpectMiss):
        raise ValueError(
            f"{where}, of: step {target.id!r} ({target.action}) has no entry to {name}"
        )
    if isinstance(step, Update | Cancel):
        if not isinstance(target, Notify | Update):
            raise ValueError(
                f"{where}, of: a {name} answers a notify or update step, not {target.action}"
            )
        if target.party != step.party:
            raise ValueError(
                f"{where}, of: step {target.id!r} is {target.party}'s "
                f"notification; only its author may {name} it"
            )
        if isinstance(step, Update) and step.details:
            _check_update_details(where, step, target, known)
        return
    if isinstance(step, Reply) and not isinstance(target, Inquiry):
        raise ValueError(f"{where}, of: a reply answers an inquiry step, not {target.action}")
    if step.party not in addressees(target, parties, known):
        raise ValueError(f"{where}, party: {step.party} is not an addressee of step {target.id!r}")


def _check_update_details(where: str, step: Update, target: Step, known: dict[str, Step]) -> None:
    """Read an update's details as the category of the notification it updates defines them."""
    from parley.node.notifications.input import parse_details

    root = target
    while isinstance(root, Update):
        root = known[root.of]
    if isinstance(root, Notify):
        category = root.category
        _readable_as(
            f"{where}, details",
            lambda: parse_details(category, detail_pairs(category, step.details), 0),
        )


def _check_hotline_reply(where: str, step: Hotline, target: Step) -> None:
    pair = {step.party, *step.to}
    if not isinstance(target, Hotline) or {target.party, *target.to} != pair:
        raise ValueError(
            f"{where}, reply_to: step {target.id!r} is not a hotline message "
            f"between {' and '.join(sorted(pair))}"
        )


def _check_misses(steps: list[Step]) -> None:
    acks = {(step.of, step.party) for step in steps if isinstance(step, Ack)}
    for number, step in enumerate(steps, start=1):
        if isinstance(step, ExpectMiss) and (step.of, step.party) in acks:
            raise ValueError(
                f"step {number}, of: {step.party} is expected to miss step "
                f"{step.of!r}, but an ack step acknowledges it"
            )


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, step and field."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidEntryError(f"{path}: cannot read the scenario ({exc})") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = list(first["loc"])
        where = ""
        if len(location) >= 2 and location[0] == "steps":
            where = f"step {int(location[1]) + 1}"
            location = [p for p in location[2:] if p not in ACTIONS]
        field = ".".join(str(p) for p in location)
        detail = ", ".join(part for part in (where, field) if part)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidEntryError(f"{path}: {detail + ': ' if detail else ''}{message}") from exc
