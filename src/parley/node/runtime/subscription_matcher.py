"""The subscription matcher as a job: new notifications against every subscription, 4 a second.

Each round (``parley.node.subscriptions.run_round``) refreshes the cached index outside the write
lock, then, if a notification came past the cursor or a pending body came, matches it, records
the matches and queues their ``subscription.match`` webhooks in one transaction. The loop
survives a failed round; the cursor and the rows show what happened.
"""

from __future__ import annotations

from parley.node import subscriptions
from parley.node.node import Node


class SubscriptionMatcher:
    """Job, on the leader while it leads: matches new notifications with the subscriptions."""

    name = "subscriptions"

    def __init__(self, node: Node, interval_s: float = subscriptions.ROUND_S) -> None:
        self.node, self.interval_s = node, interval_s

    async def run(self) -> None:
        """Run ``subscriptions.run`` until cancelled."""
        await subscriptions.run(self.node, self.interval_s)
