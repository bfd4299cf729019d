"""Gossip: nodes compare the checkpoints they have cosigned, so no log can show two histories.

Every witnessing interval the server asks each pinned peer P for:

* ``GET /fed/v1/checkpoint``: P's latest checkpoint with the cosignatures P gathered. Each
  cosignature by a witness this node knows is verified and kept (they make P's entries'
  witnessed times computable here).
* ``GET /fed/v1/witnessed/<X>`` for every other log X this node holds: the checkpoint of X that
  P last cosigned. X's signature is checked with the key pinned for X here; P's cosignature is
  kept; and the checkpoint is compared with the tree of X held here
  (``witnessing.find_fork``). A contradiction is equivocation, recorded with its evidence.

Answers that do not verify are skipped and reported; only checkpoints signed by X's own log
key can ever become evidence against X.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from parley.core.checkpoint import Checkpoint, open_checkpoint, origin_for
from parley.core.errors import ParleyError, VerificationError
from parley.node import peers, witnessing
from parley.node.fedauth import RequestSigner
from parley.node.fedclient import http_client
from parley.node.node import Node, now_ms
from parley.store import witnessing as rows

log = logging.getLogger("parley.witnessing")

MAX_NOTE = 64 * 1024


@dataclass
class GossipReport:
    cosignatures: int = 0
    equivocations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _note(client: httpx.Client, path: str) -> str | None:
    response = client.get(path)
    if response.status_code == 404:
        return None
    if response.status_code != 200 or len(response.content) > MAX_NOTE:
        raise ParleyError(f"{path} answered {response.status_code}")
    return response.text


def _log_keys(node: Node) -> dict[str, bytes]:
    """The log key pinned for every log this node holds (its own included)."""
    keys = {p.party: p.log_key.raw for p in peers.list_peers(node.store)}
    keys[node.party] = node.log.key("log").public.raw
    return keys


def consider(node: Node, party: str, note: str, log_key: bytes, source: str) -> GossipReport:
    """Verify a (cosigned) checkpoint of ``party``, keep its cosignatures, look for a fork."""
    report = GossipReport()
    checkpoint: Checkpoint = open_checkpoint(note, origin_for(node.network, party), log_key)
    with node.store.write() as conn:
        policy = node.policy_in(conn)
        _checked, stored = witnessing.store_cosigned_note(node, conn, party, note, log_key, policy)
        report.cosignatures += stored
        if party == node.party or rows.list_equivocations(conn, party):
            return report  # our own log: nothing to hold; a known equivocator: already held
        found = witnessing.find_fork(conn, party, checkpoint, note)
        if found is not None:
            evidence = witnessing.evidence_with_key(found, log_key)
            witnessing.record_equivocation(node, conn, evidence, source, now_ms())
            report.equivocations.append(party)
    return report


def gossip_with(node: Node, peer: peers.Peer, signer: RequestSigner) -> GossipReport:
    """One round of gossip with one peer (see the module docstring)."""
    report = GossipReport()
    keys = _log_keys(node)
    with http_client(peer.url, peer.tls_spki, signer) as client:
        paths = {peer.party: "/fed/v1/checkpoint"}
        paths.update({x: f"/fed/v1/witnessed/{x}" for x in keys if x != peer.party})
        for party, path in paths.items():
            try:
                note = _note(client, path)
                if note is None:
                    continue
                found = consider(node, party, note, keys[party], f"gossip from {peer.party}")
            except (httpx.HTTPError, ParleyError, VerificationError) as exc:
                report.problems.append(f"{peer.party}{path}: {exc}")
                continue
            report.cosignatures += found.cosignatures
            report.equivocations += found.equivocations
    return report
