"""What a failed verification proves, and against whom (DESIGN.md, Federation; docs/security.md).

A mirror serves another party's log; the author's signatures make its copy as good as the
original, and nothing else the mirror says counts. So a failure is judged by what is signed:

* **A mirror that serves what the author did not sign** (a consistency proof that does not
  verify, an entry or checkpoint whose signature fails, entries that do not reproduce the
  signed root) is condemned, never the author: ``condemn`` appends a signed ``observation`` of
  type ``bad-mirror`` naming the mirror and the log it served, and the pull tries the next
  source. The same failure of one mirror for one log is observed once per process, so a
  mirror that keeps failing does not fill the log.
* **A fork is established by recomputation from the author's signatures alone**: a checkpoint
  signed by the author whose root differs from the held tree at its size (that tree was built
  from the author's signed entries and proven against its earlier signed checkpoints), or a
  larger one whose proof leads to its signed root from another root at the held size.
  ``record_fork`` turns it into self-contained equivocation evidence (two checkpoints signed by
  the author's log key, ``parley.core.equivocation``), appends the ``evidence`` entry and holds
  the author. Without such evidence nobody is held: a failure is recorded and retried.
"""

from __future__ import annotations

import threading

from parley.core import equivocation
from parley.core.bodies import validate_body
from parley.core.checkpoint import claimed_checkpoint
from parley.core.entry import ALL
from parley.core.errors import EquivocationError, VerificationError
from parley.node.federation import witnessing
from parley.node.log import Draft
from parley.node.node import Node

BAD_MIRROR = "bad-mirror"
_OBSERVED_LIMIT = 4096
_observed: set[tuple[str, str, str, str]] = set()
_observed_lock = threading.Lock()


def bad_mirror(mirror: str, log: str, detail: str) -> Draft:
    """The ``observation`` that ``mirror`` served ``log`` with something its author did not sign."""
    body = {"type": BAD_MIRROR, "party": mirror, "log": log, "detail": detail[:1000]}
    validate_body("observation", body)
    return Draft("observation", "Actual", body, ALL, "GREEN")


def condemn(node: Node, mirror: str, log: str, detail: str, now: int) -> bool:
    """Append a ``bad-mirror`` observation about ``mirror``; False if this one was observed."""
    key = (node.party, mirror, log, detail)
    with _observed_lock:
        if key in _observed:
            return False
        if len(_observed) >= _OBSERVED_LIMIT:
            _observed.clear()
        _observed.add(key)
    with node.store.write() as conn:
        node.log.append_in(conn, [bad_mirror(mirror, log, detail)], now)
    return True


def record_fork(node: Node, party: str, fork: EquivocationError, now: int) -> int | None:
    """Record the evidence of ``fork`` and hold ``party``; the seq of the ``evidence`` entry.

    None when no evidence can be built (no held checkpoint to set against it), or when this
    node already holds evidence against ``party``: then nobody is newly held.
    """
    if fork.note is None or fork.log_key is None:
        return None
    checkpoint = claimed_checkpoint(fork.note)  # its signature was verified before the raise
    with node.store.write() as conn:
        found = fork.evidence or witnessing.find_fork(conn, party, checkpoint, fork.note)
        if found is None:
            return None
        assert isinstance(found, equivocation.Evidence)  # noqa: S101 - set by ingest
        evidence = witnessing.evidence_with_key(found, fork.log_key)
        try:
            return witnessing.record_equivocation(node, conn, evidence, f"pull of {party}", now)
        except VerificationError:
            return None  # the two notes are not under one log key: no self-contained evidence
