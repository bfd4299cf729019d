"""Gossip: nodes compare the checkpoints they have cosigned, so no log can show two histories.

Every witnessing interval the server asks each pinned peer P for:

* ``GET /fed/v1/checkpoint``: P's latest checkpoint with the cosignatures P gathered. Each
  cosignature by a witness this node knows is verified and kept (they make P's entries'
  witnessed times computable here).
* ``GET /fed/v1/witnessed``: for every other log X this node holds, the checkpoint of X that
  P last cosigned. X's signature is checked with the key pinned for X here; P's cosignature is
  kept; and the checkpoint is compared with the tree of X held here
  (``witnessing.find_fork``). A contradiction is equivocation, recorded with its evidence.

Answers that do not verify are skipped and reported; only checkpoints signed by X's own log
key can ever become evidence against X.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from parley.core.checkpoint import Checkpoint, open_log_checkpoint
from parley.core.errors import ParleyError, VerificationError
from parley.node.federation import peer_client, peers, witnessing
from parley.node.federation.peer_client import ClientPool
from parley.node.node import Node, now_ms
from parley.store import witnessing as rows

log = logging.getLogger("parley.witnessing")

MAX_ANSWER = 1024 * 1024


@dataclass
class GossipReport:
    """What one round of gossip kept, found and could not check."""

    cosignatures: int = 0
    equivocations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _get(client: peer_client.Client, path: str, peer: str) -> peer_client.Response | None:
    """A peer's 200 answer to ``path`` within ``MAX_ANSWER``; None if it holds nothing (404)."""
    return peer_client.get(client, path, where=peer, absent=(404,), max_bytes=MAX_ANSWER)


def _log_keys(node: Node) -> dict[str, bytes]:
    """The log key pinned for every log this node holds (its own included)."""
    keys = {p.party: p.log_key.raw for p in peers.list_peers(node.store)}
    keys[node.party] = node.log.key("log").public.raw
    return keys


def consider(node: Node, party: str, note: str, log_key: bytes, source: str) -> GossipReport:
    """Verify a (cosigned) checkpoint of ``party``, keep its cosignatures, look for a fork.

    Gathered cosignatures are kept without a flush of their own (the next gossip round brings
    back any a power cut took); evidence of a fork is recorded durably.
    """
    report = GossipReport()
    checkpoint: Checkpoint = open_log_checkpoint(note, node.network, party, log_key)
    with node.store.write(durable=False) as conn:
        policy = node.policy_in(conn)
        _checked, stored = witnessing.store_cosigned_note(node, conn, party, note, log_key, policy)
        report.cosignatures += stored
        if party == node.party or rows.list_equivocations(conn, party):
            return report  # our own log: nothing to hold; a known equivocator: already held
        found = witnessing.find_fork(conn, party, checkpoint, note)
    if found is not None:
        with node.store.write() as conn:
            if rows.list_equivocations(conn, party):
                return report
            evidence = witnessing.evidence_with_key(found, log_key)
            witnessing.record_equivocation(node, conn, evidence, source, now_ms())
            report.equivocations.append(party)
    return report


class Gossip:
    """The gossip of one server: the peers' kept-alive clients and the notes already judged.

    A note seen unchanged from the same peer was verified and compared before; it is skipped,
    so an idle network gossips without writing anything.
    """

    def __init__(self, node: Node, pool: ClientPool) -> None:
        self.node = node
        self.pool = pool
        self.seen: dict[tuple[str, str], str] = {}

    def _notes(self, peer: peers.Peer, parties: set[str]) -> dict[str, str]:
        """The peer's cosigned checkpoint and what it cosigned of the other logs held here."""
        client = self.pool.client(peer.party, peer.url, peer.tls_spki)
        notes: dict[str, str] = {}
        own = _get(client, "/fed/v1/checkpoint", peer.party)
        if own is not None:
            notes[peer.party] = own.text
        witnessed = _get(client, "/fed/v1/witnessed", peer.party)
        listed = {} if witnessed is None else peer_client.answer_json(witnessed, peer.party)
        if not isinstance(listed, dict):
            raise VerificationError(f"{peer.party}: /fed/v1/witnessed is not an object")
        for party, note in listed.items():
            if party in parties and party != peer.party and isinstance(note, str):
                notes[party] = note
        return notes

    def round_with(self, peer: peers.Peer) -> GossipReport:
        """One round of gossip with one peer (see the module docstring)."""
        report = GossipReport()
        keys = _log_keys(self.node)
        try:
            notes = self._notes(peer, set(keys))
        except (ParleyError, ValueError) as exc:
            self.pool.drop(peer.party)
            report.problems.append(f"{peer.party}: {exc}")
            return report
        for party, note in notes.items():
            if self.seen.get((peer.party, party)) == note:
                continue
            try:
                found = consider(self.node, party, note, keys[party], f"gossip from {peer.party}")
            except (ParleyError, VerificationError) as exc:
                report.problems.append(f"{peer.party} on {party}: {exc}")
                continue
            self.seen[(peer.party, party)] = note
            report.cosignatures += found.cosignatures
            report.equivocations += found.equivocations
        return report
