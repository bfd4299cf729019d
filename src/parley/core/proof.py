"""Offline verification of one entry: its header, body, inclusion proof, checkpoint and keys.

An entry proof (docs/protocol.md, Entry proofs) holds the entry's leaf (and body, where the
holder may show it), its RFC 9162 inclusion proof in a checkpoint of the author's log, that
checkpoint, and the author's key and policy entries with their own inclusion proofs. A verifier
that holds nothing but (optionally) the author's pinned identity key checks that:

1. every key statement follows the one before it (pre-rotation) and is signed by its log key;
2. the checkpoint is signed by the log key in force at its last entry (key validity by seq);
3. the entry's header is signed by the log key in force at its seq and names that identity;
4. the entry and every history entry are included in the checkpoint's tree;
5. a body, if present, matches ``body_hash``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, open_log_checkpoint
from parley.core.entry import Body, Header, parse_header
from parley.core.errors import ParleyError, VerificationError
from parley.core.keys import KeyStatement, PublicKey

PROOF_FORMAT = "parley-entry-proof"


@dataclass(frozen=True)
class ProofReport:
    """What a verified entry proof shows: the entry, its body if any, the checkpoint, the key."""

    header: Header
    body: Any | None
    checkpoint: Checkpoint
    identity: PublicKey


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(f"{what}: missing or not base64 text")
    try:
        data = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise VerificationError(f"{what}: not valid base64") from exc
    if base64.b64encode(data).decode("ascii") != value:
        raise VerificationError(f"{what}: not canonical base64")
    return data


def _record(record: Any, what: str) -> tuple[Header, Body | None, list[bytes]]:
    if not isinstance(record, dict):
        raise VerificationError(f"{what}: expected an object")
    header = parse_header(_bytes(record.get("leaf"), f"{what} leaf"))
    body = None
    if record.get("body") is not None:
        body = Body(_bytes(record.get("salt"), f"{what} salt"), _bytes(record["body"], what))
        header.check_body(body)
    inclusion = record.get("inclusion")
    if not isinstance(inclusion, list):
        raise VerificationError(f"{what}: missing inclusion proof")
    return header, body, [_bytes(h, f"{what} inclusion") for h in inclusion]


def verify_entry_proof(doc: Any, *, pinned_identity: PublicKey | None = None) -> ProofReport:
    """Verify an entry proof document; raise ``VerificationError`` naming the failing part."""
    try:
        return _verify(doc, pinned_identity)
    except VerificationError:
        raise
    except ParleyError as exc:
        raise VerificationError(f"entry proof: {exc.message}") from exc


def _verify(doc: Any, pinned: PublicKey | None) -> ProofReport:
    if not isinstance(doc, dict) or doc.get("format") != PROOF_FORMAT or doc.get("v") != 1:
        raise VerificationError("not a Parley entry proof")
    note = doc.get("checkpoint")
    if not isinstance(note, str):
        raise VerificationError("entry proof: missing checkpoint")
    history = doc.get("history")
    if not isinstance(history, list) or not history:
        raise VerificationError("entry proof: missing key history")
    epochs: list[tuple[int, KeyStatement]] = []
    included: list[tuple[Header, list[bytes]]] = []
    for index, record in enumerate(history):
        header, body, path = _record(record, f"history[{index}]")
        included.append((header, path))
        if header.kind != "key":
            continue
        if body is None:
            raise VerificationError(f"{header.ref}: key statement without its body")
        statement = KeyStatement.from_body(body.value())
        if statement.party != header.party:
            raise VerificationError(f"{header.ref}: key statement names party {statement.party}")
        if statement.seq != header.seq:
            raise VerificationError(f"{header.ref}: key statement was signed for another seq")
        if not epochs:
            if header.seq != 0:
                raise VerificationError("entry proof: history does not start at seq 0")
            if pinned is not None and statement.identity != pinned:
                raise VerificationError(f"identity {statement.identity.kid} is not the pinned key")
        else:
            if header.seq <= epochs[-1][0]:
                raise VerificationError("entry proof: key history out of order")
            statement.check_follows(epochs[-1][1])
        epochs.append((header.seq, statement))
    header, body, path = _record(doc.get("entry"), "entry")
    included.append((header, path))
    first = included[0][0]

    def key_at(seq: int) -> KeyStatement:
        found = [s for start, s in epochs if start <= seq]
        if not found:
            raise VerificationError(f"no key statement in force at seq {seq}")
        return found[-1]

    size_hint = Checkpoint.parse_body(note[: note.find("\n\n") + 1].encode("utf-8")).size
    checkpoint = open_log_checkpoint(
        note, first.network, first.party, key_at(size_hint - 1).purposes["log"].raw
    )
    for item, item_path in included:
        if (item.party, item.network) != (first.party, first.network):
            raise VerificationError(f"{item.ref}: belongs to another log")
        statement = key_at(item.seq)
        if item.node != statement.identity.kid:
            raise VerificationError(f"{item.ref}: node is not the identity in force")
        item.verify_signature(statement.purposes["log"])
        if checkpoint.time_ms is not None and item.time > checkpoint.time_ms:
            raise VerificationError(f"{item.ref}: time is later than its checkpoint's")
        merkle.verify_inclusion(
            merkle.leaf_hash(item.leaf), item.seq, checkpoint.size, item_path, checkpoint.root
        )
    return ProofReport(
        header=header,
        body=None if body is None else body.value(),
        checkpoint=checkpoint,
        identity=key_at(header.seq).identity,
    )
