"""The worker processes of a node: which one runs the background jobs, what they tell each other.

``parley serve --workers N`` (PostgreSQL only) runs N processes. Every one serves the HTTP API and
runs its own log watcher; exactly one at a time, the *leader*, runs the background jobs
(``parley.node.runtime.Runtime``: pulls, announcements, cosignatures, gossip, external
witnesses, the webhook sender, the deadline loop and the check scheduler). The API edge reaches
them through ``runtime_of(app)``, a ``RuntimePort``. The invariants:

* **One leader.** On PostgreSQL, leading is holding a session-level advisory lock
  (``LEADER_LOCK_KEY``, never the writer's key) on the worker's own connection
  (``WorkerSession``). A worker that does not lead tries to take it every ``ELECT_S``; the leader
  checks its session as often and stops its jobs the moment the session fails. When a leader
  dies, PostgreSQL ends its session and releases the lock, and another worker leads within about
  ``ELECT_S``. Only if PostgreSQL ends a live leader's session against its will
  (``pg_terminate_backend``) can the old leader run its jobs for up to ``ELECT_S`` after the new
  one started; every job writes under the single-writer lock, so that repeats a pull or a
  delivery at worst. On SQLite the node has one process, which leads from the start.
* **Live updates.** A trigger (migration 0007) sends ``NOTIFY parley_log, '<party>'`` in every
  transaction that stores a checkpoint, whoever appends (any worker, a CLI command). Every worker
  listens on its session and pokes its watcher at once; the watcher's 20 ms poll stays as the
  fallback, and is all SQLite has.
* **Wake-ups reach the leader.** A verified ``add-checkpoint`` answered by a worker that does not
  lead is forwarded as ``NOTIFY parley_wake, '<party>'`` (``WakeForwarder``, the ``RuntimePort``
  of a worker that does not lead); the leader wakes that peer's pull. The hint (the checkpoint
  and proof) stays behind: the pull fetches the peer's checkpoint itself, two requests more. A
  lost notification delays the pull to the next poll.
* **Visibility.** Every worker keeps a row in ``workers`` (host, pid, start, heartbeat, leading),
  refreshed every ``ELECT_S``; a row silent for ``STALE_MS`` is removed. The table informs
  operators (``GET /fed/v1/node/workers``, pinned peers and administrators only: it names
  process ids) and is never consulted by the election.
* **No silent death.** Every background job runs under ``watch`` (``parley.node.runtime.watch``):
  a job that raises, or returns while the worker still leads, is logged with its reason and
  recorded in ``FailedJobs`` (``app.state.failed_jobs``), and so is a failure to start the jobs
  at all. A recorded failure turns ``GET /fed/v1/node/health`` (pinned peers and
  administrators) red, 503, until the process restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import asdict
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from parley.api.problems import EDGE_PROBLEMS, problem, require_peer
from parley.core.errors import StoreError
from parley.node.node import Node, now_ms
from parley.node.runtime import (
    FailedJobs,
    LogFeed,
    Runtime,
    RuntimePort,
    WakeForwarder,
    watch,
)
from parley.node.runtime.witness_loop import WITNESS_INTERVAL_S
from parley.store import workers as worker_table
from parley.store.engine import LOG_CHANNEL, WAKE_CHANNEL, Store, WorkerSession

log = logging.getLogger("parley.workers")

ELECT_S = 1.0
STALE_MS = 10_000

router = APIRouter(prefix="/fed/v1")


def runtime_of(app: FastAPI) -> RuntimePort:
    """The background jobs as the API edge sees them (``parley.node.runtime.RuntimePort``).

    The leader's ``Runtime``; in a worker that does not lead, a ``WakeForwarder``; before the
    lifespan starts, ``NoJobs``.
    """
    port: RuntimePort = app.state.runtime
    return port


def set_runtime(app: FastAPI, port: RuntimePort) -> None:
    """Make ``port`` the one ``runtime_of(app)`` answers."""
    app.state.runtime = port


def publish(state: Any, latest: tuple[int, str] | None) -> bool:
    """Make ``latest`` the app's published checkpoint if it is newer; wake the announcers.

    The watcher publishes what it reads; a push handler publishes the growth it just committed
    (``RuntimePort.handed_over``), one look at the log earlier. Logs only grow, so the newest
    size wins whoever publishes first.
    """
    current = state.published
    if latest is None or (current is not None and latest[0] <= current[0]):
        return False
    state.published = latest
    state.log_grew.set()
    state.log_grew = asyncio.Event()
    return True


class BackgroundJobs:
    """The jobs only the leader runs (a ``Runtime``), bound to one app's published log."""

    def __init__(self, app: FastAPI, node: Node) -> None:
        self.app, self.node = app, node
        set_runtime(app, WakeForwarder(node.store))
        self.failed: FailedJobs = app.state.failed_jobs

    def start(self) -> list[asyncio.Task[None]]:
        """Start the jobs, each watched; if they cannot start, that is recorded as a failure."""
        try:
            return self._start()
        except Exception as exc:  # noqa: BLE001 - recorded and logged: health shows it
            log.error("the background jobs could not start", exc_info=exc)
            self.failed.record("start", f"{type(exc).__name__}: {exc}")
            return []

    def _start(self) -> list[asyncio.Task[None]]:
        state = self.app.state
        interval = float(os.environ.get("PARLEY_WITNESS_INTERVAL_S", WITNESS_INTERVAL_S))
        feed = LogFeed(
            published=lambda: state.published,
            growth=lambda: state.log_grew,
            poke=state.poked.set,
            publish=lambda latest: publish(state, latest),
        )
        runtime = Runtime(self.node, feed, witness_interval_s=interval)
        set_runtime(self.app, runtime)
        return [watch(asyncio.create_task(runtime.run(self.failed)), "runtime", self.failed)]

    def stopped(self) -> None:
        """The worker stopped leading: wake-ups go to the next leader."""
        set_runtime(self.app, WakeForwarder(self.node.store))

    def log_grew(self, party: str) -> None:
        """A checkpoint of ``party``'s log was stored (by any process): look at the log."""
        if party == self.node.party:
            self.app.state.poked.set()

    def wake(self, party: str) -> None:
        """A wake-up another worker forwarded: pull from ``party`` now."""
        runtime_of(self.app).wake(party)


class Worker:
    """One worker process of the node: elected (or not), listening, heartbeating."""

    def __init__(self, store: Store, jobs: BackgroundJobs) -> None:
        self.store, self.jobs = store, jobs
        self.host, self.pid, self.started = socket.gethostname()[:255], os.getpid(), now_ms()
        self.leading = False
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        """Serve until cancelled; on the way out stop the jobs and remove this worker's row."""
        try:
            if self.store.dialect == "postgresql":
                await self._run_elected()
            else:
                await self._run_alone()
        finally:
            await self._step_down()
            with contextlib.suppress(StoreError):
                await anyio.to_thread.run_sync(self._leave)

    async def _run_alone(self) -> None:
        self._lead()
        while True:
            await self._beat()
            await asyncio.sleep(ELECT_S)

    async def _run_elected(self) -> None:
        while True:
            session = None
            try:
                session = await WorkerSession.open(self.store, (LOG_CHANNEL, WAKE_CHANNEL))
                await self._serve(session)
            except StoreError as exc:
                log.warning("worker %d: %s", self.pid, exc.message)
                await self._step_down()
                await asyncio.sleep(ELECT_S)
            except Exception:  # noqa: BLE001 - the election must survive anything; jobs stop
                log.exception("worker %d: the election crashed", self.pid)
                await self._step_down()
                await asyncio.sleep(ELECT_S)
            finally:
                if session is not None:
                    await session.close()

    async def _serve(self, session: WorkerSession) -> None:
        while True:
            if self.leading:
                await session.check()
            elif await session.try_lead():
                self._lead()
            await self._beat()
            async for channel, payload in session.notifications(ELECT_S):
                if channel == LOG_CHANNEL:
                    self.jobs.log_grew(payload)
                elif channel == WAKE_CHANNEL and self.leading:
                    self.jobs.wake(payload)

    def _lead(self) -> None:
        log.info("worker %d leads: it runs the background jobs", self.pid)
        self.leading = True
        self.tasks = self.jobs.start()

    async def _step_down(self) -> None:
        if not self.leading:
            return
        log.info("worker %d no longer leads: background jobs stopped", self.pid)
        self.leading = False
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.jobs.stopped()

    async def _beat(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._record, now_ms())
        except StoreError as exc:  # visibility only: the election does not depend on it
            log.warning("worker %d could not record its heartbeat: %s", self.pid, exc.message)

    def _record(self, now: int) -> None:
        worker_table.record_heartbeat(
            self.store,
            self.host,
            self.pid,
            self.started,
            now,
            leading=self.leading,
            stale_ms=STALE_MS,
        )

    def _leave(self) -> None:
        worker_table.leave(self.store, self.host, self.pid)


def worker_rows(store: Store) -> list[dict[str, Any]]:
    """The workers that reported within ``STALE_MS``, the leader first."""
    return [asdict(row) for row in worker_table.live(store, now_ms() - STALE_MS)]


@router.get("/node/workers")
def node_workers(request: Request) -> dict[str, Any]:
    """Which worker leads, and which one answered (pids; host names stay in the database).

    Pinned peers and administrators only: process ids help an attacker more than an auditor.
    """
    require_peer(request, "/fed/v1/node/workers")
    node: Node = request.app.state.node
    rows = worker_rows(node.store)
    leader = next((row["pid"] for row in rows if row["leading"]), None)
    return {"worker": os.getpid(), "leader": leader, "workers": rows}


@router.get("/node/health")
def node_health(request: Request) -> JSONResponse:
    """``ok`` (200), or a 503 problem listing the background jobs of this worker that died.

    The problem (RFC 9457) carries the report as extension members: ``health`` (``failing``)
    and ``failed_jobs``.
    """
    require_peer(request, "/fed/v1/node/health")
    failed: FailedJobs = request.app.state.failed_jobs
    report = failed.report()
    if report["status"] == "ok":
        return JSONResponse(report)
    names = ", ".join(job["job"] for job in report["failed_jobs"])
    answer = problem(
        503, EDGE_PROBLEMS["unhealthy"], f"background jobs failed: {names}", "unhealthy"
    )
    extended = {
        **orjson.loads(answer.body),
        "health": report["status"],
        "failed_jobs": report["failed_jobs"],
    }
    return JSONResponse(extended, status_code=503, media_type="application/problem+json")
