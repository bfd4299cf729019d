"""The network policy: a strict document, its hash, and the signatures of every member."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from parley.core.canonical import canonical_bytes
from parley.core.errors import ParleyError, PolicyError, VerificationError
from parley.core.keys import DOMAIN_POLICY, SigningKey, b64
from parley.core.policy import PolicyDocument, SignedPolicy

KEYS = {party: SigningKey.generate() for party in ("CN", "JP", "KR")}
MEMBERS = sorted(KEYS.items())

PolicyDict = Callable[..., dict[str, Any]]


@pytest.fixture
def doc(make_policy_dict: PolicyDict) -> dict[str, Any]:
    return make_policy_dict(MEMBERS)


@pytest.fixture
def document(doc: dict[str, Any]) -> PolicyDocument:
    return PolicyDocument.from_dict(doc)


def fully_signed(document: PolicyDocument) -> SignedPolicy:
    signed = SignedPolicy(document, {})
    for party, key in MEMBERS:
        signed.add(document.sign(party, key))
    return signed


def set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``a.b.0.c`` set to ``value`` (deleted if value is ...)."""
    changed = copy.deepcopy(doc)
    *parents, last = path.split(".")
    target: Any = changed
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return changed


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------


def test_valid_document_round_trips(doc: dict[str, Any], document: PolicyDocument) -> None:
    assert document.to_dict() == doc
    assert PolicyDocument.from_dict(document.to_dict()) == document
    assert document.canonical() == canonical_bytes(doc)
    assert [m.party for m in document.members] == ["CN", "JP", "KR"]
    assert document.member("KR").identity_key == KEYS["KR"].public
    assert document.deadline("nuclear") is not None
    assert document.deadline("unknown") is None


def test_hash_is_domain_separated_sha256_of_the_canonical_document(
    document: PolicyDocument,
) -> None:
    expected = hashlib.sha256(DOMAIN_POLICY + document.canonical()).hexdigest()
    assert document.hash == expected
    assert document.hash != hashlib.sha256(document.canonical()).hexdigest()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("v", 2, "v"),
        ("v", True, "v"),
        ("network", "Parley Test", "network"),
        ("network", "parley-test\n", "network"),
        ("name", "", "name"),
        ("version", 0, "version"),
        ("version", "1", "version"),
        ("created", -1, "created"),
        ("members", [], "members"),
        ("members.0.party", "cn", "members.0.party"),
        ("members.1.name", "", "members.1.name"),
        ("members.2.identity", "short", "members.2.identity"),
        ("members.0.extra", 1, "members.0.extra"),
        ("deadlines.nuclear.delivered_within.min", -1, "deadlines.nuclear.delivered_within.min"),
        ("deadlines.nuclear.acknowledged_within.max", 1, "deadlines.nuclear.acknowledged_within"),
        ("deadlines.nuclear.delivered_within", ..., "deadlines.nuclear.delivered_within"),
        ("human_ack", "nuclear", "human_ack"),
        ("quotas.entries_per_minute", 0, "quotas.entries_per_minute"),
        ("limits.header_bytes", 100, "limits.header_bytes"),
        ("limits.body_bytes", 2**31, "limits.body_bytes"),
        ("witness_quorum", -1, "witness_quorum"),
        ("witnesses", [{"name": "w"}], "witnesses.0.vkey"),
        ("skew_tolerance_ms", 1.5, "skew_tolerance_ms"),
        ("check_interval_ms", 10, "check_interval_ms"),
        ("regime", [], "regime"),
        ("limits", ..., "limits"),
        ("extra", {"any": "thing"}, "extra"),
    ],
)
def test_validation_errors_name_the_field(
    doc: dict[str, Any], path: str, value: Any, field: str
) -> None:
    with pytest.raises(PolicyError, match=f"^policy {field}: "):
        PolicyDocument.from_dict(set_path(doc, path, value))


def test_members_must_be_sorted_and_unique(doc: dict[str, Any]) -> None:
    reordered = set_path(doc, "members", list(reversed(doc["members"])))
    with pytest.raises(PolicyError, match="members must be sorted by party code, each party once"):
        PolicyDocument.from_dict(reordered)
    doubled = set_path(doc, "members", [doc["members"][0], doc["members"][0]])
    with pytest.raises(PolicyError, match="each party once"):
        PolicyDocument.from_dict(doubled)


def test_witness_quorum_cannot_exceed_the_possible_witnesses(doc: dict[str, Any]) -> None:
    PolicyDocument.from_dict(set_path(doc, "witness_quorum", 2))  # two other members
    with pytest.raises(PolicyError, match="witness_quorum exceeds"):
        PolicyDocument.from_dict(set_path(doc, "witness_quorum", 3))
    witnesses = [{"name": "w.example", "vkey": "w.example+00000000+AQ=="}]
    with_witness = set_path(set_path(doc, "witnesses", witnesses), "witness_quorum", 3)
    assert PolicyDocument.from_dict(with_witness).witness_quorum == 3


def test_values_outside_the_signed_json_subset_are_refused_naming_the_field(
    doc: dict[str, Any],
) -> None:
    with pytest.raises(ParleyError, match="regime.lead: floating-point"):
        PolicyDocument.from_dict(set_path(doc, "regime", {"lead": 1.5}))


@pytest.mark.parametrize("value", [None, [], "policy", 5])
def test_document_that_is_not_an_object_is_refused(value: Any) -> None:
    with pytest.raises(PolicyError, match="^policy"):
        PolicyDocument.from_dict(value)


MUTATIONS = [
    ("network", "nea-live"),
    ("name", "another name"),
    ("version", 2),
    ("created", 1),
    ("members.0.name", "renamed"),
    ("members.0.identity", SigningKey.generate().public.b64),
    ("deadlines.nuclear.delivered_within.default", 60_001),
    (
        "deadlines.other",
        {
            "delivered_within": {"default": 1, "min": 1, "max": 1},
            "acknowledged_within": {"default": 1, "min": 1, "max": 1},
        },
    ),
    ("human_ack", []),
    ("quotas.bytes_per_minute", 1),
    ("limits.header_bytes", 8192),
    ("witness_quorum", 1),
    ("skew_tolerance_ms", 1),
    ("check_interval_ms", 1000),
    ("regime", {}),
]


@pytest.mark.parametrize(("path", "value"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_hash_changes_with_any_field(
    doc: dict[str, Any], document: PolicyDocument, path: str, value: Any
) -> None:
    changed = PolicyDocument.from_dict(set_path(doc, path, value))
    assert changed.hash != document.hash


# ---------------------------------------------------------------------------------------------
# Signatures of every member
# ---------------------------------------------------------------------------------------------


def test_fully_signed_policy_verifies(document: PolicyDocument) -> None:
    signed = fully_signed(document)
    signed.verify_complete()
    assert signed.missing() == []
    assert signed.hash == document.hash
    assert list(signed.signatures) == ["CN", "JP", "KR"]


def test_verify_complete_lists_the_missing_parties(document: PolicyDocument) -> None:
    signed = SignedPolicy(document, {})
    signed.add(document.sign("JP", KEYS["JP"]))
    assert signed.missing() == ["CN", "KR"]
    with pytest.raises(VerificationError, match="lacks the signatures of CN, KR") as caught:
        signed.verify_complete()
    assert caught.value.hint is not None and "parley policy sign" in caught.value.hint


def test_unsigned_policy_lacks_everyone(document: PolicyDocument) -> None:
    with pytest.raises(VerificationError, match="lacks the signatures of CN, JP, KR"):
        SignedPolicy(document, {}).verify_complete()


def test_signature_by_a_non_member_refused(document: PolicyDocument) -> None:
    outsider = SigningKey.generate()
    sig = b64(outsider.sign(DOMAIN_POLICY, document.canonical()))
    signed = fully_signed(document)
    with pytest.raises(PolicyError, match="party US is not a member"):
        signed.add({"party": "US", "sig": sig})
    with pytest.raises(PolicyError, match="party US is not a member"):
        SignedPolicy(document, {**signed.signatures, "US": sig}).verify_complete()


def test_signature_by_the_wrong_key_refused(document: PolicyDocument) -> None:
    impostor = SigningKey.generate()
    sig = b64(impostor.sign(DOMAIN_POLICY, document.canonical()))
    with pytest.raises(VerificationError, match="policy signature of KR"):
        SignedPolicy(document, {}).add({"party": "KR", "sig": sig})
    signed = fully_signed(document)
    signed.signatures["KR"] = sig
    with pytest.raises(VerificationError, match="policy signature of KR"):
        signed.verify_complete()


def test_sign_refuses_a_key_that_is_not_the_members(document: PolicyDocument) -> None:
    with pytest.raises(PolicyError, match="does not match member KR"):
        document.sign("KR", KEYS["JP"])
    with pytest.raises(PolicyError, match="not a member"):
        document.sign("US", KEYS["JP"])


def test_signature_of_another_version_cannot_be_replayed(
    doc: dict[str, Any], document: PolicyDocument
) -> None:
    """A member's signature on a draft does not count for a later document (or the reverse)."""
    draft = PolicyDocument.from_dict(set_path(doc, "version", 2))
    old = document.sign("KR", KEYS["KR"])
    signed = SignedPolicy(draft, {})
    with pytest.raises(VerificationError, match="policy signature of KR"):
        signed.add(old)


def test_signature_of_a_demo_network_cannot_be_replayed_into_live(
    doc: dict[str, Any], document: PolicyDocument
) -> None:
    live = PolicyDocument.from_dict(set_path(doc, "network", "nea-live"))
    signed = fully_signed(document)
    with pytest.raises(VerificationError):
        SignedPolicy(live, signed.signatures).verify_complete()


def test_malformed_signature_refused(document: PolicyDocument) -> None:
    with pytest.raises(ParleyError, match="policy signature of JP"):
        SignedPolicy(document, {"JP": "not base64"}).verify_complete()


# ---------------------------------------------------------------------------------------------
# The policy entry body
# ---------------------------------------------------------------------------------------------


def test_signed_policy_round_trips_through_its_body(document: PolicyDocument) -> None:
    signed = fully_signed(document)
    body = signed.to_body()
    assert canonical_bytes(body)
    again = SignedPolicy.from_body(body)
    assert again.hash == signed.hash
    assert again.signatures == signed.signatures
    assert again.to_body() == body
    again.verify_complete()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda b: b.update(extra=1), "exactly 'document' and 'signatures'"),
        (lambda b: b.pop("signatures"), "exactly 'document' and 'signatures'"),
        (lambda b: b["document"].update(extra=1), "policy extra"),
        (lambda b: b["document"].pop("regime"), "policy regime"),
        (lambda b: b["signatures"].append({"party": "JP"}), "must be {party, sig}"),
        (lambda b: b["signatures"].append({"party": "JP", "sig": "x", "t": 1}), "{party, sig}"),
        (lambda b: b["signatures"].append("JP"), "must be {party, sig}"),
        (lambda b: b.update(signatures=5), "signatures"),
        (lambda b: b.update(signatures=None), "signatures"),
        (lambda b: b.update(signatures={"JP": "x"}), "signatures must be a list"),
        (lambda b: b["signatures"].append(dict(b["signatures"][0])), "name CN twice"),
    ],
)
def test_malformed_policy_body_refused(
    document: PolicyDocument, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    body = copy.deepcopy(fully_signed(document).to_body())
    change(body)
    with pytest.raises(PolicyError, match=problem):
        SignedPolicy.from_body(body)


@pytest.mark.parametrize("body", [None, [], "policy"])
def test_policy_body_that_is_not_an_object_refused(body: Any) -> None:
    with pytest.raises(PolicyError):
        SignedPolicy.from_body(body)


def test_from_body_does_not_verify_but_verify_complete_does(document: PolicyDocument) -> None:
    """Parsing a body is separate from verifying it (as in python-tuf)."""
    body = fully_signed(document).to_body()
    body["signatures"][0]["sig"] = b64(SigningKey.generate().sign(DOMAIN_POLICY, b"x"))
    parsed = SignedPolicy.from_body(body)
    with pytest.raises(VerificationError):
        parsed.verify_complete()


def test_checkpoint_time_line_is_absent_in_older_policies_and_false_in_new_ones() -> None:
    from parley.node.policies import draft_policy

    members = [{"party": "JP", "name": "JP", "identity": b64(b"\x01" * 32)}]
    new = draft_policy(network="parley-test", name="n", members=members, created=1)
    assert new.checkpoint_time_line is False and not new.time_line
    older = new.to_dict()
    del older["checkpoint_time_line"]
    legacy = PolicyDocument.from_dict(older)
    assert legacy.time_line and "checkpoint_time_line" not in legacy.to_dict()
    assert legacy.canonical() == canonical_bytes(older)  # the hash of an older policy is unchanged
    with pytest.raises(PolicyError, match="checkpoint_time_line"):
        PolicyDocument.from_dict({**older, "checkpoint_time_line": None})
