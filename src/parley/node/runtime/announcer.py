"""The announcer: this node tells each pinned peer that its log grew (C2SP tlog-witness).

One loop per pinned peer (started by ``PinnedPeers``). Whenever the published checkpoint
changes, it submits the newest checkpoint with a consistency proof to the peer's
``add-checkpoint``. It starts from ``old 0`` and learns the peer's recorded size from its 409
answer; bursts coalesce, because each submission carries the newest checkpoint at the time it
is sent. Failures back off (1 s doubling up to ``ANNOUNCE_RETRY_MAX_S``).

* A growth made only of receipts concerns the authors of the entries they answer: those peers
  are told at once, the others within ``LAZY_S``, in one submission for every growth of that
  time (a receipt's way back to its sender competes with fewer requests, and a third party
  pulls a burst of receipts in one pass). Any other kind of entry, or a growth longer than
  ``URGENT_SPAN``, is announced to every peer at once.
* Once the peer's recorded size is known, a growth of at most ``push.PUSH_MAX_ENTRIES`` goes
  as a push (``/fed/v1/push``) that carries the entries with the bodies the peer may read, so
  its pull needs no request of its own. A peer that answers a push with a plain 404 has no push
  route; it gets plain submissions from then on.
* The peer answers with its cosignature (C2SP tlog-cosignature), queued for the
  ``CosignatureBatcher``.
* A push handler that stored a peer's entries hands the receipts it appended over
  (``prepare_hand_over``, ``handed_over``): the proof and entries from the size that peer
  recorded are read in the handler's thread, so the announcement starts without another read.

Nothing in flight is lost on a restart: what was not announced is announced on the first
submission after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import anyio

from parley.core.entry import Header
from parley.core.errors import ParleyError
from parley.node.federation import peer_client, peers, push, submission
from parley.node.messaging import receipts
from parley.node.node import Node
from parley.node.runtime.clients import PeerClients
from parley.node.runtime.cosignatures import CosignatureBatcher
from parley.node.runtime.port import HandOver, Latest, LogFeed, Material
from parley.node.runtime.submissions import SIZE_MEDIA_TYPE, read_material

log = logging.getLogger("parley.federation")

ANNOUNCE_RETRY_MAX_S = 3600.0
LAZY_S = 2.0  # receipts of others' entries reach a peer at most this much later, coalesced
URGENT_SPAN = 64  # a longer growth is announced to every peer at once


class Announcer:
    """Job, one loop per pinned peer while the worker leads: announces this node's growth.

    Shared with the other jobs: the published log (``feed``), the clients, the peers as of the
    supervisor's last look (``pinned``) and the cosignature batcher.
    """

    def __init__(
        self,
        node: Node,
        feed: LogFeed,
        clients: PeerClients,
        pinned: dict[str, peers.Peer],
        cosignatures: CosignatureBatcher,
    ) -> None:
        self.node, self.feed, self.clients = node, feed, clients
        self.pinned, self.cosignatures = pinned, cosignatures
        self.acked: dict[str, int] = {}  # the size each peer last recorded of this node's log
        self.answers: dict[int, str | None] = {}  # own seq -> whose entry it answers
        self.material: dict[tuple[int, int], Material] = {}  # what leads to the newest size
        self.no_push: set[str] = set()  # peers that answered 404 to a push

    async def loop(self, party: str) -> None:
        """Announce every growth of the published log to ``party``, until cancelled."""
        acked: int | None = None
        sent = -1
        failures = 0
        pending_since: float | None = None  # when a growth not yet announced was first seen
        while True:
            grew = self.feed.growth()
            latest = self.feed.published()
            if latest is not None and latest[0] != sent:
                if pending_since is None:
                    pending_since = time.monotonic()
                waited = time.monotonic() - pending_since
                if waited < LAZY_S and not await self._concerns(party, sent, latest[0]):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(grew.wait(), timeout=LAZY_S - waited)
                    continue
                try:
                    acked = await self.announce(party, latest, acked)
                    self.acked[party] = acked
                    sent, failures, pending_since = latest[0], 0, None
                except ParleyError as exc:
                    failures += 1
                    delay = min(2.0 ** (failures - 1), ANNOUNCE_RETRY_MAX_S)
                    log.info("announcing to %s failed (%s); retry in %.0f s", party, exc, delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(grew.wait(), timeout=delay)
                    continue
            await grew.wait()

    async def reannounce(self, party: str, latest: Latest) -> None:
        """Submit ``latest`` to ``party`` once more from ``old 0``; a failure is only logged."""
        try:
            await self.announce(party, latest, None)
        except ParleyError as exc:
            log.info("re-announcing to %s failed: %s", party, exc)

    async def announce(self, party: str, latest: Latest, acked: int | None) -> int:
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
        client = await self.clients.announcing(peer)
        for _attempt in range(3):
            proof, stored = await self._material(old, size)
            path, body = "/fed/v1/add-checkpoint", submission.build_body(old, proof, note)
            if known and stored is not None and party not in self.no_push:
                pushed = push.build_body(body, stored, party)
                if len(pushed) <= push.PUSH_MAX_BYTES:
                    path, body = "/fed/v1/push", pushed
            response = await peer_client.post(client, path, body, where=party)
            if response.status_code == 200:
                self.cosignatures.add(party, note, response.text)
                return size
            media = response.headers.get("content-type", "")
            if response.status_code == 409 and media.startswith(SIZE_MEDIA_TYPE):
                recorded = int(response.text.strip() or "0")
                if recorded > size:
                    raise ParleyError(f"{party} records {recorded} entries of a log of {size}")
                old, known = recorded, True
                continue
            if (
                response.status_code == 404
                and path == "/fed/v1/push"
                and not media.startswith("application/problem+json")
            ):
                self.no_push.add(party)  # a node without the push route: plain submissions
                continue
            raise ParleyError(
                f"{party} refused the checkpoint: {response.status_code} {response.text[:200]}"
            )
        raise ParleyError(f"{party} kept answering 409 to the checkpoint of size {size}")

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
            material = ((old, size), read_material(self.node, old, size))
        return HandOver(latest, {header.seq: answered for header in receipts}, material)

    def handed_over(self, hand_over: HandOver) -> None:
        """On the event loop: publish a growth prepared by ``prepare_hand_over``."""
        self.answers.update(hand_over.answers)
        if hand_over.material is not None:
            self._keep_material(*hand_over.material)
        if self.feed.publish is None:
            self.feed.poke()
        else:
            self.feed.publish(hand_over.latest)

    async def _concerns(self, party: str, sent: int, size: int) -> bool:
        """Whether this node's entries ``sent <= seq < size`` should reach ``party`` at once."""
        if sent < 0 or size - sent > URGENT_SPAN or size < sent:
            return True
        missing = [seq for seq in range(sent, size) if seq not in self.answers]
        if missing:
            found = await anyio.to_thread.run_sync(self._answered, missing[0], missing[-1] + 1)
            if len(self.answers) > 16 * URGENT_SPAN:
                self.answers.clear()
            self.answers.update(found)
        return any(self.answers.get(seq, party) in (None, party) for seq in range(sent, size))

    def _answered(self, start: int, end: int) -> dict[int, str | None]:
        with self.node.store.read() as conn:
            answered = receipts.answered_parties(conn, self.node.party, start, end)
        return dict(zip(range(start, start + len(answered)), answered, strict=True))

    async def _material(self, old: int, size: int) -> Material:
        """The consistency proof ``old`` -> ``size``, and the entries between if few (cached)."""
        found = self.material.get((old, size))
        if found is None:
            found = await anyio.to_thread.run_sync(read_material, self.node, old, size)
            self._keep_material((old, size), found)
        return found

    def _keep_material(self, key: tuple[int, int], found: Material) -> None:
        if all(done != key[1] for _old, done in self.material):
            self.material.clear()  # keep what leads to the newest size only
        self.material[key] = found
