"""No silent death: every background job runs under ``watch``.

A job that raises, or returns while its worker still leads, is logged with its reason and
recorded in ``FailedJobs`` (``app.state.failed_jobs``); a recorded failure turns
``GET /fed/v1/node/health`` red until the process restarts. A cancelled job (its worker stopped
leading, or the server stops) is not a failure.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from parley.node.node import now_ms

log = logging.getLogger("parley.workers")


@dataclass(frozen=True)
class FailedJob:
    """A background job that died: which, why, and when (ms)."""

    job: str
    reason: str
    at: int


@dataclass
class FailedJobs:
    """The background jobs of this process that died; any one turns the node's health red."""

    failed: list[FailedJob] = field(default_factory=list)

    def record(self, job: str, reason: str) -> None:
        """Log that ``job`` died and keep it (the last 20) for the health report."""
        log.error("background job %s died: %s; the node's health is red", job, reason)
        self.failed = [*self.failed[-19:], FailedJob(job, reason, now_ms())]

    def report(self) -> dict[str, Any]:
        """``{"status": "ok" | "failing", "failed_jobs": [...]}``."""
        return {
            "status": "failing" if self.failed else "ok",
            "failed_jobs": [asdict(job) for job in self.failed],
        }


def watch(task: asyncio.Task[None], job: str, failed: FailedJobs) -> asyncio.Task[None]:
    """Record ``task`` in ``failed`` if it raises or returns; a cancelled task is not a failure."""

    def done(finished: asyncio.Task[None]) -> None:
        if finished.cancelled():
            return
        exc = finished.exception()
        if exc is None:
            failed.record(job, "it returned; it should run until the worker stops leading")
        else:
            log.error("background job %s raised", job, exc_info=exc)
            failed.record(job, f"{type(exc).__name__}: {exc}")

    task.add_done_callback(done)
    return task
