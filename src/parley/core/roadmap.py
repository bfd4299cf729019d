"""The state of a road map, computed from signed entries and witnessed times alone.

docs/protocol.md §7.2 (Road maps). Pure: no I/O, no clock read; ``now`` is passed in. Anyone
holding the entries (a member node, a neutral verifier, ``parley roadmap verify`` over log
exports) gets the same state from ``roadmap_state``.

Rules, in the order an independent implementation applies them:

1. Only version 2 bodies (``parley.core.roadmap_body``) of entries witnessed at or before
   ``now`` count. Witnessed time, never a party's own claimed time, places an entry: nobody can
   backdate a claim to beat a due date. Entries are applied in order of witnessed time; entries
   witnessed in the same millisecond are applied in (party, seq) order, repeating the pass while
   one of them becomes applicable, so the result does not depend on the order they are given in.
2. The road map is named by its first version's document (``PARTY:SEQ``). A later version
   names the version it replaces (ref and leaf hash) and carries its number plus one. A version
   is in force once every member party it lists has signed it (a ``sign`` entry in its own
   log); until then the earlier version rules. A version older than the one in force can no
   longer be signed.
3. ``attest`` (a claim that a step is done) comes from the step's party, or for a party
   outside the network from one of the step's verifiers, under an adopted version, for a step
   of the version in force that is unlocked (or disputed: a new claim answers a dispute). It
   carries evidence of each kind the step accepts. A verifier who attests counts as confirming.
4. ``confirm`` and ``dispute`` come from the step's verifiers and name the step's current
   attestation; ``answer`` comes from the attesting side and names a dispute. A step is verified
   when every verifier has confirmed the current attestation, disputed while any verifier's last
   word on it is a dispute, claimed otherwise. A verified step is final.
5. A step is locked until its requirements hold (steps done or verified, milestones reached,
   pacing rules) and its window opens (``not_before``); overdue when ``by`` has passed with no
   claim witnessed by then. A milestone is reached when every one of its steps is verified.

An entry that breaks a rule changes nothing; it is listed in ``refused`` with the reason,
naming the step and its state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import groupby
from typing import Any

from parley.core import roadmap_body as rb
from parley.core.entry import parse_ref
from parley.core.errors import InvalidEntryError
from parley.core.roadmap_state import (
    CLAIMED,
    DISPUTED,
    LOCKED,
    OVERDUE,
    UNLOCKED,
    VERIFIED,
    RoadmapEntry,
    RoadmapState,
    StepState,
    Version,
)

__all__ = [
    "CLAIMED",
    "DISPUTED",
    "LOCKED",
    "OVERDUE",
    "UNLOCKED",
    "VERIFIED",
    "RoadmapEntry",
    "RoadmapState",
    "StepState",
    "Version",
    "apply",
    "check",
    "roadmap_state",
]


def roadmap_state(entries: Iterable[RoadmapEntry], root: str, now: int) -> RoadmapState:
    """The state of the road map whose first version is ``root``, as of ``now`` (ms)."""
    state = RoadmapState(root, now)
    mine = _belonging(list(entries), root)
    counted = []
    for entry in mine:
        if entry.witnessed is None or entry.witnessed > now:
            state.unwitnessed.append(entry.ref)
        else:
            counted.append(entry)
    state.unwitnessed.sort(key=parse_ref)
    counted.sort(key=lambda e: (e.witnessed, e.order))
    for _, group in groupby(counted, key=lambda e: e.witnessed):
        _apply_bucket(state, list(group))
    _settle(state, now)
    return state


def _belonging(entries: list[RoadmapEntry], root: str) -> list[RoadmapEntry]:
    """The entries of this road map: its versions, and what refers to them, transitively."""
    docs = {e.ref: e for e in entries if isinstance(e.body, rb.Document)}
    chain: set[str] = set()
    for ref in docs:
        seen, cursor = [], docs.get(ref)
        while cursor is not None and cursor.ref not in seen:
            seen.append(cursor.ref)
            if cursor.ref == root:
                chain.update(seen)
                break
            replaces = cursor.body.replaces  # type: ignore[union-attr]
            cursor = None if replaces is None else docs.get(replaces.ref)
    naming: dict[str, list[str]] = {}
    for entry in entries:
        target = _target(entry.body)
        if target is not None:
            naming.setdefault(target, []).append(entry.ref)
    refs, todo = set(chain), list(chain)
    while todo:
        for ref in naming.get(todo.pop(), ()):
            if ref not in refs:
                refs.add(ref)
                todo.append(ref)
    return [e for e in entries if e.ref in refs]


NAMED_BY = {"sign": "document", "attest": "document", "confirm": "attestation"}
NAMED_BY |= {"dispute": "attestation", "answer": "dispute"}


def _target(body: rb.Body) -> str | None:
    """The entry a body names (its document, attestation or dispute); None for a document."""
    name = NAMED_BY.get(body.type)
    return None if name is None else getattr(body, name).ref


def _apply_bucket(state: RoadmapState, group: list[RoadmapEntry]) -> None:
    """Apply entries of one witnessed millisecond, retrying while any becomes applicable."""
    pending = group
    while pending:
        left: list[tuple[RoadmapEntry, str]] = []
        for entry in pending:
            try:
                apply(state, entry)
            except InvalidEntryError as exc:
                left.append((entry, exc.message))
        if len(left) == len(pending):
            state.refused.extend((e.ref, why) for e, why in left)
            return
        pending = [e for e, _ in left]


def apply(state: RoadmapState, entry: RoadmapEntry) -> None:
    """Apply one witnessed entry; raise ``InvalidEntryError`` (changing nothing) if illegal."""
    RULES[entry.body.type](state, entry, entry.body)


def _document(state: RoadmapState, entry: RoadmapEntry, doc: rb.Document) -> None:
    if entry.party not in doc.members:
        raise InvalidEntryError(
            f"{entry.ref}: {entry.party} drafts no version of a road map it is no member of"
        )
    if doc.replaces is not None:
        earlier = state.versions.get(doc.replaces.ref)
        if earlier is None or earlier.leaf_hash != doc.replaces.leaf_hash:
            raise InvalidEntryError(
                f"{entry.ref}: replaces {doc.replaces.ref}, not a version of this road map"
            )
        if doc.version != earlier.document.version + 1 or doc.roadmap != earlier.document.roadmap:
            raise InvalidEntryError(
                f"{entry.ref}: version {doc.version} cannot replace"
                f" version {earlier.document.version}"
            )
    elif entry.ref != state.root:
        raise InvalidEntryError(f"{entry.ref}: a second first version of road map {state.root}")
    state.versions[entry.ref] = Version(entry.ref, entry.leaf_hash, doc)


def _sign(state: RoadmapState, entry: RoadmapEntry, body: rb.Sign) -> None:
    version = state.versions.get(body.document.ref)
    if version is None or version.leaf_hash != body.document.leaf_hash:
        raise InvalidEntryError(
            f"{entry.ref}: signs {body.document.ref}, not a known version of this road map"
        )
    doc = version.document
    if entry.party not in doc.members:
        raise InvalidEntryError(
            f"{entry.ref}: {entry.party} is not a member party of version {doc.version}"
        )
    current = state.document
    if current is not None and doc.version <= current.version:
        raise InvalidEntryError(
            f"{entry.ref}: version {doc.version} is superseded by"
            f" version {current.version} in force"
        )
    if entry.party in version.signed:
        raise InvalidEntryError(
            f"{entry.ref}: {entry.party} has already signed version {doc.version}"
        )
    version.signed.add(entry.party)
    if version.signed >= doc.members:
        version.adopted_at = entry.witnessed
        state.in_force = version.ref
        _take_steps(state, doc)


def _take_steps(state: RoadmapState, doc: rb.Document) -> None:
    """The steps of a newly adopted version; a step's record carries over by its id."""
    kept = state.steps
    state.steps = {s.id: kept.get(s.id) or StepState(s.id, s.party) for s in doc.steps}
    for step in doc.steps:
        state.steps[step.id].party = step.party
    state.graph = rb.waits(doc)
    state.defined = {s.id: s for s in doc.steps}


def _adopted(state: RoadmapState, ref: rb.Ref) -> bool:
    version = state.versions.get(ref.ref)
    return (
        version is not None
        and version.leaf_hash == ref.leaf_hash
        and version.adopted_at is not None
    )


def _attesters(step: rb.Step, doc: rb.Document) -> set[str]:
    return {step.party} if step.party in doc.members else set(step.verifiers)


def _attest(state: RoadmapState, entry: RoadmapEntry, body: rb.Attest) -> None:
    doc = state.document
    if doc is None or not _adopted(state, body.document):
        raise InvalidEntryError(
            f"{entry.ref}: attests under {body.document.ref}, which is not an adopted version"
        )
    step = state.defined.get(body.step)
    if step is None:
        raise InvalidEntryError(f"{entry.ref}: the version in force has no step {body.step}")
    allowed = _attesters(step, doc)
    if entry.party not in allowed:
        raise InvalidEntryError(
            f"{entry.ref}: {entry.party} cannot attest step {step.id}, which is {step.party}'s"
            f" (attested by {', '.join(sorted(allowed))})"
        )
    record = state.steps[step.id]
    recorded = _recorded(record)
    if recorded in (VERIFIED, CLAIMED):
        raise InvalidEntryError(
            f"{entry.ref}: step {step.id} is {recorded}; it cannot be attested now"
        )
    waiting = _waiting(state, step.id)
    if recorded is None and waiting:
        raise InvalidEntryError(
            f"{entry.ref}: step {step.id} is locked: it waits for {', '.join(waiting)}"
        )
    when = entry.witnessed or 0
    if step.due is not None and step.due.not_before is not None and when < step.due.not_before:
        raise InvalidEntryError(
            f"{entry.ref}: step {step.id} is locked: its window opens at {step.due.not_before}"
        )
    missing = [k for k in step.evidence if k not in {e.kind for e in body.evidence}]
    if missing:
        raise InvalidEntryError(
            f"{entry.ref}: step {step.id} needs evidence by {', '.join(missing)}"
        )
    record.attestation = entry.ref
    record.claimed_at = record.claimed_at if record.claimed_at is not None else when
    record.late = record.late or (
        step.due is not None and step.due.by is not None and when > step.due.by
    )
    record.stances = {entry.party: "confirm"} if entry.party in step.verifiers else {}
    if len(record.stances) == len(step.verifiers):
        record.verified_at = when  # its only verifier attested it
    record.history.append({"ref": entry.ref, "type": "attest", "by": entry.party, "at": when})
    state.attestations[entry.ref] = (step.id, entry.leaf_hash)


def _stance(state: RoadmapState, entry: RoadmapEntry, body: rb.Confirm | rb.Dispute) -> None:
    found = state.attestations.get(body.attestation.ref)
    if found is None or found[1] != body.attestation.leaf_hash:
        raise InvalidEntryError(
            f"{entry.ref}: {body.attestation.ref} is not an attestation of this road map"
        )
    step = state.defined.get(found[0])
    if step is None:
        raise InvalidEntryError(f"{entry.ref}: the version in force has no step {found[0]}")
    record = state.steps[step.id]
    if entry.party not in step.verifiers:
        raise InvalidEntryError(f"{entry.ref}: {entry.party} is not a verifier of step {step.id}")
    if record.verified_at is not None:
        raise InvalidEntryError(f"{entry.ref}: step {step.id} is verified")
    if record.attestation != body.attestation.ref:
        raise InvalidEntryError(
            f"{entry.ref}: {body.attestation.ref} is not the current attestation of step"
            f" {step.id} ({record.attestation} is)"
        )
    word = body.type
    if record.stances.get(entry.party) == word:
        raise InvalidEntryError(
            f"{entry.ref}: {entry.party} has already {word}ed step {step.id},"
            f" which is {_recorded(record)}"
        )
    record.stances[entry.party] = word
    item: dict[str, Any] = {
        "ref": entry.ref,
        "type": word,
        "by": entry.party,
        "at": entry.witnessed,
    }
    if isinstance(body, rb.Dispute):
        item["reason"] = dict(body.reason)
        state.disputes[entry.ref] = (step.id, entry.leaf_hash, entry.party)
    record.history.append(item)
    if len(record.stances) == len(step.verifiers) and "dispute" not in record.stances.values():
        record.verified_at = entry.witnessed  # every verifier's last word is confirm


def _answer(state: RoadmapState, entry: RoadmapEntry, body: rb.Answer) -> None:
    found = state.disputes.get(body.dispute.ref)
    if found is None or found[1] != body.dispute.leaf_hash:
        raise InvalidEntryError(
            f"{entry.ref}: {body.dispute.ref} is not a dispute of this road map"
        )
    doc = state.document
    step = state.defined.get(found[0])
    if step is None or doc is None:
        raise InvalidEntryError(f"{entry.ref}: the version in force has no step {found[0]}")
    allowed = _attesters(step, doc) - {found[2]}
    if entry.party not in allowed:
        raise InvalidEntryError(
            f"{entry.ref}: {entry.party} cannot answer a dispute of step {step.id},"
            f" which is {step.party}'s"
        )
    state.steps[step.id].history.append(
        {
            "ref": entry.ref,
            "type": "answer",
            "by": entry.party,
            "at": entry.witnessed,
            "dispute": body.dispute.ref,
            "text": dict(body.text),
        }
    )


def _settle(state: RoadmapState, now: int) -> None:
    """Every step's status at ``now``, from its record and the version in force."""
    for step_id, step in state.defined.items():
        record = state.steps[step_id]
        record.waits_for = _waiting(state, step_id)
        record.status = _status(record, step, now)


def _recorded(record: StepState) -> str | None:
    """The status an attested step has whatever the time; None while it is not attested."""
    if record.attestation is None:
        return None
    if record.verified_at is not None:
        return VERIFIED
    return DISPUTED if "dispute" in record.stances.values() else CLAIMED


def _waiting(state: RoadmapState, step_id: str) -> list[str]:
    """The steps ``step_id`` still waits for, judged on what has been attested and verified."""
    return sorted(
        other
        for other, level in state.graph[step_id].items()
        if not _met(level, _recorded(state.steps[other]) or LOCKED)
    )


def _met(level: str, status: str) -> bool:
    """Whether a wait at ``level`` (done or verified) on a step in ``status`` is over."""
    return status == VERIFIED or (level == "done" and status in (CLAIMED, DISPUTED))


def _status(record: StepState, step: rb.Step, now: int) -> str:
    recorded = _recorded(record)
    if recorded is not None:
        return recorded
    if step.due is not None and step.due.by is not None and now > step.due.by:
        return OVERDUE
    opened = step.due is None or step.due.not_before is None or now >= step.due.not_before
    return UNLOCKED if opened and not record.waits_for else LOCKED


RULES: dict[str, Callable[[RoadmapState, RoadmapEntry, Any], None]] = {
    "document": _document,
    "sign": _sign,
    "attest": _attest,
    "confirm": _stance,
    "dispute": _stance,
    "answer": _answer,
}


def check(entries: Iterable[RoadmapEntry], root: str, candidate: RoadmapEntry, now: int) -> None:
    """Refuse ``candidate`` (to be witnessed at ``now``) if the state at ``now`` refuses it."""
    state = roadmap_state(entries, root, now)
    try:
        apply(state, candidate)
    except InvalidEntryError as exc:
        raise InvalidEntryError(exc.message.split(": ", 1)[1]) from exc
