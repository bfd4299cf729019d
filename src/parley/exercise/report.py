"""What a replayed scenario should bring back, and what the nodes hold: receipts and misses.

Expectations, read at each entry's author node (where receipts come back to):

* every entry a step appended (receipts excepted) gets a ``delivered`` receipt from each of its
  addressees, as ``parley.node.receipts.status`` names them (the audience, or every member);
* an entry an ``ack`` step answers gets that party's ``acknowledged`` receipt;
* an ``expect-miss`` step's party has a ``missed`` acknowledged clock at the author's node: the
  deadline passed with no answer and the deadline service escalated it
  (``parley.node.deadlines``).

``ReceiptFeed`` reports receipts as they arrive, for the live progress of the demo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from parley.core.deadlines import ACKNOWLEDGED, DELIVERED
from parley.core.entry import parse_ref
from parley.core.errors import ParleyError
from parley.exercise import scenario as sc
from parley.exercise.runner import StepResult
from parley.node import deadlines, receipts
from parley.node.node import Node
from parley.store.schema import receipts as receipt_rows

MISSED = "missed"


@dataclass(frozen=True)
class Answer:
    """One addressee's answers to one entry, with the times after the entry's signed time."""

    party: str
    delivered_after: int | None  # ms
    acknowledged_after: int | None  # ms
    officer: str | None
    reply: str | None


@dataclass(frozen=True)
class EntryReceipts:
    number: int
    ref: str
    kind: str
    answers: list[Answer]


@dataclass(frozen=True)
class Expected:
    """One receipt (or escalated miss) the scenario expects at the author's node."""

    ref: str
    party: str
    what: str  # delivered, acknowledged, missed
    number: int

    def describe(self) -> str:
        if self.what == MISSED:
            return f"step {self.number}: no escalation of {self.party}'s missed ack of {self.ref}"
        return f"step {self.number}: no {self.what} receipt from {self.party} for {self.ref}"


def _author(nodes: dict[str, Node], ref: str) -> Node | None:
    return nodes.get(parse_ref(ref)[0])


def entry_results(results: Iterable[StepResult]) -> list[tuple[StepResult, str]]:
    """Each addressed entry the steps appended (acknowledgements are receipts: not addressed)."""
    return [(result, ref) for result in results if not isinstance(result.step, sc.Ack)
            for ref in result.refs]  # fmt: skip


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


def missed_clocks(nodes: dict[str, Node]) -> list[dict[str, object]]:
    """Clocks of its own entries a node escalated as missed and that are still unanswered.

    A receipt that came after the escalation makes the clock late, which the deadline service
    records on its next look at it; such clocks are left out here already.
    """
    found = []
    for party, node in nodes.items():
        for row in deadlines.tracked(node, [MISSED]):
            ref = str(row["entry"])
            if parse_ref(ref)[0] == party and not _answered(node, ref, row):
                found.append(row)
    return found


def _answered(node: Node, ref: str, row: dict[str, object]) -> bool:
    _header, statuses = receipts.status(node, ref)
    return any(s.party == row["addressee"] and getattr(s, str(row["clock"]), None) is not None
               for s in statuses)  # fmt: skip


def outstanding(expected: list[Expected], nodes: dict[str, Node]) -> list[Expected]:
    """The expectations not (yet) met."""
    missed = {(row["entry"], row["addressee"]) for row in missed_clocks(nodes)
              if row["clock"] == ACKNOWLEDGED}  # fmt: skip
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


def receipts_table(results: list[StepResult], nodes: dict[str, Node]) -> list[EntryReceipts]:
    """Per entry: each addressee's delivered and acknowledged times, as its author holds them."""
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
            got, ack = s.delivered, s.acknowledged
            answers.append(Answer(
                s.party, None if got is None else got["claimed"] - header.time,
                None if ack is None else ack["claimed"] - header.time,
                None if ack is None else ack["officer"], None if ack is None else ack["reply"],
            ))  # fmt: skip
        table.append(EntryReceipts(result.number, ref, header.kind, answers))
    return table


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
            for row in deadlines.tracked(node, [MISSED]):
                key = (str(row["entry"]), str(row["addressee"]), str(row["clock"]))
                if parse_ref(key[0])[0] == party and key not in self.escalated:
                    self.escalated.add(key)
                    fresh.append(row)
        return fresh

    def new(self) -> list[tuple[str, str, str, int]]:
        """``(entry ref, by party, type, claimed ms)`` of receipts not reported before."""
        fresh = []
        for party, node in self.nodes.items():
            with node.store.read() as conn:
                rows = conn.execute(select(receipt_rows).where(
                    receipt_rows.c.entry_party == party, receipt_rows.c.by_party != party,
                )).fetchall()  # fmt: skip
            for row in rows:
                key = (row.entry_party, row.entry_seq, row.by_party, row.type)
                if key not in self.seen:
                    self.seen.add(key)
                    fresh.append((f"{row.entry_party}:{row.entry_seq}", row.by_party, row.type,
                                  row.claimed))  # fmt: skip
        return fresh
