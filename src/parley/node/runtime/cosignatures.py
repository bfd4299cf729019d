"""The cosignature batcher: the pinned peers' answers to announcements, verified and kept.

Keeping a cosignature is no part of a delivery: the announcer queues each answer (``add``) and
moves on; a batch of every answer of ``KEEP_S`` costs one read of the witness keys and one
transaction (``witnessing.keep_answers``). A bad cosignature is logged; the wake-up still
happened. (A peer that rotated its witness key answers with a key this node learns only from
its next key statement.) What is queued when the jobs stop is kept on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import anyio

from parley.core.errors import ParleyError
from parley.node.federation import witnessing
from parley.node.node import Node

log = logging.getLogger("parley.federation")

KEEP_S = 0.2  # peers' cosignatures are verified and kept in batches, at most this much later


class CosignatureBatcher:
    """Job, on the leader while it leads: verifies and keeps queued cosignatures in batches."""

    name = "cosignatures"

    def __init__(self, node: Node) -> None:
        self.node = node
        self.unkept: list[witnessing.Answer] = []  # peers' cosignatures still to keep
        self.answered = asyncio.Event()

    def add(self, party: str, note: str, answer: str) -> None:
        """Queue ``party``'s answer to this node's submission of ``note``."""
        self.unkept.append(witnessing.Answer(note, answer, party, by_party=True))
        self.answered.set()

    async def run(self) -> None:
        """Keep a batch at most ``KEEP_S`` after its first answer came, until cancelled."""
        try:
            while True:
                await self.answered.wait()
                await asyncio.sleep(KEEP_S)
                self.answered.clear()
                answers, self.unkept = self.unkept, []
                await anyio.to_thread.run_sync(self.keep, answers)
        finally:
            answers, self.unkept = self.unkept, []
            with contextlib.suppress(Exception):
                await anyio.to_thread.run_sync(self.keep, answers)

    def keep(self, answers: list[witnessing.Answer]) -> None:
        """Verify and keep ``answers`` in one transaction; log those refused."""
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
