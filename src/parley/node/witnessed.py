"""Witnessed time as this node judges it (protocol s6.1; DESIGN.md, Deadlines, time and compliance).

The witnessed time of an entry is the k-th earliest cosignature time, from distinct third
parties whose witness keys the network policy names, on a checkpoint that contains the entry (k
from the policy; at k = 0, the time of the first checkpoint that contains it). This module knows
which witness keys this node recognises (its own, its pinned peers', the external witnesses an
administrator added) and reads the cosignatures the store holds; the deadline clocks, the
compliance figures and evidence bundles all take their times from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from parley.core.checkpoint import (
    SIGNATURE_COSIGNATURE_V1,
    VerifierKey,
    deployment_origin,
    origin_for,
    parse_vkey,
    witness_name_for,
)
from parley.core.errors import VerificationError
from parley.core.policy import PolicyDocument
from parley.node.node import Node
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store import witnessing as rows


@dataclass(frozen=True)
class WitnessKey:
    """A witness this node recognises: a member node (``party``) or an external witness."""

    name: str
    key: bytes
    party: str | None
    named_by_policy: bool

    def counts_for(self, log_party: str) -> bool:
        """Whether its cosignatures count toward the quorum on ``log_party``'s log."""
        return self.named_by_policy and self.party != log_party


def witness_keys(node: Node, conn: Connection, policy: PolicyDocument) -> dict[str, WitnessKey]:
    """Every witness key this node can check: its own, its pinned peers', external ones."""
    members = {m.party for m in policy.members}
    own = node.log.key("witness").public.raw
    mine = witness_name_for(node.log.origin)
    keys = {mine: WitnessKey(mine, own, node.party, True)}
    for peer in peer_rows.list_pinned(conn):
        name = member_witness_name(conn, node.network, peer.party)
        key = peer.statement.purposes["witness"].raw
        keys[name] = WitnessKey(name, key, peer.party, peer.party in members)
    named = {w.vkey for w in policy.witnesses}
    for external in rows.list_external(conn):
        parsed = cosigner_key(external.vkey)
        if parsed is None:
            continue  # added before 'witness add' checked the type: it verifies nothing
        keys[parsed.name] = WitnessKey(parsed.name, parsed.public_key, None, external.vkey in named)
    return keys


def member_witness_name(conn: Connection, network: str, party: str) -> str:
    """The key name member ``party`` cosigns under: the rule of its log's origin (s6.1).

    The origin its checkpoints held here carry; before any is held, the deployment origin of
    the first identity of its pinned key statement (a pin starts at the first statement), or,
    for a party not pinned, the legacy origin.
    """
    held = logs.latest_checkpoint(conn, party)
    if held is not None:
        return witness_name_for(held[1].split("\n", 1)[0])
    peer = peer_rows.find_peer(conn, party)
    if peer is None:
        return witness_name_for(origin_for(network, party))
    kid = peer.statement.identity.kid
    return witness_name_for(deployment_origin(network, party, kid))


def cosigner_key(text: str) -> VerifierKey | None:
    """An external witness's vkey if it is an Ed25519 ``cosignature/v1`` key (type 0x04).

    Only that type counts (protocol s6.1): its key ID is computed over 0x04, and a line counts
    only under that (name, key ID). A vkey of another type names no cosignature this node can
    check, so it verifies nothing.
    """
    try:
        parsed = parse_vkey(text)
    except VerificationError:
        return None
    return parsed if parsed.signature_type == SIGNATURE_COSIGNATURE_V1 else None


def witnessed_time(
    node: Node, conn: Connection, party: str, seq: int, policy: PolicyDocument
) -> int | None:
    """Witnessed time (ms) of entry ``seq`` of ``party``'s log, or None while under quorum."""
    k = policy.witness_quorum
    if k == 0:
        first = logs.first_checkpoint_after(conn, party, seq)
        return None if first is None else first[1]
    counted = [w.name for w in witness_keys(node, conn, policy).values() if w.counts_for(party)]
    times = rows.earliest_times(conn, party, seq, counted)
    return times[k - 1] if len(times) >= k else None
