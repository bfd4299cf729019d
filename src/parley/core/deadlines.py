"""Deadlines: what a sender signs, what a peer may sign, and where each clock stands.

DESIGN.md, "Deadlines, time and compliance"; docs/protocol.md §11. Pure: no I/O, no clock
read; the time ``now`` is passed in.

* ``deadlines_for``: the ``deadlines`` object a sender signs for an entry of a deadline class:
  the policy's defaults, an acknowledgement time the officer asks for checked against the
  class's bounds. Every writer of an addressed entry uses it.
* ``bounds_breach``: whether a peer's signed ``deadlines`` keep to the policy's bounds for the
  entry's class. A stated value outside ``[min, max]`` breaks the policy; so does a missing or
  malformed ``deadlines`` object on a kind whose schema requires one. An absent field means
  that clock has no deadline (it is never late, never missed).
* ``judge``: per addressee and per clock (delivered, acknowledged), whether the deadline was
  met, answered late (and by how much), missed so far, or is still pending (and how long is
  left). Judged on witnessed times: the entry's due time is its witnessed time plus the
  deadline, an answer counts at its witnessed time. While the entry or the answer is not yet
  witnessed, its claimed (signed) time stands in and the clock is marked unwitnessed, which
  keeps it out of compliance figures. A claimed time further than the policy's skew tolerance
  from the witnessed one is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parley.core.errors import InvalidEntryError
from parley.core.policy import Bound, PolicyDocument

DELIVERED = "delivered"
ACKNOWLEDGED = "acknowledged"
CLOCKS = (DELIVERED, ACKNOWLEDGED)
FIELDS = {DELIVERED: "delivered_within", ACKNOWLEDGED: "acknowledged_within"}

MET = "met"
LATE = "late"
MISSED = "missed"
PENDING = "pending"

FALLBACK_CLASS = "other"
MAX_MS = 2**53 - 1
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
SHORT_PART_RE = re.compile(r"([0-9]{1,12})(ms|s|m|h|d|w)")
SHORT_DURATION_RE = re.compile(r"(?:[0-9]{1,12}(?:ms|s|m|h|d|w))+")
ISO_DURATION_RE = re.compile(
    r"P(?:([0-9]{1,12})W)?(?:([0-9]{1,12})D)?"
    r"(?:T(?=[0-9])(?:([0-9]{1,12})H)?(?:([0-9]{1,12})M)?(?:([0-9]{1,12})S)?)?"
)


# kind answered -> (kind of the answering entry, its body field naming the answered entry,
# the body types that answer; None: any)
ACKNOWLEDGING_ENTRIES: dict[str, tuple[str, str, frozenset[str] | None]] = {
    "inquiry": ("reply", "inquiry", None),
    "assistance": ("assistance", "refers_to", frozenset({"accept", "decline"})),
}
# kinds whose acknowledged clock an ``acknowledged`` receipt does not stop (only an answer does)
ANSWER_ONLY_KINDS = frozenset({"inquiry"})


def answers_acknowledgement(
    answered_kind: str, kind: str, body: Any, ref: str, leaf_hash: str
) -> bool:
    """Whether an entry of ``kind`` with ``body`` answers entry ``ref``'s acknowledged clock.

    ``ref`` is of ``answered_kind`` with leaf hash ``leaf_hash`` (hex); docs/protocol.md §11.
    The caller checks that the answering entry is by an addressee of ``ref``.
    """
    rule = ACKNOWLEDGING_ENTRIES.get(answered_kind)
    if rule is None or not isinstance(body, dict):
        return False
    answer_kind, field, types = rule
    if kind != answer_kind or body.get(field) != {"ref": ref, "leaf_hash": leaf_hash}:
        return False
    return types is None or body.get("type") in types


def parse_duration(text: str, what: str = "duration") -> int:
    """Milliseconds of a duration: the one duration grammar of Parley.

    A number and a unit (``500ms``, ``30s``, ``10m``, ``48h``, ``2d``, ``1w``), several of them
    combined (``1d12h``), or ISO 8601 (``PT6H``, ``P1DT12H``). ``what`` names the field or
    option in the error.
    """
    stripped = text.strip()
    if SHORT_DURATION_RE.fullmatch(stripped):
        return sum(int(n) * UNIT_MS[u] for n, u in SHORT_PART_RE.findall(stripped))
    match = ISO_DURATION_RE.fullmatch(stripped.upper())
    if match and stripped.upper() != "P":
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return ((((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000
    raise InvalidEntryError(
        f"{what} {text!r} is not a number followed by ms, s, m, h, d or w "
        "(or several: 1d12h; or ISO 8601: PT90M)",
        hint="e.g. 48h",
    )


def duration_unit(text: str) -> str:
    """The smallest unit a duration was written in: ``48h`` -> ``h``, ``1d12h`` -> ``h``."""
    stripped = text.strip()
    if SHORT_DURATION_RE.fullmatch(stripped):
        units: list[str] = [unit for _, unit in SHORT_PART_RE.findall(stripped)]
        return min(units, key=UNIT_MS.__getitem__)
    match = ISO_DURATION_RE.fullmatch(stripped.upper())
    if match is None or stripped.upper() == "P":
        return "ms"
    written = [unit for unit, value in zip("wdhms", match.groups(), strict=True) if value]
    return written[-1] if written else "ms"


def in_unit(ms: int, unit: str) -> str:
    """``ms`` written in ``unit`` as an officer typed it: ``48h``, ``0.4h``, ``90s``."""
    value = ms / UNIT_MS[unit]
    shown = f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return f"{shown}{unit}"


def class_bounds(policy: PolicyDocument, deadline_class: str) -> tuple[str, Any] | None:
    """The policy's bounds for ``deadline_class``, or for ``other`` if it lacks the class."""
    for name in (deadline_class, FALLBACK_CLASS):
        bounds = policy.deadline(name)
        if bounds is not None:
            return name, bounds
    return None


def _check(value: int, bound: Bound, name: str, field: str, unit: str | None = None) -> None:
    if unit is not None and not bound.min <= value <= bound.max:
        low, high, default = (in_unit(v, unit) for v in (bound.min, bound.max, bound.default))
        raise InvalidEntryError(
            f"{field} {in_unit(value, unit)} is outside the policy's bounds [{low}, {high}] "
            f"for deadline class {name}",
            hint=f"choose a value between {low} and {high} (default {default})",
        )
    if not bound.min <= value <= bound.max:
        raise InvalidEntryError(
            f"{field} {value} ms is outside the policy's bounds [{bound.min}, {bound.max}] ms "
            f"for deadline class {name}",
            hint=f"choose a value between {bound.min} and {bound.max} ms (default {bound.default})",
        )


def deadlines_for(
    policy: PolicyDocument,
    deadline_class: str,
    acknowledged: int | None = None,
    *,
    unit: str | None = None,
) -> dict[str, int]:
    """The ``deadlines`` a sender signs: the class defaults, ``acknowledged`` (ms) if asked.

    A refusal names the values in ``unit`` (the one the officer typed, e.g. ``h``) when given.

    A policy without the class (nor ``other``) sets no bounds: only an explicit
    ``acknowledged`` is stated then.
    """
    found = class_bounds(policy, deadline_class)
    if found is None:
        return {} if acknowledged is None else {"acknowledged_within": acknowledged}
    name, bounds = found
    chosen = bounds.acknowledged_within.default if acknowledged is None else acknowledged
    _check(chosen, bounds.acknowledged_within, name, "acknowledged_within", unit)
    return {"delivered_within": bounds.delivered_within.default, "acknowledged_within": chosen}


def bounds_breach(
    policy: PolicyDocument, deadline_class: str, deadlines: Any, *, required: bool
) -> str | None:
    """Why a peer's signed ``deadlines`` break the policy for ``deadline_class``; None if not."""
    if deadlines is None:
        return "it states no deadlines, which its kind requires" if required else None
    if not isinstance(deadlines, dict):
        return "its deadlines are not an object"
    found = class_bounds(policy, deadline_class)
    for clock in CLOCKS:
        value = deadlines.get(FIELDS[clock])
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{FIELDS[clock]} is not a whole number of milliseconds"
        if found is None:
            continue
        name, bounds = found
        bound: Bound = getattr(bounds, FIELDS[clock])
        if not bound.min <= value <= bound.max:
            return (
                f"{FIELDS[clock]} {value} ms is outside the policy's bounds "
                f"[{bound.min}, {bound.max}] ms for deadline class {name}"
            )
    return None


def within(deadlines: Any, clock: str) -> int | None:
    """The deadline (ms) a body's ``deadlines`` state for ``clock``; None if none is stated."""
    if not isinstance(deadlines, dict):
        return None
    value = deadlines.get(FIELDS[clock])
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


@dataclass(frozen=True)
class Stamp:
    """When something happened: the signed (claimed) time and, once known, the witnessed one."""

    claimed: int
    witnessed: int | None = None

    @property
    def best(self) -> int:
        """The time judged on: witnessed if known, claimed until then."""
        return self.claimed if self.witnessed is None else self.witnessed

    def skewed(self, tolerance: int) -> bool:
        """Whether the claimed time is over ``tolerance`` ms from the witnessed one (§11)."""
        return self.witnessed is not None and abs(self.witnessed - self.claimed) > tolerance


@dataclass(frozen=True)
class Answer:
    """An addressee's answer on one clock: a receipt (or, for an inquiry, a reply)."""

    party: str
    clock: str
    ref: str
    stamp: Stamp


@dataclass(frozen=True)
class Clock:
    """Where one clock of one addressee stands at ``now``."""

    party: str
    clock: str
    state: str
    within: int | None
    due: int | None
    answer: Answer | None
    late_by: int | None  # late: answer - due; missed: now - due (so far)
    remaining: int | None  # pending with a deadline: due - now
    witnessed: bool  # judged on witnessed times only (counts in compliance)
    skew: tuple[str, ...]  # "entry" and/or "answer": claimed and witnessed times disagree

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by views and ``parley status``, answer times included."""
        answer = None
        if self.answer is not None:
            stamp = self.answer.stamp
            answer = {
                "ref": self.answer.ref,
                "claimed": stamp.claimed,
                "witnessed": stamp.witnessed,
            }
        return {
            "party": self.party,
            "clock": self.clock,
            "state": self.state,
            "within": self.within,
            "due": self.due,
            "answer": answer,
            "late_by": self.late_by,
            "remaining": self.remaining,
            "witnessed": self.witnessed,
            "skew": list(self.skew),
        }


def first_answers(answers: Iterable[Answer]) -> dict[tuple[str, str], Answer]:
    """Each (party, clock)'s earliest answer, by the time it is judged on."""
    first: dict[tuple[str, str], Answer] = {}
    for answer in answers:
        key = (answer.party, answer.clock)
        if key not in first or answer.stamp.best < first[key].stamp.best:
            first[key] = answer
    return first


def judge_one(
    entry: Stamp,
    party: str,
    clock: str,
    deadline: int | None,
    answer: Answer | None,
    now: int,
    skew_tolerance: int,
) -> Clock:
    """Where ``party``'s ``clock`` on an entry stands at ``now`` (see the module docstring)."""
    due = None if deadline is None else min(entry.best + deadline, MAX_MS)
    stamps = {"entry": entry, "answer": None if answer is None else answer.stamp}
    skew = tuple(
        name for name, stamp in stamps.items() if stamp is not None and stamp.skewed(skew_tolerance)
    )
    witnessed = entry.witnessed is not None and (
        answer is None or answer.stamp.witnessed is not None
    )
    late_by = remaining = None
    if answer is not None:
        at = answer.stamp.best
        state = MET if due is None or at <= due else LATE
        late_by = None if state == MET or due is None else at - due
    elif due is not None and now > due:
        state, late_by = MISSED, now - due
    else:
        state = PENDING
        remaining = None if due is None else due - now
    return Clock(party, clock, state, deadline, due, answer, late_by, remaining, witnessed, skew)


def judge(
    entry: Stamp,
    deadlines: Mapping[str, int | None],
    addressees: Sequence[str],
    answers: Iterable[Answer],
    now: int,
    skew_tolerance: int,
) -> list[Clock]:
    """Every addressee's clocks on an entry; ``deadlines`` maps clock name to ms (or None)."""
    first = first_answers(answers)
    return [
        judge_one(
            entry,
            party,
            clock,
            deadlines.get(clock),
            first.get((party, clock)),
            now,
            skew_tolerance,
        )
        for party in addressees
        for clock in CLOCKS
    ]
