"""The node's ASGI application and its log watcher.

The watcher polls the log state every ``WATCH_INTERVAL_S`` (50 ms), so that an entry appended
by any process under the single-writer lock (a CLI command while the server runs) is published
as the server's checkpoint within 100 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI

from parley.api import log_api, problems
from parley.node.node import Node
from parley.store import logs

WATCH_INTERVAL_S = 0.05


def _latest(node: Node) -> tuple[int, str] | None:
    with node.store.read() as conn:
        return logs.latest_checkpoint(conn, node.party)


async def _watch(app: FastAPI, node: Node) -> None:
    while True:
        latest = await anyio.to_thread.run_sync(_latest, node)
        if latest is not None and (app.state.published is None or
                                   latest[0] != app.state.published[0]):  # fmt: skip
            app.state.published = latest
            app.state.log_grew.set()
            app.state.log_grew = asyncio.Event()
        await asyncio.sleep(WATCH_INTERVAL_S)


def create_app(node: Node) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.published = _latest(node)
        app.state.log_grew = asyncio.Event()
        watcher = asyncio.create_task(_watch(app, node))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(title=f"Parley node {node.party}", version="1", lifespan=lifespan)
    app.state.node = node
    app.state.published = None
    problems.install(app)
    app.include_router(log_api.router)
    return app
