"""Sequential verification of one author's log: the rules a verifier applies to every entry.

``LogVerifier`` is fed a log's entries in seq order (header leaf bytes, plus the body and salt
where the verifier may read them) and checks, for each, before anything is stored or shown:

1. the header is well-formed and canonical (``parse_header``) and within the policy's size limit;
2. party and network never change; seq is the next one; time never decreases;
3. seq 0 is a key statement and seq 1 a policy entry; every header names the policy in force;
4. a key statement follows the previous one (pre-rotation commitment, signed by old and new
   identity), certifies no purpose key retired earlier nor rotates back to a retired identity,
   and its log key signs it; other entries are signed by the log key in force, and name the
   identity key in force as ``node`` (key validity by seq range);
5. a policy entry is signed by every member, names this network and lists this party;
6. a body that is present matches ``body_hash`` and ``body_size``.

A verifier that pins an identity key refuses a log whose first key statement names another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, open_log_checkpoint
from parley.core.entry import Body, Header, parse_header
from parley.core.errors import InvalidEntryError, ParleyError, VerificationError
from parley.core.keys import KeyStatement, PublicKey
from parley.core.policy import SignedPolicy


@dataclass(frozen=True)
class KeyEpoch:
    """A key statement and the first seq from which it is in force."""

    from_seq: int
    statement: KeyStatement


@dataclass
class LogVerifier:
    """Verifies one author's log entry by entry; keeps only O(1) state plus key history."""

    pinned_identity: PublicKey | None = None
    party: str | None = None
    network: str | None = None
    size: int = 0
    last_time: int = 0
    keys: list[KeyEpoch] = field(default_factory=list)
    policies: list[tuple[int, SignedPolicy]] = field(default_factory=list)
    announced_policy: str | None = None
    origin: str | None = None  # the log's origin, from its first verified checkpoint on

    @property
    def statement(self) -> KeyStatement | None:
        """The key statement in force after the entries verified so far; None before seq 0."""
        return self.keys[-1].statement if self.keys else None

    @property
    def policy(self) -> SignedPolicy | None:
        """The policy in force after the entries verified so far; None before seq 1."""
        return self.policies[-1][1] if self.policies else None

    def header_limit(self) -> int:
        """The header byte limit of the policy in force (4096 until a policy is seen)."""
        policy = self.policy
        return 4096 if policy is None else policy.document.limits.header_bytes

    def feed(self, leaf: bytes, body: Body | None = None) -> Header:
        """Verify the next entry; raise ``VerificationError`` naming it if anything is wrong.

        A refused entry changes nothing: the verifier can go on with a good copy of it.
        """
        saved = (self.party, self.network, self.announced_policy)
        key_count, policy_count = len(self.keys), len(self.policies)
        header: Header | None = None
        try:
            header = parse_header(leaf, header_limit=self.header_limit())
            self._check_position(header)
            self._check_keys_and_policy(header, body)
            if body is not None:
                header.check_body(body)
        except ParleyError as exc:
            self.party, self.network, self.announced_policy = saved
            del self.keys[key_count:], self.policies[policy_count:]
            named = header is not None and exc.message.startswith(f"{header.ref}:")
            if isinstance(exc, VerificationError) and named:
                raise
            where = f"entry {self.party or '?'}:{self.size}"
            raise VerificationError(f"{where}: {exc.message}", hint=exc.hint) from exc
        self.size += 1
        self.last_time = header.time
        return header

    def _check_position(self, h: Header) -> None:
        if self.party is None:
            self.party, self.network = h.party, h.network
        if h.party != self.party or h.network != self.network:
            raise VerificationError(f"{h.ref}: party or network differs from the log's")
        if h.seq != self.size:
            raise VerificationError(f"{h.ref}: expected seq {self.size}")
        if h.time < self.last_time:
            raise VerificationError(f"{h.ref}: time {h.time} is earlier than {self.last_time}")

    def _check_keys_and_policy(self, h: Header, body: Body | None) -> None:
        if h.seq == 0 and h.kind != "key":
            raise VerificationError(f"{h.ref}: a log starts with a key statement")
        if h.seq == 1 and h.kind != "policy":
            raise VerificationError(f"{h.ref}: the second entry of a log is its policy")
        if h.kind == "key":
            statement = self._key_statement(h, body)
            log_key, identity = statement.purposes["log"], statement.identity
        else:
            current = self.statement
            assert current is not None  # seq 0 is always a key statement  # noqa: S101
            log_key, identity = current.purposes["log"], current.identity
        if h.node != identity.kid:
            raise VerificationError(f"{h.ref}: node {h.node} is not the identity {identity.kid}")
        h.verify_signature(log_key)
        if h.kind == "policy":
            self._policy(h, body)
        if h.seq == 0:
            self.announced_policy = h.policy
        elif h.policy != self.policy_hash():
            raise VerificationError(f"{h.ref}: names policy {h.policy[:16]}, not the one in force")
        if h.kind == "key":
            self.keys.append(KeyEpoch(h.seq, statement))

    def policy_hash(self) -> str | None:
        """The hash of the policy in force; None before the log's policy entry."""
        policy = self.policy
        return None if policy is None else policy.hash

    def _key_statement(self, h: Header, body: Body | None) -> KeyStatement:
        if body is None:
            raise VerificationError(f"{h.ref}: a key statement cannot be verified without body")
        h.check_body(body)
        statement = KeyStatement.from_body(body.value())
        if statement.party != h.party:
            raise VerificationError(f"{h.ref}: key statement names party {statement.party}")
        if statement.seq != h.seq:
            raise VerificationError(
                f"{h.ref}: key statement was signed for seq {statement.seq} (a replayed statement)"
            )
        previous = self.statement
        if previous is None:
            if self.pinned_identity is not None and statement.identity != self.pinned_identity:
                raise VerificationError(
                    f"{h.ref}: identity {statement.identity.kid} is not the pinned key "
                    f"{self.pinned_identity.kid}"
                )
        else:
            statement.check_follows(previous)
            self._check_not_retired(h, statement, previous)
        return statement

    def _check_not_retired(
        self, h: Header, statement: KeyStatement, previous: KeyStatement
    ) -> None:
        """A retired key signs nothing new: no later statement may certify it or rotate back to it.

        Without this, whoever holds a retired key could replay the old identity-signed
        statement that certified it (it still passes ``check_follows``) and sign with it again.
        """
        in_force = set(previous.purposes.values())
        retired = {k for e in self.keys for k in e.statement.purposes.values()} - in_force
        reused = sorted(name for name, key in statement.purposes.items() if key in retired)
        if reused:
            raise VerificationError(
                f"{h.ref}: key statement certifies a retired {', '.join(reused)} key again"
            )
        retired_identities = {e.statement.identity for e in self.keys} - {previous.identity}
        if statement.identity in retired_identities:
            raise VerificationError(f"{h.ref}: key statement rotates back to a retired identity")

    def _policy(self, h: Header, body: Body | None) -> None:
        if body is None:
            raise VerificationError(f"{h.ref}: a policy entry cannot be verified without body")
        h.check_body(body)
        signed = SignedPolicy.from_body(body.value())
        signed.verify_complete()
        document = signed.document
        if document.network != h.network:
            raise VerificationError(f"{h.ref}: policy is for network {document.network}")
        document.member(h.party)
        if h.seq == 1 and signed.hash != self.announced_policy:
            raise VerificationError(f"{h.ref}: policy differs from the one seq 0 announced")
        previous = self.policy
        if previous is not None and document.version <= previous.document.version:
            raise InvalidEntryError(f"{h.ref}: policy version must increase")
        self.policies.append((h.seq, signed))

    def key_at(self, seq: int) -> KeyStatement:
        """The key statement in force at ``seq`` (key validity by seq range)."""
        found = None
        for epoch in self.keys:
            if epoch.from_seq <= seq:
                found = epoch.statement
        if found is None:
            raise VerificationError(f"no key statement in force at seq {seq}")
        return found


@dataclass(frozen=True)
class LogReport:
    """What a full verification of a log established."""

    party: str
    network: str
    size: int
    root: bytes
    checkpoints: int
    bodies: int


def _note_size(note: str) -> int:
    end = note.find("\n\n")
    if end < 0:
        raise VerificationError("checkpoint note has no signature block")
    return Checkpoint.parse_body(note[: end + 1].encode("utf-8")).size


def verify_log(
    items: Iterable[tuple[bytes, Body | None]],
    notes: Iterable[str],
    *,
    pinned_identity: PublicKey | None = None,
) -> LogReport:
    """Verify a whole log in seq order against its checkpoints, in memory O(log n).

    ``notes`` must come in ascending order of tree size (as stores and exports keep them); both
    streams are consumed lazily. Every entry passes ``LogVerifier.feed``; the tree is rebuilt
    from the leaves keeping only the frontier; every checkpoint must be signed by the log key in
    force at its last entry, carry the recomputed root, name the log's origin, and a time no
    earlier than its entries.
    """
    pending = iter(notes)
    upcoming = _next_note(pending, 0)
    verifier = LogVerifier(pinned_identity=pinned_identity)
    frontier: dict[merkle.NodeId, bytes] = {}
    checked = bodies = 0
    for leaf, body in items:
        header = verifier.feed(leaf, body)
        bodies += body is not None
        leaf_hash = merkle.leaf_hash(leaf)
        frontier.update(merkle.append_leaf(header.seq, leaf_hash, frontier.__getitem__))
        keep = merkle.range_nodes(0, verifier.size)
        frontier = {nid: frontier[nid] for nid in keep}
        while upcoming is not None and upcoming[0] == verifier.size:
            _check_note(verifier, upcoming[1], merkle.hash_of_nodes([frontier[n] for n in keep]))
            checked += 1
            upcoming = _next_note(pending, verifier.size)
    if upcoming is not None:
        raise VerificationError(
            f"checkpoint for size {upcoming[0]} lies beyond the log ({verifier.size} entries)"
        )
    if verifier.party is None or verifier.network is None:
        raise VerificationError("the log is empty")
    root = merkle.hash_of_nodes([frontier[n] for n in merkle.range_nodes(0, verifier.size)])
    return LogReport(verifier.party, verifier.network, verifier.size, root, checked, bodies)


def _next_note(notes: Iterator[str], after: int) -> tuple[int, str] | None:
    """The next checkpoint, which must not be for a size below ``after`` (ascending order)."""
    note = next(notes, None)
    if note is None:
        return None
    size = _note_size(note)
    if size < after or size == 0:
        raise VerificationError(f"checkpoint for size {size} is out of order (after size {after})")
    return size, note


def _check_note(verifier: LogVerifier, note: str, root: bytes) -> None:
    assert verifier.party is not None and verifier.network is not None  # noqa: S101
    key = verifier.key_at(verifier.size - 1).purposes["log"]
    checkpoint = open_log_checkpoint(
        note, verifier.network, verifier.party, key.raw, verifier.origin
    )
    verifier.origin = checkpoint.origin
    where = f"checkpoint of size {checkpoint.size}"
    if checkpoint.root != root:
        raise VerificationError(f"{where}: root hash does not match the entries")
    if checkpoint.time_ms is not None and checkpoint.time_ms < verifier.last_time:
        raise VerificationError(f"{where}: time line is earlier than its last entry")
