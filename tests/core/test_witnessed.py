"""Witnessed time recomputed from exports: the rule of protocol §6.1, every cosignature checked.

Pure tests build checkpoint notes, cosignature lines, key statements and policies with core
functions; the last tests export a real node's log with the cosignatures it holds.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.checkpoint import (
    Checkpoint,
    add_signature_lines,
    cosign,
    origin_for,
    parse_note,
    sign_checkpoint,
    vkey,
    witness_name,
)
from parley.core.errors import VerificationError
from parley.core.keys import PURPOSES, KeyStatement, SigningKey, commitment
from parley.core.policy import PolicyDocument
from parley.core.verify import verify_log
from parley.core.witnessed import counted_witnesses, witnessed_log, witnessed_times
from parley.node.export import ExportReader, write_export
from parley.node.node import Node
from parley.store import logs
from parley.store import witnessing as rows
from tests.support import run_cli

NETWORK = "parley-test"
PARTIES = ("CN", "JP", "KR", "US")
T0_S = 1_800_000_000  # seconds, as cosignatures carry them
IDENTITIES = {party: SigningKey.generate() for party in PARTIES}
WITNESS_KEYS = {party: SigningKey.generate() for party in PARTIES}
LOG_KEY = SigningKey.generate()
EXTERNAL = SigningKey.generate()
EXTERNAL_NAME = "witness.example.org/w1"


def statement(party: str, witness: SigningKey | None = None, seq: int = 0) -> KeyStatement:
    keys = {purpose: SigningKey.generate().public for purpose in PURPOSES}
    keys["witness"] = (witness or WITNESS_KEYS[party]).public
    return KeyStatement(
        party=party,
        seq=seq,
        identity=IDENTITIES[party].public,
        purposes=keys,
        next_identity=commitment(b"\x00" * 32),
    )


STATEMENTS = {party: [statement(party)] for party in PARTIES}


@pytest.fixture
def policy(make_policy_dict: Callable[..., dict[str, Any]]) -> Callable[..., PolicyDocument]:
    def build(quorum: int, **changes: Any) -> PolicyDocument:
        members = [(party, IDENTITIES[party]) for party in PARTIES]
        document = make_policy_dict(members, witness_quorum=quorum, **changes)
        return PolicyDocument.from_dict(document)

    return build


def note(size: int, time_ms: int = T0_S * 1000, party: str = "US") -> str:
    origin = origin_for(NETWORK, party)
    checkpoint = Checkpoint(origin, size, bytes([size % 256]) * 32, time_ms)
    return sign_checkpoint(checkpoint, origin, LOG_KEY.private)


def cosigned(text: str, *signers: tuple[str, int], key: SigningKey | None = None) -> str:
    """``text`` with a cosignature by each (member party, time in s) of ``signers``."""
    body = parse_note(text).text.encode("utf-8")
    lines = [
        cosign(body, witness_name(NETWORK, party), (key or WITNESS_KEYS[party]).private, at)
        for party, at in signers
    ]
    return add_signature_lines(text, lines)


def times_of(notes: Iterable[str], policy: PolicyDocument, party: str = "US") -> Any:
    return witnessed_times({party: list(notes)}, STATEMENTS, policy)[party]


def flipped(line: str, index: int) -> str:
    """The signature line with byte ``index`` of its payload (key ID || data) flipped."""
    name, payload = line[2:-1].split(" ")
    raw = bytearray(base64.b64decode(payload))
    raw[index] ^= 0x01
    return f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"


def test_witnessed_time_is_the_kth_earliest_cosignature_by_a_third_party(policy) -> None:  # type: ignore[no-untyped-def]
    notes = [
        cosigned(note(3), ("JP", T0_S + 10), ("US", T0_S + 1)),  # US is the log: not counted
        cosigned(note(5), ("KR", T0_S + 20), ("JP", T0_S + 30)),
    ]
    log = times_of(notes, policy(2))
    assert [log.time_of(seq) for seq in range(6)] == (
        [(T0_S + 20) * 1000] * 3 + [(T0_S + 30) * 1000] * 2 + [None]
    )
    assert times_of(notes, policy(3)).time_of(0) is None  # two third parties of three


def test_with_quorum_zero_the_first_checkpoint_time_stands(policy) -> None:  # type: ignore[no-untyped-def]
    log = times_of([note(2, 1_000), note(4, 3_000)], policy(0))
    assert [log.time_of(seq) for seq in range(5)] == [1_000, 1_000, 3_000, 3_000, None]


def test_a_cosignature_line_with_a_flipped_byte_is_refused_or_not_counted(policy) -> None:  # type: ignore[no-untyped-def]
    """Payload: 4-byte key ID, 8-byte time, 64-byte signature (C2SP cosignature/v1).

    A changed time (backdating) or signature by a known witness key is refused; a changed key
    ID no longer names a key the witness was certified for, so the line is only not counted.
    """
    honest = cosigned(note(3), ("KR", T0_S + 9))
    line = parse_note(honest).signatures[-1].line()
    kept = cosigned(note(3), ("JP", T0_S + 5))
    for index in range(4 + 8 + 64):
        forged = add_signature_lines(kept, [flipped(line, index)])
        if index < 4:
            assert times_of([forged], policy(1)).time_of(0) == (T0_S + 5) * 1000
        else:
            with pytest.raises(VerificationError, match="witness/KR does not verify"):
                times_of([forged], policy(1))


def test_a_checkpoint_of_another_log_or_a_second_root_is_refused(policy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VerificationError, match="not of US's log"):
        times_of([note(3, party="JP")], policy(0))
    with pytest.raises(VerificationError, match="two checkpoints"):
        times_of([note(3, 1_000), note(3, 2_000)], policy(0))


def test_a_cosignature_by_the_log_itself_does_not_count(policy) -> None:  # type: ignore[no-untyped-def]
    log = times_of([cosigned(note(1), ("US", T0_S), ("JP", T0_S + 4))], policy(2))
    assert log.time_of(0) is None


def test_lines_by_unknown_names_or_uncertified_keys_are_skipped(policy) -> None:  # type: ignore[no-untyped-def]
    stranger = SigningKey.generate()
    text = cosigned(note(1), ("JP", T0_S + 1), ("KR", T0_S + 2), key=stranger)  # KR's name only
    body = parse_note(text).text.encode("utf-8")
    text = add_signature_lines(text, [cosign(body, "someone/else", stranger.private, T0_S)])
    assert times_of([text], policy(1)).time_of(0) is None
    assert times_of([cosigned(text, ("CN", T0_S + 3))], policy(1)).time_of(0) == (T0_S + 3) * 1000


def test_a_rotated_witness_key_keeps_its_earlier_cosignatures(policy) -> None:  # type: ignore[no-untyped-def]
    new = SigningKey.generate()
    chain = {**STATEMENTS, "KR": [statement("KR"), statement("KR", new, seq=7)]}
    notes = [cosigned(note(2), ("KR", T0_S + 1)), cosigned(note(4), ("KR", T0_S + 2), key=new)]
    log = witnessed_times({"US": notes}, chain, policy(1))["US"]
    assert [log.time_of(seq) for seq in range(4)] == [(T0_S + 1) * 1000] * 2 + [
        (T0_S + 2) * 1000
    ] * 2


def test_statements_of_another_identity_are_refused(policy) -> None:  # type: ignore[no-untyped-def]
    impostor = KeyStatement(
        party="KR",
        seq=0,
        identity=SigningKey.generate().public,
        purposes=STATEMENTS["KR"][0].purposes,
        next_identity=commitment(b"\x00" * 32),
    )
    with pytest.raises(VerificationError, match="identity the policy lists"):
        counted_witnesses(policy(1), {**STATEMENTS, "KR": [impostor]})


def test_an_external_witness_counts_only_when_the_policy_names_it(policy) -> None:  # type: ignore[no-untyped-def]
    key = vkey(EXTERNAL_NAME, EXTERNAL.public.raw, 0x04)
    text = note(1)
    body = parse_note(text).text.encode("utf-8")
    text = add_signature_lines(text, [cosign(body, EXTERNAL_NAME, EXTERNAL.private, T0_S + 8)])
    named = policy(1, witnesses=[{"name": EXTERNAL_NAME, "vkey": key}])
    assert times_of([text], named).time_of(0) == (T0_S + 8) * 1000
    assert times_of([text], policy(1)).time_of(0) is None


def reference_time(
    held: dict[int, tuple[int, dict[str, int]]], seq: int, quorum: int
) -> int | None:
    """Protocol §6.1 read literally: per witness the earliest time on sizes > seq, k-th."""
    containing = [size for size in held if size > seq]
    if quorum == 0:
        return held[min(containing)][0] if containing else None
    earliest: dict[str, int] = {}
    for size in containing:
        for party, at in held[size][1].items():
            earliest[party] = min(at * 1000, earliest.get(party, at * 1000))
    ordered = sorted(earliest.values())
    return ordered[quorum - 1] if len(ordered) >= quorum else None


cosignings = st.dictionaries(st.sampled_from(PARTIES), st.integers(T0_S, T0_S + 50), max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    held=st.dictionaries(
        st.integers(1, 12), st.tuples(st.integers(0, 10**6), cosignings), min_size=1, max_size=5
    ),
    quorum=st.integers(0, 3),
)
def test_witnessed_time_follows_protocol_6_1(
    make_policy_dict: Callable[..., dict[str, Any]],
    held: dict[int, tuple[int, dict[str, int]]],
    quorum: int,
) -> None:
    members = [(party, IDENTITIES[party]) for party in PARTIES]
    document = PolicyDocument.from_dict(make_policy_dict(members, witness_quorum=quorum))
    notes = [
        cosigned(note(size, time_ms), *signers.items()) for size, (time_ms, signers) in held.items()
    ]
    counted = {
        size: (time_ms, {p: at for p, at in signers.items() if p != "US"})
        for size, (time_ms, signers) in held.items()
    }
    log = witnessed_log("US", notes, counted_witnesses(document, STATEMENTS), quorum)
    for seq in range(max(held) + 2):
        assert log.time_of(seq) == reference_time(counted, seq, quorum)


def test_verify_log_accepts_checkpoints_carrying_cosignature_lines(new_log) -> None:  # type: ignore[no-untyped-def]
    """The log's own signature is checked as before; other key names are ignored (signed-note)."""
    log = new_log(party="US")
    log.extend(3)
    plain = [log.checkpoint(2), log.checkpoint()]
    body = parse_note(plain[0]).text.encode("utf-8")
    broken = flipped(
        cosign(body, witness_name(NETWORK, "JP"), WITNESS_KEYS["JP"].private, T0_S), 40
    )
    notes = [
        cosigned(plain[0], ("JP", T0_S), ("KR", T0_S + 1)),
        add_signature_lines(plain[1], [broken]),
    ]
    report = verify_log(log.items(), notes)
    assert report.checkpoints == 2 and report.size == 5
    with pytest.raises(VerificationError):
        verify_log(log.items(), [flipped_own(notes[0]), notes[1]])


def flipped_own(text: str) -> str:
    """``text`` with a byte of the log's own signature changed (the first signature line)."""
    parsed = parse_note(text)
    lines = [s.line() for s in parsed.signatures]
    lines[0] = flipped(lines[0], 20)
    return parsed.text + "\n" + "".join(lines)


def test_an_export_carries_the_cosignatures_held_on_the_same_tree(real_node: Node) -> None:
    """Lines on another root of the same size (a fork) would not verify: they stay out."""
    with real_node.store.write() as conn:
        found = logs.latest_checkpoint(conn, real_node.party)
        assert found is not None
        size, text = found
        checkpoint = Checkpoint.parse_body(parse_note(text).text.encode("utf-8"))
        body = checkpoint.body()
        good = cosign(body, witness_name(NETWORK, "KR"), WITNESS_KEYS["KR"].private, T0_S)
        fork = Checkpoint(checkpoint.origin, size, b"\x07" * 32, checkpoint.time_ms)
        other = cosign(fork.body(), witness_name(NETWORK, "CN"), WITNESS_KEYS["CN"].private, T0_S)
        rows.put_cosignatures(
            conn,
            [
                rows.Cosignature(
                    real_node.party,
                    size,
                    witness_name(NETWORK, "KR"),
                    checkpoint.root,
                    T0_S * 1000,
                    good,
                ),
                rows.Cosignature(
                    real_node.party,
                    size,
                    witness_name(NETWORK, "CN"),
                    fork.root,
                    T0_S * 1000,
                    other,
                ),
            ],
        )
    path = real_node.home.path.parent / "export.jsonl"
    with path.open("wb") as handle:
        write_export(real_node.store, real_node.party, handle)
    reader = ExportReader(path)
    notes = list(reader.notes())
    assert notes[-1] == add_signature_lines(text, [good])
    assert all(len(parse_note(n).signatures) == 1 for n in notes[:-1])
    assert verify_log(reader.entries(), notes).checkpoints == len(notes)
    assert "OK JP" in run_cli("verify", "log", str(path), home=real_node.home.path).stdout
