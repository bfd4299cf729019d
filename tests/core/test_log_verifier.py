"""Verifying a whole log in order: real logs pass; every rewrite, forgery and rollback fails."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, origin_for, sign_checkpoint
from parley.core.entry import Body, Header
from parley.core.errors import VerificationError
from parley.core.keys import KeyStatement, SigningKey, commitment
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.core.proof import verify_entry_proof
from parley.core.verify import LogVerifier, verify_log
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import logs

Items = list[tuple[bytes, Body | None]]
NewLog = Callable[..., Any]


def refused(items: Items, notes: list[str], **kwargs: Any) -> str:
    with pytest.raises(VerificationError) as caught:
        verify_log(items, notes, **kwargs)
    return str(caught.value)


def names_entry(message: str, seq: int) -> bool:
    """Whether a refusal names entry ``seq`` (as PARTY:SEQ, ?:SEQ before the party is known)."""
    return re.search(rf"(\b[A-Z][A-Z0-9]*|\?):{seq}\b|expected seq {seq}\b", message) is not None


@pytest.fixture
def log(new_log: NewLog) -> Any:
    """Ten entries, checkpoints at sizes 2, 6 and 10; two named-audience entries."""
    log = new_log()
    log.checkpoint()
    log.extend(3)
    log.append("hotline", {"to": "KR", "text": "hello", "deadlines": {}}, audience=("KR",))
    log.checkpoint()
    log.append("check", status="Exercise")
    log.append("launch-notice", {"anything": ["a future kind"]}, audience=("CN", "KR"), tlp="RED")
    log.extend(2)
    log.checkpoint()
    assert log.size == 10
    return log


# ---------------------------------------------------------------------------------------------
# Logs that verify
# ---------------------------------------------------------------------------------------------


def test_real_log_verifies(real_node: Node, real_log: Callable[[Node], Any]) -> None:
    items, notes = real_log(real_node)
    report = verify_log(items, notes)
    with real_node.store.read() as conn:
        state = logs.get_state(conn, "JP")
    assert state is not None
    assert (report.party, report.network, report.size) == ("JP", "parley-test", state.size)
    assert report.root == state.root
    assert report.checkpoints == len(notes) == 5  # one per append: init, 3 checks, hotline
    assert report.bodies == 6


def test_real_log_verifies_with_its_pinned_identity(
    real_node: Node, real_log: Callable[[Node], Any]
) -> None:
    items, notes = real_log(real_node)
    verify_log(items, notes, pinned_identity=real_node.identity().public)


def test_real_log_verifies_with_withheld_bodies(
    real_node: Node, real_log: Callable[[Node], Any]
) -> None:
    items, notes = real_log(real_node)
    withheld = [(leaf, body if seq < 2 else None) for seq, (leaf, body) in enumerate(items)]
    assert verify_log(withheld, notes).bodies == 2


def test_real_log_with_a_rotated_log_key_verifies(
    real_node: Node,
    real_log: Callable[[Node], Any],
    rotate_node_log_key: Callable[[Node], SigningKey],
) -> None:
    before = real_node.context().statement.purposes["log"]
    new = rotate_node_log_key(real_node)
    real_node.append([Draft("check", "Test", {"nonce": "ff" * 16, "deadlines": {}})] * 3)
    items, notes = real_log(real_node)
    report = verify_log(items, notes)
    assert report.size == 10
    verifier = LogVerifier()
    for leaf, body in items:
        verifier.feed(leaf, body)
    assert verifier.key_at(5).purposes["log"] == before
    assert verifier.key_at(6).purposes["log"] == new.public
    assert verifier.key_at(9).purposes["log"] == new.public


def test_core_log_verifies(log: Any) -> None:
    report = verify_log(log.items(), log.notes)
    assert (report.size, report.checkpoints, report.bodies) == (10, 3, 10)
    assert report.root == log.root()
    assert verify_log(log.items(bodies=False), log.notes).bodies == 2


def test_entries_of_unknown_kinds_verify(log: Any) -> None:
    """Forward compatibility: a future kind is stored and verified as it is."""
    verifier = LogVerifier()
    kinds = [verifier.feed(leaf, body).kind for leaf, body in log.items()]
    assert "launch-notice" in kinds


def test_equal_times_are_allowed(new_log: NewLog) -> None:
    log = new_log()
    log.append(time=log.time)
    log.append(time=log.headers[-1].time)
    verify_log(log.items(), [log.checkpoint()])


def test_log_with_identity_rotation_verifies(new_log: NewLog) -> None:
    log = new_log()
    log.extend(2)
    old = log.rotate_identity()
    log.extend(2)
    log.rotate_identity()
    log.extend(1)
    verify_log(log.items(), [log.checkpoint()], pinned_identity=old.public)


def test_key_history_by_seq_range(new_log: NewLog) -> None:
    log = new_log()
    log.extend(2)
    first_log_key = log.keys["log"]
    log.rotate_log_key()  # seq 4
    verifier = LogVerifier()
    for leaf, body in log.items():
        verifier.feed(leaf, body)
    assert verifier.key_at(3).purposes["log"] == first_log_key.public
    assert verifier.key_at(4).purposes["log"] == log.keys["log"].public
    with pytest.raises(VerificationError, match="no key statement in force"):
        LogVerifier().key_at(0)


# ---------------------------------------------------------------------------------------------
# Rewritten, reordered, truncated, duplicated, altered
# ---------------------------------------------------------------------------------------------


def test_rewritten_history_detected(log: Any) -> None:
    """The author re-signs entry 3 with another body; its own older checkpoints give it away."""
    items = log.items()
    rewritten = log.append(
        body={"nonce": "ee" * 16, "deadlines": {}}, seq=3, time=log.headers[3].time
    )
    items[3] = (rewritten.leaf, log.bodies[-1])
    message = refused(items, log.notes)
    assert "checkpoint of size 6: root hash does not match the entries" in message


def root_of(items: Items) -> bytes:
    nodes: dict[merkle.NodeId, bytes] = {}
    for index, (leaf, _) in enumerate(items):
        nodes.update(merkle.append_leaf(index, merkle.leaf_hash(leaf), nodes.__getitem__))
    return merkle.hash_of_nodes([nodes[n] for n in merkle.range_nodes(0, len(items))])


def test_rewritten_history_with_fresh_checkpoint_still_detected(log: Any) -> None:
    """A fork signs its own checkpoints; against the ones it published before, it fails."""
    items = log.items()[:3]
    fork = log.append(body={"nonce": "dd" * 16, "deadlines": {}}, seq=3, time=log.headers[3].time)
    items.append((fork.leaf, log.bodies[-1]))
    fresh = log.checkpoint(4, root=root_of(items), time=fork.time)
    verify_log(items, [log.notes[0], fresh])  # on its own, the fork is self-consistent
    assert "root hash does not match" in refused(items + log.items()[4:10], log.notes[:3])


@pytest.mark.parametrize("i", range(9))
def test_reordered_entries_detected(log: Any, i: int) -> None:
    items = log.items()
    items[i], items[i + 1] = items[i + 1], items[i]
    message = refused(items, log.notes)
    assert f"expected seq {i}" in message
    assert names_entry(message, i + 1)


@pytest.mark.parametrize("i", range(9))
def test_removed_entry_detected(log: Any, i: int) -> None:
    items = log.items()
    del items[i]
    message = refused(items, log.notes)
    assert f"JP:{i + 1}: expected seq {i}" in message


@pytest.mark.parametrize("keep", [0, 1, 2, 5, 9])
def test_truncated_log_detected(log: Any, keep: int) -> None:
    message = refused(log.items()[:keep], log.notes)
    assert "checkpoint for size" in message and "lies beyond the log" in message


def test_truncated_log_without_the_checkpoint_is_only_a_shorter_log(log: Any) -> None:
    """Truncation is visible only against a checkpoint: verify_log reports the size it saw."""
    assert verify_log(log.items()[:6], log.notes[:2]).size == 6


@pytest.mark.parametrize("i", range(10))
def test_duplicated_entry_detected(log: Any, i: int) -> None:
    items = log.items()
    items.insert(i + 1, items[i])
    message = refused(items, log.notes)
    assert f"JP:{i}: expected seq {i + 1}" in message


@pytest.mark.parametrize("i", range(10))
def test_altered_header_detected(log: Any, i: int) -> None:
    """Every single-bit change of every seventh byte of a leaf is refused, naming the entry."""
    items = log.items()
    leaf = items[i][0]
    for position in range(0, len(leaf), 7):
        altered = leaf[:position] + bytes([leaf[position] ^ 1]) + leaf[position + 1 :]
        tampered = [*items[:i], (altered, items[i][1]), *items[i + 1 :]]
        message = refused(tampered, log.notes)
        assert names_entry(message, i), (position, message)


@pytest.mark.parametrize("i", range(10))
def test_altered_body_detected(log: Any, i: int) -> None:
    items = log.items()
    leaf, body = items[i]
    assert body is not None
    for salt, data in (
        (body.salt, body.data[:-2] + bytes([body.data[-2] ^ 1]) + body.data[-1:]),
        (bytes([body.salt[0] ^ 1]) + body.salt[1:], body.data),
        (body.salt, body.data + b" "),
    ):
        tampered = [*items[:i], (leaf, Body(salt, data)), *items[i + 1 :]]
        message = refused(tampered, log.notes)
        assert f"JP:{i}: body" in message


def test_entry_from_another_log_detected(log: Any, new_log: NewLog) -> None:
    other = new_log()  # same party and network, other keys
    other.extend(8)
    items = log.items()
    items[5] = other.items()[5]
    assert names_entry(refused(items, log.notes), 5)


# ---------------------------------------------------------------------------------------------
# Forged checkpoints
# ---------------------------------------------------------------------------------------------


def test_checkpoint_signed_by_another_key_refused(log: Any) -> None:
    forged = log.checkpoint(key=SigningKey.generate())
    assert "no signature by key" in refused(log.items(), [*log.notes[:-1], forged])


def test_checkpoint_with_another_root_refused(log: Any) -> None:
    forged = log.checkpoint(6, root=log.root(5))
    message = refused(log.items(), [log.notes[0], forged, log.notes[2]])
    assert "checkpoint of size 6: root hash does not match the entries" in message


def test_checkpoint_of_another_origin_refused(log: Any) -> None:
    """Signed by the right key under the log's name, but naming another log in its text."""
    other = origin_for("nea-live", "JP")
    cp = Checkpoint(other, 10, log.root(), log.time)
    forged = sign_checkpoint(cp, log.origin, log.keys["log"].private)
    message = refused(log.items(), [forged])
    assert "origin 'parley/nea-live/JP' is not an origin of JP's log on parley-test" in message
    assert "not an origin of JP's log" in refused(log.items(), [log.checkpoint(origin=other)])


def test_checkpoint_earlier_than_its_entries_refused(log: Any) -> None:
    forged = log.checkpoint(time=log.headers[-1].time - 1)
    assert "time line is earlier than its last entry" in refused(log.items(), [forged])


def test_checkpoint_beyond_the_log_refused(log: Any) -> None:
    log.append()
    beyond = log.checkpoint()
    assert "checkpoint for size 11 lies beyond the log (10 entries)" in refused(
        log.items()[:10], [*log.notes[:3], beyond]
    )


def test_every_byte_of_a_checkpoint_is_bound(log: Any) -> None:
    note, items = log.notes[0], log.items()[:2]  # size 2: key statement and policy
    verify_log(items, [note])
    for position, char in enumerate(note):
        flipped = note[:position] + chr(ord(char) ^ 1) + note[position + 1 :]
        with pytest.raises(VerificationError):
            verify_log(items, [flipped])


def test_checkpoint_signed_by_retired_log_key_refused(new_log: NewLog) -> None:
    log = new_log()
    log.extend(2)
    before = log.checkpoint()  # size 4, by the first log key
    retired = log.rotate_log_key()
    log.extend(1)
    verify_log(log.items(), [before, log.checkpoint()])
    forged = log.checkpoint(key=retired)
    assert "no signature by key" in refused(log.items(), [before, forged])


# ---------------------------------------------------------------------------------------------
# Time, keys, identity
# ---------------------------------------------------------------------------------------------


def test_time_going_backwards_refused(new_log: NewLog) -> None:
    log = new_log()
    log.extend(2)
    log.append(time=log.headers[-1].time - 1)
    message = refused(log.items(), [])
    assert re.search(r"JP:4: time \d+ is earlier than \d+", message)


def test_entry_signed_by_retired_key_after_rotation_refused(new_log: NewLog) -> None:
    log = new_log()
    log.extend(2)
    retired = log.rotate_log_key()
    log.extend(1)
    log.append(log_key=retired)  # seq 6
    message = refused(log.items(), [])
    assert "JP:6" in message and f"signed by key {retired.kid}" in message


def test_entry_signed_by_identity_key_instead_of_log_key_refused(new_log: NewLog) -> None:
    log = new_log()
    log.append(log_key=log.identity)
    assert "JP:2: signed by key" in refused(log.items(), [])


def test_retired_log_key_reinstated_by_replayed_statement_refused(new_log: NewLog) -> None:
    """Rollback attack: the holder of a retired log key replays the statement that certified it.

    That statement is genuinely signed by the identity key and passes ``check_follows``
    (same identity, same commitment); it names the seq it was made for, so it is refused.
    """
    log = new_log()
    first_statement = log.bodies[0].value()
    log.extend(1)
    retired = log.rotate_log_key()
    log.extend(1)
    log.keys["log"] = retired
    log.append("key", first_statement)  # seq 5, signed by the retired key it re-certifies
    log.append()
    message = refused(log.items(), [])
    assert "JP:5: key statement was signed for seq 0 (a replayed statement)" in message


def test_fresh_statement_certifying_a_retired_log_key_refused(new_log: NewLog) -> None:
    """A retired key signs nothing new, even when a new statement names it again."""
    log = new_log()
    original = log.keys["log"]
    log.extend(1)
    log.rotate_log_key()
    log.keys["log"] = original
    statement = dataclasses.replace(
        log.statement,
        seq=len(log.headers),
        purposes={**log.statement.purposes, "log": original.public},
    )
    log.append("key", statement.signed_body(log.identity))
    log.append()
    assert "certifies a retired log key again" in refused(log.items(), [])


def test_purpose_key_may_be_kept_across_rotations(new_log: NewLog) -> None:
    """Re-stating a key that is still in force is not a rollback."""
    log = new_log()
    log.rotate_log_key()
    statement = dataclasses.replace(log.statement, seq=len(log.headers))
    log.append("key", statement.signed_body(log.identity))  # the same keys once more
    verify_log(log.items(), [log.checkpoint()])


def test_rotation_to_uncommitted_identity_in_a_log_refused(new_log: NewLog) -> None:
    log = new_log()
    log.extend(1)
    log.rotate_identity(new=SigningKey.generate())  # seq 3
    message = refused(log.items(), [])
    assert "JP:3" in message and "does not match the committed next-key hash" in message


def test_entry_naming_a_retired_identity_refused(new_log: NewLog) -> None:
    log = new_log()
    old = log.rotate_identity()
    log.append(node=old.kid)  # seq 3
    assert "JP:3: node" in refused(log.items(), [])


def test_pinned_identity_mismatch_refused(log: Any) -> None:
    other = SigningKey.generate().public
    message = refused(log.items(), log.notes, pinned_identity=other)
    assert f"is not the pinned key {other.kid}" in message
    verify_log(log.items(), log.notes, pinned_identity=log.identity.public)


def test_key_statement_of_another_party_refused(new_log: NewLog) -> None:
    log = new_log()
    statement = KeyStatement(
        party="KR",
        seq=len(log.headers),
        identity=log.identity.public,
        purposes=log.statement.purposes,
        next_identity=log.statement.next_identity,
    )
    log.append("key", statement.signed_body(log.identity))
    assert "JP:2" in refused(log.items(), [])


# ---------------------------------------------------------------------------------------------
# The shape of a log: key statement, policy, headers naming them
# ---------------------------------------------------------------------------------------------


def test_log_must_start_with_a_key_statement(new_log: NewLog) -> None:
    log = new_log()
    header = log.append(seq=0)
    message = refused([(header.leaf, log.bodies[-1])], [])
    assert "a log starts with a key statement" in message


def test_second_entry_must_be_the_policy(new_log: NewLog) -> None:
    log = new_log()
    header = log.append(seq=1)
    message = refused([log.items()[0], (header.leaf, log.bodies[-1])], [])
    assert "the second entry of a log is its policy" in message


def test_key_statement_without_body_refused(log: Any) -> None:
    items = log.items()
    items[0] = (items[0][0], None)
    assert "cannot be verified without body" in refused(items, log.notes)


def test_policy_without_body_refused(log: Any) -> None:
    items = log.items()
    items[1] = (items[1][0], None)
    assert "JP:1: a policy entry cannot be verified without body" in refused(items, log.notes)


def test_entry_naming_another_policy_refused(new_log: NewLog) -> None:
    log = new_log()
    log.append(policy="ab" * 32)
    assert "JP:2: names policy abababababababab, not the one in force" in refused(log.items(), [])


def test_policy_other_than_announced_refused(new_log: NewLog) -> None:
    log = new_log()
    announced = log.append("key", log.bodies[0].value(), seq=0, policy="cd" * 32, time=0)
    items = [(announced.leaf, log.bodies[-1]), log.items()[1]]
    assert "policy differs from the one seq 0 announced" in refused(items, [])


def test_entry_of_another_party_or_network_refused(new_log: NewLog) -> None:
    for change in ({"party": "KR"}, {"network": "nea-live"}):
        log = new_log()
        log.append(**change)
        assert ":2: party or network differs from the log's" in refused(log.items(), [])


def new_version(log: Any, signers: list[str], **changes: Any) -> dict[str, Any]:
    """The log's policy as version 2 (with changes), signed by ``signers`` only."""
    doc = {**log.policy.document.to_dict(), "version": 2, **changes}
    document = PolicyDocument.from_dict(doc)
    signed = SignedPolicy(document, {})
    for party, key in log.members:
        if party in signers:
            signed.add(document.sign(party, key))
    return signed.to_body()


def test_policy_change_signed_by_every_member_verifies(new_log: NewLog) -> None:
    log = new_log(others=[("KR", SigningKey.generate())])
    log.append("policy", new_version(log, ["JP", "KR"]))
    log.append()
    verifier = LogVerifier()
    for leaf, body in log.items():
        verifier.feed(leaf, body)
    assert verifier.policy is not None and verifier.policy.document.version == 2


def test_policy_change_not_signed_by_every_member_refused(new_log: NewLog) -> None:
    log = new_log(others=[("KR", SigningKey.generate())])
    log.append("policy", new_version(log, ["JP"]))
    assert "JP:2: policy" in (msg := refused(log.items(), [])) and "signatures of KR" in msg


def test_policy_version_must_increase(new_log: NewLog) -> None:
    log = new_log()
    log.append("policy", new_version(log, ["JP"], version=1, name="renamed"))
    assert "policy version must increase" in refused(log.items(), [])


def test_policy_of_another_network_refused(new_log: NewLog) -> None:
    log = new_log()
    log.append("policy", new_version(log, ["JP"], network="nea-live"))
    assert "policy is for network nea-live" in refused(log.items(), [])


def test_policy_that_drops_the_author_refused(new_log: NewLog) -> None:
    kr = SigningKey.generate()
    log = new_log(others=[("KR", kr)])
    members = [m for m in log.policy.document.to_dict()["members"] if m["party"] == "KR"]
    body = new_version(log, ["KR"], members=members)
    log.append("policy", body)
    assert "party JP is not a member" in refused(log.items(), [])


def test_header_over_the_policys_limit_refused(new_log: NewLog) -> None:
    log = new_log(limits={"header_bytes": 512, "body_bytes": 1024})
    parties = tuple(sorted(f"P{i:03d}" for i in range(20)))
    log.append(audience=parties)  # signed within 4 KiB, but over this network's limit
    assert "JP:2: header is" in (msg := refused(log.items(), [])) and "limit of 512" in msg


# ---------------------------------------------------------------------------------------------
# The verifier as a state machine
# ---------------------------------------------------------------------------------------------


def test_refused_entry_changes_nothing(new_log: NewLog) -> None:
    """A forged first entry must not fix the log's party, network or policy."""
    log = new_log()
    impostor = new_log(network="nea-live")
    verifier = LogVerifier()
    with pytest.raises(VerificationError):
        verifier.feed(impostor.headers[0].leaf, Body(b"\x00" * 32, impostor.bodies[0].data))
    assert (verifier.party, verifier.network, verifier.size) == (None, None, 0)
    for leaf, body in log.items():
        verifier.feed(leaf, body)
    assert verifier.size == log.size


def test_refused_policy_entry_leaves_the_policy_in_force(new_log: NewLog) -> None:
    log = new_log()
    body = new_version(log, ["JP"])
    bad = log.append("policy", body, policy="ab" * 32)  # names the wrong policy in its header
    bad_body = log.bodies[-1]
    good = log.append("policy", body, seq=2)
    verifier = LogVerifier()
    for leaf, item_body in log.items()[:2]:
        verifier.feed(leaf, item_body)
    in_force = verifier.policy_hash()
    with pytest.raises(VerificationError, match="JP:2: names policy"):
        verifier.feed(bad.leaf, bad_body)
    assert verifier.policy_hash() == in_force
    verifier.feed(good.leaf, log.bodies[-1])
    assert verifier.policy_hash() == good.policy != in_force


def test_refused_key_statement_leaves_the_keys_in_force(new_log: NewLog) -> None:
    log = new_log()
    verifier = LogVerifier()
    for leaf, body in log.items():
        verifier.feed(leaf, body)
    retired_log_key = log.keys["log"]
    log.rotate_log_key()
    rotation, rotation_body = log.headers[-1], log.bodies[-1]
    with pytest.raises(VerificationError):
        verifier.feed(rotation.leaf, Body(rotation_body.salt, rotation_body.data + b" "))
    assert verifier.key_at(2).purposes["log"] == retired_log_key.public
    verifier.feed(rotation.leaf, rotation_body)
    assert verifier.key_at(2).purposes["log"] == log.keys["log"].public


def test_empty_log_refused() -> None:
    assert "the log is empty" in refused([], [])


# ---------------------------------------------------------------------------------------------
# Scale: O(log n) memory for the tree
# ---------------------------------------------------------------------------------------------


def test_5000_entry_log_verifies_keeping_only_the_frontier(
    new_log: NewLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = new_log()
    log.extend(4998)
    middle = log.checkpoint(2500)
    notes = [middle, log.checkpoint()]
    assert log.size == 5000
    largest = 0
    append_leaf = merkle.append_leaf

    def watched(index: int, leaf: bytes, get_node: Callable[..., bytes]) -> Any:
        nonlocal largest
        largest = max(largest, len(get_node.__self__))  # type: ignore[attr-defined]
        return append_leaf(index, leaf, get_node)

    monkeypatch.setattr(merkle, "append_leaf", watched)
    report = verify_log(log.items(bodies=False), notes)
    assert (report.size, report.checkpoints, report.root) == (5000, 2, log.root())
    assert 0 < largest <= math.floor(math.log2(5000)) + 1


def test_headers_fed_keep_only_their_own_leaf(log: Any) -> None:
    verifier = LogVerifier()
    headers: list[Header] = [verifier.feed(leaf, body) for leaf, body in log.items()]
    assert [h.seq for h in headers] == list(range(10))
    assert [h.leaf for h in headers] == [h.leaf for h in log.headers]


# ---------------------------------------------------------------------------------------------
# Rotations: accepted when committed, history stays verifiable, retired keys sign nothing new
# ---------------------------------------------------------------------------------------------


def rotate_purpose(log: Any, purpose: str) -> SigningKey:
    """Certify a fresh ``purpose`` key as 'parley key rotate --purpose' does; return the old."""
    retired: SigningKey = log.keys[purpose]
    if purpose == "log":
        log.rotate_log_key()
        return retired
    log.keys[purpose] = SigningKey.generate()
    statement = log.statement.purpose_rotation(log.size, purpose, log.keys[purpose].public)
    log.append("key", statement.signed_body(log.identity))
    return retired


def test_identity_and_log_key_rotation_accepted_and_old_entries_still_verify(
    new_log: NewLog,
) -> None:
    log = new_log()
    log.extend(2)  # seq 2-3, under the first identity and log key
    first_identity, first_log_key = log.identity, log.keys["log"]
    before = log.checkpoint()
    log.rotate_identity()  # seq 4, signed by both identities
    rotate_purpose(log, "log")  # seq 5
    log.extend(2)
    report = verify_log(
        log.items(), [before, log.checkpoint()], pinned_identity=first_identity.public
    )
    assert report.size == 8
    proof = verify_entry_proof(log.proof(3), pinned_identity=first_identity.public)
    assert proof.identity == first_identity.public  # the identity in force at JP:3
    assert proof.header.kid == first_log_key.kid
    verifier = LogVerifier()
    for leaf, body in log.items():
        verifier.feed(leaf, body)
    assert verifier.key_at(3).identity == first_identity.public
    assert verifier.key_at(4).identity == log.identity.public
    assert verifier.key_at(4).purposes["log"] == first_log_key.public
    assert verifier.key_at(7).purposes["log"] == log.keys["log"].public


def test_rotation_to_an_uncommitted_key_is_refused(new_log: NewLog) -> None:
    """Signed by the old and the new key, yet not the key the log committed to: refused."""
    log = new_log()
    log.extend(1)
    log.rotate_identity(new=SigningKey.generate())  # seq 3
    log.extend(1)
    message = refused(log.items(), [])
    assert names_entry(message, 3) and "does not match the committed next-key hash" in message


def test_retired_identity_signs_nothing_new(new_log: NewLog) -> None:
    """A thief of the retired identity certifies a log key of their own after the rotation."""
    log = new_log()
    retired = log.rotate_identity()  # seq 2
    thief_log_key = SigningKey.generate()
    statement = KeyStatement(
        party="JP",
        seq=log.size,
        identity=retired.public,
        purposes={**log.statement.purposes, "log": thief_log_key.public},
        next_identity=log.statement.next_identity,
    )
    log.keys["log"] = thief_log_key
    log.append("key", statement.signed_body(retired), node=retired.kid)  # seq 3
    message = refused(log.items(), [])
    assert names_entry(message, 3) and "rotation not signed by the current identity" in message


def test_rotation_back_to_a_retired_identity_refused(new_log: NewLog) -> None:
    """Even committed to, a retired identity key never comes back."""
    log = new_log()
    first, second = log.identity, log.next_identity
    for seq, (old, new, committed) in enumerate([(first, second, first), (second, first, None)]):
        statement = KeyStatement(
            party="JP",
            seq=log.size,
            identity=new.public,
            purposes=log.statement.purposes,
            next_identity=commitment((committed or SigningKey.generate()).public.raw),
            previous_identity=old.public,
        )
        log.append("key", statement.signed_body(new, old))
        assert log.size == 3 + seq
    message = refused(log.items(), [])
    assert names_entry(message, 3) and "rotates back to a retired identity" in message


def test_entry_after_rotation_signed_by_the_retired_log_key_is_refused_not_the_ones_before(
    new_log: NewLog,
) -> None:
    log = new_log()
    log.extend(2)
    retired = rotate_purpose(log, "log")  # seq 4
    log.append(log_key=retired)  # seq 5: the retired key signs something new
    verify_log(log.items()[:5], [])  # everything it signed before the rotation verifies
    message = refused(log.items(), [])
    assert names_entry(message, 5) and f"signed by key {retired.kid}" in message


OPERATIONS = st.lists(
    st.sampled_from(["entry", "identity", "log", "witness", "http"]), min_size=1, max_size=8
)


@settings(max_examples=20, deadline=None)
@given(operations=OPERATIONS, forge_at=st.integers(0, 20))
def test_any_sequence_of_rotations_verifies_and_no_retired_log_key_signs_after_it(
    new_log: NewLog, operations: list[str], forge_at: int
) -> None:
    log = new_log()
    pinned = log.identity.public
    log_keys = [(0, log.keys["log"])]  # (first seq, log key) of each log-key epoch
    for operation in operations:
        if operation == "entry":
            log.append()
        elif operation == "identity":
            log.rotate_identity()
        else:
            rotate_purpose(log, operation)
            if operation == "log":
                log_keys.append((log.size - 1, log.keys["log"]))
    report = verify_log(log.items(), [log.checkpoint()], pinned_identity=pinned)
    verifier = LogVerifier()
    for leaf, body in log.items():
        verifier.feed(leaf, body)
    for start, key in log_keys:
        assert verifier.key_at(start).purposes["log"] == key.public
    if len(log_keys) > 1:
        retired = log_keys[forge_at % (len(log_keys) - 1)][1]
        log.append(log_key=retired)
        message = refused(log.items(), [])
        assert names_entry(message, report.size) and f"signed by key {retired.kid}" in message


def test_a_legacy_log_verifies_forever_and_may_continue_in_the_extension_free_form(
    new_log: NewLog,
) -> None:
    """Signed history is never rewritten: `time`-line checkpoints verify beside plain ones."""
    log = new_log()
    log.extend(3)
    legacy = log.checkpoint()  # the legacy form, with its time line
    assert "\ntime " in legacy
    log.extend(2)
    plain = sign_checkpoint(
        Checkpoint(log.origin, log.size, log.root()), log.origin, log.keys["log"].private
    )
    assert "\ntime " not in plain
    report = verify_log(log.items(), [legacy, plain])
    assert (report.size, report.checkpoints) == (log.size, 2)
