"""The per-peer loops: one pull loop and one announce loop for every pinned peer.

``PinnedPeers`` reads the pinned peers every ``SUPERVISE_S``; it starts the loops of a newly
pinned peer (whose pull catches up at once) and cancels those of a removed one. The peers as of
its last look are shared with the announcer (``pinned``), so an announcement needs no read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

import anyio

from parley.node.federation import peers
from parley.node.node import Node
from parley.node.runtime.announcer import Announcer
from parley.node.runtime.pulls import PullLoops
from parley.node.runtime.wakeups import Wakeups

SUPERVISE_S = 1.0


class PinnedPeers:
    """Job, on the leader for as long as it leads: keeps each pinned peer's loops running.

    ``pinned`` (party -> peer) is updated in place at each look; ``wakeups`` gets a slot per
    peer whose loops run.
    """

    name = "pinned peers"

    def __init__(
        self,
        node: Node,
        pinned: dict[str, peers.Peer],
        wakeups: Wakeups,
        pulls: PullLoops,
        announcer: Announcer,
    ) -> None:
        self.node, self.pinned, self.wakeups = node, pinned, wakeups
        self.pulls, self.announcer = pulls, announcer
        self.tasks: dict[str, list[asyncio.Task[None]]] = {}

    async def run(self) -> None:
        """Start and stop the loops as peers are pinned and removed, until cancelled."""
        try:
            while True:
                found = await anyio.to_thread.run_sync(peers.list_peers, self.node.store)
                self.pinned.clear()
                self.pinned.update({peer.party: peer for peer in found})
                for party in set(self.tasks) - set(self.pinned):
                    self.wakeups.close(party)
                    for task in self.tasks.pop(party):
                        task.cancel()
                for party in set(self.pinned) - set(self.tasks):
                    wakeup = self.wakeups.open(party)
                    self.tasks[party] = [
                        asyncio.create_task(self.pulls.loop(party, wakeup)),
                        asyncio.create_task(self.announcer.loop(party)),
                    ]
                await asyncio.sleep(SUPERVISE_S)
        finally:
            tasks = [task for running in self.tasks.values() for task in running]
            self.tasks = {}
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def spawn(self, party: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside ``party``'s loops, stopped with them; dropped if none run."""
        running = self.tasks.get(party)
        if running is None:
            work.close()
            return
        self.tasks[party] = [task for task in running if not task.done()]
        self.tasks[party].append(asyncio.create_task(work))
