"""``GET /api/v1/stream``: the live stream, as Server-Sent Events.

What it carries and to whom is ``parley.node.live``; this module moves it. One ``Hub`` per
worker process reads the store past its position every ``POLL_S`` (on SQLite only after a commit
moved the database) and keeps the newest ``RECENT`` events; every client of the worker reads from
that shared window, or from the store while it is further behind. Nothing is buffered per
client: a client is a cursor, so a slow one costs no memory, and one that does not take an event
within ``SEND_TIMEOUT_S`` is cut off (it resumes with ``Last-Event-ID``). On PostgreSQL every
worker runs its own hub over the same tables, so an event committed by any process reaches the
clients of every worker.

The SSE ``id`` of each event is its stream position (``node.live.Cursor``); a client that sends
it back as ``Last-Event-ID`` resumes with the next event, without a gap or a duplicate. Without
one, the stream starts at the newest event (``?from=start`` replays everything).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import anyio
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from parley.api.metrics_api import STREAM_CLIENTS
from parley.api.v1.auth import allowed, node_of
from parley.api.v1.schemas import PROBLEMS
from parley.node import live
from parley.node.access import Action, Principal
from parley.node.live import Cursor, Event
from parley.node.node import Node

POLL_S = 0.05
RECENT = 4096
PING_S = 15.0
SEND_TIMEOUT_S = 10.0
log = logging.getLogger("parley.api.stream")
router = APIRouter(tags=["stream"], responses=PROBLEMS)


class Hub:
    """The worker's one reader of new events, and the window its clients read from."""

    def __init__(self, node: Node, position: Cursor) -> None:
        self.node = node
        self.position = position
        self.floor = self.position  # the position just before the oldest event in ``recent``
        self.recent: deque[Event] = deque()
        self.appended = 0  # events ever put in ``recent``: the number of the next one to come
        self.arrived = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the reader (once)."""
        if self.task is None:
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        probe = self.node.store.commit_probe()
        seen: int | None = None
        while True:
            version = probe()
            if version is None or version != seen:
                seen = version
                try:
                    await self._read()
                except Exception:  # a failed read is retried; the stream must not stop
                    log.exception("the live stream could not read new events")
            await asyncio.sleep(POLL_S)

    async def _read(self) -> None:
        while True:
            found, position = await anyio.to_thread.run_sync(read_after, self.node, self.position)
            if not found:
                return
            self.take(found, position)

    def take(self, found: list[Event], position: Cursor) -> None:
        """Put new events in the window, drop the oldest past ``RECENT``, wake the clients."""
        self.position = position
        self.recent.extend(found)
        self.appended += len(found)
        while len(self.recent) > RECENT:
            self.floor = advanced(self.floor, self.recent.popleft())
        self.arrived.set()
        self.arrived = asyncio.Event()

    def covers(self, position: Cursor) -> bool:
        """Whether the window holds every event past ``position``."""
        return self.floor.ingest <= position.ingest and self.floor.event <= position.event

    def since(self, position: Cursor) -> list[Event]:
        """The events of the window past ``position`` (a walk of the whole window)."""
        return [event for event in list(self.recent) if is_after(event, position)]

    def from_number(self, number: int) -> list[Event] | None:
        """The events of the window from the one numbered ``number`` on, or None once it left.

        Events are numbered as ``appended`` counts them.
        """
        oldest = self.appended - len(self.recent)
        if number < oldest:
            return None
        return list(itertools.islice(self.recent, number - oldest, None))


def read_after(node: Node, position: Cursor) -> tuple[list[Event], Cursor]:
    """The events past ``position`` in the store (in a worker thread)."""
    with node.store.read() as conn:
        return live.after(conn, position)


def is_after(event: Event, position: Cursor) -> bool:
    """Whether ``event`` comes after ``position``.

    An entry moves the ingest half of a cursor, a live event (no TLP) the event half.
    """
    if event.tlp is not None:
        return event.cursor.ingest > position.ingest
    return event.cursor.event > position.event


def advanced(position: Cursor, event: Event) -> Cursor:
    """The position after ``event``."""
    return Cursor(
        max(position.ingest, event.cursor.ingest), max(position.event, event.cursor.event)
    )


def hub_of(request: Request) -> Hub:
    """The worker's hub, started on the first stream request."""
    state = request.app.state
    hub: Hub | None = getattr(state, "stream_hub", None)
    if hub is None:
        node = node_of(request)
        hub = state.stream_hub = Hub(node, live.head(node.store))
    hub.start()
    return hub


async def _counted(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[ServerSentEvent]:
    """``events``, counted in ``parley_stream_clients`` while the client is connected."""
    STREAM_CLIENTS.inc()
    try:
        async for event in events:
            yield event
    finally:
        STREAM_CLIENTS.dec()


async def _events(
    hub: Hub, principal: Principal, position: Cursor
) -> AsyncIterator[ServerSentEvent]:
    """The events past ``position`` that ``principal`` may see, as they arrive.

    It ends only by cancellation: ``EventSourceResponse`` cancels it when the client
    disconnects or does not take an event within ``SEND_TIMEOUT_S``, and it pings meanwhile. A
    thousand clients wake together on each new event, so a client's wait costs no task or timer.
    """
    number: int | None = None  # the hub's number of the next event, once this client is in step
    while True:
        arrived = hub.arrived
        stepped = None if number is None else hub.from_number(number)
        batch: list[Event]
        if stepped is not None:
            batch, number = stepped, hub.appended  # in step: the new events, no walk of the window
        elif hub.covers(position):
            batch, number = hub.since(position), hub.appended
        else:
            batch, _end = await anyio.to_thread.run_sync(read_after, hub.node, position)
        for event in batch:
            position = advanced(position, event)
            seen = event.for_reader(principal)
            if seen is not None:
                yield ServerSentEvent(
                    data=orjson.dumps(seen).decode(), event=event.name, id=str(position)
                )
        if not batch:
            await arrived.wait()


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: notification, update, receipt, hotline, "
            "inquiry, reply, escalation, peer.held, subscription.match, release.break-glass, ...",
        }
    },
)
async def stream(
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.READ))],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    start: Annotated[Literal["now", "start"], Query(alias="from")] = "now",
) -> EventSourceResponse:
    """The live stream of what the caller may see, resumable with ``Last-Event-ID``."""
    hub = hub_of(request)
    if last_event_id:
        position = Cursor.parse(last_event_id)
    elif start == "start":
        position = Cursor(-1, 0)
    else:
        position = hub.position
    return EventSourceResponse(
        _counted(_events(hub, principal, position)),
        ping=PING_S,
        send_timeout=SEND_TIMEOUT_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
