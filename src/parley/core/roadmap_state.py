"""What a road map's state is made of: entries as the state reads them, steps, versions.

Value types of ``parley.core.roadmap`` (docs/protocol.md §7.2): the rules that fill them in
live there; these are what ``parley roadmap show``, ``verify`` and the demo print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.core import roadmap_body as rb
from parley.core.entry import parse_ref

LOCKED, UNLOCKED, CLAIMED, VERIFIED, DISPUTED, OVERDUE = (
    "locked",
    "unlocked",
    "claimed",
    "verified",
    "disputed",
    "overdue",
)


@dataclass(frozen=True)
class RoadmapEntry:
    """One signed ``roadmap`` entry as the state reads it."""

    ref: str
    leaf_hash: str  # hex
    witnessed: int | None  # ms; None while not witnessed
    body: rb.Body
    party: str = field(init=False)  # the author
    order: tuple[str, int] = field(init=False)  # (party, seq): the tie-break within one ms

    def __post_init__(self) -> None:
        order = parse_ref(self.ref)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "party", order[0])

    @classmethod
    def read(
        cls, ref: str, leaf_hash: str, witnessed: int | None, body: Any
    ) -> RoadmapEntry | None:
        """The entry, or None for a version 1 body; a malformed version 2 body is refused."""
        if not rb.is_v2(body):
            return None
        return cls(ref, leaf_hash, witnessed, rb.parse_body(body))


@dataclass
class StepState:
    """Where one step stands."""

    id: str
    party: str
    status: str = LOCKED
    waits_for: list[str] = field(default_factory=list)
    attestation: str | None = None
    claimed_at: int | None = None
    verified_at: int | None = None
    late: bool = False
    stances: dict[str, str] = field(default_factory=dict)  # verifier -> confirm/dispute
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by ``parley roadmap show`` and ``verify``."""
        return {
            "id": self.id,
            "party": self.party,
            "status": self.status,
            "waits_for": self.waits_for,
            "attestation": self.attestation,
            "claimed_at": self.claimed_at,
            "verified_at": self.verified_at,
            "late": self.late,
            "stances": dict(sorted(self.stances.items())),
            "history": self.history,
        }


@dataclass
class Version:
    """A document version and who has signed it."""

    ref: str
    leaf_hash: str
    document: rb.Document
    signed: set[str] = field(default_factory=set)
    adopted_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ref, number, signers, who is still missing, when it took effect."""
        return {
            "ref": self.ref,
            "version": self.document.version,
            "signed": sorted(self.signed),
            "missing": sorted(self.document.members - self.signed),
            "adopted_at": self.adopted_at,
        }


@dataclass
class RoadmapState:
    """The state of one road map at ``now`` (module docstring)."""

    root: str
    now: int
    versions: dict[str, Version] = field(default_factory=dict)
    in_force: str | None = None
    steps: dict[str, StepState] = field(default_factory=dict)
    attestations: dict[str, tuple[str, str]] = field(default_factory=dict)  # ref -> (step, hash)
    disputes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # ref -> step,hash,by
    refused: list[tuple[str, str]] = field(default_factory=list)
    unwitnessed: list[str] = field(default_factory=list)
    graph: dict[str, dict[str, str]] = field(default_factory=dict)  # of the version in force
    defined: dict[str, rb.Step] = field(default_factory=dict)  # the steps of that version

    @property
    def document(self) -> rb.Document | None:
        """The version in force, if any has been adopted."""
        return None if self.in_force is None else self.versions[self.in_force].document

    def milestones(self) -> dict[str, bool]:
        """Each milestone of the version in force: reached or not."""
        doc = self.document
        if doc is None:
            return {}
        return {m.id: all(self._status(s) == VERIFIED for s in m.steps) for m in doc.milestones}

    def _status(self, step_id: str) -> str:
        found = self.steps.get(step_id)
        return LOCKED if found is None else found.status

    def scoreboard(self) -> dict[str, dict[str, int]]:
        """Per responsible party, how many of its steps are in each status."""
        board: dict[str, dict[str, int]] = {}
        for step in self.steps.values():
            row = board.setdefault(step.party, {})
            row[step.status] = row.get(step.status, 0) + 1
        return dict(sorted(board.items()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the whole state."""
        doc = self.document
        return {
            "roadmap": self.root,
            "at": self.now,
            "in_force": None if self.in_force is None else self.versions[self.in_force].to_dict(),
            "title": None if doc is None else dict(doc.title),
            "versions": [v.to_dict() for v in self.versions.values()],
            "steps": [s.to_dict() for s in self.steps.values()],
            "milestones": self.milestones(),
            "scoreboard": self.scoreboard(),
            "refused": [{"ref": r, "reason": why} for r, why in self.refused],
            "unwitnessed": self.unwitnessed,
        }
