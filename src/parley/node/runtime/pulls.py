"""The pull loops: one per pinned peer, verified pull replication (``pull.sync_peer``).

A loop waits for a wake-up (a verified ``add-checkpoint`` or push from the peer, or the
deadline loop's nudge), for the time its backoff sets (failures: 1 s doubling up to an hour),
or for the periodic poll, then runs ``sync_peer`` in a worker thread. It pulls once at
start-up (catch-up). A held peer (equivocation) is looked at again every ``HELD_RECHECK_S``;
a peer over its quotas pauses for the time its throttle sets, whatever wakes it. When a pull
appended receipts or observations, the log watcher is poked so the growth is announced at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

import anyio

from parley.core.errors import HeldError, ParleyError
from parley.node.federation import peers
from parley.node.federation.ingest import CursorCache
from parley.node.federation.peer_client import ClientPool
from parley.node.federation.pull import sync_peer
from parley.node.node import Node, now_ms
from parley.node.runtime.wakeups import PeerWakeup

log = logging.getLogger("parley.federation")

HELD_RECHECK_S = 60.0


def report_pause(node: Node, party: str) -> int:
    """Milliseconds until ``party``'s quota pause ends (0 if it is not paused)."""
    until = peers.throttled_until(node.store, party, now_ms())
    return 0 if until is None else until - now_ms()


class PullLoops:
    """Job, one loop per pinned peer while the worker leads: pulls the peer's log when woken.

    Started and stopped with the peer by ``PinnedPeers``; the client pool and cursor cache are
    shared with the gossip and the push handler.
    """

    def __init__(
        self, node: Node, pool: ClientPool, cursors: CursorCache, poke: Callable[[], None]
    ) -> None:
        self.node, self.pool, self.cursors, self.poke = node, pool, cursors, poke

    async def loop(self, party: str, wakeup: PeerWakeup) -> None:
        """Pull from ``party`` whenever ``wakeup`` fires or its backoff or poll is due."""
        while True:
            status = await anyio.to_thread.run_sync(self._status, party)
            wait_s = max(0.0, (status.next_attempt - now_ms()) / 1000)
            if status.held:
                wait_s = HELD_RECHECK_S
            hint = await wakeup.wait(wait_s)
            try:
                report = await anyio.to_thread.run_sync(
                    functools.partial(
                        sync_peer, self.node, party, hint=hint, cache=self.cursors, pool=self.pool
                    )
                )
                if report.receipts or report.observations:
                    self.poke()  # this node's log grew: announce it now
                if report.throttled:  # over quota: wake-ups do not shorten the pause
                    pause = await anyio.to_thread.run_sync(report_pause, self.node, party)
                    await asyncio.sleep(max(0.0, pause / 1000))
                    wakeup.trigger.set()
            except HeldError:
                continue
            except ParleyError as exc:
                log.warning("pull from %s failed: %s", party, exc)
            except Exception:  # noqa: BLE001 - a loop must survive anything; status shows it
                log.exception("pull from %s crashed", party)
                await asyncio.sleep(1)

    def _status(self, party: str) -> peers.PeerStatus:
        with self.node.store.read() as conn:
            return peers.get_status(conn, party)
