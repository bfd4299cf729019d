"""Restoring a node's own log from its peers' mirrors (``parley.node.federation.restore``), in process.

JP writes receipts, notifications and checks; its peers' mirrors are ``MemoryLog`` copies of
JP's log holding the bodies each peer may read. JP's database is then deleted and restored from
them: the log must come back entry for entry, with its derived indexes, continue without a fork
at its peers, and refuse to restore anything from two histories or from a copy that is too short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from parley.core.entry import Body, parse_header
from parley.core.errors import (
    ConflictError,
    EquivocationError,
    LostEntriesError,
    VerificationError,
)
from parley.core.verify import verify_log
from parley.node import keyrotation
from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.federation.restore import open_for_restore, restore_from
from parley.node.federation.restore_contacts import Contact, PeerAddress, Sighting
from parley.node.home import no_passphrase
from parley.node.messaging import checks, receipts
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from parley.store import logs
from parley.store.entries import EntryFlag
from parley.store.schema import communication_checks, notification_keys
from parley.store.schema import receipts as receipt_rows

AREA = {"desc": "Sendai", "circles": [{"center": ["140.9", "38.3"], "radius_km": "20"}]}


def contact(kit: Any, peer: Node, mirror: Any, *extra: Sighting) -> Contact:
    """``peer`` reached for the restore, its mirror of the restored log served by ``mirror``."""
    with peer.store.read() as conn:
        first = logs.get_entry(conn, peer.party, 0)
    assert first is not None and first.body is not None and first.salt is not None
    address = PeerAddress(peer.party, "http://127.0.0.1:9", peer.context().statement.identity, None)
    sightings = [Sighting(peer.party, "mirror", mirror.note(), mirror.size), *extra]
    return Contact(address, mirror, Body(first.salt, first.body).value(), sightings)


def mirror(author: Node, holder: str, kit: Any) -> Any:
    """``author``'s log as ``holder`` mirrors it: the bodies ``holder`` may read."""
    return kit.MemoryLog(author, holder, from_author=False)


def lose_database(node: Node) -> Path:
    node.close()
    for suffix in ("", "-wal", "-shm"):
        (node.home.path / f"parley.db{suffix}").unlink(missing_ok=True)
    return node.home.path


def derived(node: Node) -> dict[str, Any]:
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        return {
            "state": state,
            "entries": [(e.leaf, e.body, e.salt) for e in logs.iter_log(conn, node.party)],
            "receipts": sorted(
                tuple(r)
                for r in conn.execute(select(*[c for c in receipt_rows.c if c.name != "observed"]))
            ),
            "keys": sorted(tuple(r) for r in conn.execute(select(notification_keys))),
            "checks": sorted(tuple(r) for r in conn.execute(select(communication_checks))),
        }


@pytest.fixture
def jp_history(network, kit):  # type: ignore[no-untyped-def]
    """JP's log with receipts, an acknowledgement, a notification chain and a check to KR."""
    nodes = network("US", "JP", "KR")
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    (hotline,) = us.append([kit.hotline("JP", "for JP")])
    pull(jp, kit.pin(jp, us), kit.MemoryLog(us, "JP"))  # JP receipts it
    receipts.acknowledge(jp, hotline.ref, "duty", "on it", now_ms())
    alert = lifecycle.notify(
        jp,
        status="Exercise",
        audience="US",
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="M6",
        areas=[AREA],
        details={"magnitude": "6.0"},
    ).written
    lifecycle.answer(jp, alert.ref, msg_type="Cancel")
    kit.pin(jp, kr)
    (sent,) = jp.append([checks.check_draft(jp, "KR", jp.context().policy.document)])
    with jp.store.write() as conn:
        conn.execute(communication_checks.insert().values(seq=sent.seq, peer="KR", sent=sent.time))
    at_us, at_kr = kit.pin(us, jp), kit.pin(kr, jp)
    pull(us, at_us, kit.MemoryLog(jp, "US"))
    pull(kr, at_kr, kit.MemoryLog(jp, "KR"))
    return nodes, derived(jp), at_us


def test_a_lost_database_comes_back_from_two_mirrors_and_the_log_continues(jp_history, kit) -> None:  # type: ignore[no-untyped-def]
    nodes, before, at_us = jp_history
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    sources = [contact(kit, us, mirror(jp, "US", kit)), contact(kit, kr, mirror(jp, "KR", kit))]
    restored = open_for_restore(lose_database(jp))
    try:
        report = restore_from(restored, sources)
        assert report.lost == [] and report.pinned == ["US", "KR"]
        assert report.indexed == {"receipts": 2, "notification_keys": 2, "communication_checks": 1}
        assert derived(restored) == before
        with restored.store.read() as conn:
            items = [
                (e.leaf, Body(e.salt or b"", e.body or b"")) for e in logs.iter_log(conn, "JP")
            ]
            checked = verify_log(
                items,
                logs.all_checkpoints(conn, "JP"),
                pinned_identity=restored.context().statement.identity,
            )
        assert checked.root == before["state"].root and checked.checkpoints >= 1
        (next_entry,) = restored.append([kit.check(9)])
        assert next_entry.seq == before["state"].size
        pulled = pull(us, at_us, kit.MemoryLog(restored, "US"))  # no EquivocationError: one history
        assert pulled.stored == 1
    finally:
        restored.close()


def test_a_body_one_mirror_lacks_comes_from_another_and_the_rest_are_reported(  # type: ignore[no-untyped-def]
    jp_history, kit
) -> None:
    nodes, before, _ = jp_history
    us, jp = nodes["US"], nodes["JP"]
    only_us = [contact(kit, us, mirror(jp, "US", kit))]  # KR alone reads the check sent to KR
    restored = open_for_restore(lose_database(jp))
    try:
        report = restore_from(restored, only_us)
        assert len(report.lost) == 1 and report.lost[0].startswith("JP:")
        assert "check to JP,KR" in report.lost[0]
        with restored.store.read() as conn:
            flags = [e.flag for e in logs.iter_log(conn, "JP")]
            state = logs.get_state(conn, "JP")
        assert flags.count(EntryFlag.BODY_LOST) == 1 and state == before["state"]
        assert report.indexed["communication_checks"] == 0  # its body is lost with it
    finally:
        restored.close()


def test_mirrors_holding_two_histories_refuse_the_restore_and_store_nothing(  # type: ignore[no-untyped-def]
    jp_history, kit
) -> None:
    nodes, before, _ = jp_history
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    forked = mirror(jp, "KR", kit)
    forked.forge(forked.size - 1, body={"nonce": "e" * 32, "deadlines": {}})  # same key, new leaf
    sources = [contact(kit, us, mirror(jp, "US", kit)), contact(kit, kr, forked)]
    restored = open_for_restore(lose_database(jp))
    try:
        with pytest.raises(EquivocationError, match="two histories of JP's log") as caught:
            restore_from(restored, sources)
        for source in sources:  # both checkpoints are shown
            assert source.sightings[0].note in caught.value.message
        assert_nothing_stored(restored)
    finally:
        restored.close()


def test_a_checkpoint_beyond_every_mirror_refuses_since_appending_would_fork(  # type: ignore[no-untyped-def]
    jp_history, kit
) -> None:
    nodes, _, _ = jp_history
    us, jp = nodes["US"], nodes["JP"]
    full = mirror(jp, "US", kit)
    short = mirror(jp, "US", kit)
    short.size -= 1
    short.items = short.items[: short.size]
    cosigned = Sighting("US", "witnessed", full.note(), full.size)
    restored = open_for_restore(lose_database(jp))
    try:
        with pytest.raises(LostEntriesError, match=f"entries {short.size}..{short.size} are lost"):
            restore_from(restored, [contact(kit, us, short, cosigned)])
        assert_nothing_stored(restored)
    finally:
        restored.close()


def test_a_log_under_another_identity_is_not_restored_as_this_nodes(network, kit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    impostor = Node.create(tmp_path / "other-jp", party="JP", name="JP", network="parley-test")
    source = contact(kit, nodes["US"], mirror(impostor, "US", kit))
    restored = open_for_restore(lose_database(nodes["JP"]))
    try:
        with pytest.raises(VerificationError, match="not this node's log"):
            restore_from(restored, [source])
        assert_nothing_stored(restored)
    finally:
        restored.close()
        impostor.close()


def test_a_mirror_serving_a_tampered_body_is_passed_over(jp_history, kit) -> None:  # type: ignore[no-untyped-def]
    nodes, before, _ = jp_history
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    bent = mirror(jp, "JP", kit)
    leaf, body = bent.items[1].leaf, bent.items[1].body
    bent.items[1] = type(bent.items[1])(leaf, Body(body.salt, body.data + b" "))
    sources = [contact(kit, us, bent), contact(kit, kr, mirror(jp, "JP", kit))]
    restored = open_for_restore(lose_database(jp))
    try:
        report = restore_from(restored, sources)
        assert report.via == "KR" and any("US's mirror passed over" in n for n in report.notes)
        assert derived(restored)["entries"] == before["entries"]
    finally:
        restored.close()


def test_a_mirror_serving_another_leaf_for_a_missing_body_is_passed_over_not_called_a_fork(  # type: ignore[no-untyped-def]
    jp_history, kit
) -> None:
    nodes, _, _ = jp_history
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    at_kr = mirror(jp, "KR", kit)
    sources = [contact(kit, us, mirror(jp, "US", kit)), contact(kit, kr, at_kr)]
    check = next(i for i, item in enumerate(at_kr.items) if parse_header(item.leaf).kind == "check")
    at_kr.items[check] = type(at_kr.items[check])(
        at_kr.items[check - 1].leaf, at_kr.items[check].body
    )
    restored = open_for_restore(lose_database(jp))
    try:
        report = restore_from(restored, sources)  # no EquivocationError: no second checkpoint
        assert len(report.lost) == 1 and "check to JP,KR" in report.lost[0]
        assert any(f"another JP:{check} than the verified log" in note for note in report.notes)
    finally:
        restored.close()


def test_a_database_that_holds_the_log_is_never_overwritten(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("US", "JP")["JP"]
    with pytest.raises(ConflictError, match="already holds JP's log"):
        open_for_restore(jp.home.path)


def test_a_restored_node_appends_no_second_delivered_receipt(jp_history, kit) -> None:  # type: ignore[no-untyped-def]
    nodes, _, _ = jp_history
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    sources = [contact(kit, us, mirror(jp, "US", kit)), contact(kit, kr, mirror(jp, "KR", kit))]
    restored = open_for_restore(lose_database(jp))
    try:
        restore_from(restored, sources)
        peer = peers.get_peer(restored.store, "US")
        assert pull(restored, peer, kit.MemoryLog(us, "JP")).receipts == 0
    finally:
        restored.close()


def assert_nothing_stored(node: Node) -> None:
    with node.store.read() as conn:
        assert logs.get_state(conn, node.party) is None
        assert list(logs.iter_log(conn, node.party)) == []
    assert peers.list_peers(node.store) == []


def test_a_log_whose_identity_rotated_is_anchored_at_the_key_in_the_home(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    first = jp.context().statement.identity
    keyrotation.rotate_identity(jp, no_passphrase, None, now_ms())
    keyrotation.rotate_purpose(jp, no_passphrase, "log", now_ms())
    jp.append([kit.check(1)])
    source = contact(kit, us, mirror(jp, "US", kit))
    size = jp.size()
    restored = open_for_restore(lose_database(jp))
    try:
        report = restore_from(restored, [source])
        statement = restored.context().statement
        assert report.size == size and statement.identity != first
        assert statement.identity == restored.identity().public
        assert restored.append([kit.check(2)])[0].seq == size
    finally:
        restored.close()
