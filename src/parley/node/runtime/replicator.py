"""The server's federation jobs: one pull loop and one announce loop per pinned peer.

* Pull loop: waits for a wake-up (a verified ``add-checkpoint`` from the peer), for the time its
  backoff sets (failures: 1 s doubling up to an hour), or for the periodic poll, then runs
  ``sync.sync_peer`` in a worker thread. Every loop pulls once at start-up (catch-up), and the
  supervisor starts and stops loops as peers are pinned and removed (checked every second).
* Announce loop: whenever this node's log grows, submits the newest checkpoint with a
  consistency proof to the peer's ``add-checkpoint`` (C2SP tlog-witness). It starts from
  ``old 0`` and learns the peer's recorded size from its 409 answer; bursts coalesce, because
  each submission carries the newest checkpoint at the time it is sent. Failures back off.
  A growth made only of receipts concerns the authors of the entries they answer: those peers
  are told at once, the others within ``LAZY_S``, in one submission for every growth of that
  time (a receipt's way back to its sender competes with fewer requests, and a third party
  pulls a burst of receipts in one pass). Any other kind of entry is announced to every peer
  at once. Once the peer's recorded size is known, a growth of at most ``PUSH_MAX_ENTRIES``
  goes as a push (``/fed/v1/push``) that carries the entries with the bodies the peer may
  read, so its pull needs no request of its own. The peer answers with its cosignature
  (C2SP tlog-cosignature), verified and kept in batches (``KEEP_S``).
* Gossip loop: every witnessing interval, compares with each peer the checkpoints it cosigned
  and gathers cosignatures (``parley.node.federation.gossip``); a fork becomes equivocation
  evidence.
* External witnesses: the same submission, unsigned, to each C2SP witness an administrator
  added (``parley witness add``), when the log grew; failures are kept for ``witness list``.

Nothing in flight is lost on a restart: what was not pulled is pulled by the start-up catch-up,
and what was not announced is announced on the first submission after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import httpx

from parley.core import merkle
from parley.core.checkpoint import parse_vkey
from parley.core.entry import Header
from parley.core.errors import ParleyError
from parley.node.federation import gossip, peers, wakeup, witnessing
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.ingest import CursorCache
from parley.node.federation.items import entry_item
from parley.node.federation.peer_client import ClientPool, add_checkpoint_body, async_http_client
from parley.node.federation.pull import HeldError, Hint, sync_peer
from parley.node.messaging import receipts
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store import witnessing as witness_rows

log = logging.getLogger("parley.federation")

SUPERVISE_S = 1.0
HELD_RECHECK_S = 60.0
ANNOUNCE_RETRY_MAX_S = 3600.0
LAZY_S = 2.0  # receipts of others' entries reach a peer at most this much later, coalesced
URGENT_SPAN = 64  # a longer growth is announced to every peer at once
SIZE_MEDIA_TYPE = "text/x.tlog.size"
EXTERNAL_BACKOFF_MAX_S = 3600.0
WITNESS_INTERVAL_S = 3.0  # gossip with peers, and retry external witnesses, this often
KEEP_S = 0.2  # peers' cosignatures are verified and kept in batches, at most this much later

Published = Callable[[], tuple[int, str] | None]
GrowthEvent = Callable[[], asyncio.Event]


@dataclass(frozen=True)
class HandOver:
    """A growth of receipts that a push handler committed, ready to announce (see Replicator)."""

    latest: tuple[int, str]
    answers: dict[int, str]  # own seq -> the party whose entry it answers
    material: tuple[tuple[int, int], tuple[list[bytes], list[logs.StoredEntry] | None]] | None


@dataclass
class _PeerJobs:
    trigger: asyncio.Event = field(default_factory=asyncio.Event)
    hint: Hint | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def push_body(submission: bytes, stored: list[logs.StoredEntry], reader: str) -> bytes:
    """A ``/fed/v1/push`` body: the submission, and the entries as ``reader`` may see them."""
    entries = [entry_item(entry, reader) for entry in stored]
    return json.dumps({"submission": submission.decode("utf-8"), "entries": entries}).encode()


def read_material(
    node: Node, old: int, size: int
) -> tuple[list[bytes], list[logs.StoredEntry] | None]:
    """The consistency proof ``old`` -> ``size`` of this node's log, and the entries between.

    The entries only if a push can carry them (at most ``wakeup.PUSH_MAX_ENTRIES``).
    """
    with node.store.read() as conn:
        proof = merkle.consistency_proof(
            old, size, lambda ids: logs.get_nodes(conn, node.party, ids)
        )
        few = 0 < size - old <= wakeup.PUSH_MAX_ENTRIES
        return proof, logs.get_range(conn, node.party, old, size) if few else None


def growth_push(node: Node, old: int, reader: str) -> bytes:
    """The push of this node's entries from ``old`` to its newest checkpoint, for ``reader``."""
    latest = node.checkpoint()
    if latest is None:
        raise ParleyError(f"{node.party} has no checkpoint yet")
    size, note = latest
    proof, stored = read_material(node, old, size)
    if stored is None:
        limit = wakeup.PUSH_MAX_ENTRIES
        raise ParleyError(f"a push carries 1 to {limit} entries, not {size - old}")
    return push_body(add_checkpoint_body(old, proof, note), stored, reader)


def report_pause(node: Node, party: str) -> int:
    until = peers.throttled_until(node.store, party, now_ms())
    return 0 if until is None else until - now_ms()


class Replicator:
    """Runs the per-peer loops of one server process."""

    def __init__(
        self,
        node: Node,
        published: Published,
        growth: GrowthEvent,
        poke: Callable[[], None] = lambda: None,
        witness_interval_s: float = WITNESS_INTERVAL_S,
        publish: Callable[[tuple[int, str]], object] | None = None,
    ) -> None:
        self.node = node
        self.published = published
        self.growth = growth
        self.poke = poke
        self.publish = publish
        self.acked: dict[str, int] = {}  # the size each peer last recorded of this node's log
        self.jobs: dict[str, _PeerJobs] = {}
        self.signer = RequestSigner(node.log.key("http"))
        self.cursors = CursorCache()
        self.answers: dict[int, str | None] = {}  # own seq -> whose entry it answers
        self.pinned: dict[str, peers.Peer] = {}  # as of the supervisor's last look
        self.material: dict[  # proofs and entries that lead to the newest announced size
            tuple[int, int], tuple[list[bytes], list[logs.StoredEntry] | None]
        ] = {}
        self.no_push: set[str] = set()  # peers that answered 404 to a push
        self.witness_interval_s = witness_interval_s
        self.clients: dict[str, tuple[tuple[str, str | None], httpx.AsyncClient]] = {}
        self.pool = ClientPool(self.signer)  # pulls and gossip, from worker threads
        self.witness_tasks: list[asyncio.Task[None]] = []
        self.unkept: list[witnessing.Answer] = []  # peers' cosignatures still to verify and keep
        self.answered_event = asyncio.Event()

    def wake(self, party: str, hint: Hint | None = None) -> None:
        """A verified wake-up from ``party``: pull now (the hint saves two requests)."""
        jobs = self.jobs.get(party)
        if jobs is not None:
            jobs.hint = hint
            jobs.trigger.set()

    def reannounce(self, party: str) -> None:
        """``party`` missed a deadline: submit the newest checkpoint to it again, and pull.

        The peer may have missed the first announcement; the pull fetches an answer that
        waits on its side (``parley.node.messaging.deadlines``).
        """
        jobs, latest = self.jobs.get(party), self.published()
        if jobs is None or latest is None:
            return
        jobs.trigger.set()
        jobs.tasks = [task for task in jobs.tasks if not task.done()]
        jobs.tasks.append(asyncio.create_task(self._reannounce(party, latest)))

    async def _reannounce(self, party: str, latest: tuple[int, str]) -> None:
        try:
            await self._announce(party, latest, None)
        except (ParleyError, httpx.HTTPError) as exc:
            log.info("re-announcing to %s failed: %s", party, exc)

    async def run(self) -> None:
        keeper = asyncio.create_task(self._keep_loop())
        try:
            while True:
                pinned = {p.party: p for p in await anyio.to_thread.run_sync(self._peers)}
                self.pinned = pinned
                for party in set(self.jobs) - set(pinned):
                    for task in self.jobs.pop(party).tasks:
                        task.cancel()
                for party in set(pinned) - set(self.jobs):
                    jobs = _PeerJobs()
                    jobs.trigger.set()  # catch up at start-up
                    jobs.tasks = [
                        asyncio.create_task(self._pull_loop(party, jobs)),
                        asyncio.create_task(self._announce_loop(party)),
                    ]
                    self.jobs[party] = jobs
                await asyncio.sleep(SUPERVISE_S)
        finally:
            for task in [*self._all_tasks(), keeper]:
                task.cancel()
            for task in [*self._all_tasks(), keeper]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            answers, self.unkept = self.unkept, []
            with contextlib.suppress(Exception):
                await anyio.to_thread.run_sync(self._keep, answers)
            for _key, client in self.clients.values():
                with contextlib.suppress(Exception):
                    await client.aclose()
            self.pool.close()

    def _all_tasks(self) -> list[asyncio.Task[None]]:
        tasks = [task for jobs in self.jobs.values() for task in jobs.tasks]
        return tasks + self.witness_tasks

    def start_witnessing(self) -> None:
        """Start the gossip loop and the submissions to external witnesses."""
        self.witness_tasks = [
            asyncio.create_task(self._gossip_loop()),
            asyncio.create_task(self._external_loop()),
        ]

    async def _gossip_loop(self) -> None:
        await self._gossip_rounds(gossip.Gossip(self.node, self.pool))

    async def _gossip_rounds(self, rounds: gossip.Gossip) -> None:
        while True:
            await asyncio.sleep(self.witness_interval_s)
            for peer in await anyio.to_thread.run_sync(self._peers):
                try:
                    report = await anyio.to_thread.run_sync(rounds.round_with, peer)
                except Exception:  # noqa: BLE001 - a loop must survive anything
                    log.exception("gossip with %s crashed", peer.party)
                    continue
                for problem in report.problems:
                    log.info("gossip: %s", problem)
                for party in report.equivocations:
                    log.error("equivocation by %s detected through %s", party, peer.party)

    async def _external_loop(self) -> None:
        """Submit this node's checkpoint to each external witness when it grew (C2SP).

        A refused or failed submission is retried after a delay that doubles with each failure
        in a row (from the witness interval up to an hour), not at every growth of the log; the
        reason and the delay are recorded for ``parley witness list``.
        """
        acked: dict[str, int] = {}
        failing: dict[str, tuple[int, float]] = {}  # name -> (failures in a row, retry at)
        while True:
            grew = self.growth()
            latest = self.published()
            witnesses = await anyio.to_thread.run_sync(self._externals)
            for witness in witnesses:
                if latest is None or acked.get(witness.name) == latest[0]:
                    continue
                failures, retry_at = failing.get(witness.name, (0, 0.0))
                if time.monotonic() < retry_at:
                    continue
                try:
                    acked[witness.name] = await self._submit_external(witness, latest)
                    error = None
                    failing.pop(witness.name, None)
                except (ParleyError, httpx.HTTPError) as exc:
                    delay = min(EXTERNAL_BACKOFF_MAX_S, self.witness_interval_s * 2**failures)
                    failing[witness.name] = (failures + 1, time.monotonic() + delay)
                    error = (f"{str(exc)[:400]} (failed {failures + 1} times in a row; next "
                             f"attempt in {delay:.0f} s)")  # fmt: skip
                    log.info("external witness %s: %s", witness.name, error)
                await anyio.to_thread.run_sync(
                    self._record_external, witness.name, acked.get(witness.name), error
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(grew.wait(), timeout=self.witness_interval_s)

    def _externals(self) -> list[witness_rows.ExternalWitness]:
        with self.node.store.read() as conn:
            return witness_rows.list_external(conn)

    def _record_external(self, name: str, size: int | None, error: str | None) -> None:
        with self.node.store.write() as conn:
            witness_rows.record_external(conn, name, size, error)

    async def _submit_external(
        self, witness: witness_rows.ExternalWitness, latest: tuple[int, str]
    ) -> int:
        size, note = latest
        old = witness.size if witness.size is not None and witness.size <= size else 0
        name = parse_vkey(witness.vkey).name
        async with httpx.AsyncClient(base_url=witness.url, timeout=10.0, trust_env=False) as http:
            for _attempt in range(2):
                proof = await anyio.to_thread.run_sync(self._proof, old, size)
                response = await http.post(
                    "/add-checkpoint", content=add_checkpoint_body(old, proof, note)
                )
                if response.status_code == 200:
                    await anyio.to_thread.run_sync(
                        witnessing.keep_answer, self.node, note, response.text, name
                    )
                    return size
                recorded = response.text.strip()
                media = response.headers.get("content-type", "").split(";")[0]
                if (response.status_code == 409 and media == SIZE_MEDIA_TYPE
                        and recorded.isascii() and recorded.isdigit()):  # fmt: skip
                    old = int(recorded)
                    continue
                raise ParleyError(
                    f"the witness refused the checkpoint of size {size}: "
                    f"{response.status_code} {response.text[:200].strip()}"
                )
        raise ParleyError(f"witness kept answering 409 to the checkpoint of size {size}")

    def _peers(self) -> list[peers.Peer]:
        return peers.list_peers(self.node.store)

    def _status(self, party: str) -> peers.PeerStatus:
        with self.node.store.read() as conn:
            return peers.get_status(conn, party)

    async def _pull_loop(self, party: str, jobs: _PeerJobs) -> None:
        while True:
            status = await anyio.to_thread.run_sync(self._status, party)
            wait_s = max(0.0, (status.next_attempt - now_ms()) / 1000)
            if status.held:
                wait_s = HELD_RECHECK_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(jobs.trigger.wait(), timeout=wait_s)
            jobs.trigger.clear()
            hint, jobs.hint = jobs.hint, None
            try:
                report = await anyio.to_thread.run_sync(functools.partial(
                    sync_peer, self.node, party, hint=hint, cache=self.cursors, pool=self.pool,
                ))  # fmt: skip
                if report.receipts or report.observations:
                    self.poke()  # this node's log grew: announce it now
                if report.throttled:  # over quota: wake-ups do not shorten the pause
                    pause = await anyio.to_thread.run_sync(report_pause, self.node, party)
                    await asyncio.sleep(max(0.0, pause / 1000))
                    jobs.trigger.set()
            except HeldError:
                continue
            except ParleyError as exc:
                log.warning("pull from %s failed: %s", party, exc)
            except Exception:  # noqa: BLE001 - a loop must survive anything; status shows it
                log.exception("pull from %s crashed", party)
                await asyncio.sleep(1)

    async def _announce_loop(self, party: str) -> None:
        acked: int | None = None
        sent = -1
        failures = 0
        pending_since: float | None = None  # when a growth not yet announced was first seen
        while True:
            grew = self.growth()
            latest = self.published()
            if latest is not None and latest[0] != sent:
                if pending_since is None:
                    pending_since = time.monotonic()
                waited = time.monotonic() - pending_since
                if waited < LAZY_S and not await self._concerns(party, sent, latest[0]):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(grew.wait(), timeout=LAZY_S - waited)
                    continue
                try:
                    acked = await self._announce(party, latest, acked)
                    self.acked[party] = acked
                    sent, failures, pending_since = latest[0], 0, None
                except (ParleyError, httpx.HTTPError) as exc:
                    failures += 1
                    delay = min(2.0 ** (failures - 1), ANNOUNCE_RETRY_MAX_S)
                    log.info("announcing to %s failed (%s); retry in %.0f s", party, exc, delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(grew.wait(), timeout=delay)
                    continue
            await grew.wait()

    def prepare_hand_over(self, answered: str, receipts: list[Header]) -> HandOver | None:
        """Read what announcing a push's ``receipts`` to their author ``answered`` takes.

        Runs in the thread that stored the push and appended the receipts: the newest
        checkpoint, and the proof and entries from the size the author recorded, so that
        ``handed_over`` starts the announcement without another look at the log.
        """
        latest = self.node.checkpoint()
        if latest is None:
            return None
        size, old = latest[0], self.acked.get(answered)
        material = None
        if old is not None and 0 <= old < size:
            material = ((old, size), self._read_material(old, size))
        return HandOver(latest, {header.seq: answered for header in receipts}, material)

    def handed_over(self, hand_over: HandOver) -> None:
        """On the event loop: publish a growth prepared by ``prepare_hand_over``."""
        self.answers.update(hand_over.answers)
        if hand_over.material is not None:
            self._keep_material(*hand_over.material)
        if self.publish is None:
            self.poke()
        else:
            self.publish(hand_over.latest)

    async def _concerns(self, party: str, sent: int, size: int) -> bool:
        """Whether this node's entries ``sent <= seq < size`` should reach ``party`` at once."""
        if sent < 0 or size - sent > URGENT_SPAN or size < sent:
            return True
        missing = [seq for seq in range(sent, size) if seq not in self.answers]
        if missing:
            found = await anyio.to_thread.run_sync(
                self._answered, missing[0], missing[-1] + 1
            )
            if len(self.answers) > 16 * URGENT_SPAN:
                self.answers.clear()
            self.answers.update(found)
        return any(self.answers.get(seq, party) in (None, party) for seq in range(sent, size))

    def _answered(self, start: int, end: int) -> dict[int, str | None]:
        with self.node.store.read() as conn:
            answered = receipts.answered_parties(conn, self.node.party, start, end)
        return dict(zip(range(start, start + len(answered)), answered, strict=True))

    async def _announce(self, party: str, latest: tuple[int, str], acked: int | None) -> int:
        """Submit ``latest`` to the peer; return the size it now records for this node.

        Once the peer's recorded size is known and the growth is short, the submission is a
        push that carries the new entries (bodies only where the peer may read them).
        """
        peer = self.pinned.get(party)
        if peer is None:
            peer = await anyio.to_thread.run_sync(peers.get_peer, self.node.store, party)
        size, note = latest
        old = 0 if acked is None or acked > size else acked
        known = acked is not None
        client = await self._client(peer)  # kept alive: no TLS handshake per announcement
        for _attempt in range(3):
            proof, stored = await self._material(old, size)
            path, body = "/fed/v1/add-checkpoint", add_checkpoint_body(old, proof, note)
            if known and stored is not None and party not in self.no_push:
                pushed = push_body(body, stored, party)
                if len(pushed) <= wakeup.PUSH_MAX_BYTES:
                    path, body = "/fed/v1/push", pushed
            try:
                response = await client.post(path, content=body)
            except httpx.TransportError:  # a kept-alive connection the peer closed: once more
                response = await client.post(path, content=body)
            if response.status_code == 200:
                await self._keep_cosignature(party, note, response.text)
                return size
            if response.status_code == 409 and response.headers.get(
                "content-type", ""
            ).startswith(SIZE_MEDIA_TYPE):
                recorded = int(response.text.strip() or "0")
                if recorded > size:
                    raise ParleyError(f"{party} records {recorded} entries of a log of {size}")
                old, known = recorded, True
                continue
            if response.status_code == 404 and path == "/fed/v1/push" and not response.headers.get(
                "content-type", ""
            ).startswith("application/problem+json"):
                self.no_push.add(party)  # a node without the push route: plain submissions
                continue
            raise ParleyError(
                f"{party} refused the checkpoint: {response.status_code} {response.text[:200]}"
            )
        raise ParleyError(f"{party} kept answering 409 to the checkpoint of size {size}")

    async def _material(
        self, old: int, size: int
    ) -> tuple[list[bytes], list[logs.StoredEntry] | None]:
        """The consistency proof ``old`` -> ``size``, and the entries between if few (cached)."""
        found = self.material.get((old, size))
        if found is None:
            found = await anyio.to_thread.run_sync(self._read_material, old, size)
            self._keep_material((old, size), found)
        return found

    def _keep_material(
        self, key: tuple[int, int], found: tuple[list[bytes], list[logs.StoredEntry] | None]
    ) -> None:
        if all(done != key[1] for _old, done in self.material):
            self.material.clear()  # keep what leads to the newest size only
        self.material[key] = found

    def _read_material(
        self, old: int, size: int
    ) -> tuple[list[bytes], list[logs.StoredEntry] | None]:
        return read_material(self.node, old, size)

    async def _client(self, peer: peers.Peer) -> httpx.AsyncClient:
        """The announcing client of ``peer``, made anew when its URL or TLS pin changed."""
        key = (peer.url, peer.tls_spki)
        known = self.clients.get(peer.party)
        if known is not None and known[0] == key:
            return known[1]
        if known is not None:
            await known[1].aclose()
        client = async_http_client(peer.url, peer.tls_spki, self.signer, peer.party)
        self.clients[peer.party] = (key, client)
        return client

    async def _keep_cosignature(self, party: str, note: str, answer: str) -> None:
        """Queue the peer's cosignature for the keeping loop (``_keep_loop``)."""
        self.unkept.append(witnessing.Answer(note, answer, party, by_party=True))
        self.answered_event.set()

    async def _keep_loop(self) -> None:
        """Verify and keep the peers' cosignatures in batches, at most ``KEEP_S`` after they came.

        Keeping them is no part of a delivery: a batch of every answer of that time costs one
        read of the witness keys and one transaction, and the next announcement does not wait
        for it. A bad cosignature is logged; the wake-up still happened. (A peer that rotated
        its witness key answers with a key this node learns only from its next key statement.)
        """
        while True:
            await self.answered_event.wait()
            await asyncio.sleep(KEEP_S)
            self.answered_event.clear()
            answers, self.unkept = self.unkept, []
            await anyio.to_thread.run_sync(self._keep, answers)

    def _keep(self, answers: list[witnessing.Answer]) -> None:
        if not answers:
            return
        try:
            kept = witnessing.keep_answers(self.node, answers)
        except ParleyError as exc:
            log.warning("%d cosignatures were not kept: %s", len(answers), exc)
            return
        for answer, outcome in zip(answers, kept, strict=True):
            if isinstance(outcome, ParleyError):
                log.warning("the cosignature %s answered was not kept: %s", answer.witness, outcome)

    def _proof(self, old: int, size: int) -> list[bytes]:
        with self.node.store.read() as conn:
            return merkle.consistency_proof(
                old, size, lambda ids: logs.get_nodes(conn, self.node.party, ids)
            )
