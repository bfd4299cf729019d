"""The node's ASGI application and its log watcher.

The watcher publishes as the server's checkpoint every entry appended by any process under the
single-writer lock (a CLI command while the server runs), within 100 ms; the server's own
appends (receipts) poke it at once. On SQLite every durable commit of another process sends a
datagram that pokes it too (``Store.commit_listener``), and a look at the database's commit
probe every ``LISTENING_INTERVAL_S`` (100 ms) is the fallback; the log state is read only when
the probe moved, so an idle node costs next to nothing. Where no datagram can be heard it looks
every ``PROBE_INTERVAL_S`` (5 ms), and on PostgreSQL reads the log state every
``WATCH_INTERVAL_S`` (20 ms).
Every ``/fed/v1`` route first authenticates its caller (``peer_auth``). The background jobs run
in the one worker process that leads (``parley.api.workers``), built and run by
``parley.node.runtime.Runtime``: the federation jobs (pulls, announcements, cosignatures, gossip,
external witnesses), the webhook sender, the deadline loop and the check scheduler. Routes reach
them only through ``workers.runtime_of(app)``. On PostgreSQL every worker also
hears of new checkpoints by notification, so the poll is only the fallback.

At the edge, ``parley.api.limits`` bounds every request body before it is read, and the
OpenAPI document is served like any ``/fed/v1`` route: through ``peer_auth.authenticate``, so
anonymous callers draw on their rate limit (``/docs`` and ``/redoc`` are not served).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Match, Mount
from starlette.types import Scope

from parley.api import (
    fed_api,
    feeds_api,
    limits,
    log_api,
    logs,
    metrics_api,
    peer_auth,
    problems,
    taxii_routes,
    workers,
)
from parley.api.v1 import app as api_v1
from parley.core.errors import ParleyError
from parley.node.node import Node
from parley.node.runtime import FailedJobs, NoJobs, watch
from parley.web import app as pages

WATCH_INTERVAL_S = 0.02  # a read of the log state each time (PostgreSQL: NOTIFY comes first)
PROBE_INTERVAL_S = 0.005  # SQLite: a look at PRAGMA data_version, microseconds each
LISTENING_INTERVAL_S = 0.1  # SQLite with commit datagrams: the poll is only a fallback


async def _watch(app: FastAPI, node: Node) -> None:
    probe = node.store.commit_probe()  # SQLite: reads the log state only after a commit
    listener = node.store.commit_listener()
    if listener is not None:
        asyncio.get_running_loop().add_reader(listener.fileno(), _heard, listener, app)
    try:
        await _watch_rounds(app, node, probe, listener is not None)
    finally:
        if listener is not None:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()


def _heard(listener: socket.socket, app: FastAPI) -> None:
    """A commit datagram came (``Store.commit_listener``): drain them all, look at once."""
    with contextlib.suppress(BlockingIOError):
        while listener.recv(64):
            pass
    app.state.poked.set()


async def _watch_rounds(
    app: FastAPI, node: Node, probe: Callable[[], int | None], listening: bool
) -> None:
    seen: int | None = None
    while True:
        app.state.poked.clear()
        version = probe()
        latest = None
        if version is None or version != seen:
            seen = version
            latest = await anyio.to_thread.run_sync(node.checkpoint)
        workers.publish(app.state, latest)
        interval = (
            WATCH_INTERVAL_S
            if version is None
            else LISTENING_INTERVAL_S
            if listening
            else PROBE_INTERVAL_S
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.state.poked.wait(), interval)


class PagesMount(Mount):
    """The pages at ``/``: only GET and HEAD outside ``/fed/``, ``/api/`` and ``/taxii2``.

    A catch-all mount would take every path, so a wrong method on a federation or API route
    would be the pages' 404 instead of that route's 405; the pages change nothing themselves
    (their scripts act through ``/api/v1``), so they need no other method.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for another method or a path the node's other routers own."""
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        if path.startswith(("/fed/", "/api/", taxii_routes.PREFIX)):
            return Match.NONE, {}
        return super().matches(scope)


def create_app(node: Node) -> FastAPI:
    """The ASGI app of ``node``; its lifespan runs the log watcher and the worker election."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.published = node.checkpoint()
        app.state.log_grew = asyncio.Event()
        app.state.poked = asyncio.Event()
        failed = app.state.failed_jobs
        watcher = watch(asyncio.create_task(_watch(app, node)), "log watcher", failed)
        app.state.worker = workers.Worker(node.store, workers.BackgroundJobs(app, node))
        election = watch(asyncio.create_task(app.state.worker.run()), "election", failed)
        # What is alive now (modules, the app, the node) lives as long as the process: kept out
        # of the collector's full passes, which otherwise walk all of it again and again while
        # a request builds a page of ten thousand entries (a map walk: 410 to 243 ms).
        gc.freeze()
        try:
            yield
        finally:
            app.state.authenticator.verifier.flush()  # the replay cache, written behind
            metrics_api.process_ends()
            for task in (election, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title=f"Parley node {node.party}",
        version="1",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.node = node
    app.state.published = None
    app.state.failed_jobs = FailedJobs()
    workers.set_runtime(app, NoJobs())  # the lifespan's worker replaces it
    app.state.authenticator = peer_auth.Authenticator(node)
    problems.install(app)
    signed = [Depends(peer_auth.authenticate)]
    app.include_router(log_api.router, dependencies=signed)
    app.include_router(fed_api.router, dependencies=signed)
    app.include_router(fed_api.monitor_router, dependencies=signed)
    app.include_router(workers.router, dependencies=signed)

    @app.get("/openapi.json", dependencies=signed, include_in_schema=False)
    def openapi() -> JSONResponse:
        """The OpenAPI document, rate-limited for anonymous callers like every route."""
        return JSONResponse(app.openapi())

    api = api_v1.create(node)
    app.state.api_limits = api.state.api_limits  # the feeds draw on the API's rate limits
    app.include_router(feeds_api.router)
    app.include_router(metrics_api.router)
    app.mount(api_v1.PREFIX, api)
    app.mount(taxii_routes.PREFIX, taxii_routes.create(node))
    site = pages.create(node)
    problems.install(site)  # a path no route takes is a problem document, as on every route
    app.router.routes.append(PagesMount("/", app=site))  # last: every route above comes first
    app.add_middleware(peer_auth.PeerHeader)
    app.add_middleware(metrics_api.RequestTimer)
    app.add_middleware(
        limits.BodyLimit,
        limits=fed_api.BODY_LIMITS | api_v1.BODY_LIMITS,
        prefixes={
            api_v1.PREFIX: api_v1.API_LIMIT,
            taxii_routes.PREFIX: taxii_routes.MAX_CONTENT_LENGTH,
        },
    )
    return app


def create_app_from_env() -> FastAPI:
    """The app of the node at ``PARLEY_HOME``: the factory each ``parley serve`` worker calls.

    Keys are decrypted with ``PARLEY_PASSPHRASE`` when they are encrypted (``serve`` passes on a
    passphrase typed at its prompt this way).
    """
    logs.configure()
    home = os.environ.get("PARLEY_HOME")
    if not home:
        raise ParleyError("PARLEY_HOME is not set", hint="run the workers with 'parley serve'")
    return create_app(Node.open(Path(home), _env_passphrase))


def _env_passphrase(_path: str) -> bytes | None:
    value = os.environ.get("PARLEY_PASSPHRASE")
    return None if value is None else value.encode()
