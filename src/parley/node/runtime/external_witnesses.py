"""Submissions to the external witnesses an administrator added (``parley witness add``).

When this node's log grew, its newest checkpoint goes, with a consistency proof, to each C2SP
witness's ``add-checkpoint`` (unsigned: the witness is not a peer), and the cosignature it
answers is verified and kept (``witnessing.keep_answer``). The witness's 409 names the size it
recorded; the submission is made once more from there. A refused or failed submission is
retried after a delay that doubles with each failure in a row (from the witness interval up to
``EXTERNAL_BACKOFF_MAX_S``), not at every growth of the log; the reason and the delay are
recorded for ``parley witness list``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import anyio

from parley.core.checkpoint import parse_vkey
from parley.core.errors import ParleyError
from parley.node.federation import peer_client, submission, witnessing
from parley.node.node import Node
from parley.node.runtime.clients import PeerClients
from parley.node.runtime.port import Latest, LogFeed
from parley.node.runtime.submissions import SIZE_MEDIA_TYPE, consistency_proof
from parley.store import witnessing as witness_rows

log = logging.getLogger("parley.federation")

EXTERNAL_BACKOFF_MAX_S = 3600.0


class ExternalWitnesses:
    """Job, on the leader while it leads: submits each growth to every external witness."""

    name = "external witnesses"

    def __init__(self, node: Node, feed: LogFeed, clients: PeerClients, interval_s: float) -> None:
        self.node, self.feed, self.clients, self.interval_s = node, feed, clients, interval_s

    async def run(self) -> None:
        """Submit at each growth (and retry each interval) until cancelled."""
        acked: dict[str, int] = {}
        failing: dict[str, tuple[int, float]] = {}  # name -> (failures in a row, retry at)
        while True:
            grew = self.feed.growth()
            latest = self.feed.published()
            for witness in await anyio.to_thread.run_sync(self._externals):
                if latest is None or acked.get(witness.name) == latest[0]:
                    continue
                failures, retry_at = failing.get(witness.name, (0, 0.0))
                if time.monotonic() < retry_at:
                    continue
                try:
                    acked[witness.name] = await self.submit(witness, latest)
                    error = None
                    failing.pop(witness.name, None)
                except ParleyError as exc:
                    delay = min(EXTERNAL_BACKOFF_MAX_S, self.interval_s * 2**failures)
                    failing[witness.name] = (failures + 1, time.monotonic() + delay)
                    error = (
                        f"{str(exc)[:400]} (failed {failures + 1} times in a row; next "
                        f"attempt in {delay:.0f} s)"
                    )
                    log.info("external witness %s: %s", witness.name, error)
                await anyio.to_thread.run_sync(
                    self._record, witness.name, acked.get(witness.name), error
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(grew.wait(), timeout=self.interval_s)

    async def submit(self, witness: witness_rows.ExternalWitness, latest: Latest) -> int:
        """Submit ``latest`` to ``witness``; keep its cosignature; return the size it records."""
        size, note = latest
        old = witness.size if witness.size is not None and witness.size <= size else 0
        name = parse_vkey(witness.vkey).name
        async with self.clients.witness(witness.url) as http:
            for _attempt in range(2):
                proof = await anyio.to_thread.run_sync(consistency_proof, self.node, old, size)
                body = submission.build_body(old, proof, note)
                response = await peer_client.post(http, "/add-checkpoint", body, where=witness.url)
                if response.status_code == 200:
                    await anyio.to_thread.run_sync(
                        witnessing.keep_answer, self.node, note, response.text, name
                    )
                    return size
                recorded = response.text.strip()
                media = response.headers.get("content-type", "").split(";")[0]
                if (
                    response.status_code == 409
                    and media == SIZE_MEDIA_TYPE
                    and recorded.isascii()
                    and recorded.isdigit()
                ):
                    old = int(recorded)
                    continue
                raise ParleyError(
                    f"the witness refused the checkpoint of size {size}: "
                    f"{response.status_code} {response.text[:200].strip()}"
                )
        raise ParleyError(f"witness kept answering 409 to the checkpoint of size {size}")

    def _externals(self) -> list[witness_rows.ExternalWitness]:
        with self.node.store.read() as conn:
            return witness_rows.list_external(conn)

    def _record(self, name: str, size: int | None, error: str | None) -> None:
        with self.node.store.write() as conn:
            witness_rows.record_external(conn, name, size, error)
