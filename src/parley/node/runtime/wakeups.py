"""The wake-ups of the pull loops: one trigger per pinned peer, and the hint that came with it.

A slot is opened (already set: the pull catches up at start-up) when a peer's loops start and
closed when they stop. ``Wakeups.wake`` sets it from a verified ``add-checkpoint`` or push
(``RuntimePort.wake``), ``nudge`` from the deadline loop; a wake-up for a peer without loops
is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from parley.node.federation.pull import Hint


@dataclass
class PeerWakeup:
    """The pull trigger of one peer, and the hint of its latest wake-up."""

    trigger: asyncio.Event = field(default_factory=asyncio.Event)
    hint: Hint | None = None

    async def wait(self, timeout_s: float) -> Hint | None:
        """Wait until woken or ``timeout_s`` passed; take the hint of the wake-up, if any."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.trigger.wait(), timeout=timeout_s)
        self.trigger.clear()
        hint, self.hint = self.hint, None
        return hint


class Wakeups:
    """The ``PeerWakeup`` of every peer whose loops run."""

    def __init__(self) -> None:
        self.slots: dict[str, PeerWakeup] = {}

    def open(self, party: str) -> PeerWakeup:
        """A new slot for ``party``, already set (catch up at start-up)."""
        slot = PeerWakeup()
        slot.trigger.set()
        self.slots[party] = slot
        return slot

    def close(self, party: str) -> None:
        """Forget ``party``'s slot (its loops stopped)."""
        self.slots.pop(party, None)

    def wake(self, party: str, hint: Hint | None = None) -> None:
        """A verified wake-up from ``party``: pull now, with its hint."""
        slot = self.slots.get(party)
        if slot is not None:
            slot.hint = hint
            slot.trigger.set()

    def nudge(self, party: str) -> bool:
        """Pull from ``party`` now, keeping any hint; whether its loops run at all."""
        slot = self.slots.get(party)
        if slot is None:
            return False
        slot.trigger.set()
        return True
