"""Witnessing: cosignatures kept, witnessed time by quorum, forks turned into evidence."""

from __future__ import annotations

import orjson
import pytest

from parley.core import equivocation
from parley.core.checkpoint import claimed_checkpoint, parse_note, witness_name_for
from parley.core.errors import VerificationError
from parley.node import health, witnessed
from parley.node.federation import gossip, peers, submission, witnessing
from parley.node.federation.pull import pull
from parley.node.node import Node
from parley.store import logs
from parley.store import witnessing as rows

T0 = 1_800_000_000_000  # ms


def witness(author: Node, witness_node: Node, now: int) -> None:
    """``witness_node`` cosigns ``author``'s latest checkpoint; the author keeps the answer."""
    latest = author.checkpoint()
    assert latest is not None, f"{author.party} has no checkpoint to witness"
    size, note = latest
    with witness_node.store.read() as conn:
        row = rows.get_witnessed(conn, author.party)
    old = 0 if row is None else row.size
    with author.store.read() as conn:
        from parley.core import merkle

        proof = merkle.consistency_proof(
            old, size, lambda ids: logs.get_nodes(conn, author.party, ids)
        )
    _party, _hint, line = submission.receive(
        witness_node, submission.build_body(old, proof, note), now
    )
    name = witness_name_for(witness_node.log.origin)
    witnessing.keep_answer(author, note, line, name)


@pytest.fixture
def four(network, kit):  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", "KR", "CN")
    for party in ("JP", "KR", "CN"):
        kit.pin(nodes[party], nodes["US"])
        kit.pin(nodes["US"], nodes[party])
    return nodes


def witnessed_time(node: Node, party: str, seq: int) -> int | None:
    with node.store.read() as conn:
        return witnessed.witnessed_time(node, conn, party, seq, node.policy_in(conn))


def test_witnessed_time_is_the_kth_earliest_cosignature_by_a_third_party(four, kit) -> None:  # type: ignore[no-untyped-def]
    us = four["US"]
    us.append([kit.check(1)])
    seq = us.size() - 1
    with us.store.read() as conn:
        assert us.policy_in(conn).witness_quorum == 2
    assert witnessed_time(us, "US", seq) is None  # no cosignature yet
    witness(us, four["KR"], T0 + 9_000)
    assert witnessed_time(us, "US", seq) is None  # one of two
    witness(us, four["JP"], T0 + 4_000)
    assert witnessed_time(us, "US", seq) == T0 + 9_000  # the second earliest, whole seconds
    witness(us, four["CN"], T0 + 2_000)
    assert witnessed_time(us, "US", seq) == T0 + 4_000


def test_one_colluding_witness_cannot_backdate_an_entry(four, kit) -> None:  # type: ignore[no-untyped-def]
    us = four["US"]
    us.append([kit.check(1)])
    seq = us.size() - 1
    witness(us, four["JP"], T0 - 3_600_000)  # JP colludes: an hour before the entry existed
    witness(us, four["KR"], T0 + 5_000)
    assert witnessed_time(us, "US", seq) == T0 + 5_000


def test_a_cosignature_by_the_log_itself_does_not_count(four, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = four["US"], four["JP"]
    us.append([kit.check(1)])
    size, note = us.checkpoint()
    checkpoint = claimed_checkpoint(note)
    with us.store.write() as conn:
        witnessing.cosign_checkpoint(us, conn, "US", checkpoint, note, T0)  # US cosigns itself
    witness(us, jp, T0 + 7_000)
    assert witnessed_time(us, "US", size - 1) is None


def test_an_answer_without_the_witness_cosignature_is_refused(four, kit) -> None:  # type: ignore[no-untyped-def]
    us = four["US"]
    _size, note = us.checkpoint()
    with pytest.raises(VerificationError):
        witnessing.keep_answer(us, note, "", witness_name_for(four["JP"].log.origin))


def test_a_checkpoint_of_a_fork_at_the_same_size_is_evidence(four, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = four["US"], four["JP"]
    us.append([kit.check(1), kit.check(2)])
    pull(jp, peers.get_peer(jp.store, "US"), kit.MemoryLog(us, "JP"))
    fork = kit.MemoryLog(us, "KR")
    fork.forge(fork.size - 1)
    report = gossip.consider(jp, "US", fork.note(), us.log.key("log").public.raw, "test")
    assert report.equivocations == ["US"]
    with jp.store.read() as conn:
        (found,) = rows.list_equivocations(conn, "US")
        assert peers.get_status(conn, "US").held
        assert found.entry_seq is not None  # the evidence is in JP's own log
        entry = logs.get_entry(conn, "JP", found.entry_seq)
    assert entry is not None and entry.kind == "evidence"
    (alert,) = [a for a in health.health(jp, T0).alerts if a.type == "equivocation"]
    assert alert.party == "US" and alert.to_dict()["entry"] == f"JP:{found.entry_seq}"
    first, second = equivocation.verify(
        equivocation.Evidence.from_dict(orjson.loads(found.evidence))
    )
    assert first.size == second.size and first.root != second.root


def test_a_smaller_checkpoint_of_another_history_is_evidence_with_a_proof(four, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = four["US"], four["JP"]
    us.append([kit.check(1), kit.check(2), kit.check(3)])
    pull(jp, peers.get_peer(jp.store, "US"), kit.MemoryLog(us, "JP"))
    fork = kit.MemoryLog(us, "KR")
    fork.forge(fork.size - 2)
    other = fork.note(fork.size - 1)  # one entry shorter than JP's view, with a rewritten entry
    gossip.consider(jp, "US", other, us.log.key("log").public.raw, "test")
    with jp.store.read() as conn:
        (found,) = rows.list_equivocations(conn, "US")
    evidence = equivocation.Evidence.from_dict(orjson.loads(found.evidence))
    assert evidence.proof and evidence.old_root is not None
    first, second = equivocation.verify(evidence)
    assert first.size == second.size - 1


def test_a_consistent_checkpoint_is_not_evidence_and_its_cosignatures_are_kept(four, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp, kr = four["US"], four["JP"], four["KR"]
    kit.pin(jp, kr)  # JP knows KR's witness key from its pin
    us.append([kit.check(1)])
    pull(jp, peers.get_peer(jp.store, "US"), kit.MemoryLog(us, "JP"))
    witness(us, kr, T0)
    with us.store.read() as conn:
        cosigned = witnessing.cosigned_checkpoint(conn, "US")
    assert cosigned is not None and len(parse_note(cosigned).signatures) == 2
    report = gossip.consider(jp, "US", cosigned, us.log.key("log").public.raw, "test")
    assert report.equivocations == [] and report.cosignatures == 1
    with jp.store.read() as conn:
        assert rows.list_equivocations(conn) == []
        assert not peers.get_status(conn, "US").held


def test_a_peers_evidence_entry_makes_this_node_hold_the_equivocator(four, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp, kr = four["US"], four["JP"], four["KR"]
    us.append([kit.check(1), kit.check(2)])
    pull(jp, peers.get_peer(jp.store, "US"), kit.MemoryLog(us, "JP"))
    fork = kit.MemoryLog(us, "KR")
    fork.forge(fork.size - 1)
    gossip.consider(jp, "US", fork.note(), us.log.key("log").public.raw, "test")
    kit.pin(kr, jp)
    pull(kr, peers.get_peer(kr.store, "JP"), kit.MemoryLog(jp, "KR"))
    with kr.store.read() as conn:
        (found,) = rows.list_equivocations(conn, "US")
        assert found.source.startswith("evidence entry JP:")
        assert peers.get_status(conn, "US").held
        own = [e for e in logs.iter_log(conn, "KR") if e.kind == "evidence"]
    assert len(own) == 1


def test_forged_evidence_in_a_peers_log_changes_nothing(four, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp, kr = four["US"], four["JP"], four["KR"]
    _size, note = us.checkpoint()
    body = {
        "type": "equivocation",
        "party": "US",
        "log_key": us.log.key("log").public.b64,
        "checkpoints": [note, note],
        "proof": [],
        "detail": "not a fork at all",
    }
    from parley.node.log import Draft

    jp.append([Draft("evidence", "Actual", body)])
    kit.pin(kr, jp)
    pull(kr, peers.get_peer(kr.store, "JP"), kit.MemoryLog(jp, "KR"))
    with kr.store.read() as conn:
        assert rows.list_equivocations(conn) == []
        assert not peers.get_status(conn, "US").held


def test_answers_kept_in_a_batch_keep_the_valid_and_name_the_refused(four, kit) -> None:  # type: ignore[no-untyped-def]
    us = four["US"]
    us.append([kit.check(1)])
    size, note = us.checkpoint()
    lines = {}
    for party in ("JP", "KR"):
        _party, _hint, lines[party] = submission.receive(
            four[party], submission.build_body(0, [], note), T0
        )
    names = {party: witness_name_for(four[party].log.origin) for party in ("JP", "KR", "CN")}
    answers = [
        witnessing.Answer(note, lines["JP"], names["JP"]),
        witnessing.Answer(note, lines["JP"], names["CN"]),  # CN did not sign this line
        witnessing.Answer(note, lines["KR"], names["KR"]),
    ]
    kept = witnessing.keep_answers(us, answers)
    assert kept[0] == 1 and kept[2] == 1
    assert isinstance(kept[1], VerificationError) and names["CN"] in kept[1].message
    with us.store.read() as conn:
        held = {c.witness for c in rows.cosignatures_at(conn, "US", size)}
    assert held == {names["JP"], names["KR"]}
    assert witnessing.keep_answers(us, answers[:1]) == [0]  # a second time adds nothing
