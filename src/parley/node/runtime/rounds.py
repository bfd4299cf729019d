"""The jobs that run a bounded round every few seconds, each a loop of its own service.

``Deadlines`` (``parley.node.messaging.deadlines.run``: tracks new entries, escalates missed
deadlines, re-announces to a peer that missed one), ``Checks`` (``parley.node.messaging.checks
.run``: sends the scheduled communication checks and acknowledges those received) and
``Webhooks`` (``parley.node.webhooks.run``: the one sender of signed webhook payloads, with
retries). Each loop survives a failed round; the rows show what happened.
"""

from __future__ import annotations

from collections.abc import Callable

from parley.core.keys import SigningKey
from parley.node import webhooks
from parley.node.messaging import checks, deadlines
from parley.node.node import Node
from parley.store.engine import Store


class Deadlines:
    """Job, on the leader while it leads: the deadline loop, a round every few seconds.

    ``reannounce(party)`` is called for each peer that missed a deadline (``Runtime.reannounce``).
    """

    name = "deadlines"

    def __init__(self, node: Node, reannounce: Callable[[str], None]) -> None:
        self.node, self.reannounce = node, reannounce

    async def run(self) -> None:
        """Run ``deadlines.run`` until cancelled."""
        await deadlines.run(self.node, self.reannounce)


class Checks:
    """Job, on the leader while it leads: the communication check scheduler."""

    name = "checks"

    def __init__(self, node: Node) -> None:
        self.node = node

    async def run(self) -> None:
        """Run ``checks.run`` until cancelled."""
        await checks.run(self.node)


class Webhooks:
    """Job, on the leader while it leads: delivers the webhook outbox, signed by ``key``."""

    name = "webhooks"

    def __init__(self, store: Store, key: SigningKey) -> None:
        self.store, self.key = store, key

    async def run(self) -> None:
        """Run ``webhooks.run`` until cancelled."""
        await webhooks.run(self.store, self.key)
