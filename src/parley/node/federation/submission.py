"""C2SP ``tlog-witness`` add-checkpoint: the wire form, built and parsed, and the witness's checks.

``POST /fed/v1/add-checkpoint`` carries (c2sp.org/tlog-witness, "add-checkpoint"):

    old <size>                        (each line ends in a newline)
    <base64 consistency proof hash>   (zero to 63 lines)
    <empty line>
    <checkpoint note>

``build_body`` writes it (the submitting side) and ``parse_body`` reads it (the witness side):
one module owns the form. ``receive`` applies the specification's checks, in its order and with
its status codes:

* the origin must name a pinned peer's log on this network, in either form (protocol s6), and
  once a checkpoint of that log is held, be the origin held; else 404;
* the note must carry a valid signature by that peer's current ``log`` key, else 403;
* ``old`` is ASCII decimal and must not exceed the checkpoint's size, else 400;
* ``old`` must equal the size of the latest checkpoint of that log this node has verified
  (0 if none), else 409 with that size in ``text/x.tlog.size``;
* at equal sizes the roots must be equal (422, after the evidence is recorded); otherwise the
  RFC 6962 s2.1.2 consistency proof from ``old`` must verify (422).

The check and the update of the recorded checkpoint happen in one write transaction, so two
racing submissions cannot roll the record back. A verified submission becomes a ``Hint`` that
wakes the pull of that peer (``parley.node.federation.pull``), and this node cosigns it with its
witness key (``parley.node.federation.witnessing``): the 200 response is that ``cosignature/v1``
line. Two roots for one size are equivocation: the evidence is recorded, then the answer is 422.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from parley.core import equivocation, merkle
from parley.core.checkpoint import Checkpoint, claimed_checkpoint, open_checkpoint, origin_parts
from parley.core.errors import (
    BadProofError,
    BadSubmissionError,
    EquivocationError,
    NotFoundError,
    ProofFailedError,
    SizeConflictError,
    UntrustedCheckpointError,
    VerificationError,
)
from parley.node.federation import peers, witnessing
from parley.node.federation.consistency import check_consistency
from parley.node.federation.pull import Hint
from parley.node.node import Node
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store.engine import Writing

MAX_REQUEST = 64 * 1024
MAX_PROOF_LINES = 63
MAX_SIZE_DIGITS = 20  # a tree size is below 2**64


def build_body(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint request body: ``old``, the consistency proof, a blank line, the note."""
    lines = [f"old {old}\n"] + [base64.b64encode(h).decode("ascii") + "\n" for h in proof]
    return ("".join(lines) + "\n" + note).encode("utf-8")


def parse_body(body: bytes) -> tuple[int, list[bytes], str]:
    """Split an add-checkpoint body into old size, proof hashes and checkpoint note."""
    if len(body) > MAX_REQUEST:
        raise BadSubmissionError(f"add-checkpoint body is over {MAX_REQUEST} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSubmissionError("add-checkpoint body is not UTF-8") from exc
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise BadSubmissionError(
            "add-checkpoint body must start with 'old <size>' and a blank line"
        )
    size_text = lines[0][4:]
    if not _is_size(size_text):
        raise BadSubmissionError(f"old size {size_text!r} is not a decimal without leading zeros")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise BadSubmissionError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    return int(size_text), [_proof_hash(line) for line in lines[1:]], note


def _is_size(text: str) -> bool:
    """ASCII decimal of at most ``MAX_SIZE_DIGITS`` digits, without leading zeros."""
    decimal = text.isascii() and text.isdigit() and len(text) <= MAX_SIZE_DIGITS
    return decimal and (text == "0" or not text.startswith("0"))


def _proof_hash(line: str) -> bytes:
    try:
        digest = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSubmissionError("a consistency proof line is not base64") from exc
    if len(digest) != merkle.HASH_SIZE:
        raise BadSubmissionError("a consistency proof line is not a 32-byte hash")
    return digest


def parse_claimed(body: bytes) -> tuple[int, list[bytes], str, Checkpoint]:
    """``parse_body`` and the checkpoint it claims (signature not yet checked)."""
    old, proof, note = parse_body(body)
    try:
        return old, proof, note, claimed_checkpoint(note)
    except VerificationError as exc:
        raise BadSubmissionError(f"the checkpoint is malformed: {exc.message}") from exc


@dataclass(frozen=True)
class Submission:
    """A submission whose form, origin and log signature have been checked."""

    party: str
    old: int
    proof: list[bytes]
    note: str
    checkpoint: Checkpoint
    peer: peers.Peer

    @property
    def log_key(self) -> bytes:
        """The raw log key that signed the checkpoint."""
        return self.peer.log_key.raw

    @property
    def hint(self) -> Hint:
        """The wake-up this submission gives the pull of its peer."""
        return Hint(self.note, self.old, self.proof)


def check(node: Node, body: bytes) -> Submission:
    """The checks that need no transaction: form, a pinned peer's origin, its log signature."""
    old, proof, note, claimed = parse_claimed(body)
    parts = origin_parts(claimed.origin)
    if parts is None or parts[0] != node.network:
        raise NotFoundError(f"unknown log origin {claimed.origin!r}")
    party = parts[1]
    peer = peers.get_peer(node.store, party)
    with node.store.read() as conn:
        held = logs.latest_checkpoint(conn, party)
    if held is not None and held[1].split("\n", 1)[0] != claimed.origin:
        raise NotFoundError(f"unknown log origin {claimed.origin!r}: {party}'s log has another")
    try:
        checkpoint = open_checkpoint(note, claimed.origin, peer.log_key.raw)
    except VerificationError as exc:
        raise UntrustedCheckpointError(f"checkpoint of {party}: {exc.message}") from exc
    if old > checkpoint.size:
        raise BadSubmissionError(f"old size {old} exceeds the checkpoint's size {checkpoint.size}")
    if old == 0 and proof:
        raise BadSubmissionError("the consistency proof must be empty when old is 0")
    if checkpoint.size == 0 and checkpoint.root != merkle.EMPTY_ROOT:
        raise BadSubmissionError("a checkpoint of size 0 must carry the root of the empty tree")
    return Submission(party, old, proof, note, checkpoint, peer)


def record(node: Node, tx: Writing, submission: Submission, now: int) -> str | None:
    """Check against what was recorded, record, cosign, in the caller's write transaction.

    Returns this node's cosignature line, or None when the checkpoint is a second root for a
    recorded size: the evidence is then recorded, and the caller answers 422 once it committed.
    """
    party, old, checkpoint = submission.party, submission.old, submission.checkpoint
    status = peers.get_status(tx, party)
    size, root, recorded = _recorded(tx, status)
    if old != size:
        raise SizeConflictError(f"this node last verified {party} at size {size}", size=size)
    try:
        check_consistency(size, root, checkpoint, submission.proof, party=party)
    except EquivocationError:
        assert recorded is not None  # noqa: S101 - a root other than the empty one was recorded
        evidence = equivocation.Evidence(party, submission.log_key, recorded, submission.note)
        witnessing.record_equivocation(node, tx, evidence, f"add-checkpoint from {party}", now)
        return None
    except BadProofError as exc:
        raise ProofFailedError(f"checkpoint of {party}: {exc.message}") from exc
    peer_rows.record_remote(tx, party, checkpoint.size, submission.note, status)
    return witnessing.cosign_checkpoint(node, tx, party, checkpoint, submission.note, now)


def equivocated(submission: Submission) -> EquivocationError:
    """The 422 error of a submission whose root contradicts the recorded one of its size."""
    return EquivocationError(
        f"{submission.party} signed two roots for size {submission.old}: two histories of one "
        f"log; the evidence is recorded",
        note=submission.note,
        log_key=submission.log_key,
    )


def receive(node: Node, body: bytes, now: int) -> tuple[str, Hint, str]:
    """Check a submission (see the module docstring); return the party, the hint, our cosignature.

    Two roots for one size are equivocation: the evidence is recorded before the 422 answer.
    """
    submission = check(node, body)
    with node.store.write() as tx:
        line = record(node, tx, submission, now)
    if line is None:
        raise equivocated(submission)
    return submission.party, submission.hint, line


def _recorded(conn: Connection, status: peers.PeerStatus) -> tuple[int, bytes, str | None]:
    """Size, root and note of the latest checkpoint of a peer's log this node has verified."""
    party = status.party
    best: tuple[int, str] | None = None
    if status.remote_size is not None and status.remote_note is not None:
        best = (status.remote_size, status.remote_note)
    held = logs.latest_checkpoint(conn, party)
    if held is not None and (best is None or held[0] > best[0]):
        best = held
    if best is None:
        return 0, merkle.EMPTY_ROOT, None
    checkpoint: Checkpoint = claimed_checkpoint(best[1])
    return checkpoint.size, checkpoint.root, best[1]
