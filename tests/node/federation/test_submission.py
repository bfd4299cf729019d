"""``add-checkpoint`` wake-ups follow C2SP tlog-witness: every check, with its status code."""

from __future__ import annotations

import orjson
import pytest

from parley.core import equivocation, merkle
from parley.core.checkpoint import (
    Checkpoint,
    parse_note,
    sign_checkpoint,
    verify_cosignature,
    witness_name_for,
)
from parley.core.errors import (
    BadSubmissionError,
    EquivocationError,
    NotFoundError,
    ProofFailedError,
    SizeConflictError,
    UntrustedCheckpointError,
)
from parley.node.federation import peers, submission
from parley.node.federation.pull import Hint
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store import witnessing as witness_rows


def submit(node: Node, body: bytes) -> tuple[str, Hint]:
    party, hint, _line = submission.receive(node, body, now_ms())
    return party, hint


def proof(node: Node, old: int, new: int) -> list[bytes]:
    with node.store.read() as conn:
        return merkle.consistency_proof(old, new, lambda ids: logs.get_nodes(conn, node.party, ids))


@pytest.fixture
def pair(network, kit):  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", "KR")
    kit.pin(nodes["JP"], nodes["US"])
    return nodes


def test_first_submission_from_zero_is_recorded_and_wakes_a_pull(pair) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    size, note = us.checkpoint()
    party, hint = submit(jp, submission.build_body(0, [], note))
    assert party == "US" and hint.note == note and hint.old == 0
    with jp.store.read() as conn:
        assert peers.get_status(conn, "US").remote_size == size


def test_wrong_old_size_gets_409_with_the_recorded_size(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    size, note = us.checkpoint()
    submit(jp, submission.build_body(0, [], note))
    us.append([kit.check(1)])
    new_size, new_note = us.checkpoint()
    with pytest.raises(SizeConflictError) as caught:
        submit(jp, submission.build_body(0, [], new_note))
    assert caught.value.size == size and caught.value.http_status == 409
    _party, hint = submit(jp, submission.build_body(size, proof(us, size, new_size), new_note))
    assert hint.old == size


def test_inconsistent_proof_gets_422(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    size, note = us.checkpoint()
    submit(jp, submission.build_body(0, [], note))
    us.append([kit.check(1), kit.check(2)])
    _new, new_note = us.checkpoint()
    bogus = [b"\x07" * 32] * len(proof(us, size, _new))
    with pytest.raises(ProofFailedError) as caught:
        submit(jp, submission.build_body(size, bogus, new_note))
    assert caught.value.http_status == 422


def test_unknown_origin_gets_404_and_forged_signature_403(pair) -> None:  # type: ignore[no-untyped-def]
    us, jp, kr = pair["US"], pair["JP"], pair["KR"]
    with pytest.raises(NotFoundError):
        submit(jp, submission.build_body(0, [], kr.checkpoint()[1]))  # KR is not pinned at JP
    size, note = us.checkpoint()
    origin = us.log.origin
    forged = sign_checkpoint(
        Checkpoint(origin, size, b"\x01" * 32, 1), origin, kr.log.key("log").private
    )
    with pytest.raises(UntrustedCheckpointError) as caught:
        submit(jp, submission.build_body(0, [], forged))
    assert caught.value.http_status == 403


def test_old_beyond_the_checkpoint_is_a_bad_request(pair) -> None:  # type: ignore[no-untyped-def]
    size, note = pair["US"].checkpoint()
    with pytest.raises(BadSubmissionError):
        submit(pair["JP"], submission.build_body(size + 1, [], note))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old\n\n",
        b"old 01\n\nx",
        b"old 1\nnot base64!\n\nx",
        b"old 1\nAAAA\n\nx",
        b"new 1\n\nx",
        ("old 1\n" + "A" * 43 + "=\n" * 64 + "\nx").encode(),
    ],
)
def test_malformed_submissions_are_bad_requests(pair, body: bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadSubmissionError):
        submit(pair["JP"], body)


def test_accepted_submission_is_answered_with_a_cosignature_by_the_witness_key(pair) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    size, note = us.checkpoint()
    _party, _hint, line = submission.receive(
        jp, submission.build_body(0, [], note), 1_700_000_123_456
    )
    body = parse_note(note).text.encode()
    name = witness_name_for(jp.log.origin)
    assert verify_cosignature(body, line, name, jp.log.key("witness").public.raw) == 1_700_000_123
    with jp.store.read() as conn:
        witnessed = witness_rows.get_witnessed(conn, "US")
        assert witnessed is not None and witnessed.size == size
        assert line in witnessed.note and witnessed.note.startswith(parse_note(note).text)


def test_two_roots_for_one_size_are_recorded_as_equivocation_and_hold_the_peer(pair) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    size, note = us.checkpoint()
    submit(jp, submission.build_body(0, [], note))
    origin = us.log.origin
    other = sign_checkpoint(
        Checkpoint(origin, size, b"\x02" * 32, 1), origin, us.log.key("log").private
    )
    before = jp.size()
    with pytest.raises(EquivocationError) as caught:  # C2SP tlog-witness (2026): 422
        submit(jp, submission.build_body(size, [], other))
    assert caught.value.http_status == 422
    with jp.store.read() as conn:
        (found,) = witness_rows.list_equivocations(conn, "US")
        held = peers.get_status(conn, "US").held
        assert held is not None and held.startswith("equivocation")
        entry = logs.get_entry(conn, "JP", before)
    assert found.entry_seq == before and entry is not None and entry.kind == "evidence"
    first, second = equivocation.verify(
        equivocation.Evidence.from_dict(orjson.loads(found.evidence))
    )
    assert first.size == second.size == size and first.root != second.root


def test_size_zero_checkpoint_with_a_root_from_a_new_peer_is_a_bad_request(pair) -> None:  # type: ignore[no-untyped-def]
    """A signed but malformed tree head (size 0, non-empty root) is refused, not asserted on."""
    us, jp = pair["US"], pair["JP"]
    origin = us.log.origin
    empty_but_rooted = sign_checkpoint(
        Checkpoint(origin, 0, b"\x07" * 32, 1), origin, us.log.key("log").private
    )
    with pytest.raises(BadSubmissionError, match="root of the empty tree") as caught:
        submit(jp, submission.build_body(0, [], empty_but_rooted))
    assert caught.value.http_status == 400
    with jp.store.read() as conn:
        assert peers.get_status(conn, "US").remote_size in (0, None)
