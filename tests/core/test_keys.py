"""Keys: key ids, domain-separated signatures, key statements and pre-rotation."""

from __future__ import annotations

import base64
import hashlib
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core import keys
from parley.core.canonical import canonical_bytes
from parley.core.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from parley.core.errors import InvalidEntryError, VerificationError
from parley.core.keys import (
    DOMAIN_EXPORT,
    DOMAIN_HEADER,
    DOMAIN_KEY_STATEMENT,
    DOMAIN_POLICY,
    DOMAIN_WEBHOOK,
    PURPOSES,
    KeyStatement,
    PublicKey,
    SigningKey,
    b64,
    commitment,
    fingerprint,
    kid_of,
    unb64,
)

DOMAINS = {
    "header": DOMAIN_HEADER,
    "key-statement": DOMAIN_KEY_STATEMENT,
    "policy": DOMAIN_POLICY,
    "webhook": DOMAIN_WEBHOOK,
    "export": DOMAIN_EXPORT,
}


class Author:
    """One node's keys: identity, committed next identity, purpose keys."""

    def __init__(self, party: str = "JP") -> None:
        self.party = party
        self.identity = SigningKey.generate()
        self.next_identity = SigningKey.generate()
        self.purposes = {p: SigningKey.generate() for p in PURPOSES}

    def statement(self, **changes: Any) -> KeyStatement:
        fields: dict[str, Any] = {
            "party": self.party,
            "seq": 0,
            "identity": self.identity.public,
            "purposes": {p: k.public for p, k in self.purposes.items()},
            "next_identity": commitment(self.next_identity.public.raw),
        }
        fields.update(changes)
        return KeyStatement(**fields)

    def rotated(self) -> tuple[KeyStatement, dict[str, Any]]:
        """The identity rotation to the committed next key, and its signed body."""
        new_next = SigningKey.generate()
        statement = self.statement(
            identity=self.next_identity.public,
            next_identity=commitment(new_next.public.raw),
            previous_identity=self.identity.public,
        )
        return statement, statement.signed_body(self.next_identity, self.identity)


# ---------------------------------------------------------------------------------------------
# Key ids, encodings
# ---------------------------------------------------------------------------------------------


def test_kid_fingerprint_and_commitment_are_sha256_of_the_raw_key() -> None:
    key = SigningKey.generate().public
    digest = hashlib.sha256(key.raw).hexdigest()
    assert kid_of(key.raw) == key.kid == digest[:16]
    assert commitment(key.raw) == digest
    assert fingerprint(key.raw).replace(" ", "") == digest
    assert len(fingerprint(key.raw).split(" ")) == 16


def test_public_key_round_trips_through_base64() -> None:
    key = SigningKey.generate().public
    assert PublicKey.from_b64(key.b64) == key
    assert len(key.raw) == 32


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not base64!", "not valid base64"),
        ("AAAA\n", "not valid base64"),
        ("AA", "not valid base64"),  # missing padding
        ("AB==", "not canonical base64"),  # non-zero spare bits: same byte as "AA=="
        ("\u00e9AAA", "not valid base64"),
        (None, "not valid base64"),
        (32, "not valid base64"),
        (b"AAAA", "not valid base64"),
    ],
)
def test_unb64_is_strict(text: Any, problem: str) -> None:
    with pytest.raises(InvalidEntryError, match=f"thing: {problem}"):
        unb64(text, what="thing")


def test_unb64_checks_the_length() -> None:
    assert unb64(b64(b"\x01" * 32), what="k", size=32) == b"\x01" * 32
    with pytest.raises(InvalidEntryError, match="expected 32 bytes, got 31"):
        PublicKey.from_b64(b64(b"\x01" * 31))


def test_verify_refuses_a_key_that_is_not_a_curve_point_length() -> None:
    with pytest.raises(VerificationError, match="signature does not verify"):
        PublicKey(b"\x00" * 31).verify(b"", b"m", b"\x00" * 64, what="x")


def test_sign_raw_has_no_domain() -> None:
    key = SigningKey.generate()
    key.public.verify(b"", b"message", key.sign_raw(b"message"), what="raw")
    assert key.sign_raw(b"message") == key.sign(b"", b"message")


# ---------------------------------------------------------------------------------------------
# Domain separation
# ---------------------------------------------------------------------------------------------


def test_domains_are_distinct_and_prefix_free() -> None:
    values = list(DOMAINS.values())
    assert len(set(values)) == len(values)
    for a, b in itertools.permutations(values, 2):
        assert not b.startswith(a)
    for value in values:
        assert value.startswith(b"parley/v1/") and value.endswith(b"\x00")


@pytest.mark.parametrize(("signed_as", "checked_as"), list(itertools.permutations(DOMAINS, 2)))
def test_cross_domain_signature_replay_refused(signed_as: str, checked_as: str) -> None:
    key = SigningKey.generate()
    message = canonical_bytes({"party": "JP", "seq": 1})
    signature = key.sign(DOMAINS[signed_as], message)
    key.public.verify(DOMAINS[signed_as], message, signature, what="same domain")
    with pytest.raises(VerificationError, match="signature does not verify"):
        key.public.verify(DOMAINS[checked_as], message, signature, what=checked_as)


def test_policy_signature_cannot_be_replayed_as_a_key_statement_signature() -> None:
    """The identity key signs policies and key statements: one must never stand for the other."""
    author = Author()
    statement = author.statement()
    message = canonical_bytes(statement.unsigned_dict())
    body = statement.signed_body(author.identity)
    body["identity_sig"] = b64(author.identity.sign(DOMAIN_POLICY, message))
    with pytest.raises(VerificationError, match="identity signature"):
        KeyStatement.from_body(body)


def test_checkpoint_and_header_signatures_of_the_log_key_do_not_cross() -> None:
    """The log key signs C2SP notes raw and headers with a prefix; neither verifies as the other.

    A note's text never holds a NUL byte, and every Parley domain ends in one.
    """
    log_key = SigningKey.generate()
    origin = "parley/v1/header"
    note = sign_checkpoint(Checkpoint(origin, 1, b"\x00" * 32, 5), origin, log_key.private)
    text = note[: note.index("\n\n") + 1].encode()
    note_sig = base64.b64decode(note.rsplit(" ", 1)[1])[4:]
    assert open_checkpoint(note, origin, log_key.public.raw).size == 1
    with pytest.raises(VerificationError):
        log_key.public.verify(DOMAIN_HEADER, text[len(DOMAIN_HEADER) :], note_sig, what="header")
    header_sig = log_key.sign(DOMAIN_HEADER, text)
    with pytest.raises(VerificationError):
        log_key.public.verify(b"", text, header_sig, what="note")


# ---------------------------------------------------------------------------------------------
# Key statements
# ---------------------------------------------------------------------------------------------


def test_key_statement_round_trips_through_its_signed_body() -> None:
    author = Author()
    statement = author.statement()
    body = statement.signed_body(author.identity)
    assert set(body) == {"party", "seq", "identity", "keys", "next_identity", "identity_sig"}
    assert sorted(body["keys"]) == sorted(PURPOSES)
    assert KeyStatement.from_body(body) == statement
    assert canonical_bytes(body)  # a key statement is signed JSON within the subset


def test_rotation_statement_round_trips_with_both_signatures() -> None:
    author = Author()
    statement, body = author.rotated()
    assert set(body) >= {"previous_identity", "previous_sig", "identity_sig"}
    assert KeyStatement.from_body(body) == statement


@pytest.mark.parametrize(
    "field", ["party", "identity", "next_identity", "keys.log", "keys.witness", "keys.http"]
)
def test_tampered_key_statement_refused(field: str) -> None:
    author = Author()
    body = author.statement().signed_body(author.identity)
    replacement = {
        "party": "KR",
        "identity": SigningKey.generate().public.b64,
        "next_identity": commitment(SigningKey.generate().public.raw),
    }
    if field.startswith("keys."):
        body["keys"] = {**body["keys"], field[5:]: SigningKey.generate().public.b64}
    else:
        body[field] = replacement[field]
    with pytest.raises(VerificationError, match="identity signature"):
        KeyStatement.from_body(body)


def test_tampered_rotation_refused() -> None:
    author = Author()
    _, body = author.rotated()
    body["previous_identity"] = SigningKey.generate().public.b64
    with pytest.raises(VerificationError):
        KeyStatement.from_body(body)


def test_key_statement_signed_by_another_key_refused() -> None:
    author = Author()
    body = author.statement().signed_body(SigningKey.generate())
    with pytest.raises(VerificationError, match="key statement identity signature"):
        KeyStatement.from_body(body)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda b: b.update(extra=1), r"unknown fields \['extra'\]"),
        (lambda b: b.pop("identity_sig"), "missing field identity_sig"),
        (lambda b: b.pop("keys"), "missing field keys"),
        (lambda b: b.pop("next_identity"), "missing field next_identity"),
        (lambda b: b["keys"].pop("http"), "keys must name exactly"),
        (lambda b: b["keys"].update(extra=b["keys"]["log"]), "keys must name exactly"),
        (lambda b: b.update(keys=[]), "keys must name exactly"),
        (lambda b: b.update(next_identity="ab"), "next_identity must be 64 hex digits"),
        (lambda b: b.update(next_identity="z" * 64), "next_identity must be 64 hex digits"),
        (lambda b: b.update(next_identity=None), "next_identity must be 64 hex digits"),
        (lambda b: b.update(identity="short"), "identity"),
        (lambda b: b.update(identity=5), "identity"),
        (lambda b: b["keys"].update(log=None), "log key"),
        (lambda b: b.update(identity_sig=7), "identity_sig"),
        (lambda b: b.update(identity_sig=b64(b"x" * 63)), "identity_sig: expected 64 bytes"),
    ],
)
def test_malformed_key_statement_refused(change: Any, problem: str) -> None:
    author = Author()
    body = author.statement().signed_body(author.identity)
    body["keys"] = dict(body["keys"])
    change(body)
    with pytest.raises(InvalidEntryError, match=problem):
        KeyStatement.from_body(body)


@pytest.mark.parametrize("body", [None, [], "statement", 5])
def test_key_statement_that_is_not_an_object_refused(body: Any) -> None:
    with pytest.raises(InvalidEntryError, match="body must be an object"):
        KeyStatement.from_body(body)


def test_rotation_without_previous_signature_refused() -> None:
    author = Author()
    _, body = author.rotated()
    del body["previous_sig"]
    with pytest.raises(InvalidEntryError, match="rotation lacks previous_sig"):
        KeyStatement.from_body(body)


def test_rotation_cannot_be_signed_without_the_previous_key() -> None:
    author = Author()
    statement, _ = author.rotated()
    with pytest.raises(InvalidEntryError, match="signed by the previous key"):
        statement.signed_body(author.next_identity)
    with pytest.raises(InvalidEntryError, match="signed by the previous key"):
        statement.signed_body(author.next_identity, SigningKey.generate())


# ---------------------------------------------------------------------------------------------
# Pre-rotation: what may follow what
# ---------------------------------------------------------------------------------------------


def test_committed_identity_rotation_follows() -> None:
    author = Author()
    first = author.statement()
    rotation, body = author.rotated()
    KeyStatement.from_body(body).check_follows(first)
    assert rotation.identity == author.next_identity.public
    assert rotation.next_identity != first.next_identity


def test_purpose_keys_rotate_freely_under_the_same_identity() -> None:
    author = Author()
    first = author.statement()
    for purpose in PURPOSES:
        purposes = {**first.purposes, purpose: SigningKey.generate().public}
        author.statement(purposes=purposes).check_follows(first)


def test_rotation_with_uncommitted_key_refused() -> None:
    """A thief of the current identity key cannot rotate to a key of their own choosing."""
    author = Author()
    first = author.statement()
    thief_key = SigningKey.generate()
    statement = author.statement(
        identity=thief_key.public,
        next_identity=commitment(SigningKey.generate().public.raw),
        previous_identity=author.identity.public,
    )
    # Signed by both the old and the new key, so only the commitment can refuse it.
    parsed = KeyStatement.from_body(statement.signed_body(thief_key, author.identity))
    with pytest.raises(VerificationError, match="does not match the committed next-key hash"):
        parsed.check_follows(first)


def test_rotation_not_signed_by_previous_identity_refused() -> None:
    """A rotation whose previous_identity is not the identity in force is refused."""
    author = Author()
    first = author.statement()
    stranger = SigningKey.generate()
    statement = author.statement(
        identity=author.next_identity.public,
        next_identity=commitment(SigningKey.generate().public.raw),
        previous_identity=stranger.public,
    )
    parsed = KeyStatement.from_body(statement.signed_body(author.next_identity, stranger))
    with pytest.raises(VerificationError, match="rotation not signed by the current identity"):
        parsed.check_follows(first)


def test_identity_change_without_rotation_fields_refused() -> None:
    author = Author()
    first = author.statement()
    statement = author.statement(identity=author.next_identity.public)
    parsed = KeyStatement.from_body(statement.signed_body(author.next_identity))
    with pytest.raises(VerificationError, match="rotation not signed by the current identity"):
        parsed.check_follows(first)


def test_commitment_may_change_only_on_identity_rotation() -> None:
    author = Author()
    first = author.statement()
    moved = author.statement(next_identity=commitment(SigningKey.generate().public.raw))
    parsed = KeyStatement.from_body(moved.signed_body(author.identity))
    with pytest.raises(VerificationError, match="only an identity rotation may change"):
        parsed.check_follows(first)


def test_previous_identity_without_a_rotation_refused() -> None:
    author = Author()
    first = author.statement()
    statement = author.statement(previous_identity=author.identity.public)
    parsed = KeyStatement.from_body(statement.signed_body(author.identity, author.identity))
    with pytest.raises(VerificationError, match="previous_identity without a rotation"):
        parsed.check_follows(first)


def test_party_cannot_change_within_a_log() -> None:
    author = Author()
    first = author.statement()
    statement = author.statement(party="KR")
    with pytest.raises(VerificationError, match="party changed"):
        statement.check_follows(first)


def test_second_rotation_needs_the_second_commitment() -> None:
    """After a rotation, the old commitment is spent: the next one must match the new hash."""
    author = Author()
    first = author.statement()
    second, body = author.rotated()
    second = KeyStatement.from_body(body)
    second.check_follows(first)
    # Re-using the first committed key again (it is now the identity) is not a rotation.
    again = KeyStatement(
        party="JP",
        seq=0,
        identity=SigningKey.generate().public,
        purposes=second.purposes,
        next_identity=first.next_identity,
        previous_identity=second.identity,
    )
    with pytest.raises(VerificationError, match="committed next-key hash"):
        again.check_follows(second)


def test_signature_bytes_are_bound_to_the_statement() -> None:
    author = Author()
    body = author.statement().signed_body(author.identity)
    other = author.statement(party="KR").signed_body(author.identity)
    body["identity_sig"] = other["identity_sig"]
    with pytest.raises(VerificationError):
        KeyStatement.from_body(body)


def test_keys_module_exports_the_purposes() -> None:
    assert keys.PURPOSES == ("log", "witness", "http")


# ---------------------------------------------------------------------------------------------
# Building rotations (what 'parley key rotate' signs)
# ---------------------------------------------------------------------------------------------


def test_identity_rotation_hands_over_to_the_committed_key() -> None:
    author = Author()
    first = author.statement()
    fresh = commitment(SigningKey.generate().public.raw)
    rotation = first.identity_rotation(7, author.next_identity.public, fresh)
    assert (rotation.seq, rotation.identity, rotation.previous_identity) == (
        7,
        author.next_identity.public,
        author.identity.public,
    )
    assert rotation.purposes == first.purposes and rotation.next_identity == fresh
    body = rotation.signed_body(author.next_identity, author.identity)
    assert KeyStatement.from_body(body) == rotation  # both signatures verify
    with pytest.raises(InvalidEntryError, match="signed by the previous key"):
        rotation.signed_body(author.next_identity)


def test_rotation_to_an_uncommitted_key_is_refused() -> None:
    """Whoever holds the identity key alone cannot hand the identity to a key of their choice."""
    author = Author()
    first = author.statement()
    fresh = commitment(SigningKey.generate().public.raw)
    for wrong in (SigningKey.generate().public, author.purposes["log"].public):
        with pytest.raises(VerificationError, match="does not match the committed next-key hash"):
            first.identity_rotation(3, wrong, fresh)
    with pytest.raises(VerificationError, match="previous_identity without a rotation"):
        first.identity_rotation(3, author.identity.public, fresh)  # "rotating" to itself


def test_purpose_rotation_keeps_identity_and_commitment() -> None:
    author = Author()
    first = author.statement()
    for purpose in PURPOSES:
        new = SigningKey.generate().public
        rotation = first.purpose_rotation(4, purpose, new)
        assert rotation.purposes == {**first.purposes, purpose: new}
        assert (rotation.identity, rotation.next_identity) == (first.identity, first.next_identity)
        assert rotation.previous_identity is None and rotation.seq == 4
        assert KeyStatement.from_body(rotation.signed_body(author.identity)) == rotation


def test_purpose_rotation_of_an_unknown_purpose_refused() -> None:
    with pytest.raises(InvalidEntryError, match="unknown key purpose 'identity'"):
        Author().statement().purpose_rotation(2, "identity", SigningKey.generate().public)


def test_purpose_rotation_after_an_identity_rotation_drops_previous_identity() -> None:
    author = Author()
    rotation = author.statement().identity_rotation(
        2, author.next_identity.public, commitment(SigningKey.generate().public.raw)
    )
    purpose = rotation.purpose_rotation(3, "http", SigningKey.generate().public)
    assert purpose.previous_identity is None
    KeyStatement.from_body(purpose.signed_body(author.next_identity)).check_follows(rotation)


@settings(max_examples=25, deadline=None)
@given(committed=st.booleans(), signed_by_old=st.booleans(), seq=st.integers(1, 2**53 - 1))
def test_a_rotation_follows_exactly_when_committed_and_signed_by_both(
    committed: bool, signed_by_old: bool, seq: int
) -> None:
    author = Author()
    first = author.statement()
    new = author.next_identity if committed else SigningKey.generate()
    signer = author.identity if signed_by_old else SigningKey.generate()
    statement = author.statement(
        seq=seq,
        identity=new.public,
        previous_identity=signer.public,
        next_identity=commitment(SigningKey.generate().public.raw),
    )
    parsed = KeyStatement.from_body(statement.signed_body(new, signer))
    if committed and signed_by_old:
        parsed.check_follows(first)
    else:
        with pytest.raises(VerificationError):
            parsed.check_follows(first)
