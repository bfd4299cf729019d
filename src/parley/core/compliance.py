"""The compliance scoreboard: how fast each party delivers and acknowledges, and its misses.

DESIGN.md, "Deadlines, time and compliance"; the formula is docs/protocol.md §12, and this
module is that formula and nothing else. Pure: it takes plain records of signed facts (an
addressed entry's addressees, stated deadlines and witnessed time; each answer's witnessed
time) and the time ``now``; gathering them from a store or a log export is the caller's work.

For every addressed entry E with a witnessed time W(E), every addressee P and every clock C
(delivered, acknowledged), with D the deadline E states for C (if any) and A the earliest
witnessed answer of P on C:

* A exists: the sample ``max(0, W(A) - W(E))`` counts toward P's median and p95 on C, and, if
  D is stated, P ``met`` C when the sample is at most D, else was ``late``;
* no answer at all, D stated and ``now > W(E) + D``: P ``missed`` C;
* anything else (no witnessed time yet, an answer not yet witnessed, a deadline still
  running) is left out.

Percentiles are nearest-rank: the p-th percentile of n sorted samples is the sample at rank
``ceil(p * n / 100)`` (1-based), computed in integers; the median is the 50th.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parley.core.deadlines import CLOCKS


@dataclass(frozen=True)
class Sent:
    """An addressed entry, as the scoreboard needs it."""

    ref: str
    addressees: tuple[str, ...]
    witnessed: int | None
    deadlines: dict[str, int | None]  # clock -> ms stated in the signed body (None: none)
    public: bool = False  # audience ALL and TLP CLEAR


@dataclass(frozen=True)
class Answered:
    """An addressee's answer on one clock of an entry (a receipt, or a reply to an inquiry)."""

    ref: str
    party: str
    clock: str
    witnessed: int | None


@dataclass
class ClockFigures:
    """One party's figures on one clock: its answer delays (ms) and met, late and missed counts."""

    samples: list[int] = field(default_factory=list)
    met: int = 0
    late: int = 0
    missed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of protocol §12: answers, nearest-rank median and p95, and the counts."""
        ordered = sorted(self.samples)
        return {
            "answers": len(ordered),
            "median_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "met": self.met,
            "late": self.late,
            "missed": self.missed,
        }


def percentile(ordered: list[int], p: int) -> int | None:
    """Nearest-rank percentile of sorted samples; None without samples."""
    if not ordered:
        return None
    rank = max(1, (p * len(ordered) + 99) // 100)
    return ordered[rank - 1]


def _earliest(answers: Iterable[Answered]) -> dict[tuple[str, str, str], Answered]:
    """Per (entry, party, clock): the earliest witnessed answer, else any unwitnessed one."""
    first: dict[tuple[str, str, str], Answered] = {}
    for answer in answers:
        key = (answer.ref, answer.party, answer.clock)
        held = first.get(key)
        if held is None or _sooner(answer, held):
            first[key] = answer
    return first


def _sooner(answer: Answered, held: Answered) -> bool:
    if answer.witnessed is None:
        return False
    return held.witnessed is None or answer.witnessed < held.witnessed


def scoreboard(
    sent: Iterable[Sent], answers: Iterable[Answered], now: int, *, public_only: bool = False
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per addressee party and clock: answers, median_ms, p95_ms, met, late, missed."""
    first = _earliest(answers)
    figures: dict[str, dict[str, ClockFigures]] = {}
    for entry in sent:
        if entry.witnessed is None or (public_only and not entry.public):
            continue
        for party in entry.addressees:
            per_clock = figures.setdefault(party, {c: ClockFigures() for c in CLOCKS})
            for clock in CLOCKS:
                _count(
                    per_clock[clock],
                    entry,
                    entry.witnessed,
                    first.get((entry.ref, party, clock)),
                    clock,
                    now,
                )
    return {
        party: {clock: figures[party][clock].to_dict() for clock in CLOCKS}
        for party in sorted(figures)
    }


def _count(
    into: ClockFigures, entry: Sent, start: int, answer: Answered | None, clock: str, now: int
) -> None:
    deadline = entry.deadlines.get(clock)
    if answer is None:
        if deadline is not None and now > start + deadline:
            into.missed += 1
        return
    if answer.witnessed is None:
        return
    sample = max(0, answer.witnessed - start)
    into.samples.append(sample)
    if deadline is not None:
        if sample <= deadline:
            into.met += 1
        else:
            into.late += 1
