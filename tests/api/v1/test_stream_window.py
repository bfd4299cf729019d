"""The stream hub's window: a client in step, behind it, or resuming gets every event once.

The hub and its clients run on one event loop, without a node: the store's answer for a client
that fell out of the window is the same list of events, read past the client's position.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.api.v1 import stream_routes
from parley.api.v1.stream_routes import Hub
from parley.node.access import Principal
from parley.node.live import Cursor, Event
from parley.node.node import Node

WINDOW = 5
DUTY = Principal("duty", "duty-officer")


def history(kinds: list[bool]) -> list[Event]:
    """Events in the order the store gives them: True an entry (ingest), False a live event."""
    made: list[Event] = []
    ingest = event = 0
    for is_entry in kinds:
        if is_entry:
            ingest += 1
            made.append(Event(Cursor(ingest, event), "notification", {"n": len(made)}, tlp="GREEN"))
        else:
            event += 1
            made.append(Event(Cursor(ingest, event), "receipt", {"n": len(made)}))
    return made


def read_past(events: list[Event]) -> Any:
    """The store, as ``read_after`` reads it: every event past a position."""

    def read_after(_node: Node, position: Cursor) -> tuple[list[Event], Cursor]:
        found = [e for e in events if stream_routes.is_after(e, position)]
        end = position
        for item in found:
            end = stream_routes.advanced(end, item)
        return found, end

    return read_after


async def client_reads(hub: Hub, start: Cursor, want: int, pause_every: int) -> list[int]:
    """What one client receives (the ``n`` of each event) until it has ``want`` events."""
    received: list[int] = []
    stream = stream_routes._events(hub, DUTY, start)
    while len(received) < want:
        sent = await asyncio.wait_for(anext(stream), 5)
        received.append(int(str(sent.data).split(":")[1].rstrip("}")))
        if pause_every and len(received) % pause_every == 0:
            for _ in range(3):  # fall behind while the hub takes the next batches
                await asyncio.sleep(0)
    await cast(AsyncGenerator[Any, None], stream).aclose()
    return received


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.booleans(), min_size=1, max_size=40),
    batches=st.lists(st.integers(1, 4), min_size=40, max_size=40),
    pauses=st.lists(st.integers(0, 7), min_size=3, max_size=3),
)
def test_every_client_gets_every_event_once_in_order_in_step_behind_or_resuming(
    kinds: list[bool], batches: list[int], pauses: list[int]
) -> None:
    events = history(kinds)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stream_routes, "RECENT", WINDOW)
        patch.setattr(stream_routes, "read_after", read_past(events))

        async def run() -> list[list[int]]:
            hub = Hub(cast(Node, None), Cursor(0, 0))
            clients = [
                asyncio.create_task(client_reads(hub, Cursor(0, 0), len(events), pause))
                for pause in pauses
            ]
            await asyncio.sleep(0)
            taken, end = 0, Cursor(0, 0)
            for size in batches:
                if taken == len(events):
                    break
                batch = events[taken : taken + size]
                for item in batch:
                    end = stream_routes.advanced(end, item)
                hub.take(batch, end)
                taken += len(batch)
                for _ in range(size):
                    await asyncio.sleep(0)
            if taken < len(events):
                hub.take(events[taken:], stream_routes.read_after(cast(Node, None), end)[1])
            return list(await asyncio.gather(*clients))

        every = list(range(len(events)))
        for received in asyncio.run(run()):
            assert received == every
