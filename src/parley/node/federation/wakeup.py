"""Wake-ups: a peer submits its new checkpoint, in the shape of C2SP ``tlog-witness``.

``POST /fed/v1/add-checkpoint`` carries (c2sp.org/tlog-witness, "add-checkpoint"):

    old <size>                        (each line ends in a newline)
    <base64 consistency proof hash>   (zero to 63 lines)
    <empty line>
    <checkpoint note>

``receive`` applies the specification's checks, in its order and with its status codes:

* the origin must name a pinned peer's log on this network, in either form (protocol s6), and
  once a checkpoint of that log is held, be the origin held; else 404;
* the note must carry a valid signature by that peer's current ``log`` key, else 403;
* ``old`` is ASCII decimal and must not exceed the checkpoint's size, else 400;
* ``old`` must equal the size of the latest checkpoint of that log this node has verified
  (0 if none), else 409 with that size in ``text/x.tlog.size``;
* at equal sizes the roots must be equal (422, after the evidence is recorded); otherwise the
  RFC 6962 s2.1.2 consistency proof from ``old`` must verify (422).

``POST /fed/v1/push`` is the same submission from a pinned peer about its own log, carrying the
entries from ``old`` to the checkpoint's size as ``get-entries`` items (``receive_push``). They
are verified exactly as fetched ones and stored in the transaction that records and cosigns the
checkpoint; what cannot be taken whole is left to the pull, which asks the author only for the
rest. A delivery hop costs one request and one durable commit instead of two of each.

The check and the update of the recorded checkpoint happen in one write transaction, so two
racing submissions cannot roll the record back. A verified submission becomes a ``Hint`` that
wakes the pull of that peer (``parley.node.federation.pull``), and this node cosigns it with its
witness key (``parley.node.federation.witnessing``): the 200 response is that ``cosignature/v1``
line. Two roots for one size are equivocation: the evidence is recorded, then the answer is 422.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.core import equivocation, merkle
from parley.core.checkpoint import Checkpoint, claimed_checkpoint, open_checkpoint, origin_parts
from parley.core.errors import (
    NotAuthorizedError,
    NotFoundError,
    ParleyError,
    VerificationError,
)
from parley.node.federation import ingest, peers, witnessing
from parley.node.federation.peer_client import decode_item
from parley.node.federation.pull import POLL_MS, Hint, verify_push
from parley.node.node import Node
from parley.store import logs

MAX_REQUEST = 64 * 1024
MAX_PROOF_LINES = 63
PUSH_MAX_ENTRIES = 64
PUSH_MAX_BYTES = 512 * 1024
PUSH_MAX_DEPTH = 3  # {"entries": [{"leaf_input": "..."}]}: an object, a list, an object
MAX_SIZE_DIGITS = 20  # a tree size is below 2**64


class BadSubmissionError(ParleyError):
    """The add-checkpoint request is malformed (400)."""

    problem = "malformed-submission"
    title = "Malformed add-checkpoint submission"


class UntrustedCheckpointError(ParleyError):
    """No signature on the checkpoint verifies under the peer's log key (403)."""

    problem = "untrusted-checkpoint"
    title = "Checkpoint not signed by the log's key"
    http_status = 403


class SizeConflictError(ParleyError):
    """``old`` is not the size this node recorded (409, answered as ``text/x.tlog.size``)."""

    problem = "old-size-mismatch"
    title = "Old size is not the recorded one"
    http_status = 409

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class ProofFailedError(ParleyError):
    """The consistency proof does not verify (422)."""

    problem = "consistency-proof-failed"
    title = "Consistency proof does not verify"
    http_status = 422


class ForkedCheckpointError(ParleyError):
    """A checkpoint of the size this node recorded, with another root: equivocation (422).

    C2SP tlog-witness (2026) answers it 422; it was 409 naming the same size before.
    """

    problem = "conflicting-root"
    title = "Two roots for one tree size"
    http_status = 422


def parse_submission(body: bytes) -> tuple[int, list[bytes], str]:
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
    if (not (size_text.isascii() and size_text.isdigit()) or len(size_text) > MAX_SIZE_DIGITS
            or (size_text != "0" and size_text.startswith("0"))):  # fmt: skip
        raise BadSubmissionError(f"old size {size_text!r} is not a decimal without leading zeros")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise BadSubmissionError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            digest = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadSubmissionError("a consistency proof line is not base64") from exc
        if len(digest) != merkle.HASH_SIZE:
            raise BadSubmissionError("a consistency proof line is not a 32-byte hash")
        proof.append(digest)
    return int(size_text), proof, note


def _submitted(body: bytes) -> tuple[int, list[bytes], str, Checkpoint]:
    """``parse_submission`` and the checkpoint it claims (signature not yet checked)."""
    old, proof, note = parse_submission(body)
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
        return self.peer.log_key.raw

    @property
    def hint(self) -> Hint:
        return Hint(self.note, self.old, self.proof)


def check(node: Node, body: bytes) -> Submission:
    """The checks that need no transaction: form, a pinned peer's origin, its log signature."""
    old, proof, note, claimed = _submitted(body)
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


def record_in(node: Node, conn: Connection, submission: Submission, now: int) -> str | None:
    """In the caller's write transaction: check against what was recorded, record, cosign.

    Returns this node's cosignature line, or None when the checkpoint is a second root for a
    recorded size: the evidence is then recorded, and the caller answers 422 once it committed.
    """
    party, old, checkpoint = submission.party, submission.old, submission.checkpoint
    status = peers.get_status(conn, party)
    size, root, recorded = _recorded(conn, status)
    if old != size:
        raise SizeConflictError(f"this node last verified {party} at size {size}", size=size)
    if old == checkpoint.size and checkpoint.root != root:
        assert recorded is not None  # noqa: S101 - a root other than the empty one was recorded
        evidence = equivocation.Evidence(party, submission.log_key, recorded, submission.note)
        witnessing.record_equivocation(node, conn, evidence, f"add-checkpoint from {party}", now)
        return None
    if 0 < old < checkpoint.size:
        try:
            merkle.verify_consistency(old, checkpoint.size, root, checkpoint.root,
                                      submission.proof)  # fmt: skip
        except VerificationError as exc:
            raise ProofFailedError(f"checkpoint of {party}: {exc.message}") from exc
    peers.record_remote(conn, party, checkpoint.size, submission.note, status)
    return witnessing.cosign_checkpoint(node, conn, party, checkpoint, submission.note, now)


def _forked(submission: Submission) -> ForkedCheckpointError:
    return ForkedCheckpointError(
        f"{submission.party} signed two roots for size {submission.old}: two histories of one "
        f"log; the evidence is recorded",
    )


def receive(node: Node, body: bytes, now: int) -> tuple[str, Hint, str]:
    """Check a submission (see the module docstring); return the party, the hint, our cosignature.

    Two roots for one size are equivocation: the evidence is recorded before the 422 answer.
    """
    submission = check(node, body)
    with node.store.write() as conn:
        line = record_in(node, conn, submission, now)
    if line is None:
        raise _forked(submission)
    return submission.party, submission.hint, line


@dataclass(frozen=True)
class Pushed:
    """What a push did: the cosignature, and the entries stored with it (else: the hint)."""

    party: str
    hint: Hint
    line: str
    stored: ingest.Stored | None


def receive_push(
    node: Node,
    caller: str | None,
    body: bytes,
    now: int,
    cache: ingest.CursorCache | None = None,
) -> Pushed:
    """``receive`` for a push: the submission, and the entries it carries.

    Only a pinned peer may push, and only about its own log. With the server's cursor ``cache``
    the entries are verified first (``sync.verify_push``) and stored in the transaction that
    records and cosigns the checkpoint: one durable commit per hop, and the cosignature leaves
    only once both are on disk. Entries that cannot be taken so stay in the hint, for the pull.
    """
    doc = parse_push(body)
    submission = doc.get("submission") if isinstance(doc, dict) else None
    items = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(submission, str) or not isinstance(items, list):
        raise BadSubmissionError("push body needs 'submission' (text) and 'entries' (a list)")
    if len(items) > PUSH_MAX_ENTRIES:
        raise BadSubmissionError(f"push carries {len(items)} entries, over {PUSH_MAX_ENTRIES}")
    raw = submission.encode("utf-8")
    old, _proof, _note, claimed = _submitted(raw)
    party = claimed.origin.rsplit("/", 1)[-1]
    if caller is None or caller != party:
        raise NotAuthorizedError(
            f"a push about {party}'s log must come from {party} itself, signed by its http key"
        )
    try:
        pushed = [decode_item(item, "push entry") for item in items]
    except VerificationError as exc:
        raise BadSubmissionError(exc.message) from exc
    if old + len(pushed) > claimed.size:
        raise BadSubmissionError(
            f"push carries {len(pushed)} entries from {old}, beyond the checkpoint's size "
            f"{claimed.size}"
        )
    submitted = check(node, raw)
    hint = Hint(submitted.note, submitted.old, submitted.proof, pushed)
    verified = None if cache is None else verify_push(node, submitted.peer, hint, cache)
    stored = None
    with node.store.write() as conn:
        line = record_in(node, conn, submitted, now)
        if line is not None and verified is not None:
            try:
                with conn.begin_nested():
                    stored = ingest.commit_in(node, conn, verified.page, target=verified.target,
                                              refused=True, now=now)  # fmt: skip
            except ingest.ConcurrentIngestError:
                stored = None  # a pull stored them meanwhile, or some of them
            if stored is not None:
                peers.record_success_in(conn, submitted.party, now, POLL_MS)
    if line is None:
        raise _forked(submitted)
    if stored is not None and verified is not None and cache is not None:
        cache.keep(verified.cursor)
    return Pushed(submitted.party, hint, line, stored)


def parse_push(body: bytes) -> Any:
    """The JSON document of a push body, within ``PUSH_MAX_BYTES`` and ``PUSH_MAX_DEPTH``.

    orjson refuses invalid UTF-8 and lone surrogates, and stops at 1024 levels on its own (no
    recursion to exhaust); the depth a push may have is much smaller, and checked after.
    """
    if len(body) > PUSH_MAX_BYTES:
        raise BadSubmissionError(f"push body is over {PUSH_MAX_BYTES} bytes")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise _too_deep() from exc
        raise BadSubmissionError(f"push body is not JSON: {exc}") from exc
    if _depth(doc) > PUSH_MAX_DEPTH:
        raise _too_deep()
    return doc


def _too_deep() -> BadSubmissionError:
    return BadSubmissionError(f"push body nests deeper than {PUSH_MAX_DEPTH} levels")


def _depth(doc: Any) -> int:
    """How deeply lists and objects nest in ``doc`` (iterative: no recursion on hostile input)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        value, level = todo.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level <= PUSH_MAX_DEPTH:  # deeper than that is refused anyway
                todo.extend((child, level + 1) for child in children)
    return deepest


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
