"""Evidence bundles: an entry with its receipts, proofs, cosigned checkpoints and key histories.

``build_bundle`` writes the document of docs/protocol.md (Evidence bundles) from what this node
holds; ``parley.core.bundle`` verifies it with no node. Every part is an entry proof (the same
format as ``parley log proof``) whose checkpoint note carries the cosignature lines held here:

* ``entry``: the entry, with body and salt where this node holds them (unless left out, or
  the reader's clearance does not cover its TLP: then it travels as ``with_body=False``);
* ``receipts``: every receipt about it this node holds whose leaf hash matches, with bodies;
* ``keys``: the latest key entry of every member log held here, proven in its latest
  checkpoint, so a verifier learns each member's ``witness`` keys.

Which checkpoint proves an entry decides its witnessed time: the smallest held checkpoint that
contains it and carries k cosignatures counted for its log (other members and the policy's
external witnesses; k is the policy's ``witness_quorum``). Short of k, the smallest with the
most; without any, the smallest that contains it. With k = 0, the smallest that contains it.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Connection

from parley.core import merkle
from parley.core.bundle import BUNDLE_FORMAT
from parley.core.checkpoint import add_signature_lines, parse_vkey
from parley.core.entry import Body, format_ref, parse_ref
from parley.core.errors import NotFoundError
from parley.core.policy import PolicyDocument
from parley.core.proof import PROOF_FORMAT
from parley.node.access import withheld_from
from parley.node.export import entry_record
from parley.node.node import Node
from parley.node.witnessed import member_witness_name
from parley.store import logs
from parley.store import receipts as receipt_rows
from parley.store import witnessing as rows


def build_bundle(
    node: Node,
    ref: str,
    *,
    with_body: bool = True,
    left_out: list[str] | None = None,
    clearance: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The evidence bundle of entry ``ref`` as this node holds it.

    Without the body (``with_body=False``) the entry travels header-only, and so does no word of
    what anybody wrote about it: a receipt carrying an acknowledgement's reply text is left out
    (its reference is appended to ``left_out``), because a receipt proves its link to the entry
    only with its body. Delivered receipts, and acknowledgements without a reply, stay. A
    reader whose ``clearance`` does not cover the entry's TLP always gets it without the body.
    """
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        stored = logs.get_entry(conn, party, seq)
        if stored is None:
            raise NotFoundError(f"entry {ref} is not held by this node", hint="'parley sync' first")
        with_body = with_body and withheld_from(clearance, stored.tlp) is None
        entry = _witnessed_proof(conn, stored, policy, with_body=with_body)
        answers = []
        for receipt in _receipts(conn, stored):
            if not with_body and _replies(receipt):
                if left_out is not None:
                    left_out.append(format_ref(receipt.party, receipt.seq))
                continue
            answers.append(_witnessed_proof(conn, receipt, policy, with_body=True))
        keys = [proof for m in policy.members if (proof := _key_proof(conn, m.party)) is not None]
    return {
        "format": BUNDLE_FORMAT,
        "v": 1,
        "ref": format_ref(party, seq),
        "entry": entry,
        "receipts": answers,
        "keys": keys,
    }


def _replies(receipt: logs.StoredEntry) -> bool:
    """Whether a held receipt's body carries an officer's reply text."""
    if receipt.body is None or receipt.salt is None:
        return False
    value = Body(receipt.salt, receipt.body).value()
    return isinstance(value, dict) and bool(value.get("reply"))


def _receipts(conn: Connection, stored: logs.StoredEntry) -> list[logs.StoredEntry]:
    """Receipts about ``stored`` held here, with bodies, naming its exact leaf hash."""
    found = receipt_rows.receipts_of_leaf(conn, stored.party, stored.seq, stored.leaf_hash)
    entries = [logs.get_entry(conn, by_party, seq) for by_party, seq in found]
    return [e for e in entries if e is not None and e.body is not None and e.salt is not None]


def _key_proof(conn: Connection, party: str) -> dict[str, Any] | None:
    """The latest key entry of ``party``'s log in its latest checkpoint, with cosignatures."""
    latest = logs.latest_checkpoint(conn, party)
    if latest is None:
        return None
    size = latest[0]
    statements = [e for e in logs.key_and_policy_entries(conn, party) if e.kind == "key"]
    inside = [e for e in statements if e.seq < size]
    if not inside:
        return None
    return _proof(conn, inside[-1], size, with_body=True)


def _witnessed_proof(
    conn: Connection, stored: logs.StoredEntry, policy: PolicyDocument, *, with_body: bool
) -> dict[str, Any]:
    size = _proving_size(conn, stored.party, stored.seq, policy)
    return _proof(conn, stored, size, with_body=with_body)


def _counted_witnesses(conn: Connection, policy: PolicyDocument, party: str) -> set[str]:
    """Witness names whose cosignatures count on ``party``'s log (mirrors ``witnessed_time``)."""
    names = {
        member_witness_name(conn, policy.network, m.party)
        for m in policy.members
        if m.party != party
    }
    return names | {parse_vkey(w.vkey).name for w in policy.witnesses}


def _proving_size(conn: Connection, party: str, seq: int, policy: PolicyDocument) -> int:
    """The size of the checkpoint whose cosignatures best bound the time of entry ``seq``."""
    state = logs.get_state(conn, party)
    held = 0 if state is None else state.size
    first = logs.first_checkpoint_after(conn, party, seq)
    if first is None or first[0] > held:
        raise NotFoundError(f"entry {format_ref(party, seq)} is not in a checkpoint held here")
    k = policy.witness_quorum
    if k == 0:
        return first[0]
    best = (0, first[0])  # (count, size)
    counted = _counted_witnesses(conn, policy, party)
    for size, count in rows.cosigned_sizes(conn, party, seq, counted):
        if size > held or logs.checkpoint_at(conn, party, size) is None:
            continue
        if count >= k:
            return size
        if count > best[0]:
            best = (count, size)
    return best[1]


def _proof(
    conn: Connection, stored: logs.StoredEntry, size: int, *, with_body: bool
) -> dict[str, Any]:
    """An entry proof of ``stored`` in the checkpoint of ``size``, with its cosignatures."""
    party = stored.party
    note = logs.checkpoint_at(conn, party, size)
    if note is None:
        raise NotFoundError(f"no checkpoint of size {size} of {party} held here")
    lines = [c.line for c in rows.cosignatures_at(conn, party, size)]

    def proved(item: logs.StoredEntry, body: bool) -> dict[str, Any]:
        record = entry_record(item, with_body=body)
        path = merkle.inclusion_proof(item.seq, size, lambda ids: logs.get_nodes(conn, party, ids))
        record["inclusion"] = [base64.b64encode(h).decode("ascii") for h in path]
        return record

    history = [e for e in logs.key_and_policy_entries(conn, party) if e.seq < size]
    return {
        "format": PROOF_FORMAT,
        "v": 1,
        "ref": format_ref(party, stored.seq),
        "checkpoint": add_signature_lines(note, lines) if lines else note,
        "entry": proved(stored, with_body),
        "history": [proved(e, True) for e in history],
    }


def key_history_parties(bundle: dict[str, Any]) -> list[str]:
    """The parties whose key history a bundle carries, sorted."""
    return sorted({proof["ref"].split(":")[0] for proof in bundle["keys"]})


def members_not_held(node: Node, bundle: dict[str, Any]) -> list[str]:
    """Members whose log this node does not hold, so the bundle lacks their key history.

    Their cosignatures will not count when the bundle is verified ('parley sync' first).
    """
    held = set(key_history_parties(bundle))
    return [m.party for m in node.context().policy.document.members if m.party not in held]
