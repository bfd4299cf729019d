"""How the API edge reaches the background jobs: one ``RuntimePort`` per app.

The worker that leads runs the jobs (``parley.node.runtime.jobs.Runtime``); every other worker
holds a ``WakeForwarder`` in its place, and an app whose lifespan has not started holds
``NoJobs``. The federation routes see only this interface:

* ``wake``: a verified ``add-checkpoint`` from a peer; pull from it now.
* ``cursors``: the cursor cache a ``/fed/v1/push`` stores its entries through, or ``None`` where
  no pull loop runs (the entries are then left to the leader's pull).
* ``prepare_hand_over`` (in the thread that stored a push) and ``handed_over`` (on the event
  loop): the receipts a push's entries got go back to the pusher at once.
* ``log_grew``: the node's log grew where the log watcher did not see it; announce it now.

In the other direction, ``LogFeed`` is what the API's log watcher offers the jobs: the
published checkpoint, and an event that fires when it changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

from parley.core.entry import Header
from parley.core.errors import StoreError
from parley.node.federation.ingest import CursorCache
from parley.node.federation.pull import Hint
from parley.store import logs
from parley.store.engine import WAKE_CHANNEL, Store

log = logging.getLogger("parley.workers")

Latest = tuple[int, str]  # a checkpoint of this node's log: (size, signed note)
Material = tuple[list[bytes], list[logs.StoredEntry] | None]  # a proof, and entries if few


@dataclass(frozen=True)
class HandOver:
    """A growth of receipts that a push handler committed, ready to announce."""

    latest: Latest
    answers: dict[int, str]  # own seq -> the party whose entry it answers
    material: tuple[tuple[int, int], Material] | None


@dataclass(frozen=True)
class LogFeed:
    """The node's own log as the server publishes it (``parley.api.app``'s log watcher).

    ``published`` is the newest published checkpoint; ``growth`` an event set the next time it
    changes (ask again after each wait); ``poke`` makes the watcher look at the log at once;
    ``publish``, where given, publishes a checkpoint a job or handler just committed.
    """

    published: Callable[[], Latest | None]
    growth: Callable[[], asyncio.Event]
    poke: Callable[[], None] = lambda: None
    publish: Callable[[Latest], object] | None = None


class RuntimePort(Protocol):
    """What the API edge may ask of the background jobs (see the module docstring)."""

    @property
    def cursors(self) -> CursorCache | None:
        """The cursor cache pushes are stored through, or ``None``: leave them to the pull."""
        ...

    def wake(self, party: str, hint: Hint | None = None) -> None:
        """A verified wake-up from ``party``: pull now (the hint saves two requests)."""
        ...

    def prepare_hand_over(self, answered: str, receipts: list[Header]) -> HandOver | None:
        """Read what announcing a push's ``receipts`` to their author ``answered`` takes."""
        ...

    def handed_over(self, hand_over: HandOver) -> None:
        """On the event loop: publish a growth prepared by ``prepare_hand_over``."""
        ...

    def log_grew(self) -> None:
        """The node's log grew outside the watcher's sight: announce it now."""
        ...


class WakeForwarder:
    """The port of a worker that does not lead: wake-ups go to the leader by notification.

    The hint stays behind (the leader's pull fetches the checkpoint itself); pushes are not
    stored here, so there is nothing to hand over.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: set[asyncio.Future[None]] = set()

    @property
    def cursors(self) -> CursorCache | None:
        """None: the leader's pull stores what a push to this worker carried."""
        return None

    def wake(self, party: str, hint: Hint | None = None) -> None:
        """Send ``NOTIFY parley_wake, '<party>'`` from a worker thread (PostgreSQL only)."""
        sent = asyncio.ensure_future(anyio.to_thread.run_sync(self._send, party))
        self.pending.add(sent)
        sent.add_done_callback(self.pending.discard)

    def prepare_hand_over(self, answered: str, receipts: list[Header]) -> HandOver | None:
        """Nothing to hand over: this worker stores no push."""
        return None

    def handed_over(self, hand_over: HandOver) -> None:
        """Nothing to publish: this worker stores no push."""

    def log_grew(self) -> None:
        """Nothing to do: the leader's watcher hears of every commit."""

    def _send(self, party: str) -> None:
        try:
            self.store.notify(WAKE_CHANNEL, party)
        except StoreError as exc:  # the pull catches up at its next poll
            log.warning("forwarding the wake-up of %s failed: %s", party, exc.message)


class NoJobs:
    """The port of an app whose lifespan has not started: wake-ups and growths are dropped."""

    @property
    def cursors(self) -> CursorCache | None:
        """None: nothing stores pushes."""
        return None

    def wake(self, party: str, hint: Hint | None = None) -> None:
        """Dropped: no pull runs."""

    def prepare_hand_over(self, answered: str, receipts: list[Header]) -> HandOver | None:
        """Nothing to hand over."""
        return None

    def handed_over(self, hand_over: HandOver) -> None:
        """Nothing to publish."""

    def log_grew(self) -> None:
        """Nothing announces."""
