"""The search index job: indexes newly stored entries every half second (``parley.node.search``).

A search also catches up by itself before it looks (``search.catch_up``), so this job only
keeps the index warm: entries pulled from peers, pushed, or appended by another process are
indexed before anyone asks. A failed round is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import logging

import anyio

from parley.node import search
from parley.node.node import Node

INTERVAL_S = 0.5
PAGES = 100  # per round, each page its own short write transaction

log = logging.getLogger("parley.search")


class SearchIndex:
    """Job, on the leader while it leads: ``search.catch_up`` every ``interval_s`` seconds.

    A round indexes up to ``PAGES`` pages of 500 entries, so a store just migrated is caught
    up at full speed, while appends still get the write lock between pages.
    """

    name = "search-index"

    def __init__(self, node: Node, interval_s: float = INTERVAL_S) -> None:
        self.node, self.interval_s = node, interval_s

    async def run(self) -> None:
        """Index what is new, in a worker thread, until cancelled."""
        while True:
            try:
                await anyio.to_thread.run_sync(search.catch_up, self.node, PAGES)
            except Exception:  # noqa: BLE001 - the loop must survive anything; it retries
                log.exception("search index round failed")
            await asyncio.sleep(self.interval_s)
