"""Scenario files: an exercise or demo as data (docs/exercises.md).

A scenario is YAML or JSON: a name, a description, and steps. Each step happens ``at`` seconds
after the start, at one ``party``, and does one ``action``. Every entry a scenario produces
carries status Exercise, so no page, export or feed can present it as real. Validation names
the file, the step number and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parley.core.entry import PARTY_RE, TLP_LABELS
from parley.core.errors import InvalidEntryError

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


class ImportCap(_Step):
    action: Literal["import-cap"]
    file: str = Field(min_length=1)
    category: str | None = None


class Hotline(_Step):
    action: Literal["hotline"]
    text: str = Field(min_length=1, max_length=20000)
    acknowledged_within: int | None = Field(default=None, ge=1)


class Inquiry(_Step):
    action: Literal["inquiry"]
    about: str = Field(pattern=STEP_ID)
    question: str = Field(min_length=1, max_length=20000)
    reply_within: int = Field(ge=1)


class Resource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1, max_length=100)
    quantity: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    unit: str = Field(min_length=1, max_length=50)
    description: str | None = None


class Assistance(_Step):
    action: Literal["assistance"]
    type: Literal["request", "offer", "accept", "decline", "status"]
    incident: str | None = Field(default=None, pattern=STEP_ID)
    refers_to: str | None = Field(default=None, pattern=STEP_ID)
    resources: list[Resource] = Field(default_factory=list)
    text: str | None = None


Step = Annotated[ImportCap | Hotline | Inquiry | Assistance, Field(discriminator="action")]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    parties: list[str] = Field(min_length=2)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Scenario:
        known: set[str] = set()
        for number, step in enumerate(self.steps, start=1):
            where = f"step {number}"
            parties = [step.party] + ([] if step.to == "ALL" else list(step.to))
            for party in parties:
                if party not in self.parties:
                    raise ValueError(f"{where}: party {party} is not in the scenario's parties")
            for name in ("about", "incident", "refers_to"):
                target = getattr(step, name, None)
                if target is not None and target not in known:
                    raise ValueError(f"{where}: {name} names unknown or later step {target!r}")
            if step.id is not None:
                if step.id in known:
                    raise ValueError(f"{where}: step id {step.id!r} is used twice")
                known.add(step.id)
        times = [step.at for step in self.steps]
        if times != sorted(times):
            raise ValueError("steps must be in time order ('at' never decreases)")
        return self


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
            location = [p for p in location[2:] if not isinstance(p, str) or "-" not in p]
        field = ".".join(str(p) for p in location)
        detail = ", ".join(part for part in (where, field) if part)
        raise InvalidEntryError(f"{path}: {detail + ': ' if detail else ''}{first['msg']}") from exc
