"""The log endpoints, shaped like RFC 6962 s4, written once for every log this node serves.

``log_router`` builds the four RFC 6962-shaped routes (``get-sth``, ``get-sth-consistency``,
``get-proof-by-hash``, ``get-entries``) over a ``ServedLog`` that a dependency resolves, and
``router`` mounts them twice (docs/protocol.md s8, s8.2):

* at ``/fed/v1/...`` for the node's own log (``own_log``): the checkpoint the server has
  published (refreshed by the log watcher);
* at ``/fed/v1/mirror/<party>/...`` for any log the node holds, a peer's or its own
  (``mirrored_log``): the latest stored checkpoint whose whole tree is held.

Beside them, ``/fed/v1/public-key`` serves the node's own keys. Hashes are standard base64 as in
RFC 6962. ``leaf_input`` is the exact signed-header bytes whose SHA-256 after a 0x00 byte is the
leaf hash. Bodies (with their salts) are served only where the caller may read them
(``items.entry_item``, DESIGN.md invariant 4): an authenticated peer in the audience, and anyone
for audience ALL with TLP:CLEAR. Proofs are read from stored subtree hashes, in one read
snapshot with the checkpoint they prove against; every request is bounded (``MAX_ENTRIES``).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import Connection

from parley.api.peer_auth import caller_party
from parley.core import merkle
from parley.core.checkpoint import claimed_checkpoint, vkey
from parley.core.entry import PARTY_RE
from parley.core.errors import NotFoundError, ProofRequestError
from parley.core.keys import b64, fingerprint
from parley.node.federation.items import entry_item
from parley.node.node import Node
from parley.store import logs

MAX_ENTRIES = 1000
PartyPath = Annotated[str, Path(pattern=PARTY_RE.pattern)]
Head = tuple[int, str]  # a checkpoint's tree size and its signed note


@dataclass(frozen=True)
class ServedLog:
    """One log as the RFC 6962 routes serve it: whose it is, and the checkpoint they answer by.

    ``head`` gives the checkpoint every answer is bounded by, read in the route's snapshot, or
    raises ``NotFoundError`` when there is none to serve.
    """

    node: Node
    party: str
    head: Callable[[Connection], Head]

    def nodes(self, conn: Connection) -> merkle.GetNodes:
        """The log's stored subtree hashes, read in the route's snapshot, to build proofs from."""
        return functools.partial(logs.get_nodes, conn, self.party)


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def current_sth(request: Request) -> Head:
    """The checkpoint the server has published (refreshed by the log watcher)."""
    published: Head | None = request.app.state.published
    if published is None:
        raise NotFoundError("this node has no checkpoint yet")
    return published


def held_checkpoint(conn: Connection, party: str) -> Head:
    """The latest checkpoint of ``party`` whose whole tree this node holds."""
    state = logs.get_state(conn, party)
    latest = None if state is None else logs.latest_checkpoint_within(conn, party, state.size)
    if latest is None:
        raise NotFoundError(f"this node holds no checkpoint of {party}'s log")
    return latest


def own_log(request: Request) -> ServedLog:
    """Dependency: the node's own log, answered by the checkpoint the server published."""
    node = _node(request)
    return ServedLog(node, node.party, lambda _conn: current_sth(request))


def mirrored_log(request: Request, party: PartyPath) -> ServedLog:
    """Dependency: the log of ``party`` as this node holds it (a mirror; s8.2)."""
    return ServedLog(_node(request), party, lambda conn: held_checkpoint(conn, party))


def sth_answer(conn: Connection, party: str, note: str) -> dict[str, Any]:
    """``get-sth``: the checkpoint as JSON, ``timestamp`` being the log's time at it.

    That is the legacy ``time`` line, or the signed time of its last entry (0 when empty):
    protocol s6 and s8.
    """
    checkpoint = claimed_checkpoint(note)
    timestamp = checkpoint.time_ms
    if timestamp is None:
        timestamp = logs.checkpoint_time(conn, party, checkpoint.size) or 0
    return {
        "tree_size": checkpoint.size,
        "timestamp": timestamp,
        "sha256_root_hash": b64(checkpoint.root),
        "checkpoint": note,
    }


def _leaf_hash(text: str) -> bytes:
    try:
        leaf_hash = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ProofRequestError("hash: not valid base64") from exc
    if len(leaf_hash) != merkle.HASH_SIZE:
        raise ProofRequestError(f"hash: expected {merkle.HASH_SIZE} bytes")
    return leaf_hash


def log_router(served: Callable[..., ServedLog]) -> APIRouter:
    """The four RFC 6962 s4-shaped routes over the log that the dependency ``served`` resolves.

    Every answer is bounded by ``ServedLog.head``, read in the same snapshot as the proof or the
    entries; parameters that need no state (the hash) are checked before it is read.
    """
    routes = APIRouter()
    resolved = Depends(served)  # a default, not Annotated: the annotations are strings here

    @routes.get("/get-sth")
    def get_sth(log: ServedLog = resolved) -> dict[str, Any]:
        """The log's checkpoint (a C2SP signed note) with its size, root and time as JSON."""
        with log.node.store.read() as conn:
            _size, note = log.head(conn)
            return sth_answer(conn, log.party, note)

    @routes.get("/get-sth-consistency")
    def get_sth_consistency(
        first: Annotated[int, Query(ge=0)],
        second: Annotated[int, Query(ge=0)],
        log: ServedLog = resolved,
    ) -> dict[str, Any]:
        """A consistency proof between tree sizes ``first`` and ``second`` (RFC 9162 s2.1.4)."""
        with log.node.store.read() as conn:
            size, _note = log.head(conn)
            if first > second or second > size:
                raise ProofRequestError(
                    f"first={first}, second={second}: need 0 <= first <= second <= tree size {size}"
                )
            proof = merkle.consistency_proof(first, second, log.nodes(conn))
        return {"consistency": [b64(h) for h in proof]}

    @routes.get("/get-proof-by-hash")
    def get_proof_by_hash(
        hash: Annotated[str, Query(min_length=44, max_length=44)],  # noqa: A002 - RFC 6962 name
        tree_size: Annotated[int, Query(ge=1)],
        log: ServedLog = resolved,
    ) -> dict[str, Any]:
        """The inclusion proof of the leaf with ``hash`` in the tree of ``tree_size`` (s2.1.3)."""
        leaf_hash = _leaf_hash(hash)
        with log.node.store.read() as conn:
            size, _note = log.head(conn)
            if tree_size > size:
                raise ProofRequestError(f"tree_size={tree_size} exceeds the tree size {size}")
            stored = logs.find_by_leaf_hash(conn, log.party, leaf_hash)
            if stored is None or stored.seq >= tree_size:
                raise NotFoundError(f"no leaf with that hash in the first {tree_size} entries")
            path = merkle.inclusion_proof(stored.seq, tree_size, log.nodes(conn))
        return {"leaf_index": stored.seq, "audit_path": [b64(h) for h in path]}

    @routes.get("/get-entries")
    def get_entries(
        request: Request,
        start: Annotated[int, Query(ge=0)],
        end: Annotated[int, Query(ge=0)],
        log: ServedLog = resolved,
    ) -> dict[str, Any]:
        """Entries ``start..end`` inclusive (at most ``MAX_ENTRIES``), bodies for their readers."""
        with log.node.store.read() as conn:
            size, _note = log.head(conn)
            if start > end or start >= size:
                raise ProofRequestError(
                    f"start={start}, end={end}: need 0 <= start <= end and start < tree size {size}"
                )
            last = min(end, size - 1, start + MAX_ENTRIES - 1)
            rows = logs.get_range(conn, log.party, start, last + 1)
        reader = caller_party(request)
        return {"entries": [entry_item(stored, reader) for stored in rows]}

    return routes


router = APIRouter(prefix="/fed/v1")
router.include_router(log_router(own_log))
router.include_router(log_router(mirrored_log), prefix="/mirror/{party}")


@router.get("/public-key")
def public_key(request: Request) -> dict[str, Any]:
    """The node's party, network, origin and keys: what a peer pins (own log only)."""
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
