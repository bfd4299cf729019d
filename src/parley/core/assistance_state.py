"""The lifecycle of an assistance request, recomputed from signed entries alone (EDXL-RM 1.0).

docs/protocol.md, "assistance, version 2: the lifecycle". ``request_state`` is a pure function
of a request and the set of version 2 entries that name it; ``board`` groups many. Who may do
what: only the requester (author of the ``RequestResource``) requisitions, releases, asks for
deployment status and answers a return; only an offer's author commits it, reports its
deployment and asks for it back; no party offers on its own request.

Why the result is the same at every node, whatever order entries arrived in:

* Entries are judged in phases, each reading only what the phases before it decided, and
  within a phase in (party, seq) order, which no arrival order changes:
  A. offerers' logs: offers, commitments, requests for return (each offerer judges only its
     own offers and its own earlier entries);
  B. the requester's log, in its own seq order: requisitions, releases, answers to returns,
     quotes and status requests. Requisitions draw on each request line's quantity in this
     order, so two offers that together exceed a request resolve by the requester's entries;
  C. offerers' logs again: deployment reports, which need a commitment taken up (A and B).
* A commitment counts only up to what the requester took up (``counted``); the rest is
  ``pending`` until a requisition takes it. Nothing beyond a request line's quantity is taken
  unless the requisition says ``beyond_request``.
* An entry that breaks a rule is kept out of the state and listed in ``refused`` with a
  message naming the state and the step; a node checks its own drafts the same way before it
  signs them (``check_step``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from parley.core.assistance import DEPLOYMENT, AssistanceV2, Line
from parley.core.errors import ConflictError

ZERO = Decimal(0)
OFFER_TYPES = frozenset({"ResponseToRequestResource", "OfferUnsolicitedResource"})
PHASE_A = frozenset({"CommitResource", "RequestReturn"})
PHASE_B = frozenset(
    {
        "RequisitionResource",
        "ReleaseResource",
        "ResponseToRequestReturn",
        "RequestQuote",
        "RequestResourceDeploymentStatus",
    }
)
NOTES = frozenset({"ResponseToRequestQuote", "RequestInformation", "ResponseToRequestInformation"})
PHASE_OF = {
    **dict.fromkeys(OFFER_TYPES, "offer"),
    **dict.fromkeys(PHASE_A, "A"),
    **dict.fromkeys(PHASE_B, "B"),
    "ReportResourceDeploymentStatus": "C",
    **dict.fromkeys(NOTES, "note"),
    "RequestResource": "note",  # a request naming another request takes no part in it
}


@dataclass(frozen=True, slots=True)
class Signed:
    """A verified version 2 entry: where it stands (``party:seq``), its leaf hash and body."""

    party: str
    seq: int
    leaf_hash: str
    body: AssistanceV2
    ref: str = field(init=False, compare=False)  # ``PARTY:SEQ``, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "ref", f"{self.party}:{self.seq}")


@dataclass
class OfferState:
    """One offer (a response or an unsolicited offer) and what became of it."""

    entry: Signed
    lines: dict[str, Line]
    taken: dict[str, Decimal] = field(default_factory=dict)
    committed: dict[str, Decimal] = field(default_factory=dict)
    commit: str | None = None
    deployment: str | None = None
    released: bool = False
    return_requested: bool = False
    return_answer: str | None = None
    offered: dict[str, Decimal] = field(init=False)

    def __post_init__(self) -> None:
        self.offered = {line.id: Decimal(line.quantity) for line in self.lines.values()}

    @property
    def party(self) -> str:
        """The offering party."""
        return self.entry.party

    def counted(self, line: str) -> Decimal:
        """What of an offer line is committed *and* taken up by the requester."""
        return min(self.committed.get(line, ZERO), self.taken.get(line, ZERO))

    def pending(self, line: str) -> Decimal:
        """What of an offer line is committed but not (yet) taken up."""
        return self.committed.get(line, ZERO) - self.counted(line)

    @property
    def phase(self) -> str:
        """Where the offer stands in the lifecycle (docs/protocol.md)."""
        if self.entry.body.answer == "decline":
            return "declined"
        if self.deployment == "returned":
            return "returned"
        if self.released:
            return "released"
        if self.return_requested:
            return "return-requested"
        if self.deployment is not None:
            return self.deployment
        counted = any(self.counted(line) > 0 for line in self.lines)
        if counted:
            return "committed"
        if any(self.taken.values()):
            return "requisitioned"
        if self.commit is not None:
            return "commitment-pending"
        return "provisional" if self.entry.body.answer == "provisional" else "offered"


@dataclass
class RequestState:
    """A request, its offers, what is taken up and still needed, and what was refused."""

    entry: Signed
    lines: dict[str, Line]
    offers: dict[str, OfferState] = field(default_factory=dict)
    taken: dict[str, Decimal] = field(default_factory=dict)
    beyond: dict[str, Decimal] = field(default_factory=dict)
    notes: list[Signed] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    requested: dict[str, Decimal] = field(init=False)

    def __post_init__(self) -> None:
        self.requested = {line.id: Decimal(line.quantity) for line in self.lines.values()}

    @property
    def requester(self) -> str:
        """The requesting party."""
        return self.entry.party

    def still_needed(self, line: str) -> Decimal:
        """What of a request line no requisition has taken up yet."""
        return max(ZERO, self.requested[line] - self.taken.get(line, ZERO))

    def counted(self, line: str) -> Decimal:
        """What of a request line is committed and taken up, over all offers."""
        return sum(
            (
                offer.counted(oline)
                for offer in self.offers.values()
                for oline, spec in offer.lines.items()
                if spec.fills == line
            ),
            ZERO,
        )

    @property
    def phase(self) -> str:
        """``open`` while any line is still needed, else ``filled``."""
        return "open" if any(self.still_needed(line) > 0 for line in self.lines) else "filled"


def request_state(request: Signed, related: Iterable[Signed]) -> RequestState:
    """The state of ``request`` given the entries that name it (module docstring)."""
    if request.body.type != "RequestResource":
        raise ConflictError(f"{request.ref} is a {request.body.type}, not a RequestResource")
    state = RequestState(request, {line.id: line for line in request.body.resources})
    phases: dict[str, list[Signed]] = {"offer": [], "A": [], "B": [], "C": [], "note": []}
    for entry in sorted(related, key=lambda e: (e.party, e.seq)):
        phases[PHASE_OF[entry.body.type]].append(entry)
    for entry in phases["offer"]:
        _judge(state, entry, _offer)
    # Within a phase, the entitled party's entries come first (the sort is stable), so a
    # refusal of anyone else's step names the state that the entitled party's entries made.
    for entry in sorted(phases["A"], key=lambda e: not _by_offerer(state, e)):
        _judge(state, entry, _phase_a)
    for entry in sorted(phases["B"], key=lambda e: e.party != state.requester):
        _judge(state, entry, _phase_b)
    for entry in sorted(phases["C"], key=lambda e: not _by_offerer(state, e)):
        _judge(state, entry, _deployment)
    for entry in phases["note"]:
        _judge(state, entry, _note)
    return state


def _note(state: RequestState, entry: Signed) -> None:
    """Quotes and information: shown with the request, part of no quantity."""
    state.notes.append(entry)


def _by_offerer(state: RequestState, entry: Signed) -> bool:
    """Whether ``entry`` is written by the author of the offer it names."""
    target = entry.body.refers_to
    offer = state.offers.get(target.ref) if target is not None else None
    return offer is not None and offer.party == entry.party


def check_step(request: Signed, related: Iterable[Signed], draft: Signed) -> RequestState:
    """The state with ``draft`` added, or ``ConflictError`` naming the state and the step."""
    state = request_state(request, [*related, draft])
    for ref, message in state.refused:
        if ref == draft.ref:
            raise ConflictError(message)
    return state


def _judge(state: RequestState, entry: Signed, rule: object) -> None:
    if entry.body.request is None or entry.body.request.ref != state.entry.ref:
        return
    try:
        if entry.body.request.leaf_hash != state.entry.leaf_hash:
            raise ConflictError(f"{entry.ref} names {state.entry.ref} with another leaf hash")
        rule(state, entry)  # type: ignore[operator]
    except ConflictError as refused:
        state.refused.append((entry.ref, str(refused)))


def _refuse(what: str, phase: str, step: str, reason: str) -> ConflictError:
    return ConflictError(f"{what} is {phase}: {step} refused ({reason})")


def _offer(state: RequestState, entry: Signed) -> None:
    if entry.party == state.requester:
        raise _refuse(
            f"request {state.entry.ref}",
            state.phase,
            entry.body.type,
            "a party cannot offer on its own request",
        )
    lines = {line.id: line for line in entry.body.resources}
    for line in lines.values():
        if line.fills is not None and line.fills not in state.lines:
            raise ConflictError(
                f"{entry.ref}: line {line.id} fills {line.fills}, not a request line"
            )
    state.offers[entry.ref] = OfferState(entry, lines)


def _target(state: RequestState, entry: Signed) -> OfferState:
    target = entry.body.refers_to
    offer = state.offers.get(target.ref) if target is not None else None
    if offer is None or target is None or target.leaf_hash != offer.entry.leaf_hash:
        name = target.ref if target is not None else "nothing"
        raise ConflictError(
            f"{entry.ref}: {entry.body.type} names {name}, not an offer on this request"
        )
    return offer


def _quantities(entry: Signed, offer: OfferState, step: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for take in entry.body.takes:
        if take.line not in offer.lines:
            raise _refuse(
                f"offer {offer.entry.ref}", offer.phase, step, f"it has no line {take.line}"
            )
        out[take.line] = Decimal(take.quantity)
    return out


def _phase_a(state: RequestState, entry: Signed) -> None:
    offer = _target(state, entry)
    step = entry.body.type
    what = f"offer {offer.entry.ref}"
    if entry.party != offer.party:
        raise _refuse(what, offer.phase, step, f"only {offer.party}, the offering party, may")
    if offer.entry.body.answer == "decline":
        raise _refuse(what, offer.phase, step, "a declined offer cannot be acted on")
    if step == "RequestReturn":
        if offer.commit is None:
            raise _refuse(what, offer.phase, step, "nothing of it is committed")
        offer.return_requested = True
        return
    if offer.commit is not None:
        raise _refuse(what, offer.phase, step, f"already committed by {offer.commit}")
    quantities = _quantities(entry, offer, step)
    for line, quantity in quantities.items():
        if quantity > offer.offered[line]:
            raise _refuse(what, offer.phase, step, f"line {line}: {quantity} is more than offered")
    offer.committed = quantities
    offer.commit = entry.ref


def _phase_b(state: RequestState, entry: Signed) -> None:
    step = entry.body.type
    if entry.party != state.requester:
        raise _refuse(
            f"request {state.entry.ref}",
            state.phase,
            step,
            f"only {state.requester}, the requesting party, may",
        )
    if step in ("RequestQuote", "RequestResourceDeploymentStatus") and entry.body.refers_to is None:
        state.notes.append(entry)
        return
    offer = _target(state, entry)
    what = f"offer {offer.entry.ref}"
    if offer.entry.body.answer == "decline":
        raise _refuse(what, offer.phase, step, "a declined offer cannot be acted on")
    if step == "RequisitionResource":
        _requisition(state, offer, entry)
    elif step == "ReleaseResource":
        if not any(offer.taken.values()) or offer.released:
            raise _refuse(what, offer.phase, step, "only a requisitioned resource is released")
        offer.released = True
    elif step == "ResponseToRequestReturn":
        if not offer.return_requested or offer.return_answer is not None:
            raise _refuse(what, offer.phase, step, "no open request for return")
        offer.return_answer = entry.body.answer
        offer.released = offer.released or entry.body.answer == "accept"
    else:
        state.notes.append(entry)


def _requisition(state: RequestState, offer: OfferState, entry: Signed) -> None:
    step, what = entry.body.type, f"offer {offer.entry.ref}"
    if offer.released:
        raise _refuse(what, offer.phase, step, "it is released")
    quantities = _quantities(entry, offer, step)
    for line, quantity in quantities.items():
        if offer.taken.get(line, ZERO) + quantity > offer.offered[line]:
            raise _refuse(what, offer.phase, step, f"line {line}: more than offered")
        fills = offer.lines[line].fills
        room = state.still_needed(fills) if fills is not None else ZERO
        if quantity > room and not entry.body.beyond_request:
            raise _refuse(
                f"request {state.entry.ref}",
                state.phase,
                step,
                f"line {fills or line}: {quantity} taken, {room} still needed; say "
                "beyond_request to take more",
            )
    for line, quantity in quantities.items():
        offer.taken[line] = offer.taken.get(line, ZERO) + quantity
        fills = offer.lines[line].fills
        if fills is not None:
            within = min(quantity, state.still_needed(fills))
            state.taken[fills] = state.taken.get(fills, ZERO) + within
            excess = quantity - within
        else:
            excess = quantity
        if excess > 0:
            state.beyond[line] = state.beyond.get(line, ZERO) + excess


def _deployment(state: RequestState, entry: Signed) -> None:
    offer = _target(state, entry)
    step, what = entry.body.type, f"offer {offer.entry.ref}"
    status = entry.body.deployment or ""
    if entry.party != offer.party:
        raise _refuse(what, offer.phase, step, f"only {offer.party}, the offering party, may")
    if not any(offer.counted(line) > 0 for line in offer.lines):
        raise _refuse(what, offer.phase, step, "no commitment of it is taken up")
    before = DEPLOYMENT.index(offer.deployment) if offer.deployment else -1
    if DEPLOYMENT.index(status) < before or offer.deployment == "returned":
        raise _refuse(what, offer.phase, step, f"{status} cannot follow {offer.deployment}")
    if status == "returned" and not offer.released:
        raise _refuse(what, offer.phase, step, "only a released resource is returned")
    offer.deployment = status


def board(entries: Iterable[Signed]) -> list[RequestState]:
    """The state of every request among ``entries``, in (party, seq) order of the requests."""
    requests: dict[str, Signed] = {}
    related: dict[str, list[Signed]] = {}
    for entry in entries:
        if entry.body.type == "RequestResource":
            requests[entry.ref] = entry
        elif entry.body.request is not None:
            related.setdefault(entry.body.request.ref, []).append(entry)
    ordered = sorted(requests.values(), key=lambda e: (e.party, e.seq))
    return [request_state(request, related.get(request.ref, ())) for request in ordered]
