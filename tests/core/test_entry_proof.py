"""Entry proofs verified offline: real proofs pass; any changed byte or wrong key fails."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from parley.core.errors import VerificationError
from parley.core.keys import KeyStatement, SigningKey
from parley.core.proof import PROOF_FORMAT, verify_entry_proof
from parley.node.export import build_proof
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import logs

NewLog = Callable[..., Any]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def base64_fields(proof: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any] | list[Any], Any]]:
    """(name, container, key) of every base64 value in an entry proof."""
    records = [("entry", proof["entry"])]
    records += [(f"history[{i}]", r) for i, r in enumerate(proof["history"])]
    for name, record in records:
        for key in ("leaf", "body", "salt"):
            if record.get(key) is not None:
                yield f"{name}.{key}", record, key
        for index in range(len(record["inclusion"])):
            yield f"{name}.inclusion[{index}]", record["inclusion"], index


def sample(length: int, count: int = 16) -> list[int]:
    """About ``count`` positions spread over ``length``, first and last included."""
    return sorted({0, length - 1, *range(0, length, max(1, length // count))})


def fails(proof: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(VerificationError) as caught:
        verify_entry_proof(proof, **kwargs)
    return str(caught.value)


@pytest.fixture
def proof(real_node: Node) -> dict[str, Any]:
    """The proof of JP:3 (a check entry) in the latest checkpoint (size 6)."""
    return build_proof(real_node.store, "JP:3")


# ---------------------------------------------------------------------------------------------
# Proofs that verify
# ---------------------------------------------------------------------------------------------


def test_entry_proof_verifies_offline(real_node: Node, proof: dict[str, Any]) -> None:
    offline = orjson.loads(orjson.dumps(proof))  # nothing but the JSON file
    report = verify_entry_proof(offline)
    assert report.header.ref == "JP:3"
    assert report.header.kind == "check"
    assert report.body == {"nonce": f"{1:032x}", "deadlines": {"delivered_within": 60_000}}
    assert report.checkpoint.size == 6
    assert report.identity == real_node.identity().public


def test_entry_proof_verifies_with_the_pinned_identity(
    real_node: Node, proof: dict[str, Any]
) -> None:
    report = verify_entry_proof(proof, pinned_identity=real_node.identity().public)
    assert report.identity.kid == real_node.identity().kid


@pytest.mark.parametrize("seq", range(6))
def test_proof_of_every_entry_verifies(real_node: Node, seq: int) -> None:
    report = verify_entry_proof(build_proof(real_node.store, f"JP:{seq}"))
    assert report.header.seq == seq


def test_proof_with_withheld_body_verifies(real_node: Node) -> None:
    """A holder outside the audience can still prove that the header is in the log."""
    proof = build_proof(real_node.store, "JP:5")
    del proof["entry"]["body"], proof["entry"]["salt"]
    report = verify_entry_proof(proof)
    assert report.body is None
    assert report.header.audience == ("KR",)


def test_proofs_across_a_log_key_rotation_verify(
    real_node: Node, rotate_node_log_key: Callable[[Node], SigningKey]
) -> None:
    rotate_node_log_key(real_node)  # seq 6
    real_node.append([Draft("check", "Test", {"nonce": "ab" * 16, "deadlines": {}})])
    for ref in ("JP:3", "JP:6", "JP:7"):
        report = verify_entry_proof(
            build_proof(real_node.store, ref), pinned_identity=real_node.identity().public
        )
        assert report.header.ref == ref
        assert report.checkpoint.size == 8


# ---------------------------------------------------------------------------------------------
# Any change fails
# ---------------------------------------------------------------------------------------------


def test_flipping_any_byte_of_a_base64_field_fails(proof: dict[str, Any]) -> None:
    """Flip sampled bytes of every decoded base64 value (leaf, body, salt, inclusion hashes)."""
    checked = 0
    for name, container, key in base64_fields(proof):
        data = base64.b64decode(container[key])
        for position in sample(len(data)):
            tampered = copy.deepcopy(proof)
            fields = {n: (c, k) for n, c, k in base64_fields(tampered)}
            target, index = fields[name]
            flipped = data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]
            target[index] = base64.b64encode(flipped).decode()
            with pytest.raises(VerificationError):
                verify_entry_proof(tampered)
            checked += 1
    assert checked > 200


def test_changing_any_character_of_a_base64_field_fails(proof: dict[str, Any]) -> None:
    """Also in the text: a changed character, even one that only touches unused bits."""
    for name, container, key in base64_fields(proof):
        text = container[key]
        for position in [*sample(len(text), 8), len(text) - 2, len(text) - 3]:
            char = text[position]
            replacement = "A" if char == "=" else ALPHABET[(ALPHABET.index(char) + 1) % 64]
            tampered = copy.deepcopy(proof)
            fields = {n: (c, k) for n, c, k in base64_fields(tampered)}
            target, index = fields[name]
            target[index] = text[:position] + replacement + text[position + 1 :]
            with pytest.raises(VerificationError):
                verify_entry_proof(tampered)


def test_flipping_any_byte_of_the_checkpoint_fails(proof: dict[str, Any]) -> None:
    note = proof["checkpoint"]
    for position, char in enumerate(note):
        tampered = dict(
            proof, checkpoint=note[:position] + chr(ord(char) ^ 1) + note[position + 1 :]
        )
        with pytest.raises(VerificationError):
            verify_entry_proof(tampered)


def test_wrong_pinned_identity_fails(proof: dict[str, Any]) -> None:
    other = SigningKey.generate().public
    assert "is not the pinned key" in fails(proof, pinned_identity=other)


def test_proof_from_a_look_alike_log_fails_against_the_pinned_identity(
    real_node: Node, new_log: NewLog
) -> None:
    """Another author can build a self-consistent log for JP; only the pinned key tells."""
    impostor = new_log(party="JP")
    impostor.extend(4)
    forged = impostor.proof(3)
    verify_entry_proof(forged)
    assert "is not the pinned key" in fails(forged, pinned_identity=real_node.identity().public)


def test_stale_checkpoint_fails(real_node: Node, proof: dict[str, Any]) -> None:
    with real_node.store.read() as conn:
        older = [logs.checkpoint_at(conn, "JP", size) for size in (2, 3, 5)]
    for note in older:
        assert note is not None
        with pytest.raises(VerificationError):
            verify_entry_proof(dict(proof, checkpoint=note))


def test_checkpoint_of_another_log_fails(proof: dict[str, Any], new_log: NewLog) -> None:
    other = new_log(party="JP")
    other.extend(4)
    assert "no signature by key" in fails(dict(proof, checkpoint=other.checkpoint()))


def test_entry_of_another_log_fails(proof: dict[str, Any], new_log: NewLog) -> None:
    other = new_log(party="JP")
    other.extend(4)
    tampered = dict(proof, entry=other.proof(3)["entry"])
    with pytest.raises(VerificationError):
        verify_entry_proof(tampered)


# ---------------------------------------------------------------------------------------------
# Malformed and dishonest proofs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.update(format="parley-log-export"), "not a Parley entry proof"),
        (lambda p: p.update(v=2), "not a Parley entry proof"),
        (lambda p: p.pop("checkpoint"), "missing checkpoint"),
        (lambda p: p.update(history=[]), "missing key history"),
        (lambda p: p.pop("history"), "missing key history"),
        (lambda p: p.update(entry=None), "entry: expected an object"),
        (lambda p: p["entry"].pop("inclusion"), "entry: missing inclusion proof"),
        (lambda p: p["entry"].pop("leaf"), "entry leaf: missing or not base64 text"),
        (lambda p: p["entry"].update(salt=None), "entry salt: missing or not base64 text"),
        (lambda p: p["entry"].update(leaf="!!"), "entry leaf: not valid base64"),
        (lambda p: p["history"][0].pop("body"), "JP:0: key statement without its body"),
        (lambda p: p["history"].pop(0), "no key statement in force"),
        (lambda p: p["entry"]["inclusion"].pop(), "inclusion proof"),
    ],
)
def test_malformed_proof_fails_naming_the_part(
    proof: dict[str, Any], change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    tampered = copy.deepcopy(proof)
    change(tampered)
    assert problem in fails(tampered)


@pytest.mark.parametrize("doc", [None, [], "proof", {"format": PROOF_FORMAT}])
def test_what_is_not_a_proof_fails(doc: Any) -> None:
    assert "not a Parley entry proof" in fails(doc)


def test_entry_signed_by_retired_key_fails(new_log: NewLog) -> None:
    log = new_log()
    retired = log.rotate_log_key()  # seq 2
    log.append(log_key=retired)  # seq 3
    assert "signed by key" in fails(log.proof(3))
    verify_entry_proof(log.proof(2))


def test_key_history_must_start_at_seq_0_and_be_in_order(new_log: NewLog) -> None:
    log = new_log()
    log.rotate_log_key()  # seq 2
    log.rotate_log_key()  # seq 3
    log.extend(1)
    proof = log.proof(4)
    verify_entry_proof(proof)
    reordered = copy.deepcopy(proof)
    history = reordered["history"]
    history[2], history[3] = history[3], history[2]
    assert "key history out of order" in fails(reordered)
    without_first = dict(proof, history=proof["history"][1:])
    assert "history does not start at seq 0" in fails(without_first)


def test_rotation_to_uncommitted_identity_fails(new_log: NewLog) -> None:
    log = new_log()
    log.rotate_identity(new=SigningKey.generate())
    log.extend(1)
    assert "committed next-key hash" in fails(log.proof(3))


def test_key_statement_naming_another_party_fails(new_log: NewLog) -> None:
    log = new_log()
    statement = KeyStatement(
        party="KR",
        seq=0,
        identity=log.identity.public,
        purposes=log.statement.purposes,
        next_identity=log.statement.next_identity,
    )
    log.headers, log.bodies, log.nodes = [], [], {}
    log.append("key", statement.signed_body(log.identity))
    log.append("policy", log.policy.to_body())
    log.append()
    message = fails(log.proof(2), pinned_identity=log.identity.public)
    assert "JP:0: key statement names party KR" in message


def test_entry_later_than_its_checkpoint_fails(new_log: NewLog) -> None:
    """An entry's time is never later than the time line of a checkpoint that includes it."""
    log = new_log()
    log.extend(2)
    early = log.checkpoint(time=log.headers[-1].time - 1)
    assert "JP:3: time is later than its checkpoint's" in fails(log.proof(3, note=early))
    verify_entry_proof(log.proof(3))


def test_checkpoint_signed_by_retired_key_fails(new_log: NewLog) -> None:
    log = new_log()
    log.extend(1)
    retired = log.rotate_log_key()
    forged = log.checkpoint(key=retired)
    assert "no signature by key" in fails(log.proof(2, note=forged))
