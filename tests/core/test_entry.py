"""The entry: signed header, salted body, audience and TLP, references and who may read."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.canonical import canonical_bytes
from parley.core.entry import (
    ALL,
    BODY_MAX_BYTES,
    HEADER_FIELDS,
    HEADER_MAX_BYTES,
    KINDS,
    PUBLIC_KINDS,
    SALT_SIZE,
    STATUSES,
    TLP_LABELS,
    Body,
    Header,
    body_hash,
    check_network,
    check_party,
    format_ref,
    normalise_audience,
    parse_header,
    parse_ref,
    resolve_sharing,
    sign_header,
)
from parley.core.errors import (
    CanonicalizationError,
    InvalidEntryError,
    LimitExceededError,
    ParleyError,
    VerificationError,
)
from parley.core.keys import DOMAIN_HEADER, SigningKey

LOG_KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()
IDENTITY = SigningKey.generate()
POLICY = hashlib.sha256(b"policy").hexdigest()
SALT = bytes(range(SALT_SIZE))
BODY = {"nonce": "00" * 16, "deadlines": {}}


def make_header(body: Any = BODY, salt: bytes = SALT, **changes: Any) -> Header:
    fields: dict[str, Any] = {
        "network": "parley-test",
        "policy": POLICY,
        "party": "JP",
        "node": IDENTITY.kid,
        "seq": 7,
        "time": 1_750_000_000_000,
        "kind": "check",
        "status": "Exercise",
        "audience": ALL,
        "tlp": "GREEN",
        "body": Body.seal(body, salt),
        "log_key": LOG_KEY,
    }
    fields.update(changes)
    return sign_header(**fields)


def leaf_with(header: Header, **changes: Any) -> bytes:
    """The leaf of ``header`` with some fields replaced (signature left as it was)."""
    doc = header.to_dict()
    doc.update(changes)
    return canonical_bytes(doc)


def leaf_without(header: Header, name: str) -> bytes:
    doc = header.to_dict()
    del doc[name]
    return canonical_bytes(doc)


# ---------------------------------------------------------------------------------------------
# Signing and parsing headers
# ---------------------------------------------------------------------------------------------


def test_sign_header_and_parse_header_round_trip() -> None:
    header = make_header()
    parsed = parse_header(header.leaf)
    assert parsed == header
    assert parsed.leaf == header.leaf == canonical_bytes(header.to_dict())
    assert set(header.to_dict()) == set(HEADER_FIELDS)
    assert header.ref == "JP:7"
    assert header.kid == LOG_KEY.kid
    parsed.verify_signature(LOG_KEY.public)


PARTIES = st.from_regex(r"[A-Z][A-Z0-9]{1,7}", fullmatch=True).filter(lambda p: p != ALL)


@settings(max_examples=200, deadline=None)
@given(
    network=st.from_regex(r"[a-z0-9][a-z0-9.-]{0,62}", fullmatch=True),
    party=PARTIES,
    seq=st.integers(0, 2**53 - 1),
    time=st.integers(0, 2**53 - 1),
    kind=st.sampled_from(sorted(set(KINDS) - set(PUBLIC_KINDS))),
    status=st.sampled_from(sorted(STATUSES)),
    audience=st.one_of(st.just(ALL), st.lists(PARTIES, min_size=1, max_size=5, unique=True)),
)
def test_signed_header_bytes_are_rfc8785_of_its_fields(
    network: str, party: str, seq: int, time: int, kind: str, status: str, audience: Any
) -> None:
    """sign_header encodes with the sorted-key encoder alone: its bytes must be JCS's."""
    import rfc8785

    shared = ALL if audience == ALL else tuple(sorted(audience))
    tlp = "GREEN" if shared == ALL else "AMBER"
    header = make_header(
        network=network,
        party=party,
        seq=seq,
        time=time,
        kind=kind,
        status=status,
        audience=shared,
        tlp=tlp,
    )
    assert header.leaf == rfc8785.dumps(header.to_dict())
    unsigned = header.to_dict()
    del unsigned["sig"]
    assert header.signing_bytes() == DOMAIN_HEADER + rfc8785.dumps(unsigned)
    parse_header(header.leaf).verify_signature(LOG_KEY.public)


def test_header_integers_beyond_the_json_subset_are_refused() -> None:
    with pytest.raises(InvalidEntryError, match="seq is over 2\\^53 - 1"):
        make_header(seq=2**53)


def test_named_audience_round_trips_as_a_sorted_list() -> None:
    header = make_header(audience=("CN", "KR"), tlp="AMBER")
    assert header.to_dict()["audience"] == ["CN", "KR"]
    parsed = parse_header(header.leaf)
    assert parsed.audience == ("CN", "KR")
    parsed.verify_signature(LOG_KEY.public)


def test_signature_covers_domain_and_the_header_without_sig() -> None:
    header = make_header()
    unsigned = header.to_dict()
    del unsigned["sig"]
    assert header.signing_bytes() == DOMAIN_HEADER + canonical_bytes(unsigned)
    LOG_KEY.public.verify(
        DOMAIN_HEADER, canonical_bytes(unsigned), base64.b64decode(header.sig), what="test"
    )


def test_header_signed_by_another_key_is_refused() -> None:
    header = make_header(log_key=OTHER_KEY)
    with pytest.raises(InvalidEntryError, match="signed by key"):
        header.verify_signature(LOG_KEY.public)


def test_forged_signature_under_the_right_kid_is_refused() -> None:
    header = make_header()
    forged = make_header(seq=8)  # a real signature, but over another header
    leaf = leaf_with(header, sig=forged.sig)
    with pytest.raises(VerificationError, match="JP:7: signature does not verify"):
        parse_header(leaf).verify_signature(LOG_KEY.public)


# Each field changed to another *valid* value, so the header still parses: only the signature
# can tell. kid is bound twice (the key id check and the signature).
FIELD_CHANGES: dict[str, Any] = {
    "network": "nea-live",
    "policy": hashlib.sha256(b"another policy").hexdigest(),
    "party": "KR",
    "node": OTHER_KEY.kid,
    "seq": 8,
    "time": 1_750_000_000_001,
    "kind": "hotline",
    "status": "Actual",
    "audience": ["JP", "KR"],
    "tlp": "AMBER",
    "body_hash": hashlib.sha256(b"another body").hexdigest(),
    "body_size": 1,
}


@pytest.mark.parametrize(("name", "value"), FIELD_CHANGES.items(), ids=list(FIELD_CHANGES))
def test_signature_binds_every_field(name: str, value: Any) -> None:
    header = make_header()
    tampered = parse_header(leaf_with(header, **{name: value}))
    with pytest.raises(VerificationError, match="signature does not verify"):
        tampered.verify_signature(LOG_KEY.public)


def test_signature_binds_the_key_id() -> None:
    header = make_header()
    tampered = parse_header(leaf_with(header, kid=OTHER_KEY.kid))
    with pytest.raises(InvalidEntryError, match="signed by key"):
        tampered.verify_signature(LOG_KEY.public)
    with pytest.raises(VerificationError):
        tampered.verify_signature(OTHER_KEY.public)


def test_signature_binds_network_and_status() -> None:
    """Exercise traffic cannot be replayed as real, nor demo traffic into a live network."""
    exercise = make_header(network="nea-exercise-2027", status="Exercise")
    for changes in ({"status": "Actual"}, {"network": "nea-live"}):
        replayed = parse_header(leaf_with(exercise, **changes))
        with pytest.raises(VerificationError, match="signature does not verify"):
            replayed.verify_signature(LOG_KEY.public)


def test_signature_binds_the_policy_hash() -> None:
    """A header made under one policy cannot be presented under another (demo into live)."""
    header = make_header()
    replayed = parse_header(leaf_with(header, policy=hashlib.sha256(b"live").hexdigest()))
    with pytest.raises(VerificationError):
        replayed.verify_signature(LOG_KEY.public)


def test_signature_encoding_malleability_refused() -> None:
    """Re-encoding ``sig`` with other unused base64 bits would give the entry a new leaf hash."""
    header = make_header()
    raw = base64.b64decode(header.sig)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    variants = [
        header.sig[:85] + char + "=="
        for char in alphabet
        if char != header.sig[85] and base64.b64decode(header.sig[:85] + char + "==") == raw
    ]
    assert variants  # the last character of 64 bytes carries 4 unused bits
    for sig in variants:
        leaf = leaf_with(header, sig=sig)
        assert leaf != header.leaf
        with pytest.raises(ParleyError):
            parse_header(leaf).verify_signature(LOG_KEY.public)


@pytest.mark.parametrize("sig", ["", "not base64!", base64.b64encode(b"x" * 63).decode(), 5])
def test_malformed_signatures_are_refused(sig: Any) -> None:
    header = make_header()
    with pytest.raises(InvalidEntryError, match="sig"):
        parse_header(leaf_with(header, sig=sig)).verify_signature(LOG_KEY.public)


# ---------------------------------------------------------------------------------------------
# parse_header: only well-formed, coherent, canonical headers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HEADER_FIELDS)
def test_missing_field_is_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidEntryError, match=f"missing fields \\['{name}'\\]"):
        parse_header(leaf_without(make_header(), name))


def test_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(InvalidEntryError, match=r"unknown fields \['extra'\]"):
        parse_header(leaf_with(make_header(), extra=1))


def test_non_canonical_header_bytes_are_refused() -> None:
    header = make_header()
    spaced = header.leaf.replace(b'","', b'", "', 1)
    with pytest.raises(CanonicalizationError, match="header: bytes are not in canonical form"):
        parse_header(spaced)


@pytest.mark.parametrize("leaf", [b"[]", b'"header"', b"null", b"7"])
def test_header_that_is_not_an_object_is_refused(leaf: bytes) -> None:
    with pytest.raises(InvalidEntryError, match="must be a JSON object"):
        parse_header(leaf)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"v": 2}, "protocol version 2 is not supported"),
        ({"v": True}, "protocol version True"),
        ({"network": "Parley Test"}, "not a network id"),
        ({"network": "parley-test\n"}, "not a network id"),
        ({"party": "jp"}, "not a party code"),
        ({"party": "J"}, "not a party code"),
        ({"party": "JP\n"}, "not a party code"),
        ({"policy": "00" * 31}, "policy is malformed"),
        ({"policy": POLICY.upper()}, "policy is malformed"),
        ({"policy": POLICY + "\n"}, "policy is malformed"),
        ({"body_hash": "zz" * 32}, "body_hash is malformed"),
        ({"node": "0" * 15}, "node is malformed"),
        ({"node": IDENTITY.kid + "\n"}, "node is malformed"),
        ({"kid": None}, "kid is malformed"),
        ({"seq": -1}, "seq must be a non-negative integer"),
        ({"seq": True}, "seq must be a non-negative integer"),
        ({"seq": "7"}, "seq must be a non-negative integer"),
        ({"time": -5}, "time must be a non-negative integer"),
        ({"body_size": None}, "body_size must be a non-negative integer"),
        ({"kind": "Check"}, "kind 'Check' is malformed"),
        ({"kind": "check\n"}, "is malformed"),
        ({"kind": ""}, "is malformed"),
        ({"status": "actual"}, "status 'actual' is not one of"),
        ({"status": None}, "status None is not one of"),
        ({"audience": ["KR", "JP"], "tlp": "AMBER"}, "sorted list of parties"),
        ({"audience": ["JP", "JP"], "tlp": "AMBER"}, "sorted list of parties"),
        ({"audience": [], "tlp": "AMBER"}, "audience is empty"),
        ({"audience": "JP", "tlp": "AMBER"}, "audience must be ALL or a sorted list"),
        ({"audience": ["jp"], "tlp": "AMBER"}, "not a party code"),
        ({"audience": ["JP", 5], "tlp": "AMBER"}, "audience"),
        ({"audience": [["JP"]], "tlp": "AMBER"}, "audience"),
        ({"audience": None}, "audience"),
        ({"tlp": "WHITE"}, "not a TLP 2.0 label"),
        ({"tlp": None}, "not a TLP 2.0 label"),
        ({"tlp": "RED"}, "TLP:RED needs a named audience"),
        ({"audience": ["KR"], "tlp": "CLEAR"}, "TLP:CLEAR cannot go to a named audience"),
        ({"kind": "key", "tlp": "GREEN"}, "always audience ALL with TLP:CLEAR"),
        ({"kind": "policy", "audience": ["KR"], "tlp": "AMBER"}, "always audience ALL"),
        ({"kind": "future-kind", "tlp": "RED"}, "TLP:RED needs a named audience"),
        ({"kind": "future-kind", "audience": ["KR"], "tlp": "CLEAR"}, "TLP:CLEAR cannot go"),
        ({"kind": "future-kind", "tlp": None}, "not a TLP 2.0 label"),
    ],
)
def test_malformed_or_incoherent_header_is_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidEntryError, match=problem):
        parse_header(leaf_with(make_header(), **changes))


def test_unknown_kinds_parse_for_forward_compatibility() -> None:
    header = make_header(kind="launch-notice", audience=("KR",), tlp="AMBER")
    assert parse_header(header.leaf).kind == "launch-notice"


def test_sign_header_refuses_what_parse_header_would_refuse() -> None:
    with pytest.raises(InvalidEntryError, match="TLP:RED needs a named audience"):
        make_header(tlp="RED")
    with pytest.raises(InvalidEntryError, match="not a party code"):
        make_header(party="jp")
    with pytest.raises(InvalidEntryError, match="sorted list"):
        make_header(audience=["JP"], tlp="AMBER")


# ---------------------------------------------------------------------------------------------
# Audience and TLP
# ---------------------------------------------------------------------------------------------

ORDINARY_KINDS = [k for k in KINDS if k not in PUBLIC_KINDS]


@pytest.mark.parametrize("kind", ORDINARY_KINDS)
def test_default_tlp_is_green_for_all_and_amber_for_a_named_audience(kind: str) -> None:
    assert resolve_sharing(kind, None, None) == (ALL, "GREEN")
    assert resolve_sharing(kind, ALL, None) == (ALL, "GREEN")
    assert resolve_sharing(kind, "KR,JP", None) == (("JP", "KR"), "AMBER")
    # Outside the signature's types, but accepted: a list of parties reads like a tuple.
    assert resolve_sharing(kind, ["KR"], None) == (("KR",), "AMBER")  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(ORDINARY_KINDS),
    st.none() | st.just(ALL) | st.lists(PARTIES, min_size=1, max_size=4),
)
def test_tlp_is_never_clear_by_default(kind: str, audience: Any) -> None:
    assert resolve_sharing(kind, audience, None)[1] != "CLEAR"


@pytest.mark.parametrize("kind", ORDINARY_KINDS)
def test_incoherent_audience_and_tlp_pairs_are_refused(kind: str) -> None:
    with pytest.raises(InvalidEntryError, match="TLP:CLEAR cannot go to a named audience"):
        resolve_sharing(kind, ("KR",), "CLEAR")
    with pytest.raises(InvalidEntryError, match="TLP:RED needs a named audience"):
        resolve_sharing(kind, ALL, "RED")
    with pytest.raises(InvalidEntryError, match="TLP:RED needs a named audience"):
        resolve_sharing(kind, None, "RED")


@pytest.mark.parametrize("kind", ORDINARY_KINDS)
def test_coherent_explicit_pairs_are_kept(kind: str) -> None:
    assert resolve_sharing(kind, ALL, "CLEAR") == (ALL, "CLEAR")
    assert resolve_sharing(kind, ("KR",), "RED") == (("KR",), "RED")
    assert resolve_sharing(kind, ("KR",), "AMBER+STRICT") == (("KR",), "AMBER+STRICT")
    assert resolve_sharing(kind, ALL, "AMBER") == (ALL, "AMBER")


@pytest.mark.parametrize("kind", sorted(PUBLIC_KINDS))
def test_key_policy_and_evidence_are_always_all_and_clear(kind: str) -> None:
    assert resolve_sharing(kind, None, None) == (ALL, "CLEAR")
    assert resolve_sharing(kind, ALL, "CLEAR") == (ALL, "CLEAR")
    for audience, tlp in ((ALL, "GREEN"), (("KR",), None), (("KR",), "AMBER"), (None, "RED")):
        with pytest.raises(InvalidEntryError, match="always audience ALL with TLP:CLEAR"):
            resolve_sharing(kind, audience, tlp)


def test_unknown_tlp_label_is_refused() -> None:
    with pytest.raises(InvalidEntryError, match="not a TLP 2.0 label"):
        resolve_sharing("notification", ALL, "WHITE")
    assert set(TLP_LABELS) == {"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"}


@pytest.mark.parametrize(
    ("audience", "problem"),
    [
        ("", "audience: empty"),
        (" , ", "audience: empty"),
        ([], "audience: empty"),
        ("JP,kr", "not a party code"),
        (["JP", "X"], "not a party code"),
    ],
)
def test_bad_audiences_are_refused(audience: Any, problem: str) -> None:
    with pytest.raises(InvalidEntryError, match=problem):
        normalise_audience(audience)


def test_audience_is_sorted_and_deduplicated() -> None:
    assert normalise_audience(" KR, JP ,KR") == ("JP", "KR")
    assert normalise_audience(["US", "CN", "US"]) == ("CN", "US")
    assert normalise_audience(ALL) == ALL


# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------


def test_header_over_4_kib_is_refused() -> None:
    parties = tuple(sorted(f"P{i:04d}" for i in range(600)))
    with pytest.raises(LimitExceededError, match=f"over the limit of {HEADER_MAX_BYTES}"):
        make_header(audience=parties, tlp="AMBER")
    assert HEADER_MAX_BYTES == 4096


def test_header_limit_is_checked_on_parse_before_anything_else() -> None:
    header = make_header()
    with pytest.raises(LimitExceededError, match="over the limit of 100"):
        parse_header(header.leaf, header_limit=100)
    with pytest.raises(LimitExceededError):
        parse_header(b" " * (HEADER_MAX_BYTES + 1))
    with pytest.raises(LimitExceededError, match="over the limit of 100"):
        make_header(header_limit=100)


def test_header_of_exactly_the_limit_is_accepted() -> None:
    header = make_header()
    assert parse_header(header.leaf, header_limit=len(header.leaf)) == header


def test_body_over_the_limit_is_refused() -> None:
    with pytest.raises(LimitExceededError, match="over the limit of 64"):
        Body.seal({"text": "x" * 64}, SALT, limit=64)
    exact = Body.seal("x" * 62, SALT, limit=64)
    assert len(exact.data) == 64


def test_body_over_16_mib_is_refused_by_default() -> None:
    assert BODY_MAX_BYTES == 16 * 1024 * 1024
    with pytest.raises(LimitExceededError, match=f"over the limit of {BODY_MAX_BYTES}"):
        Body.seal("x" * (BODY_MAX_BYTES - 1), SALT)


def test_body_outside_the_json_subset_is_refused() -> None:
    with pytest.raises(CanonicalizationError, match="floating-point"):
        Body.seal({"lat": 35.6}, SALT)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_salt_must_be_32_bytes(size: int) -> None:
    with pytest.raises(InvalidEntryError, match="salt must be 32 bytes"):
        Body.seal(BODY, b"\x00" * size)


# ---------------------------------------------------------------------------------------------
# The salted body hash
# ---------------------------------------------------------------------------------------------


def test_body_hash_is_sha256_of_salt_and_canonical_body() -> None:
    body = Body.seal(BODY, SALT)
    assert body.data == canonical_bytes(BODY)
    assert body.digest == hashlib.sha256(SALT + canonical_bytes(BODY)).digest()
    assert body.digest == body_hash(SALT, body.data)
    assert body.value() == BODY


@settings(max_examples=50, deadline=None)
@given(
    st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE),
    st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE),
)
def test_same_body_with_different_salts_has_different_hashes(a: bytes, b: bytes) -> None:
    if a != b:
        assert Body.seal(BODY, a).digest != Body.seal(BODY, b).digest


def test_guessed_body_cannot_be_confirmed_without_the_salt() -> None:
    """A receipt or a phrase code is predictable; its hash alone must not confirm a guess."""
    receipt = {"type": "delivered", "entry": {"ref": "KR:3", "leaf_hash": "ab" * 32}}
    header = make_header(kind="receipt", body=receipt, salt=os.urandom(SALT_SIZE))
    guess = canonical_bytes(receipt)
    for salt in (b"", b"\x00" * SALT_SIZE, SALT):
        assert body_hash(salt, guess).hex() != header.body_hash
    assert hashlib.sha256(guess).hexdigest() != header.body_hash
    with pytest.raises(VerificationError, match="does not match its body_hash"):
        header.check_body(Body(b"\x00" * SALT_SIZE, guess))


def test_check_body_accepts_the_body_it_was_signed_with() -> None:
    salt = os.urandom(SALT_SIZE)
    header = make_header(salt=salt)
    header.check_body(Body.seal(BODY, salt))


def test_check_body_refuses_a_body_that_does_not_match_its_hash() -> None:
    header = make_header()
    other = Body.seal({"nonce": "11" * 16, "deadlines": {}}, SALT)
    assert len(other.data) == header.body_size  # same size: only the hash can tell
    with pytest.raises(VerificationError, match="JP:7: body does not match its body_hash"):
        header.check_body(other)
    with pytest.raises(VerificationError, match="does not match its body_hash"):
        header.check_body(Body(os.urandom(SALT_SIZE), Body.seal(BODY, SALT).data))


def test_check_body_refuses_a_body_of_the_wrong_size() -> None:
    header = make_header()
    longer = Body.seal({**BODY, "x": 1}, SALT)
    with pytest.raises(VerificationError, match=f"header says {header.body_size}"):
        header.check_body(longer)


def test_body_value_insists_on_canonical_bytes() -> None:
    with pytest.raises(CanonicalizationError, match="body: bytes are not in canonical form"):
        Body(SALT, b'{"b":1,"a":2}').value()


# ---------------------------------------------------------------------------------------------
# References PARTY:SEQ
# ---------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(PARTIES, st.integers(0, 10**16 - 1))
def test_format_ref_and_parse_ref_round_trip(party: str, seq: int) -> None:
    assert parse_ref(format_ref(party, seq)) == (party, seq)


@pytest.mark.parametrize(
    "text",
    [
        "JP",
        "JP:",
        ":1",
        "jp:1",
        "J:1",
        "JP:01",
        "JP:-1",
        "JP:1.0",
        "JP: 1",
        " JP:1",
        "JP:1\n",
        "JP:12345678901234567",
        "TOOLONGXX:1",
        "JP:1:2",
        "",
        42,
        None,
    ],
)
def test_malformed_references_are_refused(text: Any) -> None:
    with pytest.raises(InvalidEntryError, match="PARTY:SEQ"):
        parse_ref(text)


def test_reference_names_an_entry_the_same_everywhere() -> None:
    assert format_ref("JP", 42) == "JP:42"
    assert parse_ref("JP:42") == ("JP", 42)
    assert parse_ref("NEA2027:0") == ("NEA2027", 0)


@pytest.mark.parametrize("code", ["JP", "KR", "US1", "ABCDEFGH"])
def test_valid_party_codes(code: str) -> None:
    assert check_party(code) == code


@pytest.mark.parametrize("code", ["", "J", "jp", "1JP", "ABCDEFGHI", "J-P", "JP\n", " JP", 5])
def test_invalid_party_codes_are_refused_with_a_hint(code: Any) -> None:
    with pytest.raises(InvalidEntryError, match="is not a party code") as caught:
        check_party(code)
    assert caught.value.hint is not None


@pytest.mark.parametrize("network", ["parley-demo", "nea-exercise-2027", "a", "x.y-z"])
def test_valid_network_ids(network: str) -> None:
    assert check_network(network) == network


@pytest.mark.parametrize("network", ["", "Parley", "-demo", "a b", "a" * 64, "demo\n", None])
def test_invalid_network_ids_are_refused(network: Any) -> None:
    with pytest.raises(InvalidEntryError, match="is not a network id"):
        check_network(network)


# ---------------------------------------------------------------------------------------------
# Who may read a body
# ---------------------------------------------------------------------------------------------


def test_all_and_clear_is_readable_by_anyone_even_unauthenticated() -> None:
    header = make_header(tlp="CLEAR")
    for reader in (None, "JP", "KR", "US"):
        assert header.readable_by(reader)


@pytest.mark.parametrize("tlp", ["GREEN", "AMBER", "AMBER+STRICT"])
def test_all_with_another_tlp_is_readable_by_authenticated_parties_only(tlp: str) -> None:
    header = make_header(tlp=tlp)
    assert not header.readable_by(None)
    for reader in ("JP", "KR", "US"):
        assert header.readable_by(reader)


@pytest.mark.parametrize("tlp", ["GREEN", "AMBER", "AMBER+STRICT", "RED"])
def test_named_audience_is_readable_by_those_parties_and_the_author_only(tlp: str) -> None:
    header = make_header(audience=("CN", "KR"), tlp=tlp)
    assert header.readable_by("JP")  # the author
    assert header.readable_by("KR")
    assert header.readable_by("CN")
    for outsider in (None, "US", "RU", "K", "KRX", "ALL"):
        assert not header.readable_by(outsider)


def test_readable_by_follows_the_parsed_header() -> None:
    header = parse_header(make_header(audience=("KR",), tlp="RED").leaf)
    assert header.readable_by("KR")
    assert not header.readable_by("CN")


def test_every_status_is_accepted_and_signed() -> None:
    for status in STATUSES:
        header = make_header(status=status)
        assert parse_header(header.leaf).status == status
