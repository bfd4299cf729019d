"""Witnessing: cosigning peers' checkpoints, gathering cosignatures, witnessed time, equivocation.

Follows C2SP ``tlog-witness`` and ``tlog-cosignature`` (DESIGN.md, Witnessing):

* A node cosigns a peer's checkpoint when the peer submits it to ``add-checkpoint`` and it is
  consistent with what this node verified before (``parley.node.federation.submission`` checks
  that).
  The cosignature is a ``cosignature/v1`` line by this node's ``witness`` key under its witness
  name (the rule of its log's origin, protocol s6.1); what it last cosigned per log is kept and
  served at
  ``GET /fed/v1/witnessed/<party>`` (gossip).
* Cosignatures stay outside the logs: the ``cosignatures`` table holds every verified one this
  node has seen, on its own checkpoints (answers to its submissions) and on its peers' (from
  their ``GET /fed/v1/checkpoint`` and from what other peers say they cosigned).
* Witnessed time of entry ``seq`` of a log: the k-th earliest cosignature time, over distinct
  witnesses other than the log's own party, on checkpoints that contain the entry (size > seq).
  k is the policy's ``witness_quorum``; only member nodes and the external witnesses the policy
  names count. One colluding witness cannot backdate anything when k >= 2: its early time is
  only the first of k. With k = 0 the log's own first checkpoint time stands.
* Two checkpoints of one log, both validly signed and not consistent, are equivocation: the
  evidence (``parley.core.equivocation``) is stored, appended as an ``evidence`` entry, sent on
  the ``equivocation`` webhook, and the peer is held until an administrator releases it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.core import equivocation, merkle
from parley.core.checkpoint import (
    Checkpoint,
    add_signature_lines,
    claimed_checkpoint,
    cosign,
    open_checkpoint,
    parse_note,
    parse_signature_line,
    verify_cosignature,
    witness_name_for,
)
from parley.core.errors import VerificationError
from parley.core.policy import PolicyDocument
from parley.node import webhooks
from parley.node.federation import peers
from parley.node.log import Draft
from parley.node.node import Node
from parley.node.witnessed import WitnessKey, witness_keys
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store import witnessing as rows
from parley.store.engine import Writing

MS_PER_S = 1000


def cosign_checkpoint(
    node: Node, tx: Writing, party: str, checkpoint: Checkpoint, note: str, now: int
) -> str:
    """Cosign a verified, consistent checkpoint of ``party``; record it; return the line.

    Call inside the write transaction that checked consistency, so that what this node says it
    cosigned never goes backwards.
    """
    name = witness_name_for(node.log.origin)
    line = cosign(checkpoint.body(), name, node.log.key("witness").private, now // MS_PER_S)
    rows.put_witnessed(
        tx,
        rows.Witnessed(
            party,
            checkpoint.size,
            checkpoint.root,
            add_signature_lines(note, [line]),
            now,
        ),
    )
    rows.put_cosignatures(
        tx,
        [
            rows.Cosignature(
                party,
                checkpoint.size,
                name,
                checkpoint.root,
                (now // MS_PER_S) * MS_PER_S,
                line,
            )
        ],
    )
    return line


def verified_cosignatures(
    checkpoint: Checkpoint, party: str, lines: Iterable[str], keys: dict[str, WitnessKey]
) -> list[rows.Cosignature]:
    """The lines that are valid cosignatures of ``checkpoint`` by witnesses in ``keys``.

    Lines by unknown keys (the log's own signature, witnesses this node does not know) are
    skipped; a line that names a known witness and does not verify is refused.
    """
    body = checkpoint.body()
    found = []
    for line in lines:
        try:
            name = parse_signature_line(line).name
        except VerificationError:
            continue
        witness = keys.get(name)
        if witness is None:
            continue
        try:
            time_s = verify_cosignature(body, line, name, witness.key)
        except VerificationError as exc:
            if "not by witness key" in exc.message:
                continue  # a key of the same name this node does not hold (rotated, other)
            raise
        found.append(
            rows.Cosignature(
                party,
                checkpoint.size,
                name,
                checkpoint.root,
                time_s * MS_PER_S,
                line,
            )
        )
    return found


def witnessed_by_origin(conn: Connection, origin_hash: str) -> str | None:
    """What this node last cosigned for the log whose origin hashes to ``origin_hash``.

    C2SP tlog-witness's monitoring endpoint, ``GET /<hex(SHA-256(origin))>/checkpoint``: the
    checkpoint with the log's signature and this witness's cosignature.
    """
    for row in rows.all_witnessed(conn):
        origin = row.note.split("\n", 1)[0]
        if hashlib.sha256(origin.encode("utf-8")).hexdigest() == origin_hash:
            return row.note
    return None


def signature_lines(note: str) -> list[str]:
    """The signature lines of a signed note."""
    return [signature.line() for signature in parse_note(note).signatures]


def store_cosigned_note(
    node: Node, tx: Writing, party: str, note: str, log_key: bytes, policy: PolicyDocument
) -> tuple[Checkpoint, int]:
    """Verify a cosigned checkpoint note of ``party`` and store its cosignatures."""
    checkpoint = open_checkpoint(note, note.split("\n", 1)[0], log_key)
    found = verified_cosignatures(
        checkpoint, party, signature_lines(note), witness_keys(node, tx, policy)
    )
    return checkpoint, rows.put_cosignatures(tx, found)


def cosigned_checkpoint(conn: Connection, party: str) -> str | None:
    """The latest checkpoint of ``party`` this node holds, with every cosignature on it."""
    latest = logs.latest_checkpoint(conn, party)
    if latest is None:
        return None
    size, note = latest
    return add_signature_lines(note, [c.line for c in rows.cosignatures_at(conn, party, size)])


# Equivocation -------------------------------------------------------------------------------


def find_fork(
    conn: Connection, party: str, other: Checkpoint, other_note: str
) -> equivocation.Evidence | None:
    """Evidence that ``other`` (verified) contradicts the tree of ``party`` held here, if so.

    Compared with a held checkpoint of the same size, or with the root of the held tree at
    ``other.size`` (read from stored subtree hashes, proven against the latest held checkpoint).
    A checkpoint larger than the held tree is not judged here: the peer that holds the larger
    view produces the evidence, and its ``evidence`` entry reaches this node.
    """
    same = logs.checkpoint_at(conn, party, other.size)
    latest = logs.latest_checkpoint(conn, party)
    if latest is None:
        return None
    held_size, held_note = latest
    if same is not None:
        mine = claimed_checkpoint(same)
        if mine.root == other.root:
            return None
        return equivocation.Evidence(party, b"", other_note, same)
    if other.size > held_size:
        return None
    get = lambda ids: logs.get_nodes(conn, party, ids)  # noqa: E731 - one-line accessor
    root = merkle.root_hash(other.size, get)
    if root == other.root:
        return None
    proof = merkle.consistency_proof(other.size, held_size, get)
    return equivocation.Evidence(party, b"", other_note, held_note, root, tuple(proof))


def record_equivocation(
    node: Node,
    tx: Writing,
    evidence: equivocation.Evidence,
    source: str,
    now: int,
) -> int | None:
    """Store verified evidence, hold the peer, emit the webhook; append an ``evidence`` entry.

    Returns the seq of the appended entry, or None when this node already holds evidence
    against that party (one entry per equivocating peer until an administrator acts).
    """
    drafts = evidence_drafts(node, tx, evidence, source, now)
    if not drafts:
        return None
    (header,) = node.log.append_in(tx, drafts, now)
    for row in rows.list_equivocations(tx, evidence.party):
        if row.entry_seq is None:
            rows.set_equivocation_entry(tx, row.id, header.seq)
    return header.seq


def evidence_drafts(
    node: Node, tx: Writing, evidence: equivocation.Evidence, source: str, now: int
) -> list[Draft]:
    """Record verified evidence and hold the party; the ``evidence`` entry to append, if new."""
    first, second = equivocation.verify(evidence)
    detail = equivocation.describe(first, second)
    already = rows.list_equivocations(tx, evidence.party)
    document = orjson.dumps(evidence.to_dict()).decode()
    rows.add_equivocation(tx, evidence.party, document, source, now)
    peer_rows.put_status(tx, evidence.party, held=f"equivocation: {detail}"[:2000])
    webhooks.emit(
        tx,
        node.party,
        "equivocation",
        {"party": evidence.party, "detail": detail, "source": source},
        now,
    )
    if already:
        return []
    return [Draft("evidence", "Actual", {**evidence.to_dict(), "detail": detail})]


def evidence_from_peer(node: Node, tx: Writing, ref: str, body: Any, now: int) -> list[Draft]:
    """A peer's ``evidence`` entry: checked here on its own; if it holds, this node acts too.

    Evidence names the log key it was checked with; it counts only if that is the key pinned
    here for the accused party. Evidence that does not verify changes nothing (the entry is
    stored as the peer's signed statement, as any other).
    """
    try:
        evidence = equivocation.Evidence.from_dict(body)
    except VerificationError:
        return []
    pinned = peers.find_peer(tx, evidence.party)
    if evidence.party == node.party or pinned is None:
        return []
    if pinned.log_key.raw != evidence.log_key or rows.list_equivocations(tx, evidence.party):
        return []
    try:
        return evidence_drafts(node, tx, evidence, f"evidence entry {ref}", now)
    except VerificationError:
        return []


def evidence_with_key(evidence: equivocation.Evidence, log_key: bytes) -> equivocation.Evidence:
    """Order the two checkpoints (smaller first) and name the log key they are signed with."""
    first, second = evidence.first, evidence.second
    if claimed_checkpoint(first).size > claimed_checkpoint(second).size:
        first, second = second, first
    return equivocation.Evidence(
        evidence.party, log_key, first, second, evidence.old_root, evidence.proof
    )


@dataclass(frozen=True)
class Answer:
    """A witness's 200 answer to this node's submission of ``note``: its cosignature lines."""

    note: str
    text: str
    witness: str  # the witness's key name; for a member, its party code (``by_party``)
    by_party: bool = False


def keep_answer(node: Node, note: str, answer: str, witness: str) -> int:
    """Verify and keep the cosignature lines a witness answered to this node's submission.

    ``witness`` names who answered; a 200 answer without a valid line by that witness is an
    error (the witness did not do its job), other lines are ignored.
    """
    (kept,) = keep_answers(node, [Answer(note, answer, witness)])
    if isinstance(kept, VerificationError):
        raise kept
    return kept


def keep_answers(node: Node, answers: Sequence[Answer]) -> list[int | VerificationError]:
    """``keep_answer`` for several answers at once: one read of the keys, one transaction.

    Each answer gets the number of cosignatures it added, or the error that refused it.
    """
    lines_of = [[line + "\n" for line in a.text.splitlines() if line] for a in answers]
    with node.store.read() as conn:
        keys = witness_keys(node, conn, node.policy_in(conn))
    found: list[list[rows.Cosignature] | VerificationError] = []
    for answer, lines in zip(answers, lines_of, strict=True):
        claimed = claimed_checkpoint(answer.note)
        found_lines = verified_cosignatures(claimed, node.party, lines, keys)
        by = (lambda c: keys[c.witness].party) if answer.by_party else (lambda c: c.witness)
        valid = [c for c in found_lines if by(c) == answer.witness]
        refused = VerificationError(f"{answer.witness} answered without a valid cosignature")
        found.append(valid or refused)
    refusals = [c for c in found if isinstance(c, VerificationError)]
    if len(refusals) == len(found):
        return list(refusals)
    # Not durable on its own: the witness keeps what it cosigned durably and serves it again
    # (GET /fed/v1/witnessed), and gossip gathers it back after a power cut.
    with node.store.write(durable=False) as conn:
        return [
            c if isinstance(c, VerificationError) else rows.put_cosignatures(conn, c) for c in found
        ]
