"""The log endpoints, shaped like RFC 6962 s4, plus the node's public keys.

Hashes are standard base64 as in RFC 6962. ``leaf_input`` is the exact signed-header bytes whose
SHA-256 after a 0x00 byte is the leaf hash. Bodies (with their salts) are served only where the
caller may read them (``Header.readable_by``, via ``items.entry_item``): an authenticated peer in
the audience, and anyone for audience ALL with TLP:CLEAR. Proofs are read from stored subtree
hashes; every request is bounded.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from parley.api.peer_auth import caller_party
from parley.core import merkle
from parley.core.checkpoint import claimed_checkpoint, vkey
from parley.core.errors import NotFoundError, ProofRequestError
from parley.core.keys import fingerprint
from parley.node.federation.items import entry_item
from parley.node.node import Node
from parley.store import logs

MAX_ENTRIES = 1000
router = APIRouter(prefix="/fed/v1")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def current_sth(request: Request) -> tuple[int, str]:
    """The checkpoint the server has published (refreshed by the log watcher)."""
    published: tuple[int, str] | None = request.app.state.published
    if published is None:
        raise NotFoundError("this node has no checkpoint yet")
    return published


def sth_answer(node: Node, party: str, note: str) -> dict[str, Any]:
    """``get-sth``: the checkpoint as JSON, ``timestamp`` being the log's time at it.

    That is the legacy ``time`` line, or the signed time of its last entry (0 when empty):
    protocol s6 and s8.
    """
    checkpoint = claimed_checkpoint(note)
    timestamp = checkpoint.time_ms
    if timestamp is None:
        with node.store.read() as conn:
            timestamp = logs.checkpoint_time(conn, party, checkpoint.size) or 0
    return {
        "tree_size": checkpoint.size,
        "timestamp": timestamp,
        "sha256_root_hash": _b64(checkpoint.root),
        "checkpoint": note,
    }


@router.get("/get-sth")
def get_sth(request: Request) -> dict[str, Any]:
    _size, note = current_sth(request)
    node = _node(request)
    return sth_answer(node, node.party, note)


@router.get("/get-sth-consistency")
def get_sth_consistency(
    request: Request,
    first: Annotated[int, Query(ge=0)],
    second: Annotated[int, Query(ge=0)],
) -> dict[str, Any]:
    size, _note = current_sth(request)
    if first > second or second > size:
        raise ProofRequestError(
            f"first={first}, second={second}: need 0 <= first <= second <= tree size {size}"
        )
    node = _node(request)
    with node.store.read() as conn:
        proof = merkle.consistency_proof(
            first, second, lambda ids: logs.get_nodes(conn, node.party, ids)
        )
    return {"consistency": [_b64(h) for h in proof]}


@router.get("/get-proof-by-hash")
def get_proof_by_hash(
    request: Request,
    hash: Annotated[str, Query(min_length=44, max_length=44)],  # noqa: A002 - RFC 6962 name
    tree_size: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    size, _note = current_sth(request)
    if tree_size > size:
        raise ProofRequestError(f"tree_size={tree_size} exceeds the tree size {size}")
    try:
        leaf_hash = base64.b64decode(hash, validate=True)
    except ValueError as exc:
        raise ProofRequestError("hash: not valid base64") from exc
    if len(leaf_hash) != merkle.HASH_SIZE:
        raise ProofRequestError(f"hash: expected {merkle.HASH_SIZE} bytes")
    node = _node(request)
    with node.store.read() as conn:
        stored = logs.find_by_leaf_hash(conn, node.party, leaf_hash)
        if stored is None or stored.seq >= tree_size:
            raise NotFoundError(f"no leaf with that hash in the first {tree_size} entries")
        path = merkle.inclusion_proof(
            stored.seq, tree_size, lambda ids: logs.get_nodes(conn, node.party, ids)
        )
    return {"leaf_index": stored.seq, "audit_path": [_b64(h) for h in path]}


@router.get("/get-entries")
def get_entries(
    request: Request,
    start: Annotated[int, Query(ge=0)],
    end: Annotated[int, Query(ge=0)],
) -> dict[str, Any]:
    size, _note = current_sth(request)
    if start > end or start >= size:
        raise ProofRequestError(
            f"start={start}, end={end}: need 0 <= start <= end and start < tree size {size}"
        )
    last = min(end, size - 1, start + MAX_ENTRIES - 1)
    node = _node(request)
    with node.store.read() as conn:
        rows = logs.get_range(conn, node.party, start, last + 1)
    reader = caller_party(request)
    return {"entries": [entry_item(stored, reader) for stored in rows]}


@router.get("/public-key")
def public_key(request: Request) -> dict[str, Any]:
    node = _node(request)
    statement = node.context().statement
    origin = node.log.origin
    return {
        "party": node.party,
        "network": node.network,
        "origin": origin,
        "identity": statement.identity.b64,
        "identity_kid": statement.identity.kid,
        "fingerprint": fingerprint(statement.identity.raw),
        "keys": {name: key.b64 for name, key in statement.purposes.items()},
        "log_vkey": vkey(origin, statement.purposes["log"].raw),
    }
