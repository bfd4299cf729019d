"""Every background job of a node, built and run in one place: ``Runtime``.

The worker that leads (``parley.api.workers``) makes one ``Runtime`` and runs it until it stops
leading. ``Runtime`` builds the shared state and passes it to each job explicitly:

* the clients (``PeerClients``: the thread pool for pulls and gossip, the announcing clients,
  the external witnesses' clients);
* the pinned peers as of the supervisor's last look, and the pull wake-ups (``Wakeups``);
* the cursor cache pulls and pushes store through; the published log (``LogFeed``).

The jobs, each a watched task (``watch``: one that dies is logged and turns health red):
``PinnedPeers`` (the pull loop and the announce loop of each pinned peer), the
``CosignatureBatcher``, the ``WitnessLoop`` (gossip), ``ExternalWitnesses``, ``Deadlines``,
``Checks``, ``SearchIndex`` and ``Webhooks``. When the runtime is cancelled it cancels them,
and closes the clients once they stopped.

``Runtime`` is also the leader's ``RuntimePort``: the API edge wakes pulls and hands pushes'
receipts over through it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from parley.core.entry import Header
from parley.node.federation import peers
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.ingest import CursorCache
from parley.node.federation.pull import Hint
from parley.node.node import Node
from parley.node.runtime.announcer import Announcer
from parley.node.runtime.clients import PeerClients
from parley.node.runtime.cosignatures import CosignatureBatcher
from parley.node.runtime.external_witnesses import ExternalWitnesses
from parley.node.runtime.pinned import PinnedPeers
from parley.node.runtime.port import HandOver, LogFeed
from parley.node.runtime.pulls import PullLoops
from parley.node.runtime.rounds import Checks, Deadlines, Webhooks
from parley.node.runtime.search_index import SearchIndex
from parley.node.runtime.subscription_matcher import SubscriptionMatcher
from parley.node.runtime.wakeups import Wakeups
from parley.node.runtime.watch import FailedJobs, watch
from parley.node.runtime.witness_loop import WITNESS_INTERVAL_S, WitnessLoop


class Job(Protocol):
    """A background job: runs until cancelled; ``name`` is how health reports it."""

    name: str

    async def run(self) -> None:
        """Run until cancelled; returning or raising is a failure (``watch``)."""
        ...


class Runtime:
    """The background jobs of one node, and the leader's ``RuntimePort``."""

    def __init__(
        self, node: Node, feed: LogFeed, witness_interval_s: float = WITNESS_INTERVAL_S
    ) -> None:
        self.node, self.feed = node, feed
        http_key = node.log.key("http")
        self.clients = PeerClients(RequestSigner(http_key))
        self.pinned: dict[str, peers.Peer] = {}
        self.wakeups = Wakeups()
        self._cursors = CursorCache()
        self.cosignatures = CosignatureBatcher(node)
        self.announcer = Announcer(node, feed, self.clients, self.pinned, self.cosignatures)
        pulls = PullLoops(node, self.clients.pool, self._cursors, feed.poke)
        self.peers = PinnedPeers(node, self.pinned, self.wakeups, pulls, self.announcer)
        self.jobs: list[Job] = [
            self.peers,
            self.cosignatures,
            WitnessLoop(node, self.clients.pool, witness_interval_s),
            ExternalWitnesses(node, feed, self.clients, witness_interval_s),
            Webhooks(node.store, http_key),
            Deadlines(node, self.reannounce),
            Checks(node),
            SubscriptionMatcher(node),
            SearchIndex(node),
        ]

    async def run(self, failed: FailedJobs) -> None:
        """Run every job, each watched, until cancelled; then stop them and close the clients."""
        tasks = [watch(asyncio.create_task(job.run()), job.name, failed) for job in self.jobs]
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.clients.close()

    @property
    def cursors(self) -> CursorCache | None:
        """The cursor cache the pull loops keep; pushes are stored through it."""
        return self._cursors

    def wake(self, party: str, hint: Hint | None = None) -> None:
        """A verified wake-up from ``party``: pull now (the hint saves two requests)."""
        self.wakeups.wake(party, hint)

    def reannounce(self, party: str) -> None:
        """``party`` missed a deadline: submit the newest checkpoint to it again, and pull.

        The peer may have missed the first announcement; the pull fetches an answer that
        waits on its side (``parley.node.messaging.deadlines``).
        """
        latest = self.feed.published()
        if latest is None or not self.wakeups.nudge(party):
            return
        self.peers.spawn(party, self.announcer.reannounce(party, latest))

    def prepare_hand_over(self, answered: str, receipts: list[Header]) -> HandOver | None:
        """Read what announcing a push's ``receipts`` to their author ``answered`` takes."""
        return self.announcer.prepare_hand_over(answered, receipts)

    def handed_over(self, hand_over: HandOver) -> None:
        """On the event loop: publish a growth prepared by ``prepare_hand_over``."""
        self.announcer.handed_over(hand_over)

    def log_grew(self) -> None:
        """The node's log grew outside the watcher's sight: poke it, so it is announced."""
        self.feed.poke()
