"""Whether several nodes hold the same logs: the check before anyone compares what they hold.

Every node holds its own log and a mirror of every member's (DESIGN.md, Federation). Entries
reach the other nodes within a second or so, receipts of a third party's entry within
``parley.node.runtime.announcer.LAZY_S``, so for a moment after any activity two nodes hold
different numbers of entries, and a count taken then says nothing about either. Nodes have
*converged* when each holds every log at the size and root its author holds; only then are
entry counts the same everywhere, and comparable.

``held`` reads one node's view (``store.logs.held_logs``); ``behind`` compares views and
says, in words, who lacks what; it is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from parley.node.node import Node
from parley.store import logs

LogHeads = Mapping[str, tuple[int, bytes]]  # party -> (size, root) of the log held


def held(node: Node) -> dict[str, tuple[int, bytes]]:
    """Every log ``node`` holds, with the size and root it holds it at."""
    with node.store.read() as conn:
        return logs.held_logs(conn)


@dataclass(frozen=True)
class Lag:
    """One holder's copy of one log that differs from its author's."""

    holder: str
    log: str
    size: int | None  # None: not held at all
    author_size: int

    def describe(self) -> str:
        """A sentence for people: what the holder has of the log, against the author's size."""
        if self.size is None:
            return f"{self.holder} does not hold {self.log}'s log yet"
        if self.size == self.author_size:
            return f"{self.holder} holds {self.log}'s log with another root at size {self.size}"
        return f"{self.holder} holds {self.log}'s log at {self.size} of {self.author_size} entries"


def behind(views: Mapping[str, LogHeads]) -> list[Lag]:
    """Every holder's copy that differs from the author's own; [] once converged.

    ``views`` maps each node's party to what it holds. A log whose author is not among the
    views is compared with the largest copy held.
    """
    lags = []
    for log in sorted({party for view in views.values() for party in view}):
        own = views.get(log, {}).get(log)
        copies = [view[log] for view in views.values() if log in view]
        reference = own if own is not None else max(copies, key=lambda head: head[0])
        for holder, view in sorted(views.items()):
            head = view.get(log)
            if head != reference:
                lags.append(Lag(holder, log, None if head is None else head[0], reference[0]))
    return lags


def entries_held(view: LogHeads) -> int:
    """How many entries a node holds over all its logs (its own included)."""
    return sum(size for size, _root in view.values())
