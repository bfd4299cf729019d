"""The witness loop: gossip rounds with every pinned peer (``parley.node.federation.gossip``).

Every witnessing interval it compares with each peer the checkpoints both have cosigned, and
gathers the cosignatures the peer holds; a fork becomes equivocation evidence (logged here,
recorded by ``gossip``). A round that fails with one peer is logged and the others still run.
"""

from __future__ import annotations

import asyncio
import logging

import anyio

from parley.node.federation import gossip, peers
from parley.node.federation.peer_client import ClientPool
from parley.node.node import Node

log = logging.getLogger("parley.federation")

WITNESS_INTERVAL_S = 3.0  # gossip with peers, and retry external witnesses, this often


class WitnessLoop:
    """Job, on the leader while it leads: a gossip round with every peer each interval."""

    name = "gossip"

    def __init__(self, node: Node, pool: ClientPool, interval_s: float) -> None:
        self.node, self.pool, self.interval_s = node, pool, interval_s

    async def run(self) -> None:
        """Gossip every ``interval_s`` until cancelled."""
        rounds = gossip.Gossip(self.node, self.pool)
        while True:
            await asyncio.sleep(self.interval_s)
            for peer in await anyio.to_thread.run_sync(peers.list_peers, self.node.store):
                try:
                    report = await anyio.to_thread.run_sync(rounds.round_with, peer)
                except Exception:  # noqa: BLE001 - a loop must survive anything
                    log.exception("gossip with %s crashed", peer.party)
                    continue
                for problem in report.problems:
                    log.info("gossip: %s", problem)
                for party in report.equivocations:
                    log.error("equivocation by %s detected through %s", party, peer.party)
