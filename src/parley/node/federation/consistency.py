"""Whether a signed checkpoint extends the tree head held here (RFC 9162 s2.1.4).

The one check of a held tree against a checkpoint, used by the witness (``submission``: the
latest checkpoint it recorded) and by ingest (``ingest.verify_target``: the tree it stores).
Pure: the caller reads what it holds and passes it in. The checkpoint's signature has been
verified by the caller, so:

* at an equal size, another root is equivocation (``EquivocationError``): the author's log key
  signed two histories (what is held was proven against the author's signed checkpoints);
* at a larger size, the RFC 9162 s2.1.2 consistency proof from the held size must verify; a
  proof that fails is a ``BadProofError``, the fault of whoever served it (a proof is not
  signed). Only the caller can tell whether the failed proof pins another signed history.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.core import merkle
from parley.core.checkpoint import Checkpoint
from parley.core.errors import BadProofError, EquivocationError, VerificationError


def check_consistency(
    size: int,
    root: bytes,
    checkpoint: Checkpoint,
    proof: Sequence[bytes] | None,
    *,
    party: str,
    note: str | None = None,
    log_key: bytes | None = None,
) -> None:
    """Check that ``checkpoint`` (signature verified) extends the held tree head (size, root).

    ``checkpoint.size`` must be at least ``size``; with ``proof`` None a larger checkpoint is
    left unjudged (its entries will have to reproduce its root). ``note`` and ``log_key`` name
    the checkpoint in an ``EquivocationError``.
    """
    if checkpoint.size < size:
        raise ValueError(f"a checkpoint of size {checkpoint.size} is below the held {size}")
    if checkpoint.size == size:
        if checkpoint.root != root:
            raise EquivocationError(
                f"{party} signed a checkpoint of size {size} whose root differs from the one "
                "held here: two histories of one log",
                note=note,
                log_key=log_key,
            )
        return
    if size == 0 or proof is None:
        return
    try:
        merkle.verify_consistency(size, checkpoint.size, root, checkpoint.root, proof)
    except VerificationError as exc:
        raise BadProofError(
            f"the consistency proof from the {size} entries held here to {party}'s checkpoint "
            f"of size {checkpoint.size} does not verify: {exc.message}"
        ) from exc
