"""Ingest refuses every hostile copy of a peer's log, and stores nothing when it does.

Each attack test serves a peer's log through ``MemoryLog``, a source that signs with the peer's
real keys, bent in one way; the pull must fail naming the problem, and the receiving node's
store must be exactly as before.
"""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from parley.core import equivocation, merkle
from parley.core.canonical import canonical_bytes
from parley.core.entry import Body, parse_header
from parley.core.errors import (
    BadProofError,
    ConcurrentIngestError,
    EquivocationError,
    VerificationError,
)
from parley.core.verify import verify_log
from parley.node.federation import ingest, peers
from parley.node.federation.bodies import fill_bodies
from parley.node.federation.peer_client import Fetched, LogSource
from parley.node.federation.pull import pull
from parley.node.node import Node
from parley.store import logs
from parley.store.entries import EntryFlag
from parley.store.schema import entries
from tests.node.conftest import Kit, MemoryLog, Network

# The us_jp fixture: US (with checks and hotline entries), JP, and US pinned at JP.
UsJp = tuple[Node, Node, peers.Peer]


def snapshot(node: Node) -> tuple[int, int]:
    with node.store.read() as conn:
        count = conn.execute(select(func.count()).select_from(entries)).scalar_one()
        own = logs.get_state(conn, node.party)
    return count, 0 if own is None else own.size


def synced(node: Node, party: str) -> int:
    with node.store.read() as conn:
        return peers.synced_size(conn, party)


@pytest.fixture
def us_jp(network: Network, kit: type[Kit]) -> UsJp:
    nodes = network("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    us.append([kit.check(1), kit.hotline("JP", "for JP"), kit.hotline("KR", "for KR only")])
    us.append([kit.check(2)])
    return us, jp, kit.pin(jp, us)


def refuse(jp: Node, peer: peers.Peer, source: LogSource, *words: str) -> None:
    before = snapshot(jp)
    with pytest.raises(VerificationError) as caught:
        pull(jp, peer, source)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    assert snapshot(jp) == before, "a refused pull must store nothing"


def test_pull_stores_the_log_with_its_tree_checkpoint_and_receipts(
    us_jp: UsJp, kit: type[Kit]
) -> None:
    us, jp, peer = us_jp
    report = pull(jp, peer, kit.MemoryLog(us, "JP"))
    assert report.after == us.size() == 7 and report.receipts == 3
    with jp.store.read() as conn:
        held = list(logs.iter_log(conn, "US"))
        notes = logs.all_checkpoints(conn, "US")
        state = logs.get_state(conn, "US")
        mine = [parse_header(e.leaf) for e in logs.iter_log(conn, "JP")]
    with us.store.read() as conn:
        original = logs.get_state(conn, "US")
    assert state is not None and original is not None and state.root == original.root
    items = [(e.leaf, None if e.body is None else Body(e.salt or b"", e.body)) for e in held]
    report_ = verify_log(items, notes, pinned_identity=peer.identity)
    assert report_.size == 7 and report_.checkpoints == 1
    by_seq = {e.seq: e for e in held}
    assert by_seq[5].body is None and by_seq[5].flag is None  # hotline for KR: header only
    assert by_seq[4].body is not None
    receipts = [h for h in mine if h.kind == "receipt"]
    assert [h.audience for h in receipts] == ["ALL", ("JP", "US"), "ALL"]
    assert [h.tlp for h in receipts] == ["GREEN", "AMBER", "GREEN"]
    assert all(h.status == "Exercise" for h in receipts)


def test_pull_is_idempotent_and_incremental(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    pull(jp, peer, kit.MemoryLog(us, "JP"))
    again = pull(jp, peer, kit.MemoryLog(us, "JP"))
    assert again.stored == 0 and again.receipts == 0
    us.append([kit.check(3)])
    source = kit.MemoryLog(us, "JP")
    report = pull(jp, peer, source)
    assert report.stored == 1 and report.receipts == 1
    assert source.requests == ["get-sth", "consistency 7 8", "entries 7 7"]


def test_forged_party_attack(network: Network, kit: type[Kit]) -> None:
    nodes = network("US", "JP", "KR")
    nodes["KR"].append([kit.check(1)])
    peer = kit.pin(nodes["JP"], nodes["US"])
    impostor = kit.MemoryLog(nodes["KR"], "JP")  # KR's log served where US is pinned
    refuse(nodes["JP"], peer, impostor, "KR")


def test_forged_party_inside_a_log_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")
    source.forge(6, party="KR")
    refuse(jp, peer, source, "KR:6", "party")


def test_tampered_body_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")
    original = source.items[4]
    assert original.body is not None
    text = original.body.data.replace(b"for JP", b"for XX")
    source.items[4] = Fetched(original.leaf, Body(original.body.salt, text))
    refuse(jp, peer, source, "US:4", "body")


def test_tampered_header_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")
    doc = json.loads(source.items[3].leaf)
    doc["status"] = "Actual"  # an exercise passed off as real
    source.items[3] = Fetched(canonical_bytes(doc), source.items[3].body)
    refuse(jp, peer, source, "US:3", "signature")


def test_rewritten_history_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    pull(jp, peer, kit.MemoryLog(us, "JP"))
    rewritten = kit.MemoryLog(us, "JP")
    rewritten.forge(3, body={"nonce": "e" * 32, "deadlines": {}})
    with pytest.raises(EquivocationError, match="two histories"):
        pull(jp, peer, rewritten)


def held_then_rewritten(us_jp: UsJp, kit: type[Kit], held: int) -> MemoryLog:
    """JP holds US's first ``held`` entries; US then rewrites entry 2 (a second history)."""
    us, jp, peer = us_jp
    first = kit.MemoryLog(us, "JP")
    first.items, first.size = first.items[:held], held
    pull(jp, peer, first)
    rewritten = kit.MemoryLog(us, "JP")
    rewritten.forge(2, body={"nonce": "e" * 32, "deadlines": {}})
    return rewritten


def test_rewritten_history_behind_a_consistency_proof_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    """The proof leads to the new signed root from another root at the held size: evidence."""
    _us, jp, peer = us_jp
    rewritten = held_then_rewritten(us_jp, kit, 3)
    before = snapshot(jp)
    with pytest.raises(EquivocationError, match="first 3 entries differ") as caught:
        pull(jp, peer, rewritten)
    assert snapshot(jp) == before
    assert isinstance(caught.value.evidence, equivocation.Evidence)
    small, large = equivocation.verify(caught.value.evidence)  # stands alone, offline
    assert (small.size, large.size) == (3, rewritten.size)


def test_rewritten_history_behind_a_proof_from_a_power_of_two_is_refused_not_held(
    us_jp: UsJp, kit: type[Kit]
) -> None:
    """From size 4 the proof pins no old root: the entries are recomputed and refused."""
    _us, jp, peer = us_jp
    rewritten = held_then_rewritten(us_jp, kit, 4)
    before = snapshot(jp)
    with pytest.raises(VerificationError, match="entries do not match the checkpoint") as caught:
        pull(jp, peer, rewritten)
    assert not isinstance(caught.value, EquivocationError)
    assert snapshot(jp) == before


def test_backdated_entry_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")
    earlier = parse_header(source.items[5].leaf).time - 1
    source.forge(6, time=earlier)
    refuse(jp, peer, source, "US:6", "earlier")


def test_entry_later_than_its_checkpoint_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")
    source.forge(6, time=source.time + 60_000)
    refuse(jp, peer, source, "US:6", "later than the checkpoint")


def test_skipped_entry_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")
    full = list(source.items)
    source.entries = lambda start, end: (full[:4] + full[5:])[start : end + 1]  # type: ignore[method-assign]
    refuse(jp, peer, source, "expected seq 4")


def test_checkpoint_signed_by_another_key_attack(network: Network, kit: type[Kit]) -> None:
    nodes = network("US", "JP", "KR")
    nodes["US"].append([kit.check(1)])
    peer = kit.pin(nodes["JP"], nodes["US"])
    source = kit.MemoryLog(nodes["US"], "JP")
    source.log_key = nodes["KR"].log.key("log")  # KR signs a checkpoint under US's origin
    refuse(nodes["JP"], peer, source, "signature")


def test_bogus_consistency_proof_attack(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    first = kit.MemoryLog(us, "JP")
    first.items, first.size = first.items[:3], 3
    pull(jp, peer, first)
    source = kit.MemoryLog(us, "JP", from_author=False)  # a mirror's bogus proof
    source.consistency = lambda first, second: [b"\x00" * 32, b"\x01" * 32]  # type: ignore[method-assign]
    before = snapshot(jp)
    with pytest.raises(BadProofError, match="does not verify"):
        pull(jp, peer, source)
    assert snapshot(jp) == before


def test_bogus_consistency_proof_from_the_author_is_checked_by_recomputation(
    us_jp: UsJp, kit: type[Kit]
) -> None:
    """A proof proves nothing about the author: its signed entries must reproduce its root."""
    us, jp, peer = us_jp
    first = kit.MemoryLog(us, "JP")
    first.items, first.size = first.items[:3], 3
    pull(jp, peer, first)
    source = kit.MemoryLog(us, "JP")
    source.consistency = lambda first, second: [b"\x00" * 32, b"\x01" * 32]  # type: ignore[method-assign]
    report = pull(jp, peer, source)
    assert report.after == us.size()
    assert any("does not verify" in note for note in report.notes)


def test_stale_checkpoint_is_checked_against_the_held_tree(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    pull(jp, peer, kit.MemoryLog(us, "JP"))
    stale = kit.MemoryLog(us, "JP")
    stale.get_sth = lambda: stale.note(5)  # type: ignore[method-assign]
    assert pull(jp, peer, stale).stored == 0  # an older but consistent view changes nothing
    forged = kit.MemoryLog(us, "JP")
    forged.forge(4, body={"to": "JP", "text": "other", "deadlines": {}})
    forged.get_sth = lambda: forged.note(5)  # type: ignore[method-assign]
    with pytest.raises(EquivocationError):
        pull(jp, peer, forged)


def test_withheld_body_attack_is_recorded_as_an_observation(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    source = kit.MemoryLog(us, "JP")  # the author recognises JP ...
    for seq in (3, 4):  # ... and still serves two entries addressed to JP without their bodies
        source.items[seq] = Fetched(source.items[seq].leaf, None)
    report = pull(jp, peer, source)
    assert report.receipts == 1 and report.observations == 2
    with jp.store.read() as conn:
        flagged = {e.seq: e.flag for e in logs.iter_log(conn, "US")}
        mine = [(parse_header(e.leaf), e) for e in logs.iter_log(conn, "JP")]
    assert flagged[3] == flagged[4] == EntryFlag.BODY_WITHHELD and flagged[6] is None
    observations = [
        Body(e.salt or b"", e.body or b"").value() for h, e in mine if h.kind == "observation"
    ]
    assert {o["entry"]["ref"] for o in observations} == {"US:3", "US:4"}
    assert all(o["type"] == "body-withheld" and o["party"] == "US" for o in observations)
    assert fill_bodies(jp, peer, kit.MemoryLog(us, "JP")) == 0  # withheld is final, not pending


def test_bodies_not_served_to_an_unrecognised_node_stay_pending(
    us_jp: UsJp, kit: type[Kit]
) -> None:
    """An author that does not pin this node (yet) serves it as a stranger: no observation."""
    us, jp, peer = us_jp
    report = pull(jp, peer, kit.MemoryLog(us, None))
    assert report.receipts == 0 and report.observations == 0
    with jp.store.read() as conn:
        flagged = {e.seq: e.flag for e in logs.iter_log(conn, "US")}
    assert flagged[3] == flagged[4] == flagged[6] == EntryFlag.BODY_PENDING
    assert fill_bodies(jp, peer, kit.MemoryLog(us, "JP")) == 3  # once it is recognised


def test_mirror_without_body_marks_it_pending_until_the_author_serves_it(
    us_jp: UsJp, kit: type[Kit]
) -> None:
    us, jp, peer = us_jp
    report = pull(jp, peer, kit.MemoryLog(us, None, from_author=False))
    assert report.observations == 0 and report.receipts == 0
    filled = fill_bodies(jp, peer, kit.MemoryLog(us, "JP"))
    assert filled == 3
    with jp.store.read() as conn:
        flags = {e.seq: (e.flag, e.body is not None) for e in logs.iter_log(conn, "US")}
        kinds = [parse_header(e.leaf).kind for e in logs.iter_log(conn, "JP")]
    assert flags[3] == (None, True) and flags[4] == (None, True)
    assert kinds.count("receipt") == 3


def test_concurrent_ingest_is_detected_not_duplicated(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    with jp.store.read() as conn:
        cursor = ingest.restore(conn, "US", jp.network, peer.identity)
    source = kit.MemoryLog(us, "JP")
    page = ingest.verify_entries(cursor, source.entries(0, 6), source.time)
    pull(jp, peer, kit.MemoryLog(us, "JP"))  # another process got there first
    with pytest.raises(ConcurrentIngestError):
        with jp.store.write() as tx:
            ingest.store_page(jp, tx, page, target=None, refused=True, now=source.time)
    assert synced(jp, "US") == 7


def test_receipts_get_no_receipts_and_are_indexed_at_the_sender(
    us_jp: UsJp, kit: type[Kit]
) -> None:
    us, jp, peer = us_jp
    pull(jp, peer, kit.MemoryLog(us, "JP"))
    back = kit.pin(us, jp)
    report = pull(us, back, kit.MemoryLog(jp, "US"))
    assert report.stored == jp.size() and report.receipts == 0
    from parley.node.messaging import receipts

    header, rows = receipts.status(us, "US:4")
    assert [(r.party, r.status) for r in rows] == [("JP", "delivered")]
    assert rows[0].delivered is not None and rows[0].delivered["matches"]
    header, rows = receipts.status(us, "US:3")
    assert {r.party: r.status for r in rows} == {"JP": "delivered", "KR": "none"}


def test_leaf_hash_of_a_stored_entry_is_its_merkle_leaf(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    pull(jp, peer, kit.MemoryLog(us, "JP"))
    with jp.store.read() as conn:
        for stored in logs.iter_log(conn, "US"):
            assert stored.leaf_hash == merkle.leaf_hash(stored.leaf)
            assert base64.b64encode(stored.leaf_hash)


def test_cached_cursor_is_used_only_while_it_matches_the_store(us_jp: UsJp, kit: type[Kit]) -> None:
    us, jp, peer = us_jp
    cache = ingest.CursorCache()
    pull(jp, peer, kit.MemoryLog(us, "JP"), cache=cache)
    us.append([kit.check(5)])
    pull(jp, peer, kit.MemoryLog(us, "JP"))  # another process ingests without the cache
    with jp.store.read() as conn:
        assert cache.take(conn, "US") is None  # stale: size and root moved on
    us.append([kit.check(6)])
    report = pull(jp, peer, kit.MemoryLog(us, "JP"), cache=cache)
    assert report.stored == 1 and synced(jp, "US") == us.size()
    with jp.store.read() as conn:
        kept = cache.take(conn, "US")
    assert kept is not None and kept.size == us.size()
