"""Evidence bundles from real nodes, verified with nothing but the bundle.

Three real nodes (US, JP, KR) under one policy: US sends JP a hotline, JP's node receipts it,
US mirrors JP's log; witnesses cosign the checkpoints. The bundle US exports must verify
offline, fail on any changed byte, ignore cosignatures by keys it cannot certify, and keep one
colluding witness from backdating a receipt when the quorum k is 2.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parley.core.bundle import BundleReport, load_bundle, verify_bundle
from parley.core.checkpoint import (
    Checkpoint,
    NoteSignature,
    add_signature_lines,
    cosign,
    parse_note,
    vkey,
    witness_name,
    witness_name_for,
)
from parley.core.errors import VerificationError
from parley.core.keys import SigningKey
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.node import keyrotation
from parley.node.access import CLEARANCE
from parley.node.evidence import build_bundle
from parley.node.federation import peers, witnessing
from parley.node.federation.pull import pull
from parley.node.messaging import receipts
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store import witnessing as rows
from tests.node.conftest import NETWORK, MemoryLog, hotline, make_network, pin

DAY = 86_400_000


def cosign_at(holder: Node, party: str, witness: Node, now: int) -> int:
    """``witness`` cosigns ``holder``'s latest checkpoint of ``party``; ``holder`` keeps it."""
    with holder.store.read() as conn:
        latest = logs.latest_checkpoint(conn, party)
    assert latest is not None
    size, note = latest
    checkpoint = Checkpoint.parse_body(parse_note(note).text.encode())
    with witness.store.write() as conn:
        line = witnessing.cosign_checkpoint(witness, conn, party, checkpoint, note, now)
    if witness is not holder:
        name = witness_name_for(witness.log.origin)  # the deployment's witness name (s6.1)
        with holder.store.write() as conn:
            rows.put_cosignatures(
                conn,
                [rows.Cosignature(party, size, name, checkpoint.root, now // 1000 * 1000, line)],
            )
    return now // 1000 * 1000


def set_quorum(nodes: dict[str, Node], k: int, **changes: Any) -> None:
    """Every member signs and adopts the current policy with witness quorum ``k``."""
    current = next(iter(nodes.values())).context().policy.document.to_dict()
    document = PolicyDocument.from_dict(
        {**current, "version": current["version"] + 1, "witness_quorum": k, **changes}
    )
    signed = SignedPolicy(document, {})
    for party, node in nodes.items():
        signed.add(document.sign(party, node.identity()))
    for node in nodes.values():
        node.adopt_policy(signed)


class Scene:
    """US -> JP hotline, JP's delivered receipt, every log mirrored at US."""

    def __init__(
        self, folder: Path, k: int = 2, rotate: tuple[str, ...] = (), **policy: Any
    ) -> None:
        self.nodes = make_network(folder, ("US", "JP", "KR"))
        if k != 2 or policy:
            set_quorum(self.nodes, k, **policy)
        for a in self.nodes.values():
            for b in self.nodes.values():
                if a is not b:
                    pin(a, b)
        self.us, self.jp, self.kr = (self.nodes[p] for p in ("US", "JP", "KR"))
        self.first_identity = self.us.identity().public
        for purpose in rotate:  # US rotates before it writes the entry
            if purpose == "identity":
                keyrotation.rotate_identity(self.us, lambda _path: None, None, now_ms())
            else:
                keyrotation.rotate_purpose(self.us, lambda _path: None, purpose, now_ms())
        (self.entry,) = self.us.append([hotline("JP", "Do you read us?")])
        pull(self.jp, peers.get_peer(self.jp.store, "US"), MemoryLog(self.us, "JP"))
        for party, source in (("JP", self.jp), ("KR", self.kr)):
            pull(self.us, peers.get_peer(self.us.store, party), MemoryLog(source, "US"))
        self.t = now_ms() // 1000 * 1000 + 1000

    def witness(self) -> None:
        """Honest cosignatures: JP and KR on US's log, US and KR on JP's log."""
        cosign_at(self.us, "US", self.jp, self.t + 2_000)
        cosign_at(self.us, "US", self.kr, self.t + 5_000)
        cosign_at(self.us, "JP", self.us, self.t + 3_000)
        cosign_at(self.us, "JP", self.kr, self.t + 4_000)

    def bundle(self) -> dict[str, Any]:
        """The bundle as a file would carry it: through JSON bytes and back."""
        data = orjson.loads(orjson.dumps(build_bundle(self.us, self.entry.ref)))
        assert isinstance(data, dict)
        return data

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    made = Scene(tmp_path)
    made.witness()
    yield made
    made.close()


@pytest.fixture
def new_scene(tmp_path: Path) -> Iterator[Callable[..., Scene]]:
    made: list[Scene] = []

    def factory(k: int = 2, rotate: tuple[str, ...] = (), **policy: Any) -> Scene:
        made.append(Scene(tmp_path / f"scene{len(made)}", k, rotate, **policy))
        return made[-1]

    yield factory
    for each in made:
        each.close()


def named(scene: Scene, party: str) -> str:
    """The key name ``party``'s node cosigns under: its log's origin's rule (protocol s6.1)."""
    return witness_name_for(scene.nodes[party].log.origin)


def fails(bundle: Any, **kwargs: Any) -> str:
    with pytest.raises(VerificationError) as caught:
        verify_bundle(bundle, **kwargs)
    return str(caught.value)


def with_line(proof: dict[str, Any], line: str) -> None:
    proof["checkpoint"] = add_signature_lines(proof["checkpoint"], [line])


# ---------------------------------------------------------------------------------------------
# Bundles that verify
# ---------------------------------------------------------------------------------------------


def test_a_bundle_verifies_offline_with_who_said_what_and_when(scene: Scene) -> None:
    report = verify_bundle(scene.bundle())
    entry = report.entry
    assert entry.header.ref == scene.entry.ref and entry.header.kind == "hotline"
    assert entry.body is not None
    assert entry.header.audience == ("JP",) and entry.body["text"] == "Do you read us?"
    assert entry.witnessing.k == 2
    assert [name for name, _ in entry.witnessing.cosigners] == [
        named(scene, "JP"),
        named(scene, "KR"),
    ]
    assert entry.witnessing.bound == scene.t + 5_000  # the second earliest
    assert entry.witnessing.uncounted == ()
    (receipt,) = report.receipts
    assert receipt.header.party == "JP" and receipt.header.kind == "receipt"
    assert receipt.body is not None and receipt.body["type"] == "delivered"
    assert receipt.body["entry"] == {"ref": scene.entry.ref, "leaf_hash": entry.leaf_hash.hex()}
    assert receipt.witnessing.bound == scene.t + 4_000
    assert report.policy.witness_quorum == 2 and report.pinned == ()
    assert report.histories == ("JP", "KR", "US")


def test_a_reader_without_the_clearance_gets_no_body_and_no_reply(scene: Scene) -> None:
    ack = receipts.acknowledge(scene.jp, scene.entry.ref, "duty", "roger, loud", now_ms())
    pull(scene.us, peers.get_peer(scene.us.store, "JP"), MemoryLog(scene.jp, "US"))
    left_out: list[str] = []
    bundle = build_bundle(
        scene.us, scene.entry.ref, left_out=left_out, clearance=CLEARANCE["observer"]
    )
    assert "body" not in bundle["entry"]["entry"] and left_out == [ack.ref]
    report = verify_bundle(load_bundle(orjson.dumps(bundle)))
    assert report.entry.body is None
    assert [r.body["type"] for r in report.receipts if r.body is not None] == ["delivered"]
    cleared = build_bundle(scene.us, scene.entry.ref, clearance=CLEARANCE["analyst"])
    assert "body" in cleared["entry"]["entry"] and len(cleared["receipts"]) == 2


def test_a_bundle_verifies_with_pinned_identities_and_policy(scene: Scene) -> None:
    policy = scene.us.context().policy
    keys = [scene.us.identity().public, scene.kr.identity().public]
    report = verify_bundle(scene.bundle(), trusted=keys, policy_hash=policy.hash)
    assert report.policy_hash == policy.hash
    assert report.pinned == (
        f"policy {policy.hash[:16]}",
        f"identity {keys[0].kid} of US",
        f"identity {keys[1].kid} of KR",
    )


def test_a_bundle_is_refused_under_another_pin_or_policy(scene: Scene) -> None:
    stranger = SigningKey.generate().public
    assert "not a member's identity" in fails(scene.bundle(), trusted=[stranger])
    assert "not the required" in fails(scene.bundle(), policy_hash="0" * 64)


def test_a_bundle_verifies_across_identity_log_and_witness_rotations(
    new_scene: Callable[..., Scene],
) -> None:
    made = new_scene(rotate=("identity", "log", "witness"))
    made.witness()  # US cosigns JP's log with its new witness key
    current = made.us.identity().public
    assert current != made.first_identity  # the policy still names the first one
    report = verify_bundle(made.bundle(), trusted=[made.first_identity, current])
    assert report.entry.header.node == current.kid
    assert report.entry.witnessing.bound == made.t + 5_000
    (receipt,) = report.receipts
    assert receipt.witnessing.cosigners[0] == (named(made, "US"), made.t + 3_000)


def test_without_cosignatures_nothing_is_witnessed(new_scene: Callable[..., Scene]) -> None:
    made = new_scene()
    report = verify_bundle(made.bundle())
    assert report.entry.witnessing.cosigners == () and report.entry.witnessing.bound is None
    assert all(r.witnessing.bound is None for r in report.receipts)


def test_with_quorum_zero_the_log_checkpoint_time_stands(new_scene: Callable[..., Scene]) -> None:
    made = new_scene(k=0)
    report = verify_bundle(made.bundle())
    assert report.entry.witnessing.bound == report.entry.witnessing.checkpoint_time


def test_an_external_witness_named_by_the_policy_counts(new_scene: Callable[..., Scene]) -> None:
    external = SigningKey.generate()
    name = "witness.example.org/w1"
    made = new_scene(witnesses=[{"name": name, "vkey": vkey(name, external.public.raw, 0x04)}])
    cosign_at(made.us, "US", made.jp, made.t + 6_000)
    bundle = made.bundle()
    checkpoint = Checkpoint.parse_body(parse_note(bundle["entry"]["checkpoint"]).text.encode())
    with_line(bundle["entry"], cosign(checkpoint.body(), name, external.private, made.t // 1000))
    report = verify_bundle(bundle)
    assert report.entry.witnessing.cosigners[0] == (name, made.t)
    assert report.entry.witnessing.bound == made.t + 6_000


def test_the_bundle_proves_the_smallest_checkpoint_with_a_quorum(scene: Scene) -> None:
    scene.us.append([hotline("JP", "second")])  # a larger checkpoint, cosigned later
    cosign_at(scene.us, "US", scene.jp, scene.t + 60_000)
    cosign_at(scene.us, "US", scene.kr, scene.t + 60_000)
    report = verify_bundle(scene.bundle())
    assert report.entry.witnessing.checkpoint_size == scene.entry.seq + 1
    assert report.entry.witnessing.bound == scene.t + 5_000


# ---------------------------------------------------------------------------------------------
# Tampering
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def serialized(scene: Scene) -> tuple[bytes, BundleReport]:
    data = orjson.dumps(scene.bundle())
    return data, verify_bundle(load_bundle(data))


def verdict(data: bytes) -> BundleReport | str:
    try:
        return verify_bundle(load_bundle(data))
    except VerificationError as exc:
        return str(exc)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.data(), flip=st.integers(1, 255))
def test_any_changed_byte_fails_or_changes_what_the_bundle_shows(
    serialized: tuple[bytes, BundleReport], position: st.DataObject, flip: int
) -> None:
    data, original = serialized
    index = position.draw(st.integers(0, len(data) - 1))
    changed = bytearray(data)
    changed[index] ^= flip
    outcome = verdict(bytes(changed))
    # A changed cosignature name or key ID leaves a line the bundle cannot certify: it is
    # shown as not counted. Anything else is refused.
    assert isinstance(outcome, str) or outcome != original, f"byte {index} ^ {flip} went unseen"


def test_bytes_spread_over_the_whole_bundle_are_all_covered(
    serialized: tuple[bytes, BundleReport],
) -> None:
    data, original = serialized
    unseen = []
    for index in range(0, len(data), max(1, len(data) // 400)):
        changed = bytearray(data)
        changed[index] = ord("A") if data[index] != ord("A") else ord("B")
        outcome = verdict(bytes(changed))
        if not isinstance(outcome, str) and outcome == original:
            unseen.append(index)
    assert unseen == []


def test_a_cosignature_by_an_unknown_witness_does_not_count(scene: Scene) -> None:
    bundle = scene.bundle()
    before = verify_bundle(bundle).entry.witnessing
    checkpoint = Checkpoint.parse_body(parse_note(bundle["entry"]["checkpoint"]).text.encode())
    stranger = SigningKey.generate().private
    early = (scene.t - 30 * DAY) // 1000
    with_line(
        bundle["entry"], cosign(checkpoint.body(), witness_name(NETWORK, "XX"), stranger, early)
    )
    with_line(bundle["entry"], cosign(checkpoint.body(), named(scene, "JP"), stranger, early))
    after = verify_bundle(bundle).entry.witnessing
    assert after.cosigners == before.cosigners and after.bound == before.bound
    assert after.uncounted == (
        f"{witness_name(NETWORK, 'XX')} (not a witness of the policy)",
        f"{named(scene, 'JP')} (a key the bundle does not certify)",
    )


def test_the_log_cosigning_itself_does_not_count(scene: Scene) -> None:
    cosign_at(scene.us, "US", scene.us, scene.t - DAY)
    witnessing_ = verify_bundle(scene.bundle()).entry.witnessing
    assert witnessing_.bound == scene.t + 5_000
    assert witnessing_.uncounted == (f"{named(scene, 'US')} (the log's own party)",)


def test_a_member_cosignature_with_a_rewritten_time_is_refused(scene: Scene) -> None:
    bundle = scene.bundle()
    note = bundle["entry"]["checkpoint"]
    parsed = parse_note(note)
    kr = next(s for s in parsed.signatures if s.name == named(scene, "KR"))
    earlier = (int.from_bytes(kr.signature[:8], "big") - 3600).to_bytes(8, "big")
    forged = NoteSignature(kr.name, kr.key_hash, earlier + kr.signature[8:]).line()
    bundle["entry"]["checkpoint"] = note.replace(kr.line(), forged)
    assert "does not verify" in fails(bundle)


@pytest.mark.parametrize("k", [1, 2])
def test_one_colluding_witness_cannot_backdate_a_receipt(
    new_scene: Callable[..., Scene], k: int
) -> None:
    made = new_scene(k=k)
    honest = cosign_at(made.us, "JP", made.us, made.t + 3_000)
    backdated = cosign_at(made.us, "JP", made.kr, made.t - 10 * DAY)  # KR colludes with JP
    (receipt,) = verify_bundle(made.bundle()).receipts
    assert receipt.witnessing.cosigners[0] == (named(made, "KR"), backdated)
    if k == 1:
        assert receipt.witnessing.bound == backdated  # k = 1 trusts any single witness
    else:
        assert receipt.witnessing.bound == honest  # the honest witness's time stands


def test_a_receipt_of_another_entry_cannot_be_passed_off(scene: Scene) -> None:
    (other,) = scene.us.append([hotline("JP", "another")])
    pull(scene.jp, peers.get_peer(scene.jp.store, "US"), MemoryLog(scene.us, "JP"))
    pull(scene.us, peers.get_peer(scene.us.store, "JP"), MemoryLog(scene.jp, "US"))
    bundle = scene.bundle()
    foreign = orjson.loads(orjson.dumps(build_bundle(scene.us, other.ref)))["receipts"][0]
    bundle["receipts"] = [foreign]
    assert f"not {scene.entry.ref}" in fails(bundle)


def test_a_receipt_without_its_body_is_refused(scene: Scene) -> None:
    bundle = scene.bundle()
    del bundle["receipts"][0]["entry"]["body"], bundle["receipts"][0]["entry"]["salt"]
    assert "without its body" in fails(bundle)


def test_a_log_under_a_made_up_identity_is_refused(scene: Scene, tmp_path: Path) -> None:
    impostors = make_network(tmp_path / "impostors", ("US", "JP", "KR"))
    try:
        fake = build_bundle(impostors["KR"], "KR:0")["entry"]
        bundle = scene.bundle()
        bundle["keys"] = [fake if p["ref"].startswith("KR:") else p for p in bundle["keys"]]
        message = fails(orjson.loads(orjson.dumps(bundle)))
        assert "never holds the identity" in message or "not the one" in message
    finally:
        for node in impostors.values():
            node.close()


def test_unknown_fields_are_refused(scene: Scene) -> None:
    for where in ("top", "proof", "record"):
        bundle = copy.deepcopy(scene.bundle())
        target = {"top": bundle, "proof": bundle["entry"], "record": bundle["entry"]["entry"]}
        target[where]["note"] = "x"
        assert "unknown fields ['note']" in fails(bundle)


def test_a_file_that_is_not_json_is_refused() -> None:
    with pytest.raises(VerificationError, match="not valid JSON"):
        load_bundle(b"{not json")


def test_a_bound_from_whole_second_cosignatures_is_read_to_the_second(new_scene) -> None:  # type: ignore[no-untyped-def]
    """Cosigned in the same second as claimed: the bound covers the claim, so no skew flag."""
    scene = new_scene(skew_tolerance_ms=0)
    claimed = scene.entry.time
    second = claimed // 1000 * 1000
    cosign_at(scene.us, "US", scene.jp, claimed)
    cosign_at(scene.us, "US", scene.kr, claimed + 1)
    said = verify_bundle(scene.bundle()).entry
    assert said.witnessing.bound == second and said.witnessing.precision_ms == 1000
    assert said.witnessing.latest == second + 999 and said.witnessing.latest >= claimed
    assert said.skew is None
    late = new_scene(skew_tolerance_ms=0)
    cosign_at(late.us, "US", late.jp, late.entry.time - 2_000)  # a witness clock behind
    cosign_at(late.us, "US", late.kr, late.entry.time - 2_000)
    flagged = verify_bundle(late.bundle()).entry
    assert flagged.skew == late.entry.time - (flagged.witnessing.latest or 0) > 0
