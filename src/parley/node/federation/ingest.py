"""Verified ingest of a peer's log: the rules applied before anything is stored.

A peer's log is held here exactly as its author wrote it: the same leaves, the same RFC 9162
subtree hashes (so this node can serve proofs as a mirror), the author's checkpoints, and the
bodies this node may read. Nothing is appended to the local log except the receipts and
observations that answer what was stored, in the same transaction.

``LogCursor`` is the verified state of one peer's log held here: a ``LogVerifier`` rebuilt from
the stored key and policy entries plus ``log_state`` (cheap: a handful of rows), and the frontier
of the stored tree. ``verify_entries`` feeds a page of fetched entries through it and checks,
for each entry, in order:

1. the header is well-formed and canonical, within the policy's size limit (``parse_header``);
2. party and network are the pinned peer's and this node's, seq is the next one, time never
   decreases and is not later than the checkpoint being verified (``LogVerifier`` rules 2-3);
3. the header is signed by the log key in force, names the identity in force as ``node``, and
   the first key statement names the pinned identity (rules 3-5, pre-rotation included);
4. a body that came with it matches ``body_hash`` and ``body_size``.

``verify_target`` checks a checkpoint against what is held: signed by the log key in force at
its last entry, its origin is one of the log (either form, protocol s6; once one is held, that
one), and it agrees with the stored tree
(same root at an equal size, a valid RFC 9162 consistency proof from the stored size). As
every stored prefix was checked the same way, a new checkpoint is consistent with every
checkpoint seen before. Only the first disagreement is a fork (``EquivocationError``): it is
recomputed from the author's signed entries and checkpoints. A proof that fails is a
``BadProofError``, the fault of whoever served it. ``store_page`` stores a verified page under the
single-writer lock, after checking that no other process stored entries of that log in the
meantime, and assigns local ingest sequence numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from parley.core import equivocation, merkle
from parley.core.checkpoint import Checkpoint, open_log_checkpoint
from parley.core.entry import ALL, Body, Header, parse_header
from parley.core.errors import (
    BadProofError,
    ConcurrentIngestError,
    EquivocationError,
    ParleyError,
    VerificationError,
)
from parley.core.keys import KeyStatement, PublicKey
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.core.verify import KeyEpoch, LogVerifier
from parley.node import webhooks
from parley.node.federation import witnessing
from parley.node.federation.consistency import check_consistency
from parley.node.federation.peer_client import Fetched
from parley.node.federation.peers import update_statement
from parley.node.federation.quotas import QuotaWindow
from parley.node.log import Draft
from parley.node.messaging import deadlines, receipts
from parley.node.node import Node
from parley.node.taxii import index as taxii_index
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store.engine import Writing
from parley.store.entries import EntryFlag


@dataclass
class LogCursor:
    """The verified state of one peer's log as held here."""

    party: str
    network: str
    verifier: LogVerifier
    size: int
    root: bytes
    last_time: int
    nodes: dict[merkle.NodeId, bytes] = field(default_factory=dict)
    window: QuotaWindow | None = None

    def prune(self) -> None:
        """Keep only the subtree hashes the frontier of the held tree needs."""
        self.nodes = {nid: self.nodes[nid] for nid in merkle.range_nodes(0, self.size)}

    def root_at(self, conn: Connection, size: int) -> bytes:
        """Root of the held tree at ``size`` (<= ``self.size``), from stored subtree hashes."""
        return merkle.root_hash(size, lambda ids: logs.get_nodes(conn, self.party, ids))

    def log_key_at(self, size: int) -> PublicKey | None:
        """The log key in force at the entry before ``size``, if a key is known yet."""
        if size == 0 or not self.verifier.keys:
            return None
        return self.verifier.key_at(size - 1).purposes["log"]


class _HashedPolicy(SignedPolicy):
    """A verified policy whose hash is computed once.

    Every header is checked against it, and hashing re-canonicalises the whole document.
    """

    def __init__(self, signed: SignedPolicy) -> None:
        super().__init__(signed.document, signed.signatures)
        self._hash = signed.document.hash

    @property
    def hash(self) -> str:
        return self._hash


def restore(
    conn: Connection,
    party: str,
    network: str,
    pinned: PublicKey,
    policy: PolicyDocument | None = None,
    now: int | None = None,
) -> LogCursor:
    """Rebuild the verifier of a peer's log from its stored key/policy entries and state.

    With ``policy`` (this node's policy in force), the cursor also enforces its quotas and,
    given this node's clock ``now``, its clock-skew tolerance.
    """
    state = logs.get_state(conn, party)
    verifier = LogVerifier(pinned_identity=pinned, party=party, network=network)
    held = logs.latest_checkpoint(conn, party)
    if held is not None:
        verifier.origin = held[1].split("\n", 1)[0]  # verified when it was stored
    window = None
    if policy is not None:
        last_time = 0 if state is None else state.last_time
        window = QuotaWindow.restore(conn, party, last_time, policy, now)
    if state is None:
        return LogCursor(party, network, verifier, 0, merkle.EMPTY_ROOT, 0, window=window)
    for stored in logs.key_and_policy_entries(conn, party):
        if stored.seq >= state.size:
            break
        header = parse_header(stored.leaf)
        if stored.body is None or stored.salt is None:
            raise VerificationError(f"{header.ref}: stored without the body it was verified with")
        value = Body(stored.salt, stored.body).value()
        if header.kind == "key":
            if header.seq == 0:
                verifier.announced_policy = header.policy
            verifier.keys.append(KeyEpoch(header.seq, KeyStatement.from_body(value)))
        else:
            verifier.policies.append((header.seq, _HashedPolicy(SignedPolicy.from_body(value))))
    verifier.size, verifier.last_time = state.size, state.last_time
    ids = merkle.range_nodes(0, state.size)
    nodes = logs.get_nodes(conn, party, ids)
    if len(nodes) != len(ids):
        raise VerificationError(f"the stored tree of {party} is missing subtree hashes")
    return LogCursor(
        party, network, verifier, state.size, state.root, state.last_time, nodes, window
    )


class CursorCache:
    """Verified cursors kept between pulls by a long-running process (the server).

    A cursor is reused only while the stored state of its log is exactly the one it reflects
    (same size and root), so another process's ingest or a failed pull is never trusted.
    """

    def __init__(self) -> None:
        self._cursors: dict[str, LogCursor] = {}

    def take(self, conn: Connection, party: str) -> LogCursor | None:
        """The kept cursor of ``party``, if it still matches the stored state exactly."""
        cursor = self._cursors.pop(party, None)
        state = logs.get_state(conn, party)
        if (
            cursor is None
            or state is None
            or (cursor.size, cursor.root) != (state.size, state.root)
        ):
            return None
        return cursor

    def keep(self, cursor: LogCursor) -> None:
        """Keep a cursor for the next pull of its log."""
        self._cursors[cursor.party] = cursor


@dataclass(frozen=True)
class Target:
    """A peer checkpoint whose signature has been verified, and the log key that signed it."""

    note: str
    checkpoint: Checkpoint
    log_key: bytes


def open_target(cursor: LogCursor, note: str, log_key: PublicKey) -> Target:
    """Verify a checkpoint note of the cursor's log under ``log_key`` (origin and signature)."""
    checkpoint = open_log_checkpoint(
        note, cursor.network, cursor.party, log_key.raw, cursor.verifier.origin
    )
    cursor.verifier.origin = checkpoint.origin
    if checkpoint.size == 0 and checkpoint.root != merkle.EMPTY_ROOT:
        raise VerificationError(
            f"{cursor.party}'s checkpoint of size 0 does not carry the root of the empty tree"
        )
    return Target(note, checkpoint, log_key.raw)


def verify_target(
    conn: Connection, cursor: LogCursor, target: Target, proof: Sequence[bytes] | None
) -> None:
    """Check a verified checkpoint against the held tree (``consistency.check_consistency``).

    A failed proof that pins another history signed by the author is equivocation; any other
    failed proof is a ``BadProofError``, the fault of whoever served it.
    """
    checkpoint, party = target.checkpoint, cursor.party
    if checkpoint.size <= cursor.size:
        size, root = checkpoint.size, cursor.root_at(conn, checkpoint.size)
    else:
        size, root = cursor.size, cursor.root
    try:
        check_consistency(
            size, root, checkpoint, proof, party=party, note=target.note, log_key=target.log_key
        )
    except BadProofError as exc:
        assert proof is not None  # noqa: S101 - only a proof can fail
        evidence = _fork_evidence(conn, cursor, target, proof)
        if evidence is None:
            raise
        raise EquivocationError(
            f"{party} signed a checkpoint of size {checkpoint.size} whose first {cursor.size} "
            "entries differ from the entries held here: two histories of one log",
            note=target.note,
            log_key=target.log_key,
            evidence=evidence,
        ) from exc


def _fork_evidence(
    conn: Connection, cursor: LogCursor, target: Target, proof: Sequence[bytes]
) -> equivocation.Evidence | None:
    """Evidence that ``target`` extends another history, if the failed proof pins one."""
    old_root = merkle.fork_root(cursor.size, target.checkpoint.size, proof, target.checkpoint.root)
    held = logs.checkpoint_at(conn, cursor.party, cursor.size)
    if old_root is None or old_root == cursor.root or held is None:
        return None
    return equivocation.Evidence(
        cursor.party, target.log_key, held, target.note, old_root, tuple(proof)
    )


@dataclass(frozen=True)
class Verified:
    """One verified entry of a page, with the breach that keeps its body out, if any."""

    header: Header
    leaf_hash: bytes
    body: Body | None
    breach: tuple[str, str] | None = None  # (flag, reason) when it breaks a quota or a limit


@dataclass
class Page:
    """Verified entries ready to store: from ``start``, with the subtree hashes they complete."""

    start: int
    entries: list[Verified]
    nodes: list[tuple[merkle.NodeId, bytes]]
    size: int
    root: bytes
    last_time: int


def policy_of(cursor: LogCursor) -> PolicyDocument | None:
    """The policy in force at the last entry the cursor verified (the one its header names)."""
    policy = cursor.verifier.policy
    return None if policy is None else policy.document


def verify_entries(cursor: LogCursor, fetched: Sequence[Fetched], time_limit: int | None) -> Page:
    """Verify the next entries of the log; advance ``cursor`` (discard it on any error).

    ``time_limit`` is the legacy ``time`` line of the checkpoint that includes them, if it has
    one (header-time rule, protocol s4.1); an extension-free checkpoint states no time.
    """
    start = cursor.size
    verified: list[Verified] = []
    new_nodes: list[tuple[merkle.NodeId, bytes]] = []
    policies = cursor.verifier.policies
    for item in fetched:
        header = cursor.verifier.feed(item.leaf, item.body)
        if header.kind == "policy":
            policies[-1] = (policies[-1][0], _HashedPolicy(policies[-1][1]))
        if time_limit is not None and header.time > time_limit:
            raise VerificationError(
                f"{header.ref}: time {header.time} is later than the checkpoint that includes it "
                f"({time_limit})"
            )
        leaf_hash = merkle.leaf_hash(item.leaf)
        completed = merkle.append_leaf(header.seq, leaf_hash, cursor.nodes.__getitem__)
        cursor.nodes.update(completed)
        new_nodes.extend(completed)
        breach = None if cursor.window is None else cursor.window.admit(header)
        if breach is None and cursor.window is not None:  # the policy named in the header
            breach = deadlines.ingest_breach(policy_of(cursor), header, item.body)
        verified.append(Verified(header, leaf_hash, item.body, breach))
        cursor.size += 1
        cursor.last_time = header.time
    cursor.prune()
    cursor.root = merkle.hash_of_nodes(
        [cursor.nodes[nid] for nid in merkle.range_nodes(0, cursor.size)]
    )
    return Page(start, verified, new_nodes, cursor.size, cursor.root, cursor.last_time)


@dataclass
class Stored:
    """What a commit stored and appended."""

    entries: int = 0
    bodies: int = 0
    breaches: int = 0
    breach_flags: dict[str, int] = field(default_factory=dict)  # flag -> entries
    receipts: list[Header] = field(default_factory=list)
    observations: list[Header] = field(default_factory=list)


def _audience_text(header: Header) -> str:
    return ALL if header.audience == ALL else ",".join(header.audience)


def store_page(
    node: Node,
    conn: Writing,
    page: Page,
    *,
    target: Target | None,
    refused: bool,
    now: int,
) -> Stored:
    """Store a verified page in the caller's write transaction; append what answers it.

    The one path by which a peer's verified entries reach the store (pull and push), with the
    receipts and observations that answer them. Raises ``ConcurrentIngestError`` if another
    process stored entries of that log meanwhile. ``refused``: the page came from the author,
    which recognised this node as a peer, so a body this node may read and did not get was
    withheld (an observation records it). Otherwise such a body is marked pending, to be
    fetched from the author later.
    """
    party = page.entries[0].header.party if page.entries else None
    stored = Stored()
    if party is None:
        assert target is not None  # noqa: S101 - a commit stores entries or a checkpoint
        party = target.checkpoint.origin.rsplit("/", 1)[1]
    state = logs.get_state(conn, party)
    if (0 if state is None else state.size) != page.start:
        raise ConcurrentIngestError(
            f"{party}'s log here moved to {0 if state is None else state.size} entries "
            f"while {page.start} were expected"
        )
    drafts = _store_rows(conn, node, page, refused, now, stored)
    logs.insert_nodes(conn, party, page.nodes)
    if page.entries:
        logs.put_state(
            conn,
            logs.LogState(party, page.size, page.root, page.last_time),
            existed=state is not None,
        )
    if target is not None and target.checkpoint.size == page.size:
        if logs.checkpoint_at(conn, party, page.size) is None:
            c = target.checkpoint
            logs.insert_checkpoint(
                conn, party, c.size, target.note, c.root, c.log_time(page.last_time)
            )
    headers = node.log.append_in(conn, drafts, now)
    receipts.index_own(conn, headers, drafts, now)
    stored.receipts = [h for h in headers if h.kind == "receipt"]
    stored.observations = [h for h in headers if h.kind == "observation"]
    for header, draft in zip(headers, drafts, strict=True):
        if header.kind == "observation":
            webhooks.emit(conn, node.party, "observation", {"ref": header.ref, **draft.body}, now)
    return stored


def entry_row(item: Verified, ingest: int, flag: str | None, now: int) -> dict[str, Any]:
    """The ``entries`` row of a verified entry (its body only if it is stored with it)."""
    header, body = item.header, item.body
    return {
        "party": header.party,
        "seq": header.seq,
        "ingest": ingest,
        "leaf": header.leaf,
        "leaf_hash": item.leaf_hash,
        "kind": header.kind,
        "status": header.status,
        "time": header.time,
        "audience": _audience_text(header),
        "tlp": header.tlp,
        "body": None if body is None else body.data,
        "salt": None if body is None else body.salt,
        "flag": None if flag is None else str(flag),
        "stored_at": now,
    }


def _store_rows(
    conn: Writing, node: Node, page: Page, refused: bool, now: int, stored: Stored
) -> list[Draft]:
    ingest = logs.next_ingest(conn)
    rows: list[dict[str, Any]] = []
    drafts: list[Draft] = []
    indexed: list[dict[str, Any] | None] = []
    breaches: dict[str, list[Verified]] = {}
    for offset, item in enumerate(page.entries):
        header, flag = item.header, None
        if item.breach is not None:
            flag = item.breach[0]
            breaches.setdefault(flag, []).append(item)
            item = Verified(header, item.leaf_hash, None, item.breach)  # stored header-only
        elif item.body is None and header.readable_by(node.party):
            flag = EntryFlag.BODY_WITHHELD if refused else EntryFlag.BODY_PENDING
        rows.append(entry_row(item, ingest + offset, flag, now))
        stored.entries += 1
        stored.bodies += item.body is not None
        if item.breach is None:
            drafts.extend(answers(conn, node, item, flag, now))
        if header.kind == "receipt" and item.body is not None:
            indexed.append(receipts.receipt_row(header, item.body.value(), now))
        if header.kind == "observation" and item.body is not None:
            _observed_ours(conn, node, header, item.body, now)
    drafts = receipts.not_yet_answered(conn, drafts, node.party)
    logs.insert_entries(conn, rows)
    taxii_index.index_entries(conn, rows, now)
    receipts.index_rows(conn, indexed)
    pending = sum(row["flag"] == EntryFlag.BODY_PENDING for row in rows)
    if pending:
        peer_rows.count_pending(conn, page.entries[0].header.party, pending)
    for flagged in breaches.values():
        stored.breaches += len(flagged)
        flag, reason = flagged[0].breach or ("", "")
        if flag == EntryFlag.DEADLINE_BOUNDS:  # recorded as a policy breach
            flag = EntryFlag.POLICY_BREACH
        flag = str(flag)  # a plain string in signed bodies and in reports
        stored.breach_flags[flag] = stored.breach_flags.get(flag, 0) + len(flagged)
        drafts.append(
            receipts.breach_observed([(v.header, v.leaf_hash) for v in flagged], (flag, reason))
        )
    return drafts


def _observed_ours(conn: Writing, node: Node, header: Header, body: Body, now: int) -> None:
    """Queue an ``observation`` webhook when a peer observed one of this node's entries."""
    try:
        about = receipts.observation_about(header, body.value(), node.party)
    except ParleyError:
        return
    if about is not None:
        webhooks.emit(conn, node.party, "observation", {"ref": header.ref, **about}, now)


def answers(conn: Writing, node: Node, item: Verified, flag: str | None, now: int) -> list[Draft]:
    """The receipts and observations this node appends for one stored entry of a peer."""
    header = item.header
    if header.kind == "key" and item.body is not None:
        update_statement(conn, header.party, item.body.value())
    if header.kind == "evidence" and item.body is not None:
        return witnessing.evidence_from_peer(node, conn, header.ref, item.body.value(), now)
    if not receipts.addressed_to(header, node.party):
        return []
    if flag == EntryFlag.BODY_WITHHELD:
        detail = f"{header.party} served the header of {header.ref} without its body"
        return [receipts.body_withheld(header, item.leaf_hash, detail)]
    if item.body is not None:
        return [receipts.delivered(header, item.leaf_hash, now)]
    return []
