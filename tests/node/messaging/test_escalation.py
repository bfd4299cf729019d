"""Deadlines at the node: bounds on peers' entries, escalation, inquiries, checks, compliance.

Real nodes (``Node.create``, SQLite) under one policy; logs travel through ``MemoryLog`` and
``sync.pull``, as in the ingest tests. Times are passed in, so no test sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from parley.core import compliance as formula
from parley.core.checkpoint import Checkpoint, add_signature_lines, parse_note, witness_name_for
from parley.core.deadlines import deadlines_for
from parley.core.entry import ALL, Body, parse_header
from parley.core.errors import InvalidEntryError
from parley.core.keys import KeyStatement
from parley.core.merkle import leaf_hash
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.core.verify import verify_log
from parley.core.witnessed import witnessed_times
from parley.node import export
from parley.node.federation import gossip, peers, witnessing
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.messaging import checks, clock_views, deadlines, inquiries, receipts
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy
from parley.store import logs
from parley.store.entries import EntryFlag
from parley.store.schema import deadline_clocks, webhook_outbox
from tests.node.conftest import Kit, Network
from tests.support import run_cli

NETWORK = "parley-test"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Network]:
    made: list[Node] = []

    def build(*parties: str, **changes: Any) -> dict[str, Node]:
        nodes = {
            p: Node.create(tmp_path / p.lower(), party=p, name=f"{p} centre", network=NETWORK)
            for p in parties
        }
        made.extend(nodes.values())
        document = draft_policy(
            network=NETWORK,
            name="test",
            members=members_of(nodes.values()),
            created=now_ms(),
            version=2,
            deadline_scale=0.01,
        )
        adopt_by_all(nodes.values(), PolicyDocument.from_dict({**document.to_dict(), **changes}))
        return nodes

    yield build
    for node in made:
        node.close()


def sync(kit: type[Kit], receiver: Node, author: Node) -> None:
    pinned = {p.party: p for p in peers.list_peers(receiver.store)}
    peer = pinned.get(author.party) or kit.pin(receiver, author)
    pull(receiver, peer, kit.MemoryLog(author, receiver.party))


def check(node: Node, to: Any = ALL) -> Draft:
    body = {"nonce": "ab" * 16, "deadlines": deadlines_for(node.context().policy.document, "check")}
    return Draft("check", "Exercise", body, to, None)


def events(node: Node) -> list[dict[str, Any]]:
    with node.store.read() as conn:
        rows = conn.execute(select(webhook_outbox.c.payload).order_by(webhook_outbox.c.id))
        return [json.loads(row.payload) for row in rows]


def clock_rows(node: Node) -> dict[tuple[str, str, str], str]:
    with node.store.read() as conn:
        rows = conn.execute(select(deadline_clocks))
        return {(f"{r.entry_party}:{r.entry_seq}", r.addressee, r.clock): r.state for r in rows}


def test_out_of_bounds_deadline_attack_is_stored_header_only_with_an_observation(
    fleet: Network, kit: type[Kit]
) -> None:
    nodes = fleet("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    stretched = {"to": "JP", "text": "answer whenever", "deadlines": {"acknowledged_within": 10**9}}
    missing = {"nonce": "cd" * 16}
    (bad, no_deadlines, good) = us.append(
        [
            Draft("hotline", "Exercise", stretched, ("JP", "US"), None),
            Draft("check", "Exercise", missing, ("JP", "US"), None),
            check(us, ("JP", "US")),
        ]
    )
    sync(kit, jp, us)
    with jp.store.read() as conn:
        held = {
            seq: logs.get_entry(conn, "US", seq) for seq in (bad.seq, no_deadlines.seq, good.seq)
        }
        mine = [parse_header(e.leaf) for e in logs.iter_log(conn, "JP")]
    for seq in (bad.seq, no_deadlines.seq):
        assert held[seq].flag == EntryFlag.DEADLINE_BOUNDS and held[seq].body is None  # type: ignore[union-attr]
    assert held[good.seq].flag is None and held[good.seq].body is not None  # type: ignore[union-attr]
    _header, rows = receipts.status(jp, bad.ref)
    assert rows[0].status == "none"
    observations = [h for h in mine if h.kind == "observation"]
    assert len(observations) == 1
    with jp.store.read() as conn:
        stored = logs.get_entry(conn, "JP", observations[0].seq)
    assert stored is not None and stored.body is not None and stored.salt is not None
    body = Body(stored.salt, stored.body).value()
    assert body["type"] == "policy-breach" and "outside the policy's bounds" in body["detail"]


def test_a_missed_acknowledgement_escalates_once_then_shows_late(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = fleet("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    from parley.node import webhooks

    webhooks.add(
        us.store, "http://127.0.0.1:9/hook", ["deadline.missed", "deadline.late"], now_ms()
    )
    quick = {
        "nonce": "ef" * 16,
        "deadlines": {"delivered_within": 3_000, "acknowledged_within": 3_600},
    }  # the minimums
    (sent,) = us.append([Draft("check", "Exercise", quick, ("JP", "US"), None)])
    within = 3_600
    assert deadlines.run_round(us, sent.time + 1) == []
    assert clock_rows(us)[(sent.ref, "JP", "acknowledged")] == "open"
    due = sent.time + within + 1
    assert deadlines.run_round(us, due) == ["JP"]
    assert deadlines.run_round(us, due + 10_000) == []  # once per (entry, addressee, clock)
    assert clock_rows(us)[(sent.ref, "JP", "acknowledged")] == "missed"
    missed = [e for e in events(us) if e["event"] == "deadline.missed"]
    assert {(e["data"]["entry"], e["data"]["clock"]) for e in missed} == {
        (sent.ref, "delivered"),
        (sent.ref, "acknowledged"),
    }
    assert all(e["data"]["addressee"] == "JP" and not e["data"]["witnessed"] for e in missed)
    sync(kit, jp, us)
    receipts.acknowledge(jp, sent.ref, "duty", None, due + 1_000)  # signed after the deadline
    sync(kit, us, jp)
    deadlines.run_round(us, due + 20_000)
    rows = clock_rows(us)
    assert rows[(sent.ref, "JP", "acknowledged")] == "late"
    assert rows[(sent.ref, "JP", "delivered")] == "met"  # escalated, then found on time
    judged = deadlines.entry_clocks(us, sent.ref, due + 20_000)
    (ack,) = [c for c in judged.clocks if c.clock == "acknowledged"]
    assert ack.state == "late" and ack.late_by == 1_001  # due was sent.time + within + 1
    late = [e["data"] for e in events(us) if e["event"] == "deadline.late"]
    assert [(e["entry"], e["clock"]) for e in late] == [(sent.ref, "acknowledged")]


def test_entries_addressed_to_this_node_are_tracked_for_its_own_officer(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = fleet("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([check(us, ("JP", "US"))])
    sync(kit, jp, us)
    deadlines.run_round(jp, now_ms())
    rows = clock_rows(jp)
    assert rows[(sent.ref, "JP", "acknowledged")] == "open"
    assert (sent.ref, "JP", "delivered") in rows
    opened = clock_views.tracked(jp, [deadlines.OPEN])
    assert {r["entry"] for r in opened} == {sent.ref}


def test_an_inquiry_is_answered_by_a_reply_not_by_an_acknowledgement(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = fleet("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    (about,) = jp.append([check(jp)])
    sync(kit, us, jp)
    inquiry = inquiries.inquire(us, about.ref, "Is this a drill?", 600_000, now_ms())
    assert inquiry.audience == ("JP", "US") and inquiry.tlp == "GREEN"
    sync(kit, jp, us)
    receipts.acknowledge(jp, inquiry.ref, "duty", None, now_ms())
    sync(kit, us, jp)
    (ack,) = [
        c
        for c in deadlines.entry_clocks(us, inquiry.ref, now_ms()).clocks
        if c.clock == "acknowledged"
    ]
    assert ack.state == "pending" and ack.within == 600_000
    answer = inquiries.reply(jp, inquiry.ref, "Yes, an exercise.", now_ms())
    assert answer.audience == ("JP", "US") and answer.status == inquiry.status
    sync(kit, us, jp)
    (ack,) = [
        c
        for c in deadlines.entry_clocks(us, inquiry.ref, now_ms()).clocks
        if c.clock == "acknowledged"
    ]
    assert ack.state == "met" and ack.answer is not None and ack.answer.ref == answer.ref


def test_inquiries_and_replies_refuse_what_they_cannot_be(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = fleet("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    (own,) = us.append([check(us)])
    with pytest.raises(InvalidEntryError, match="own entry"):
        inquiries.inquire(us, own.ref, "?", None, now_ms())
    (about,) = jp.append([check(jp)])
    sync(kit, us, jp)
    with pytest.raises(InvalidEntryError, match="outside the policy's bounds"):
        inquiries.inquire(us, about.ref, "?", 1, now_ms())
    with pytest.raises(InvalidEntryError, match="not an inquiry"):
        inquiries.reply(us, about.ref, "an answer to nothing", now_ms())


def test_checks_go_to_each_peer_once_per_interval_and_are_acknowledged_automatically(
    fleet: Network, kit: type[Kit]
) -> None:
    nodes = fleet("US", "JP", "KR", check_interval_ms=5_000, human_ack=["hotline"])
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(us, jp)
    kit.pin(us, nodes["KR"])
    start = now_ms()
    assert checks.send_due(us, start) == []  # one interval after pinning
    sent = checks.send_due(us, start + 5_000)
    assert sorted(h.audience for h in sent) == [("JP", "US"), ("KR", "US")]
    assert all(h.kind == "check" and h.status == "Test" for h in sent)
    assert checks.send_due(us, start + 9_000) == []
    sync(kit, jp, us)
    deadlines.run_round(jp, now_ms())
    acked = checks.acknowledge_due(jp, now_ms())
    assert len(acked) == 1 and checks.acknowledge_due(jp, now_ms()) == []
    sync(kit, us, jp)
    listed = {row["peer"]: row for row in checks.listed(us, now_ms())}
    assert listed["JP"]["acknowledged"]["state"] == "met"
    assert listed["KR"]["acknowledged"]["state"] == "pending"


def test_checks_wait_for_an_officer_when_the_policy_says_so(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = fleet("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    us.append([check(us, ("JP", "US"))])
    sync(kit, jp, us)
    deadlines.run_round(jp, now_ms())
    assert checks.acknowledge_due(jp, now_ms()) == []


def held_exports(node: Node, folder: Path) -> list[Path]:
    """A log export of every log this node holds (the format of ``parley log export``)."""
    paths = []
    for party in ("US", "JP", "KR"):
        path = folder / f"{node.party}-{party}.jsonl"
        with path.open("wb") as handle:
            export.write_export(node.store, party, handle)
        paths.append(path)
    return paths


def records_from_exports(paths: list[Path]) -> tuple[list[formula.Sent], list[formula.Answered]]:
    """The scoreboard's records rebuilt from log exports alone, witnessed times included.

    Each export is verified (``verify_log``); witnessed times come from the cosignature lines
    its checkpoints carry, checked against the witness keys the members' key statements
    certify, under the newest policy the exports hold (``parley.core.witnessed``). Enough for
    the kinds the test sends (no inquiries, so no replies to match).
    """
    logs_read, notes, statements, policies, entry_times = [], {}, {}, [], {}
    for path in paths:
        reader = export.ExportReader(path)
        report = verify_log(reader.entries(), reader.notes())
        items = [
            (parse_header(leaf), None if body is None else body.value())
            for leaf, body in reader.entries()
        ]
        logs_read.append(items)
        notes[report.party] = list(reader.notes())
        entry_times[report.party] = [header.time for header, _value in items]
        statements[report.party] = [
            KeyStatement.from_body(value) for header, value in items if header.kind == "key"
        ]
        policies += [
            SignedPolicy.from_body(value).document
            for header, value in items
            if header.kind == "policy" and value is not None
        ]
    members = {document.hash: [m.party for m in document.members] for document in policies}
    policy = max(policies, key=lambda document: document.version)
    times = witnessed_times(notes, statements, policy, entry_times)
    sent, answers, leaf_hashes = [], [], {}

    def witnessed(party: str, seq: int) -> int | None:
        return times[party].time_of(seq)

    for items in logs_read:
        for header, value in items:
            leaf_hashes[header.ref] = leaf_hash(header.leaf).hex()
            if header.kind in {"check", "hotline", "inquiry", "reply", "notification"}:
                named = members[header.policy] if header.audience == ALL else header.audience
                stated = (value or {}).get("deadlines") or {}
                sent.append(
                    formula.Sent(
                        header.ref,
                        tuple(sorted(p for p in named if p != header.party)),
                        witnessed(header.party, header.seq),
                        {
                            "delivered": stated.get("delivered_within"),
                            "acknowledged": stated.get("acknowledged_within"),
                        },
                        header.audience == ALL and header.tlp == "CLEAR",
                    )
                )
            if header.kind == "receipt" and value is not None:
                answers.append(
                    (
                        value["entry"],
                        header.party,
                        value["type"],
                        witnessed(header.party, header.seq),
                    )
                )
    kept = [
        formula.Answered(e["ref"], party, kind, w)
        for e, party, kind, w in answers
        if leaf_hashes.get(e["ref"]) == e["leaf_hash"]
    ]
    return sent, kept


def cosign_held(holder: Node, party: str, witnesses: list[Node], at: int) -> None:
    """``witnesses`` cosign the latest checkpoint of ``party`` held at ``holder``, a second apart
    from ``at``; ``holder`` keeps the lines as gossip brings them (verified)."""
    with holder.store.read() as conn:
        found = logs.latest_checkpoint(conn, party)
    assert found is not None
    _size, note = found
    checkpoint = Checkpoint.parse_body(parse_note(note).text.encode("utf-8"))
    lines = []
    for offset, witness in enumerate(witnesses):
        with witness.store.write() as conn:
            lines.append(
                witnessing.cosign_checkpoint(
                    witness, conn, party, checkpoint, note, at + offset * 1000
                )
            )
    log_key = (
        holder.log.key("log").public.raw
        if party == holder.party
        else peers.get_peer(holder.store, party).log_key.raw
    )
    report = gossip.consider(holder, party, add_signature_lines(note, lines), log_key, "test")
    assert report.equivocations == []


@pytest.mark.parametrize("quorum", [0, 2])
def test_compliance_recomputed_from_log_exports_equals_parley_compliance(
    fleet: Network, kit: type[Kit], tmp_path: Path, quorum: int
) -> None:
    """At k = 2 (a 3-member network's default) only the cosignatures the exports carry count."""
    nodes = fleet("US", "JP", "KR", witness_quorum=quorum)
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    document = us.context().policy.document
    public = {"nonce": "01" * 16, "deadlines": deadlines_for(document, "check")}
    broadcast, _public = us.append([check(us), Draft("check", "Exercise", public, ALL, "CLEAR")])
    (hotline,) = us.append(
        [
            Draft(
                "hotline",
                "Exercise",
                {"to": "JP", "text": "hello", "deadlines": deadlines_for(document, "hotline")},
                ("JP", "US"),
                None,
            )
        ]
    )
    for peer in (jp, kr):
        kit.pin(us, peer)  # US checks its peers' cosignatures with their pinned witness keys
    start = now_ms()
    cosign_held(us, "US", [kr, jp], start)
    for receiver in (jp, kr):
        sync(kit, receiver, us)
    receipts.acknowledge(jp, hotline.ref, "duty", "seen", now_ms())
    sync(kit, us, jp)
    cosign_held(us, "JP", [us, kr], start + 2_000)
    receipts.acknowledge(jp, broadcast.ref, "duty", None, now_ms())
    for author in (jp, kr):
        sync(kit, us, author)
    cosign_held(us, "JP", [kr, us], start + 5_000)
    cosign_held(us, "KR", [jp, us], start + 4_000)
    shown = json.loads(run_cli("compliance", "--json", home=us.home.path).stdout)
    assert shown["witness_quorum"] == quorum
    assert shown["parties"]["JP"]["acknowledged"]["answers"] == 2
    assert shown["parties"]["KR"]["delivered"]["answers"] == 2
    if quorum == 2:  # the second-earliest third-party cosignature times, in whole seconds
        assert shown["parties"]["JP"]["acknowledged"]["median_ms"] == 2_000
        assert shown["parties"]["JP"]["acknowledged"]["p95_ms"] == 5_000
    paths = held_exports(us, tmp_path)
    kr_name = witness_name_for(kr.log.origin)
    assert f"\u2014 {kr_name} " in paths[0].read_text()  # on US's checkpoint
    run_cli("verify", "log", str(paths[0]), home=us.home.path)  # cosignature lines break nothing
    sent, answers = records_from_exports(paths)
    assert formula.scoreboard(sent, answers, shown["as_of"]) == shown["parties"]
    public_shown = json.loads(run_cli("compliance", "--json", "--public", home=us.home.path).stdout)
    assert public_shown["parties"]["JP"]["delivered"]["answers"] == 1
    assert (
        formula.scoreboard(sent, answers, public_shown["as_of"], public_only=True)
        == (public_shown["parties"])
    )


def test_a_hotline_message_unacknowledged_past_its_deadline_escalates(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    """The hotline class: a 5-minute acknowledgement in a live policy, scaled down here."""
    from parley.node import webhooks
    from parley.node.messaging import hotline

    nodes = fleet("JP", "CN")
    jp = nodes["JP"]
    webhooks.add(jp.store, "http://127.0.0.1:9/hook", ["deadline.missed"], now_ms())
    sent = hotline.send(jp, hotline.Outgoing(to="CN", status="Exercise", text="Keep clear."))
    within = deadlines_for(jp.context().policy.document, "hotline")["acknowledged_within"]
    body = Body(*_stored_body(jp, sent.seq)).value()
    assert body["deadlines"]["acknowledged_within"] == within

    def missed() -> set[tuple[str, str]]:
        return {
            (e["data"]["entry"], e["data"]["clock"])
            for e in events(jp)
            if e["event"] == "deadline.missed"
        }

    assert deadlines.run_round(jp, sent.time + 1) == []
    deadlines.run_round(jp, sent.time + within - 1)  # only the delivered clock may have run out
    assert (sent.ref, "acknowledged") not in missed()
    deadlines.run_round(jp, sent.time + within + 1)
    assert (sent.ref, "acknowledged") in missed()


def _stored_body(node: Node, seq: int) -> tuple[bytes, bytes]:
    with node.store.read() as conn:
        stored = logs.get_entry(conn, node.party, seq)
    assert stored is not None and stored.salt is not None and stored.body is not None
    return stored.salt, stored.body


def assistance(node: Node, kind: str, to: Any, refers_to: Any = None) -> Draft:
    body: dict[str, Any] = {
        "type": kind,
        "resources": [{"kind": "vaccine", "quantity": "20000", "unit": "dose"}],
        "deadlines": deadlines_for(node.context().policy.document, "assistance"),
    }
    if refers_to is not None:
        body["refers_to"] = refers_to
    return Draft("assistance", "Exercise", body, to, None)


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_accepting_or_declining_an_offer_answers_its_acknowledgement_clock(
    fleet: Network, kit: type[Kit], answer: str
) -> None:
    """An officer's acceptance is an answer: no escalation, met in every view and compliance."""
    from parley.node.messaging import compliance

    nodes = fleet("US", "JP", "CN", witness_quorum=0)
    jp, cn = nodes["JP"], nodes["CN"]
    (offer,) = jp.append([assistance(jp, "offer", ("CN", "JP"))])
    sync(kit, cn, jp)
    named = {"ref": offer.ref, "leaf_hash": leaf_hash(offer.leaf).hex()}
    (reply,) = cn.append([assistance(cn, answer, ("CN", "JP"), named)])
    sync(kit, jp, cn)
    later = now_ms() + 3_600_000  # long past every deadline of the offer
    (ack,) = [
        c for c in deadlines.entry_clocks(jp, offer.ref, later).clocks if c.clock == "acknowledged"
    ]
    assert ack.state == "met" and ack.answer is not None and ack.answer.ref == reply.ref
    deadlines.run_round(jp, later)
    assert clock_rows(jp)[(offer.ref, "CN", "acknowledged")] == "met"
    assert not [
        e
        for e in events(jp)
        if e["event"] == "deadline.missed"
        and e["data"]["entry"] == offer.ref
        and e["data"]["clock"] == "acknowledged"
    ]
    assert offer.ref not in {row["entry"] for row in clock_views.open_clocks(jp, later)}
    figures = compliance.scoreboard(jp, later)["parties"]["CN"]["acknowledged"]
    assert (figures["met"], figures["missed"]) == (1, 0)


def test_an_accepted_offer_leaves_the_addressees_unacknowledged_inbox(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    from parley.node.messaging import inbox

    nodes = fleet("JP", "CN", witness_quorum=0)
    jp, cn = nodes["JP"], nodes["CN"]
    (offer,) = jp.append([assistance(jp, "offer", ("CN", "JP"))])
    sync(kit, cn, jp)
    waiting = inbox.Filters(unacknowledged=True)
    assert offer.ref in [i.ref for i in inbox.listing(cn, now_ms(), waiting).items]
    named = {"ref": offer.ref, "leaf_hash": leaf_hash(offer.leaf).hex()}
    cn.append([assistance(cn, "accept", ("CN", "JP"), named)])
    assert offer.ref not in [i.ref for i in inbox.listing(cn, now_ms(), waiting).items]
    assert offer.ref in [i.ref for i in inbox.listing(cn, now_ms()).items]


def test_an_assistance_status_does_not_answer_the_offer_it_names(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = fleet("JP", "CN", witness_quorum=0)
    jp, cn = nodes["JP"], nodes["CN"]
    (offer,) = jp.append([assistance(jp, "offer", ("CN", "JP"))])
    sync(kit, cn, jp)
    named = {"ref": offer.ref, "leaf_hash": leaf_hash(offer.leaf).hex()}
    cn.append([assistance(cn, "status", ("CN", "JP"), named)])
    wrong = {"ref": offer.ref, "leaf_hash": "00" * 32}
    cn.append([assistance(cn, "accept", ("CN", "JP"), wrong)])
    sync(kit, jp, cn)
    later = now_ms() + 3_600_000
    (ack,) = [
        c for c in deadlines.entry_clocks(jp, offer.ref, later).clocks if c.clock == "acknowledged"
    ]
    assert ack.state == "missed"


def test_a_scaled_down_policy_keeps_every_deadline_longer_than_witnessing_resolves() -> None:
    """The demo's 100x scale once gave 0.6 s delivery deadlines, judged on whole seconds."""
    from parley.node.policies import WITNESSED_FLOOR_MS, deadline_table
    from parley.node.runtime.announcer import LAZY_S

    # two whole-second floors (entry and answer) and the lazy announcement of a receipt
    assert WITNESSED_FLOOR_MS > 2 * 1000 + LAZY_S * 1000
    table = deadline_table(0.01, WITNESSED_FLOOR_MS)
    for bounds in table.values():
        for clock in ("delivered_within", "acknowledged_within"):
            assert bounds[clock]["min"] >= WITNESSED_FLOOR_MS
            assert bounds[clock]["min"] <= bounds[clock]["default"] <= bounds[clock]["max"]
    assert table["nuclear"]["delivered_within"]["default"] == WITNESSED_FLOOR_MS  # 60 s / 100
    assert table["disaster"]["acknowledged_within"]["default"] == 36_000  # scaled, above it
    assert deadline_table(0.01) == deadline_table(0.01, 1)  # without a floor: as before
    assert deadline_table(0.01)["nuclear"]["delivered_within"]["default"] == 600


def test_a_reader_without_amber_clearance_gets_the_public_figures_only(fleet, kit) -> None:  # type: ignore[no-untyped-def]
    from parley.node.access import CLEARANCE
    from parley.node.messaging import compliance

    jp = fleet("JP", "CN", witness_quorum=0)["JP"]
    (sent,) = jp.append([kit.hotline("CN", "amber, unanswered")])
    later = sent.time + 10**6
    members = compliance.scoreboard(jp, later, clearance=CLEARANCE["analyst"])
    assert members["scope"] == "members"
    assert members["parties"]["CN"]["acknowledged"]["missed"] == 1
    public = compliance.scoreboard(jp, later, clearance=CLEARANCE["observer"])
    assert public["scope"] == "public" and public["parties"] == {}
    assert compliance.scoreboard(jp, later) == members  # no clearance applies: the CLI's view
