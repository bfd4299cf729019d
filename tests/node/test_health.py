"""``parley status`` as a service: open clocks judged against the answers held, at once.

Real nodes (``Node.create``, SQLite) under one policy; logs travel through ``MemoryLog`` and
``sync.pull``. The deadline rounds are run by hand with times passed in.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from parley.core.checkpoint import Checkpoint, claimed_checkpoint, parse_note, witness_name_for
from parley.node import health, webhooks
from parley.node.federation import peers, witnessing
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.messaging import deadlines, hotline, receipts
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store import witnessing as witness_rows
from parley.store.schema import webhook_outbox
from tests.node.conftest import Kit, Network


def sync(kit: type[Kit], receiver: Node, author: Node) -> None:
    pinned = {p.party: p for p in peers.list_peers(receiver.store)}
    peer = pinned.get(author.party) or kit.pin(receiver, author)
    pull(receiver, peer, kit.MemoryLog(author, receiver.party))


def open_refs(node: Node, now: int) -> set[tuple[str, str, str]]:
    return {(r["entry"], r["addressee"], r["clock"]) for r in health.health(node, now).open}


def test_status_stops_listing_a_clock_as_open_once_it_is_acknowledged(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([kit.hotline("JP", "confirm")])
    deadlines.run_round(us, sent.time)
    sync(kit, jp, us)
    deadlines.run_round(jp, sent.time)
    assert open_refs(jp, sent.time + 500) == {(sent.ref, "JP", "acknowledged")}

    receipts.acknowledge(jp, sent.ref, "duty", None, sent.time + 600)
    sync(kit, us, jp)

    assert open_refs(jp, sent.time + 700) == set()  # no deadline round ran meanwhile
    assert open_refs(us, sent.time + 700) == set()


def test_status_lists_a_missed_clock_as_overdue_before_the_round_escalates_it(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us = nodes["US"]
    (sent,) = us.append([kit.hotline("JP", "anyone?")])
    deadlines.run_round(us, sent.time)
    (row,) = health.health(us, sent.time + 5000).open
    assert row["state"] == "missed" and row["remaining"] == -2000


def test_status_and_receipts_show_our_entry_stored_header_only_by_a_peer(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    webhooks.add(us.store, "http://127.0.0.1:9/hook", ["observation"], now_ms())
    stretched = {"to": "JP", "text": "whenever", "deadlines": {"acknowledged_within": 300000}}
    (bad,) = us.append([Draft("hotline", "Exercise", stretched, ("JP", "US"), None)])
    sync(kit, jp, us)
    sync(kit, us, jp)

    (alert,) = [a for a in health.health(us, now_ms()).alerts if a.type == "header-only"]
    assert alert.party == "JP" and alert.entry == bad.ref
    assert "policy-breach" in alert.detail and "300000" in alert.detail
    (seen,) = receipts.observations_about(us, bad.ref)
    assert seen["by"] == "JP" and seen["type"] == "policy-breach"
    with us.store.read() as conn:
        queued = [
            json.loads(r.payload)
            for r in conn.execute(
                select(webhook_outbox.c.payload).where(webhook_outbox.c.event == "observation")
            )
        ]
    (event,) = queued
    assert event["data"]["entry"] == bad.ref and event["data"]["by"] == "JP"
    assert event["data"]["type"] == "policy-breach"


def test_the_hotline_log_shows_a_missed_acknowledgement_as_missed(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us = nodes["US"]
    (sent,) = us.append([kit.hotline("JP", "anyone?")])
    deadlines.run_round(us, sent.time)
    deadlines.run_round(us, sent.time + 5000)  # escalates

    (message,) = hotline.conversation(us, "JP", now=sent.time + 6000)
    (clock,) = [c for c in message.clocks if c["clock"] == "acknowledged"]
    assert clock["state"] == "missed" and clock["escalated"] == sent.time + 5000


def test_peers_show_the_witnessing_both_ways_and_the_log_its_cosigned_checkpoint(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(us, jp)
    kit.pin(jp, us)
    size, note = us.checkpoint() or (0, "")
    checkpoint = Checkpoint.parse_body(parse_note(note).text.encode())
    at = now_ms() // 1000 * 1000
    with jp.store.write() as tx:
        line = witnessing.cosign_checkpoint(jp, tx, "US", checkpoint, note, at)
    name = witness_name_for(jp.log.origin)
    with us.store.write() as tx:
        witness_rows.put_cosignatures(
            tx, [witness_rows.Cosignature("US", size, name, checkpoint.root, at, line)]
        )

    (seen_by_us,) = health.peer_states(us)
    assert (seen_by_us.cosigned_size, seen_by_us.cosigned) == (size, at)
    assert seen_by_us.cosignature_age(at + 2500) == 2500 and seen_by_us.witnessed is None
    (seen_by_jp,) = health.peer_states(jp)
    assert (seen_by_jp.witnessed_size, seen_by_jp.witnessed) == (size, at)
    assert seen_by_jp.cosigned is None and seen_by_jp.cosignature_age(at) is None

    state = health.log_state(us)
    assert (state.party, state.size, state.checkpoint) == ("US", size, size)
    assert state.root == checkpoint.root.hex() and state.origin == us.log.origin
    assert state.cosignatures == [{"witness": name, "time": at}]
    assert state.note is not None and line in state.note


def test_a_peers_state_carries_its_checkpoints_own_time_not_the_time_of_the_pull(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    us.append([kit.hotline("JP", "first")])
    sync(kit, jp, us)
    size, note = us.checkpoint() or (0, "")
    with us.store.read() as conn:
        own = logs.checkpoint_time(conn, "US", size)  # as the author keeps it
    (seen,) = health.peer_states(jp)
    assert (seen.checkpoint, seen.checkpoint_time) == (size, own)
    assert own is not None
    assert seen.to_dict()["checkpoint_time"] == own

    us.append([kit.hotline("JP", "second")])
    ahead, note = us.checkpoint() or (0, "")
    with jp.store.write() as tx:  # seen at the peer, its last entry not pulled yet
        peer_rows.record_remote(tx, "US", ahead, note)
    (behind,) = health.peer_states(jp)
    assert behind.checkpoint == ahead and behind.lag == ahead - size
    # A time line says it; an extension-free checkpoint's time waits for its last entry.
    assert behind.checkpoint_time == claimed_checkpoint(note).time_ms
