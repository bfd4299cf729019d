"""Several worker processes on PostgreSQL: one leader for the background jobs, shared news.

The unit tests elect among sessions and workers of one process on a real PostgreSQL database;
the fleet tests run ``parley serve --workers 2`` and kill its leader with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from parley.api.peer_auth import SharedLimiter
from parley.api.workers import ELECT_S, Worker, worker_rows
from parley.core.errors import RateLimitedError
from parley.node.node import Node
from parley.node.notifications import lifecycle
from parley.node.runtime import WakeForwarder
from parley.store.engine import LOG_CHANNEL, WAKE_CHANNEL, Store, WorkerSession
from parley.store.schema import checkpoints
from tests.support import PARLEY, cli_env, free_port, init_node, officer_env, run_cli, stop_process

pytestmark = pytest.mark.postgres

HOTLINE = {"to": "CN", "text": "Keep clear", "deadlines": {"acknowledged_within": 300000}}
TAKEOVER_S = 3 * ELECT_S + 2  # a dead leader's session ends at once; a worker retries every ELECT_S


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    opened = Store(pg_url)
    opened.migrate()
    yield opened
    opened.dispose()


class RecordedJobs:
    """Stands in for the app's jobs: records what a worker asked of them."""

    def __init__(self) -> None:
        self.terms = 0
        self.grew: list[str] = []
        self.woken: list[str] = []

    def start(self) -> list[asyncio.Task[None]]:
        self.terms += 1
        return [asyncio.create_task(asyncio.sleep(3600))]

    def stopped(self) -> None:
        pass

    def log_grew(self, party: str) -> None:
        self.grew.append(party)

    def wake(self, party: str) -> None:
        self.woken.append(party)


async def _until(condition: Any, timeout_s: float) -> float:
    """Seconds until ``condition()`` holds; fails after ``timeout_s``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if condition():
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout_s} s")


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# --- election on two sessions -------------------------------------------------------------


def test_one_session_holds_the_leader_lock_until_it_ends(store: Store) -> None:
    async def scenario() -> None:
        first = await WorkerSession.open(store, ())
        second = await WorkerSession.open(store, ())
        try:
            assert await first.try_lead()
            assert not await second.try_lead()
            with store.write() as conn:  # the leader lock is not the writer lock
                conn.exec_driver_sql("SELECT 1")
            await first.close()
            for _ in range(50):
                if await second.try_lead():
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("the lock was not released when its session ended")
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())


def test_exactly_one_worker_leads_and_another_takes_over_when_it_stops(store: Store) -> None:
    async def scenario() -> None:
        jobs = [RecordedJobs(), RecordedJobs()]
        workers = [Worker(store, job) for job in jobs]  # type: ignore[arg-type]
        for index, worker in enumerate(workers):
            worker.pid = 10_000 + index  # two workers of one process: tell their rows apart
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        try:
            await _until(lambda: any(w.leading for w in workers), TAKEOVER_S)
            await asyncio.sleep(2 * ELECT_S)
            assert [w.leading for w in workers].count(True) == 1
            leader = next(i for i, w in enumerate(workers) if w.leading)
            rows = await asyncio.to_thread(worker_rows, store)
            assert [r["pid"] for r in rows if r["leading"]] == [workers[leader].pid]
            await _stop(tasks[leader])
            other = workers[1 - leader]
            await _until(lambda: other.leading, TAKEOVER_S)
            assert jobs[1 - leader].terms == 1 and jobs[leader].terms == 1
        finally:
            for task in tasks:
                await _stop(task)

    asyncio.run(scenario())


def test_a_stored_checkpoint_and_a_forwarded_wake_up_reach_the_workers(store: Store) -> None:
    async def scenario() -> None:
        jobs = [RecordedJobs(), RecordedJobs()]
        workers = [Worker(store, job) for job in jobs]  # type: ignore[arg-type]
        for index, worker in enumerate(workers):
            worker.pid = 20_000 + index
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        try:
            await _until(lambda: any(w.leading for w in workers), TAKEOVER_S)
            await asyncio.sleep(ELECT_S)  # both sessions listen by now
            with store.write() as conn:
                conn.execute(
                    insert(checkpoints).values(party="JP", size=1, note="n", root=bytes(32), time=0)
                )
            await _until(lambda: all("JP" in job.grew for job in jobs), 1.0)
            await asyncio.to_thread(store.notify, WAKE_CHANNEL, "US")
            leader = next(i for i, w in enumerate(workers) if w.leading)
            await _until(lambda: jobs[leader].woken == ["US"], 1.0)
            assert jobs[1 - leader].woken == []
        finally:
            for task in tasks:
                await _stop(task)

    asyncio.run(scenario())


def test_a_worker_that_does_not_lead_forwards_a_wake_up_by_notification(store: Store) -> None:
    async def scenario() -> list[tuple[str, str]]:
        session = await WorkerSession.open(store, (WAKE_CHANNEL,))
        try:
            forwarder = WakeForwarder(store)
            forwarder.wake("US", None)
            await asyncio.gather(*forwarder.pending)
            return [note async for note in session.notifications(1.0)]
        finally:
            await session.close()

    assert asyncio.run(scenario()) == [(WAKE_CHANNEL, "US")]


def test_the_checkpoint_trigger_notifies_in_the_append_transaction(store: Store) -> None:
    async def scenario() -> list[tuple[str, str]]:
        session = await WorkerSession.open(store, (LOG_CHANNEL,))
        try:
            with store.write() as conn:
                conn.execute(
                    insert(checkpoints).values(party="KR", size=3, note="n", root=bytes(32), time=0)
                )
            return [note async for note in session.notifications(1.0)]
        finally:
            await session.close()

    assert asyncio.run(scenario()) == [(LOG_CHANNEL, "KR")]


def test_anonymous_flood_spread_over_workers_draws_on_one_bucket(store: Store) -> None:
    workers = [SharedLimiter(store, rate=0.001, burst=3), SharedLimiter(store, rate=0.001, burst=3)]
    for index in range(3):
        workers[index % 2].take("203.0.113.9")
    for limiter in workers:
        with pytest.raises(RateLimitedError):
            limiter.take("203.0.113.9")
    workers[1].take("198.51.100.1")  # another address has its own bucket


# --- a real server with two workers -------------------------------------------------------


class Fleet:
    """``parley serve --workers 2`` on 127.0.0.1, and the worker pids it reported."""

    def __init__(self, home: Path, *, tls: bool = False) -> None:
        port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.seen: set[int] = set()
        token = run_cli(
            "user", "token", "admin", "--scope", "admin", home=home, **officer_env()
        ).stdout.split()[-1]
        self.admin = {"authorization": f"Bearer {token}"}  # the workers route is not public
        self.process = subprocess.Popen(
            [*PARLEY, "serve", "--port", str(port), "--workers", "2", *(["--tls"] if tls else [])],
            env=cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def workers(self) -> dict[str, Any] | None:
        try:  # the self-signed certificate is checked by pin elsewhere (tests/node)
            answer = httpx.get(
                self.url + "/fed/v1/node/workers",
                timeout=2,
                verify=False,  # noqa: S501
                headers=self.admin,
            ).json()
        except httpx.TransportError:
            return None
        self.seen |= {row["pid"] for row in answer["workers"]}
        return dict(answer)

    def wait(self, condition: Any, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            answer = self.workers()
            if answer is not None and condition(answer):
                return answer
            time.sleep(0.1)
        raise AssertionError(f"not within {timeout_s} s; last answer {self.workers()}")

    def stop(self) -> None:
        stop_process(self.process, grace_s=15)
        for pid in self.seen:  # a worker the supervisor left behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def fleet_home(tmp_path: Path, pg_url: str) -> Path:
    home: Path = init_node(tmp_path / "jp", database=pg_url)
    return home


@pytest.fixture
def fleet(fleet_home: Path) -> Iterator[Fleet]:
    running = Fleet(fleet_home)
    yield running
    running.stop()


def _two_workers_one_leader(answer: dict[str, Any]) -> bool:
    rows = answer["workers"]
    return len(rows) == 2 and [row["leading"] for row in rows].count(True) == 1


@pytest.mark.fleet
def test_killing_the_leader_worker_hands_the_jobs_to_another(fleet: Fleet) -> None:
    answer = fleet.wait(_two_workers_one_leader, 30)
    leader = answer["leader"]
    os.kill(leader, signal.SIGKILL)
    killed_at = time.monotonic()
    after = fleet.wait(lambda a: a["leader"] not in (None, leader), TAKEOVER_S + 2)
    assert time.monotonic() - killed_at < TAKEOVER_S + 2
    assert after["leader"] in fleet.seen - {leader}
    fleet.wait(_two_workers_one_leader, 30)  # uvicorn starts a new worker in its place


@pytest.mark.fleet
def _connection_to_every_worker(fleet: Fleet, workers: set[int]) -> dict[int, httpx.Client]:
    """One kept-alive connection per worker: the kernel hands a new connection to any worker."""
    pinned: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    for _ in range(200):
        if set(pinned) == workers:
            break
        client = httpx.Client(timeout=2, headers=fleet.admin)
        worker = client.get(fleet.url + "/fed/v1/node/workers").json()["worker"]
        if worker in pinned:
            spare.append(client)
        else:
            pinned[worker] = client
    for client in spare:
        client.close()
    assert set(pinned) == workers, f"no connection reached workers {workers - set(pinned)}"
    return pinned


def _served(client: httpx.Client, url: str) -> tuple[int, int]:
    """(the worker that answers on this connection, the tree size it serves)."""
    size = client.get(url + "/fed/v1/get-sth").json()["tree_size"]
    return client.get(url + "/fed/v1/node/workers").json()["worker"], size


def test_a_cli_append_is_published_by_every_worker_within_a_second(
    fleet: Fleet, fleet_home: Path, tmp_path: Path
) -> None:
    answer = fleet.wait(_two_workers_one_leader, 30)
    workers = {row["pid"] for row in answer["workers"]}
    pinned = _connection_to_every_worker(fleet, workers)
    try:
        settled_by = time.monotonic() + 10  # a worker may still be publishing an earlier append
        sizes = {_served(client, fleet.url)[1] for client in pinned.values()}
        while len(sizes) != 1 and time.monotonic() < settled_by:
            time.sleep(0.05)
            sizes = {_served(client, fleet.url)[1] for client in pinned.values()}
        assert len(sizes) == 1, f"the workers serve different sizes before the append: {sizes}"
        (before,) = sizes
        body = tmp_path / "b.json"
        body.write_text(json.dumps(HOTLINE))
        append = subprocess.Popen(
            [
                *PARLEY,
                "log",
                "append",
                "--kind",
                "hotline",
                "--status",
                "Test",
                "--body-file",
                str(body),
                "--to",
                "CN",
            ],
            env=cli_env(fleet_home, **officer_env()),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        while append.poll() is None:  # keep each connection, and its worker, in use
            for client in pinned.values():
                _served(client, fleet.url)
            time.sleep(0.05)
        appended_at = time.monotonic()
        assert append.returncode == 0, append.stderr.read() if append.stderr else ""
        published: dict[int, float] = {}
        while time.monotonic() - appended_at < 1.0 and set(published) != workers:
            for client in pinned.values():
                worker, size = _served(client, fleet.url)
                if size == before + 1:
                    published.setdefault(worker, time.monotonic() - appended_at)
            time.sleep(0.02)
        assert set(published) == workers, (
            f"workers {sorted(workers - set(published))} did not publish the append within 1 s"
            f" (published: {published})"
        )
    finally:
        for client in pinned.values():
            client.close()


@pytest.mark.fleet
def test_workers_serve_tls_with_the_node_certificate(fleet_home: Path) -> None:
    fleet = Fleet(fleet_home, tls=True)
    try:
        answer = fleet.wait(_two_workers_one_leader, 30)
        assert answer["leader"] in fleet.seen
    finally:
        fleet.stop()


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    home = init_node(tmp_path / "jp")
    result = run_cli("serve", "--workers", "2", home=home, check=False)
    assert result.returncode == 1
    message = " ".join((result.stdout + result.stderr).split())
    assert "--workers 2 needs a PostgreSQL database" in message


@pytest.mark.fleet
def test_a_stream_event_reaches_its_clients_on_every_worker(fleet: Fleet, fleet_home: Path) -> None:
    """Each worker runs its own stream hub over the shared tables: a client of either worker
    gets an event committed by another process."""
    answer = fleet.wait(_two_workers_one_leader, 30)
    workers = {row["pid"] for row in answer["workers"]}
    pinned = _connection_to_every_worker(fleet, workers)
    got: dict[int, str] = {}
    marker = f"every worker {time.monotonic_ns()}"

    def read(worker: int, client: httpx.Client) -> None:
        with client.stream("GET", fleet.url + "/api/v1/stream", timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and marker in line:
                    got[worker] = json.loads(line[5:])["ref"]
                    return

    readers = [
        threading.Thread(target=read, args=(worker, client), daemon=True)
        for worker, client in pinned.items()
    ]
    try:
        for reader in readers:
            reader.start()
        time.sleep(1.0)  # both streams are open before the append
        node = Node.open(fleet_home)
        try:
            ref = lifecycle.notify(
                node,
                status="Exercise",
                audience="ALL",
                category="geo.earthquake",
                severity="Severe",
                urgency="Immediate",
                certainty="Observed",
                headline=marker,
                areas=[],
                details={},
            ).written.ref
        finally:
            node.close()
        for reader in readers:
            reader.join(20)
        assert got == dict.fromkeys(workers, ref)
    finally:
        for client in pinned.values():
            client.close()
