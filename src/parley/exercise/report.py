"""What a replayed scenario should bring back, and what the nodes hold: receipts and misses.

Expectations, read at each entry's author node (where receipts come back to):

* every entry a step appended (receipts excepted) gets a ``delivered`` receipt from each of its
  addressees, as ``parley.node.messaging.receipts.status`` names them (the audience, or every
  member);
* an entry an ``ack`` step answers gets that party's ``acknowledged`` receipt;
* an ``expect-miss`` step's party has a ``missed`` acknowledged clock at the author's node: the
  deadline passed with no answer and the deadline service escalated it
  (``parley.node.messaging.deadlines``).

``summary`` gathers what the demo's summary shows, judged at one instant by the node services
(clocks, compliance, convergence), so its tables cannot contradict each other. ``ReceiptFeed``
reports receipts as they arrive, for the live progress of the demo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from parley.core import deadlines as clocks
from parley.core.deadlines import ACKNOWLEDGED, DELIVERED
from parley.core.entry import parse_ref
from parley.core.errors import ParleyError
from parley.exercise import scenario as sc
from parley.exercise.runner import StepResult
from parley.node import health
from parley.node.messaging import clock_views, deadlines, receipts
from parley.node.node import Node, now_ms

MISSED = "missed"


@dataclass(frozen=True)
class Answer:
    """One addressee's answers to one entry, and its clocks as its own node judges them."""

    party: str
    officer: str | None
    reply: str | None
    clocks: dict[str, clocks.Clock]  # delivered, acknowledged: the one judgement, at ``now``

    def claimed_after(self, clock: str, entry_time: int) -> int | None:
        """How long after the entry's claimed time the answer on ``clock`` claims to come."""
        found = self.clocks.get(clock)
        if found is None or found.answer is None:
            return None
        return found.answer.stamp.claimed - entry_time

    def to_dict(self, entry_time: int) -> dict[str, Any]:
        """The JSON form, with times relative to the entry's ``entry_time``."""
        return {
            "party": self.party,
            "officer": self.officer,
            "reply": self.reply,
            "clocks": {
                name: clock.to_dict() | {"claimed_after": self.claimed_after(name, entry_time)}
                for name, clock in self.clocks.items()
            },
        }


@dataclass(frozen=True)
class EntryReceipts:
    """One addressed entry of the exercise with the receipts each addressee signed."""

    number: int
    ref: str
    kind: str
    time: int  # the entry's claimed time
    answers: list[Answer]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the entry and its receipts."""
        return {
            "step": self.number,
            "ref": self.ref,
            "kind": self.kind,
            "time": self.time,
            "answers": [a.to_dict(self.time) for a in self.answers],
        }


@dataclass(frozen=True)
class Expected:
    """One receipt (or escalated miss) the scenario expects at the author's node."""

    ref: str
    party: str
    what: str  # delivered, acknowledged, missed
    number: int

    def describe(self) -> str:
        """The expectation in one line, as the report prints it."""
        if self.what == MISSED:
            return f"step {self.number}: no escalation of {self.party}'s missed ack of {self.ref}"
        return f"step {self.number}: no {self.what} receipt from {self.party} for {self.ref}"


def _author(nodes: dict[str, Node], ref: str) -> Node | None:
    return nodes.get(parse_ref(ref)[0])


def entry_results(results: Iterable[StepResult]) -> list[tuple[StepResult, str]]:
    """Each addressed entry the steps appended (acknowledgements are receipts: not addressed)."""
    return [
        (result, ref)
        for result in results
        if not isinstance(result.step, sc.Ack)
        for ref in result.refs
    ]


def expectations(results: list[StepResult], nodes: dict[str, Node]) -> list[Expected]:
    """Every receipt and escalation the run should bring back (see the module docstring)."""
    refs = {r.step.id: r.refs[0] for r in results if r.step.id is not None and r.refs}
    expected = []
    for result, ref in entry_results(results):
        author = _author(nodes, ref)
        if author is None:
            continue
        _header, statuses = receipts.status(author, ref)
        expected += [Expected(ref, s.party, DELIVERED, result.number) for s in statuses]
    for result in results:
        step = result.step
        if isinstance(step, sc.Ack | sc.ExpectMiss) and step.of in refs and not result.error:
            what = ACKNOWLEDGED if isinstance(step, sc.Ack) else MISSED
            expected.append(Expected(refs[step.of], step.party, what, result.number))
    return expected


def missed_clocks(nodes: dict[str, Node], now: int | None = None) -> list[dict[str, object]]:
    """Clocks of its own entries a node escalated as missed and that are still unanswered.

    Each escalated row is judged again (``parley.node.messaging.clock_views.tracked``, at ``now`` or
    the present): an answer that came after the escalation makes it late, and it is left out.
    """
    at = now_ms() if now is None else now
    return [
        row
        for party, node in nodes.items()
        for row in clock_views.tracked(node, [MISSED], now=at)
        if parse_ref(str(row["entry"]))[0] == party and row["state"] == MISSED
    ]


def outstanding(expected: list[Expected], nodes: dict[str, Node]) -> list[Expected]:
    """The expectations not (yet) met."""
    missed = {
        (row["entry"], row["addressee"])
        for row in missed_clocks(nodes)
        if row["clock"] == ACKNOWLEDGED
    }
    statuses: dict[str, dict[str, receipts.AddresseeStatus]] = {}
    left = []
    for item in expected:
        if item.what == MISSED:
            if (item.ref, item.party) not in missed:
                left.append(item)
            continue
        if item.ref not in statuses:
            author = _author(nodes, item.ref)
            found = [] if author is None else receipts.status(author, item.ref)[1]
            statuses[item.ref] = {s.party: s for s in found}
        status = statuses[item.ref].get(item.party)
        if status is None or getattr(status, item.what) is None:
            left.append(item)
    return left


def receipts_table(
    results: list[StepResult], nodes: dict[str, Node], now: int
) -> list[EntryReceipts]:
    """Per entry and addressee: its answers, and its clocks as the addressee's node judges them.

    The clocks come from ``parley.node.messaging.deadlines`` (witnessed times, §11) at the
    addressee's own node, the node whose compliance row (§12) counts them, so the two agree at
    ``now``.
    """
    table = []
    for result, ref in entry_results(results):
        author = _author(nodes, ref)
        if author is None:
            continue
        try:
            header, statuses = receipts.status(author, ref)
        except ParleyError:
            continue
        answers = []
        for s in statuses:
            ack = s.acknowledged
            holder = nodes.get(s.party)
            judged = (
                {}
                if holder is None
                else {
                    c.clock: c for c in deadlines.entry_clocks(holder, ref, now, [s.party]).clocks
                }
            )
            answers.append(
                Answer(
                    s.party,
                    None if ack is None else ack["officer"],
                    None if ack is None else ack["reply"],
                    judged,
                )
            )
        table.append(EntryReceipts(result.number, ref, header.kind, header.time, answers))
    return table


def judged_counts(table: list[EntryReceipts]) -> dict[str, dict[str, dict[str, int]]]:
    """Per addressee and clock: how many witnessed clocks of the table are met, late, missed.

    Counted as §12 counts them, so they equal each party's compliance row at the same ``now``.
    """
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for entry in table:
        for answer in entry.answers:
            for name, clock in answer.clocks.items():
                if not clock.witnessed or clock.within is None:
                    continue
                if clock.state not in (clocks.MET, clocks.LATE, clocks.MISSED):
                    continue
                per = counts.setdefault(answer.party, {}).setdefault(
                    name, {clocks.MET: 0, clocks.LATE: 0, clocks.MISSED: 0}
                )
                per[clock.state] += 1
    return counts


def verify_nodes(nodes: dict[str, Node]) -> dict[str, str]:
    """Verify every node's own log from its store; return party -> verdict."""
    verdicts = {}
    for party, node in nodes.items():
        try:
            verified = health.verify_stored_log(node)
            verdicts[party] = f"OK, {verified.size} entries, {verified.checkpoints} checkpoints"
        except ParleyError as exc:
            verdicts[party] = f"FAILED: {exc}"
    return verdicts


def summary(results: list[StepResult], nodes: dict[str, Node], now: int) -> dict[str, Any]:
    """Everything the demo's summary shows, judged at one ``now`` (also its ``summary.json``).

    ``entries``: each addressee's clocks as its own node judges them; ``judged``: their
    witnessed met/late/missed counts; ``compliance``: each party's row of §12 as its own node
    computes it (equal to ``judged`` for the entries the scenario sent); ``missed``: what the
    senders' nodes escalated and is still unanswered; ``logs``: entries held per node, with
    ``converged`` and what is ``behind`` (``parley.node.convergence``): counts differ between
    nodes until they have converged.
    """
    from parley.node import convergence
    from parley.node.messaging import compliance

    table = receipts_table(results, nodes, now)
    views = {party: convergence.held(node) for party, node in nodes.items()}
    lags = convergence.behind(views)
    return {
        "as_of": now,
        "entries": [entry.to_dict() for entry in table],
        "judged": judged_counts(table),
        "compliance": {
            party: compliance.scoreboard(node, now)["parties"].get(party)
            for party, node in nodes.items()
        },
        "missed": missed_clocks(nodes, now),
        "logs": {
            party: {
                "own": views[party].get(party, (0, b""))[0],
                "held": convergence.entries_held(views[party]),
            }
            for party in nodes
        },
        "converged": not lags,
        "behind": [lag.describe() for lag in lags],
        "verification": verify_nodes(nodes),
    }


class ReceiptFeed:
    """Receipts that came back to their entry's author, and escalations, since the last look."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes
        self.seen: set[tuple[str, int, str, str]] = set()
        self.escalated: set[tuple[str, str, str]] = set()

    def new_misses(self) -> list[dict[str, object]]:
        """Clocks of their own entries that nodes escalated as missed since the last look."""
        fresh = []
        for party, node in self.nodes.items():
            for row in clock_views.tracked(node, [MISSED]):
                key = (str(row["entry"]), str(row["addressee"]), str(row["clock"]))
                if parse_ref(key[0])[0] == party and key not in self.escalated:
                    self.escalated.add(key)
                    fresh.append(row)
        return fresh

    def new(self) -> list[tuple[str, str, str, int]]:
        """``(entry ref, by party, type, claimed ms)`` of receipts not reported before."""
        fresh = []
        for node in self.nodes.values():
            for ref, by_party, kind, claimed in receipts.received(node):
                key = (*parse_ref(ref), by_party, kind)
                if key not in self.seen:
                    self.seen.add(key)
                    fresh.append((ref, by_party, kind, claimed))
        return fresh
