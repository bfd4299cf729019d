"""The node's ASGI application and its log watcher.

The watcher polls the log state every ``WATCH_INTERVAL_S`` (50 ms), so that an entry appended
by any process under the single-writer lock (a CLI command while the server runs) is published
as the server's checkpoint within 100 ms; the server's own appends (receipts) poke it at once.
Every ``/fed/v1`` route first authenticates its caller (``peer_auth``); the replicator runs the
federation jobs (pulls, wake-ups) and the webhook sender delivers its outbox while the app lives;
the deadline loop escalates missed deadlines and the check scheduler sends communication checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import anyio
from fastapi import Depends, FastAPI

from parley.api import fed_api, log_api, peer_auth, problems
from parley.node import checks, deadlines, webhooks
from parley.node.node import Node
from parley.node.replicator import WITNESS_INTERVAL_S, Replicator
from parley.store import logs

WATCH_INTERVAL_S = 0.05


def _latest(node: Node) -> tuple[int, str] | None:
    with node.store.read() as conn:
        return logs.latest_checkpoint(conn, node.party)


async def _watch(app: FastAPI, node: Node) -> None:
    while True:
        app.state.poked.clear()
        latest = await anyio.to_thread.run_sync(_latest, node)
        if latest is not None and (app.state.published is None or
                                   latest[0] != app.state.published[0]):  # fmt: skip
            app.state.published = latest
            app.state.log_grew.set()
            app.state.log_grew = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.state.poked.wait(), WATCH_INTERVAL_S)


def create_app(node: Node) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.published = _latest(node)
        app.state.log_grew = asyncio.Event()
        app.state.poked = asyncio.Event()
        watcher = asyncio.create_task(_watch(app, node))
        interval = float(os.environ.get("PARLEY_WITNESS_INTERVAL_S", WITNESS_INTERVAL_S))
        app.state.replicator = Replicator(
            node, lambda: app.state.published, lambda: app.state.log_grew, app.state.poked.set,
            witness_interval_s=interval,
        )  # fmt: skip
        app.state.replicator.start_witnessing()
        federation = asyncio.create_task(app.state.replicator.run())
        sender = asyncio.create_task(webhooks.run(node.store, node.log.key("http")))
        clocks = asyncio.create_task(deadlines.run(node, app.state.replicator.reannounce))
        scheduler = asyncio.create_task(checks.run(node))
        try:
            yield
        finally:
            for task in (scheduler, clocks, sender, federation, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title=f"Parley node {node.party}", version="1", lifespan=lifespan)
    app.state.node = node
    app.state.published = None
    app.state.authenticator = peer_auth.Authenticator(node)
    problems.install(app)
    signed = [Depends(peer_auth.authenticate)]
    app.include_router(log_api.router, dependencies=signed)
    app.include_router(fed_api.router, dependencies=signed)
    app.add_middleware(peer_auth.PeerHeader)
    return app
