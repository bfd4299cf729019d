"""What this node sends to a witness about its own log: submissions and pushes.

A submission is C2SP tlog-witness's ``add-checkpoint`` body (``submission.build_body``): the
size the witness recorded, a consistency proof from it, and the newest checkpoint. A push
(``/fed/v1/push``, to a pinned peer only) is the same submission with the entries it adds,
bodies only where the peer may read them (``items.entry_item``), for a growth of at most
``push.PUSH_MAX_ENTRIES``. A witness that recorded another size answers 409 with it, in the
media type ``SIZE_MEDIA_TYPE``.
"""

from __future__ import annotations

from parley.core import merkle
from parley.core.errors import ParleyError
from parley.node.federation import push, submission
from parley.node.node import Node
from parley.node.runtime.port import Material
from parley.store import logs

SIZE_MEDIA_TYPE = "text/x.tlog.size"


def consistency_proof(node: Node, old: int, size: int) -> list[bytes]:
    """The consistency proof ``old`` -> ``size`` of this node's log (RFC 9162 2.1.4)."""
    with node.store.read() as conn:
        return merkle.consistency_proof(
            old, size, lambda ids: logs.get_nodes(conn, node.party, ids)
        )


def read_material(node: Node, old: int, size: int) -> Material:
    """The consistency proof ``old`` -> ``size`` of this node's log, and the entries between.

    The entries only if a push can carry them (at most ``push.PUSH_MAX_ENTRIES``).
    """
    with node.store.read() as conn:
        proof = merkle.consistency_proof(
            old, size, lambda ids: logs.get_nodes(conn, node.party, ids)
        )
        few = 0 < size - old <= push.PUSH_MAX_ENTRIES
        return proof, logs.get_range(conn, node.party, old, size) if few else None


def growth_push(node: Node, old: int, reader: str) -> bytes:
    """The push of this node's entries from ``old`` to its newest checkpoint, for ``reader``."""
    latest = node.checkpoint()
    if latest is None:
        raise ParleyError(f"{node.party} has no checkpoint yet")
    size, note = latest
    proof, stored = read_material(node, old, size)
    if stored is None:
        limit = push.PUSH_MAX_ENTRIES
        raise ParleyError(f"a push carries 1 to {limit} entries, not {size - old}")
    return push.build_body(submission.build_body(old, proof, note), stored, reader)
