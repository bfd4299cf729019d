"""Waiting for receipts (``receipts.await_status``): ``parley receipts REF --wait``."""

from __future__ import annotations

from typing import Any

import pytest

from parley.core.errors import InvalidEntryError
from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.messaging import receipts
from parley.node.node import Node


def sync(kit: Any, receiver: Node, author: Node) -> None:
    pinned = {p.party: p for p in peers.list_peers(receiver.store)}
    peer = pinned.get(author.party) or kit.pin(receiver, author)
    pull(receiver, peer, kit.MemoryLog(author, receiver.party))


class FakeTime:
    """A monotonic clock that moves only when the wait sleeps, running ``on_sleep`` each time."""

    def __init__(self, on_sleep: Any = None) -> None:
        self.now, self.sleeps, self.on_sleep = 0.0, 0, on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.on_sleep is not None:
            self.on_sleep(self.sleeps)


def test_waiting_returns_as_soon_as_every_addressee_has_delivered(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([kit.hotline("JP", "keep clear")])

    def receipt_arrives(sleeps: int) -> None:
        if sleeps == 3:  # JP pulls and receipts; US pulls the receipt back
            sync(kit, jp, us)
            sync(kit, us, jp)

    fake = FakeTime(receipt_arrives)
    header, rows, reached = receipts.await_status(
        us, sent.ref, "delivered", 30, clock=fake.clock, sleep=fake.sleep
    )
    assert reached and header.ref == sent.ref
    assert [(r.party, r.status) for r in rows] == [("JP", "delivered")]
    assert fake.sleeps == 3  # no longer than it took


def test_waiting_ends_at_the_timeout_and_says_who_has_not_answered(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([kit.hotline("JP", "keep clear")])
    sync(kit, jp, us)
    sync(kit, us, jp)
    fake = FakeTime()

    _, rows, reached = receipts.await_status(
        us, sent.ref, "acknowledged", 5, clock=fake.clock, sleep=fake.sleep
    )

    assert not reached and [(r.party, r.status) for r in rows] == [("JP", "delivered")]
    assert 5 <= fake.now < 5.3


def test_waiting_for_an_unknown_state_is_refused(network, kit) -> None:  # type: ignore[no-untyped-def]
    us = network("US", "JP")["US"]
    (sent,) = us.append([kit.hotline("JP", "keep clear")])
    with pytest.raises(InvalidEntryError, match="--until must be one of delivered, acknowledged"):
        receipts.await_status(us, sent.ref, "read", 1)
