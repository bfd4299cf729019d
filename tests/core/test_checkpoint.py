"""C2SP signed notes, Parley checkpoints and cosignatures: published vectors, attacks, limits."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core import checkpoint as cp
from parley.core.checkpoint import Checkpoint
from parley.core.errors import InvalidEntryError, VerificationError

# ---------------------------------------------------------------------------------------------
# Published vectors
# ---------------------------------------------------------------------------------------------
# golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier, TestSign, TestOpen): the reference
# implementation of signed notes. Ed25519 is deterministic (RFC 8032), so signing GO_TEXT with the
# PeterNeumann key must reproduce PETER_SIG byte for byte.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
    "otpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
)

# C2SP signed-note specification, section "Verifier keys", example key and note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppz"
    "i2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# transparency-dev/formats, note/note_cosigv1_test.go (TestCoSigV1NewVerifier,
# TestCoSigV1Timestamp): a type 0x01 vkey whose base64 contains '+', a type 0x04 (cosignature/v1)
# vkey of the remora.n621.de witness, and a cosignature whose timestamp is 1727964367.
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
COSIG_1727964367 = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJ"
    "XORmnFBOBA=="
)

# C2SP tlog-cosignature specification, the example checkpoint with a cosignature by
# witness.example.com/w1; its "Ed25519 signed message" example shows the time 1679315147.
SPEC_COSIGNED_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJs"
    "X3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)

# A real checkpoint of the arche2025h1.staging.ct.transparency.dev log (static-ct, Google), with
# its Ed25519 signature (0x01), an RFC 6962 signature (0x05, unknown here) and witness
# cosignatures, as quoted in the tests of florolf/tlog-scales (whose author runs remora.n621.de).
ARCHE_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
ARCHE_SIGNATURES = [
    (
        "arche2025h1.staging.ct.transparency.dev",
        "zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI"
        "4kJXFbon5Ch9MNL5zRNZ55lvGt0=",
    ),
    (
        "arche2025h1.staging.ct.transparency.dev",
        "ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZF"
        "WwQ=",
    ),
    (
        "transparency.dev/DEV:witness-little-garden",
        "2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q4"
        "4vdgJY096st5BQ==",
    ),
    (
        "witness1.smartit.nu/witness1",
        "pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0t"
        "gh0XwzdZsDsUAQ==",
    ),
    (
        "remora.n621.de",
        "2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0"
        "WBxtqB0DrAWfBw==",
    ),
    (
        "witness.stagemole.eu",
        "Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUi"
        "OvKFYe/TmN9DAg==",
    ),
]
ARCHE_CHECKPOINT = (
    "arche2025h1.staging.ct.transparency.dev\n1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n"
    + "".join(f"\u2014 {name} {signature}\n" for name, signature in ARCHE_SIGNATURES)
)
ARCHE_REMORA_TIME = 0x6A122120  # the timestamp carried in remora's cosignature line

# ---------------------------------------------------------------------------------------------
# Parley keys and checkpoints for the other tests
# ---------------------------------------------------------------------------------------------
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"other key").digest())
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"witness key").digest())
WITNESS_2_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"witness 2").digest())
ORIGIN = "parley/parley-demo/JP"
ROOT = hashlib.sha256(b"root").digest()
CHECKPOINT = Checkpoint(ORIGIN, 42, ROOT, 1_767_225_600_000)


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def signed() -> str:
    return cp.sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)


# ---------------------------------------------------------------------------------------------
# Signed notes against the published vectors
# ---------------------------------------------------------------------------------------------
def test_go_reference_signature_is_reproduced_byte_for_byte() -> None:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]
    peter = Ed25519PrivateKey.from_private_bytes(seed)
    assert cp.vkey("PeterNeumann", raw(peter)) == PETER_VKEY
    assert cp.sign_note(GO_TEXT, "PeterNeumann", peter) == GO_TEXT + "\n" + PETER_SIG


def test_go_reference_note_verifies_and_unknown_signers_are_ignored() -> None:
    peter, enoch = cp.parse_vkey(PETER_VKEY), cp.parse_vkey(ENOCH_VKEY)
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert cp.verify_note(note, peter.name, peter.public_key) == GO_TEXT
    assert cp.verify_note(note, enoch.name, enoch.public_key) == GO_TEXT
    parsed = cp.parse_note(note)
    assert [s.name for s in parsed.signatures] == ["PeterNeumann", "EnochRoot"]
    assert parsed.signatures[0].key_hash.hex() == "c74f20a3"
    assert parsed.to_text() == note


def test_signed_note_specification_example_verifies() -> None:
    key = cp.parse_vkey(SPEC_VKEY)
    assert key.name == "example.com/foo"
    assert key.key_hash.hex() == "530d903a"
    assert (
        key.public_key.hex() == "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    )
    assert cp.verify_note(SPEC_NOTE, key.name, key.public_key) == "This is an example message.\n"


@pytest.mark.parametrize(
    "text", [PETER_VKEY, ENOCH_VKEY, SPEC_VKEY, PLUS_VKEY, REMORA_VKEY, ARCHE_VKEY]
)
def test_published_vkeys_parse_and_round_trip(text: str) -> None:
    key = cp.parse_vkey(text)
    assert cp.key_hash(key.name, key.signature_type, key.public_key) == key.key_hash
    assert cp.vkey(key.name, key.public_key, key.signature_type) == text


def test_witness_vkey_has_the_cosignature_type() -> None:
    assert cp.parse_vkey(REMORA_VKEY).signature_type == cp.SIGNATURE_COSIGNATURE_V1
    assert cp.parse_vkey(PLUS_VKEY).name == "TEST"


def test_every_mangling_of_a_published_vkey_is_refused() -> None:
    # After golang.org/x/mod/sumdb/note TestNewVerifier: every proper substring, every byte bumped.
    manglings = {
        PETER_VKEY[i:j]
        for i in range(len(PETER_VKEY))
        for j in range(i + 1, len(PETER_VKEY) + 1)
        if (i, j) != (0, len(PETER_VKEY))
    }
    manglings |= {
        PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        for i in range(len(PETER_VKEY))
    }
    manglings |= {  # wrong key length and unknown type, each with a matching key hash
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    }
    for text in manglings:
        with pytest.raises(VerificationError):
            cp.parse_vkey(text)


@pytest.mark.parametrize(
    "note",
    [  # the malformed notes of golang.org/x/mod/sumdb/note TestOpen
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(),
        GO_TEXT + "\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
        "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ],
)
def test_go_reference_malformed_notes_are_refused(note: str | bytes) -> None:
    peter = cp.parse_vkey(PETER_VKEY)
    with pytest.raises(VerificationError):
        cp.verify_note(note, peter.name, peter.public_key)


def test_go_reference_corrupted_signature_is_refused() -> None:
    peter = cp.parse_vkey(PETER_VKEY)
    note = GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="does not verify"):
        cp.verify_note(note, peter.name, peter.public_key)


def test_cosignature_timestamps_of_published_examples_are_read() -> None:
    spec_line = cp.parse_note(SPEC_COSIGNED_CHECKPOINT).signatures[1]
    assert spec_line.name == "witness.example.com/w1"
    assert int.from_bytes(spec_line.signature[:8], "big") == 1_679_315_147
    formats_line = cp.parse_signature_line(f"\u2014 w {COSIG_1727964367}\n")
    assert len(formats_line.signature) == 8 + 64
    assert int.from_bytes(formats_line.signature[:8], "big") == 1_727_964_367


def test_real_world_checkpoint_and_its_witness_cosignature_verify() -> None:
    log, witness = cp.parse_vkey(ARCHE_VKEY), cp.parse_vkey(REMORA_VKEY)
    text = cp.verify_note(ARCHE_CHECKPOINT, log.name, log.public_key)
    assert text.splitlines()[1] == "1432088532"
    times = cp.cosignatures_in(ARCHE_CHECKPOINT, {witness.name: witness.public_key})
    assert times == {"remora.n621.de": ARCHE_REMORA_TIME}
    remora_line = ARCHE_CHECKPOINT.splitlines(keepends=True)[-2]
    body = text.encode()
    assert (
        cp.verify_cosignature(body, remora_line, witness.name, witness.public_key)
        == times[witness.name]
    )
    with pytest.raises(VerificationError, match="does not verify"):
        cp.verify_cosignature(
            body.replace(b"1432088532", b"1432088533"),
            remora_line,
            witness.name,
            witness.public_key,
        )


def test_foreign_checkpoint_bodies_are_not_parley_checkpoints() -> None:
    text = cp.parse_note(SPEC_COSIGNED_CHECKPOINT).text.encode()
    with pytest.raises(VerificationError, match="origin"):
        Checkpoint.parse_body(text)


# ---------------------------------------------------------------------------------------------
# Parley checkpoints
# ---------------------------------------------------------------------------------------------
def test_checkpoint_body_has_the_fixed_format() -> None:
    root64 = base64.b64encode(ROOT).decode()
    assert CHECKPOINT.body() == f"{ORIGIN}\n42\n{root64}\ntime 1767225600000\n".encode()
    assert Checkpoint.parse_body(CHECKPOINT.body()) == CHECKPOINT
    empty = Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest(), 0)
    assert Checkpoint.parse_body(empty.body()) == empty


def test_signed_checkpoint_opens_with_the_log_key() -> None:
    note = signed()
    assert note.startswith(CHECKPOINT.body().decode() + "\n\u2014 " + ORIGIN + " ")
    assert cp.open_checkpoint(note, ORIGIN, raw(LOG_KEY)) == CHECKPOINT
    assert cp.open_checkpoint(note.encode(), ORIGIN, raw(LOG_KEY)) == CHECKPOINT


def test_checkpoint_signed_by_another_key_is_refused() -> None:
    forged = cp.sign_checkpoint(CHECKPOINT, ORIGIN, OTHER_KEY)
    with pytest.raises(VerificationError, match="no signature by key " + ORIGIN):
        cp.open_checkpoint(forged, ORIGIN, raw(LOG_KEY))
    with pytest.raises(VerificationError, match="no signature"):
        cp.open_checkpoint(signed(), "parley/parley-demo/KR", raw(LOG_KEY))


def test_forged_signature_under_the_right_key_id_is_refused() -> None:
    parsed = cp.parse_note(signed())
    good = parsed.signatures[0]
    other = cp.parse_note(cp.sign_checkpoint(CHECKPOINT, ORIGIN, OTHER_KEY)).signatures[0]
    forged = cp.Note(parsed.text, (cp.NoteSignature(good.name, good.key_hash, other.signature),))
    with pytest.raises(VerificationError, match="does not verify"):
        cp.open_checkpoint(forged.to_text(), ORIGIN, raw(LOG_KEY))
    # One bad signature from the known key rejects the note even beside a good one.
    both = cp.Note(parsed.text, (good, forged.signatures[0]))
    with pytest.raises(VerificationError, match="does not verify"):
        cp.open_checkpoint(both.to_text(), ORIGIN, raw(LOG_KEY))


def test_signature_lines_of_unknown_keys_are_kept_and_ignored() -> None:
    stranger = cp.sign_note(CHECKPOINT.body().decode(), ORIGIN, OTHER_KEY).splitlines(True)[-1]
    witness = cp.cosign(CHECKPOINT.body(), "witness.example/w1", WITNESS_KEY, 1_767_225_601)
    note = cp.add_signature_lines(signed(), [stranger, witness])
    assert len(cp.parse_note(note).signatures) == 3
    assert cp.open_checkpoint(note, ORIGIN, raw(LOG_KEY)) == CHECKPOINT


def test_any_flipped_byte_of_a_signed_checkpoint_is_refused() -> None:
    data = signed().encode()
    for position in range(len(data)):
        for mask in (0x01, 0x20, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= mask
            with pytest.raises(VerificationError):
                cp.open_checkpoint(bytes(tampered), ORIGIN, raw(LOG_KEY))


@settings(deadline=None)
@given(st.data())
def test_any_random_byte_change_of_a_signed_checkpoint_is_refused(data: st.DataObject) -> None:
    note = signed().encode()
    position = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != note[position]))
    tampered = note[:position] + bytes([value]) + note[position + 1 :]
    with pytest.raises(VerificationError):
        cp.open_checkpoint(tampered, ORIGIN, raw(LOG_KEY))


network_names = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True)
party_codes = st.from_regex(r"[A-Z][A-Z0-9]{1,7}", fullmatch=True)
checkpoints = st.builds(
    Checkpoint,
    origin=st.builds(cp.origin_for, network_names, party_codes),
    size=st.integers(0, 2**63 - 1),
    root=st.binary(min_size=32, max_size=32),
    time_ms=st.integers(0, 2**63 - 1),
)


@settings(deadline=None)
@given(checkpoints, st.binary(min_size=32, max_size=32))
def test_checkpoint_round_trips_through_a_signed_note(checkpoint: Checkpoint, seed: bytes) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    note = cp.sign_checkpoint(checkpoint, checkpoint.origin, key)
    assert cp.open_checkpoint(note, checkpoint.origin, raw(key)) == checkpoint
    assert Checkpoint.parse_body(checkpoint.body()) == checkpoint


@given(st.text(alphabet="parley/dmoJP019+=AQ \ntime-", max_size=80))
def test_parse_body_accepts_only_the_bytes_body_writes(text: str) -> None:
    try:
        parsed = Checkpoint.parse_body(text.encode())
    except VerificationError:
        return
    assert parsed.body() == text.encode()


ROOT64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (f"{ORIGIN}\n42\n{ROOT64}\ntime 1\nextra\n", "3 lines"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime 1\ntime 2\n", "3 lines"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime 1", "end with a newline"),
        (f"{ORIGIN}\n42\n{ROOT64}\n\ntime 1\n", "3 lines"),
        ("", "end with a newline"),
        (f"{ORIGIN}\n042\n{ROOT64}\ntime 1\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT64}\ntime 1\n", "tree size"),
        (f"{ORIGIN}\n+1\n{ROOT64}\ntime 1\n", "tree size"),
        (f"{ORIGIN}\n 1\n{ROOT64}\ntime 1\n", "tree size"),
        (f"{ORIGIN}\n9223372036854775808\n{ROOT64}\ntime 1\n", "2\\*\\*63-1"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime 01\n", "leading zeros"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime -1\n", "checkpoint time"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime  1\n", "checkpoint time"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime 1 \n", "checkpoint time"),
        (f"{ORIGIN}\n42\n{ROOT64}\nclock 1\n", "'time <ms>'"),
        (f"{ORIGIN}\n42\n{ROOT64}\ntime\n", "'time <ms>'"),
        (f"{ORIGIN}\n42\n{ROOT64[:-1]}\ntime 1\n", "base64"),
        (f"{ORIGIN}\n42\n{ROOT64.rstrip('=')}\ntime 1\n", "base64"),
        (f"{ORIGIN}\n42\n{ROOT64[:-2]}F=\ntime 1\n", "canonical"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\ntime 1\n", "32 bytes"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT + b'x').decode()}\ntime 1\n", "32 bytes"),
        (f"{ORIGIN}\r\n42\n{ROOT64}\ntime 1\n", "origin"),
        (f"example.com/log\n42\n{ROOT64}\ntime 1\n", "origin"),
        (f"parley/demo/JP/x\n42\n{ROOT64}\ntime 1\n", "origin"),
        (f"parley//JP\n42\n{ROOT64}\ntime 1\n", "origin"),
        (f"parley/d\u00e9mo/JP\n42\n{ROOT64}\ntime 1\n", "ASCII"),
    ],
)
def test_parse_body_refuses_anything_but_the_exact_format(body: str, problem: str) -> None:
    with pytest.raises(VerificationError, match=problem):
        Checkpoint.parse_body(body.encode())


def test_checkpoint_without_extension_lines_is_the_plain_c2sp_form() -> None:
    plain = Checkpoint(ORIGIN, 42, ROOT)
    assert plain.body() == f"{ORIGIN}\n42\n{ROOT64}\n".encode()
    assert Checkpoint.parse_body(plain.body()) == plain
    assert plain.time_ms is None
    assert plain.log_time(1767225600000) == 1767225600000
    assert Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest()).log_time(5) == 0


def test_legacy_time_line_checkpoints_still_parse_and_keep_their_time() -> None:
    legacy = Checkpoint.parse_body(f"{ORIGIN}\n42\n{ROOT64}\ntime 7\n".encode())
    assert legacy.time_ms == 7
    assert legacy.log_time(1767225600000) == 7
    assert legacy.body() == f"{ORIGIN}\n42\n{ROOT64}\ntime 7\n".encode()


def test_checkpoint_values_are_checked_on_construction() -> None:
    with pytest.raises(InvalidEntryError, match="origin"):
        Checkpoint("example.com/log", 1, ROOT, 1)
    with pytest.raises(InvalidEntryError, match="tree size"):
        Checkpoint(ORIGIN, -1, ROOT, 1)
    with pytest.raises(InvalidEntryError, match="32 bytes"):
        Checkpoint(ORIGIN, 1, ROOT[:16], 1)
    with pytest.raises(InvalidEntryError, match="time"):
        Checkpoint(ORIGIN, 1, ROOT, 2**63)


def test_origin_names_network_and_party() -> None:
    assert cp.origin_for("nea-exercise-2027", "JP") == "parley/nea-exercise-2027/JP"
    for network, party in [("", "JP"), ("demo", ""), ("a/b", "JP"), ("demo", "J P"), ("x+y", "JP")]:
        with pytest.raises(InvalidEntryError):
            cp.origin_for(network, party)


# ---------------------------------------------------------------------------------------------
# Limits and hostile notes
# ---------------------------------------------------------------------------------------------
def test_note_over_one_mebibyte_is_refused() -> None:
    big = "a" * (cp.MAX_NOTE_BYTES - 10) + "\n" + "\n" + PETER_SIG
    with pytest.raises(VerificationError, match="limit of 1048576 bytes"):
        cp.parse_note(big)
    multibyte = "\u00e9" * (cp.MAX_NOTE_BYTES // 2) + "\n\n" + PETER_SIG
    with pytest.raises(VerificationError, match="over the limit of 1048576"):
        cp.parse_note(multibyte)


def test_note_with_more_than_100_signatures_is_refused() -> None:
    peter = cp.parse_vkey(PETER_VKEY)
    assert cp.verify_note(GO_TEXT + "\n" + PETER_SIG * 100, peter.name, peter.public_key)
    with pytest.raises(VerificationError, match="101 signatures, over the limit of 100"):
        cp.parse_note(GO_TEXT + "\n" + PETER_SIG * 101)
    with pytest.raises(VerificationError, match="at most 100"):
        cp.add_signature_lines(GO_TEXT + "\n" + PETER_SIG * 100, [ENOCH_SIG])


@pytest.mark.parametrize("char", ["\x00", "\t", "\r", "\x0b", "\x1b", "\x1f"])
def test_control_characters_are_refused(char: str) -> None:
    with pytest.raises(VerificationError, match="control character"):
        cp.parse_note("abc" + char + "\n\n" + PETER_SIG)
    with pytest.raises(InvalidEntryError, match="control characters"):
        cp.sign_note("abc" + char + "\n", ORIGIN, LOG_KEY)


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(VerificationError, match="UTF-8"):
        cp.parse_note(b"abc\xc3\n\n" + PETER_SIG.encode())
    with pytest.raises(VerificationError, match="UTF-8"):
        cp.parse_note("abc\ud800\n\n" + PETER_SIG)


@pytest.mark.parametrize(
    "line",
    [
        "\u2014 Peter Neumann AAAAAAA=\n",
        "\u2014 Peter+Neumann AAAAAAA=\n",
        "\u2014 Peter\u00a0Neumann AAAAAAA=\n",
        "\u2014  AAAAAAA=\n",
        "\u2014 PeterNeumann\n",
        "\u2014 PeterNeumann AAAA\n",
        "\u2014 PeterNeumann AAAAAAA\n",
        "\u2014 PeterNeumann AAAAAAB=\n",
        "\u2014 PeterNeumann AAAAAAA=",
        "- PeterNeumann AAAAAAA=\n",
        "\u2014PeterNeumann AAAAAAA=\n",
        "\u2014 PeterNeumann AAAAAAA=\n\u2014 PeterNeumann AAAAAAA=\n",
    ],
)
def test_malformed_signature_lines_are_refused(line: str) -> None:
    with pytest.raises(VerificationError):
        cp.parse_signature_line(line)
    with pytest.raises(VerificationError):
        cp.add_signature_lines(signed(), [line])


def test_signing_refuses_texts_and_names_it_cannot_write() -> None:
    with pytest.raises(InvalidEntryError, match="newline"):
        cp.sign_note("no final newline", ORIGIN, LOG_KEY)
    for name in ["", "a b", "a+b", "a\tb"]:
        with pytest.raises(InvalidEntryError, match="key name"):
            cp.sign_note("text\n", name, LOG_KEY)
        with pytest.raises(InvalidEntryError, match="key name"):
            cp.vkey(name, raw(LOG_KEY))


# ---------------------------------------------------------------------------------------------
# Cosignatures (C2SP tlog-cosignature, cosignature/v1)
# ---------------------------------------------------------------------------------------------
def test_cosignature_signs_the_v1_message_with_a_timestamped_payload() -> None:
    body = CHECKPOINT.body()
    line = cp.cosign(body, "witness.example/w1", WITNESS_KEY, 1_767_225_601)
    message = cp.cosignature_message(body, 1_767_225_601)
    assert message == b"cosignature/v1\ntime 1767225601\n" + body
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    payload = base64.b64decode(line.split(" ")[2])
    key_id = hashlib.sha256(b"witness.example/w1\n\x04" + raw(WITNESS_KEY)).digest()[:4]
    assert payload[:4] == key_id
    assert payload[4:12] == (1_767_225_601).to_bytes(8, "big")
    WITNESS_KEY.public_key().verify(payload[12:], message)  # an independent check of the layout
    assert len(payload) == 4 + 8 + 64


def test_cosignature_verifies_and_returns_its_time() -> None:
    line = cp.cosign(CHECKPOINT.body(), "witness.example/w1", WITNESS_KEY, 1_767_225_601)
    assert (
        cp.verify_cosignature(CHECKPOINT.body(), line, "witness.example/w1", raw(WITNESS_KEY))
        == 1_767_225_601
    )


def test_cosignature_on_another_checkpoint_is_refused() -> None:
    line = cp.cosign(CHECKPOINT.body(), "witness.example/w1", WITNESS_KEY, 1_767_225_601)
    fork = Checkpoint(ORIGIN, 42, hashlib.sha256(b"fork").digest(), CHECKPOINT.time_ms)
    with pytest.raises(VerificationError, match="does not verify"):
        cp.verify_cosignature(fork.body(), line, "witness.example/w1", raw(WITNESS_KEY))


def test_cosignature_with_a_rewritten_timestamp_is_refused() -> None:
    line = cp.cosign(CHECKPOINT.body(), "witness.example/w1", WITNESS_KEY, 1_767_225_601)
    payload = bytearray(base64.b64decode(line.split(" ")[2]))
    payload[11] ^= 0x01  # backdate by a second
    forged = f"\u2014 witness.example/w1 {base64.b64encode(bytes(payload)).decode()}\n"
    with pytest.raises(VerificationError, match="does not verify"):
        cp.verify_cosignature(CHECKPOINT.body(), forged, "witness.example/w1", raw(WITNESS_KEY))


def test_cosignature_by_another_witness_or_key_is_refused() -> None:
    line = cp.cosign(CHECKPOINT.body(), "witness.example/w1", WITNESS_KEY, 1)
    with pytest.raises(VerificationError, match="not by witness key"):
        cp.verify_cosignature(CHECKPOINT.body(), line, "witness.example/w2", raw(WITNESS_KEY))
    with pytest.raises(VerificationError, match="not by witness key"):
        cp.verify_cosignature(CHECKPOINT.body(), line, "witness.example/w1", raw(WITNESS_2_KEY))


def test_log_signatures_and_cosignatures_never_stand_in_for_each_other() -> None:
    # One Ed25519 key used both ways still yields distinct key IDs (types 0x01 and 0x04).
    log_line = signed().splitlines(keepends=True)[-1]
    with pytest.raises(VerificationError, match="not by witness key"):
        cp.verify_cosignature(CHECKPOINT.body(), log_line, ORIGIN, raw(LOG_KEY))
    cosig = cp.cosign(CHECKPOINT.body(), ORIGIN, LOG_KEY, 1)
    only_cosig = CHECKPOINT.body().decode() + "\n" + cosig
    with pytest.raises(VerificationError, match="no signature"):
        cp.open_checkpoint(only_cosig, ORIGIN, raw(LOG_KEY))


def test_cosign_refuses_out_of_range_times_and_bad_names() -> None:
    with pytest.raises(InvalidEntryError, match="2\\*\\*63-1"):
        cp.cosign(CHECKPOINT.body(), "w", WITNESS_KEY, 2**63)
    with pytest.raises(InvalidEntryError, match="2\\*\\*63-1"):
        cp.cosign(CHECKPOINT.body(), "w", WITNESS_KEY, -1)
    with pytest.raises(InvalidEntryError, match="witness name"):
        cp.cosign(CHECKPOINT.body(), "w 1", WITNESS_KEY, 1)
    with pytest.raises(InvalidEntryError, match="newline"):
        cp.cosign(b"no newline", "w", WITNESS_KEY, 1)


def test_cosignatures_collected_into_a_note_are_found_by_witness() -> None:
    body = CHECKPOINT.body()
    lines = [
        cp.cosign(body, "w1", WITNESS_KEY, 1_767_225_605),
        cp.cosign(body, "w1", WITNESS_KEY, 1_767_225_601),
        cp.cosign(body, "w2", WITNESS_2_KEY, 1_767_225_602),
        cp.cosign(body, "w3", OTHER_KEY, 1_767_225_603),
    ]
    note = cp.add_signature_lines(signed(), lines)
    assert cp.add_signature_lines(note, lines) == note  # lines already present are not repeated
    assert cp.open_checkpoint(note, ORIGIN, raw(LOG_KEY)) == CHECKPOINT
    witnesses = {"w1": raw(WITNESS_KEY), "w2": raw(WITNESS_2_KEY), "w4": raw(LOG_KEY)}
    assert cp.cosignatures_in(note, witnesses) == {"w1": 1_767_225_601, "w2": 1_767_225_602}


def test_a_bad_cosignature_from_a_known_witness_rejects_the_note() -> None:
    body = CHECKPOINT.body()
    good = cp.parse_signature_line(cp.cosign(body, "w1", WITNESS_KEY, 7))
    bad = cp.NoteSignature("w1", good.key_hash, good.signature[:8] + bytes(64))
    note = cp.add_signature_lines(signed(), [bad.line()])
    with pytest.raises(VerificationError, match="witness w1 does not verify"):
        cp.cosignatures_in(note, {"w1": raw(WITNESS_KEY)})
    future = cp.NoteSignature("w1", good.key_hash, b"\xff" * 8 + good.signature[8:])
    with pytest.raises(VerificationError, match="beyond 2"):
        cp.cosignatures_in(
            cp.add_signature_lines(signed(), [future.line()]), {"w1": raw(WITNESS_KEY)}
        )
    short = cp.NoteSignature("w1", good.key_hash, good.signature[:40])
    with pytest.raises(VerificationError, match="not 72"):
        cp.cosignatures_in(
            cp.add_signature_lines(signed(), [short.line()]), {"w1": raw(WITNESS_KEY)}
        )


@settings(deadline=None)
@given(checkpoints, st.integers(0, 2**63 - 1), st.binary(min_size=32, max_size=32))
def test_cosignature_round_trips(checkpoint: Checkpoint, time_s: int, seed: bytes) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    line = cp.cosign(checkpoint.body(), "witness.example/w", key, time_s)
    assert cp.verify_cosignature(checkpoint.body(), line, "witness.example/w", raw(key)) == time_s
    note = cp.add_signature_lines(
        cp.sign_checkpoint(checkpoint, checkpoint.origin, LOG_KEY), [line]
    )
    assert cp.cosignatures_in(note, {"witness.example/w": raw(key)}) == {
        "witness.example/w": time_s
    }


# ---------------------------------------------------------------------------------------------
# Origins (protocol s6): the legacy form, and a deployment's, chosen once at init
# ---------------------------------------------------------------------------------------------
KID = "0123456789abcdef"


def test_deployment_origin_is_a_schema_less_url_unique_to_the_first_identity() -> None:
    origin = cp.deployment_origin("parley-local", "JP", KID)
    assert origin == "0123456789abcdef.parley.invalid/parley-local/JP"
    assert cp.deployment_origin("parley-local", "JP", "fedcba9876543210") != origin
    assert cp.origin_parts(origin) == ("parley-local", "JP")
    assert cp.origin_parts("parley/parley-local/JP") == ("parley-local", "JP")
    assert cp.witness_name_for(origin) == "0123456789abcdef.parley.invalid/parley-local/witness/JP"
    assert cp.witness_name_for("parley/parley-local/JP") == cp.witness_name("parley-local", "JP")
    with pytest.raises(InvalidEntryError, match="key id"):
        cp.deployment_origin("parley-local", "JP", "not-a-kid")


@pytest.mark.parametrize(
    "origin",
    [
        "example.com/log",
        "0123456789abcde.parley.invalid/n/JP",
        "0123456789ABCDEF.parley.invalid/n/JP",
        "x.0123456789abcdef.parley.invalid/n/JP",
        "0123456789abcdef.parley.invalid/n/JP/x",
        "0123456789abcdef.parley.example/n/JP",
    ],
)
def test_origins_of_neither_form_are_refused(origin: str) -> None:
    assert cp.origin_parts(origin) is None
    with pytest.raises(VerificationError, match="origin"):
        Checkpoint.parse_body(f"{origin}\n1\n{ROOT64}\n".encode())


def test_a_checkpoint_under_another_origin_of_the_same_log_is_refused_once_one_is_held() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    origin = cp.deployment_origin("n", "JP", KID)
    note = cp.sign_checkpoint(Checkpoint(origin, 1, ROOT), origin, key)
    assert cp.open_log_checkpoint(note, "n", "JP", raw, origin).origin == origin
    legacy = cp.origin_for("n", "JP")
    renamed = cp.sign_checkpoint(Checkpoint(legacy, 2, ROOT), legacy, key)
    with pytest.raises(VerificationError, match="keeps one origin"):
        cp.open_log_checkpoint(renamed, "n", "JP", raw, origin)
    with pytest.raises(VerificationError, match="not an origin of KR's log"):
        cp.open_log_checkpoint(note, "n", "KR", raw)
