"""Pushes: a wake-up that carries the author's new entries, verified like fetched ones."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from sqlalchemy import select

from parley.core import merkle
from parley.core.errors import (
    BadSubmissionError,
    NotAuthorizedError,
    ParleyError,
    VerificationError,
)
from parley.node.federation import ingest, peers, pull, push, submission
from parley.node.federation.peer_client import PushedSource, author_source
from parley.node.node import Node, now_ms
from parley.node.runtime import LogFeed, Runtime
from parley.node.runtime.submissions import growth_push
from parley.store import logs
from parley.store import witnessing as witness_rows
from parley.store.entries import EntryFlag
from parley.store.schema import entries


def unreachable_author(party: str) -> httpx.Client:
    """A client for an author nobody answers for: any request it makes fails."""
    return httpx.Client(base_url="http://127.0.0.1:9", timeout=0.5)


def held(node: Node, party: str) -> dict[int, str | None]:
    with node.store.read() as conn:
        rows = conn.execute(select(entries.c.seq, entries.c.flag).where(entries.c.party == party))
        return {row.seq: row.flag for row in rows}


@pytest.fixture
def pair(network, kit):  # type: ignore[no-untyped-def]
    """US and JP; JP pins US and has recorded US's first checkpoint (a first wake-up)."""
    nodes = network("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(jp, us)
    kit.pin(jp, nodes["KR"])
    size, note = us.checkpoint()
    submission.receive(jp, submission.build_body(0, [], note), now_ms())
    pull.pull(jp, peers.get_peer(jp.store, "US"), kit.MemoryLog(us, "JP"))
    return nodes


def pull_pushed(node: Node, author: str, body: bytes) -> pull.PullReport:
    pushed = push.receive(node, author, body, now_ms())
    hint = pushed.hint
    assert pushed.party == author and hint.pushed and pushed.stored is None
    with unreachable_author(author) as client:
        source = PushedSource(
            author_source(client, author, "http://127.0.0.1:9"), hint.old, hint.pushed, node.party
        )
        return pull.pull(node, peers.get_peer(node.store, author), source, hint=hint)


def test_a_push_is_verified_and_stored_without_a_request_to_the_author(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1), kit.check(2, ("JP",))])
    report = pull_pushed(jp, "US", growth_push(us, old, "JP"))
    assert report.stored == 2 and report.receipts == 2
    assert held(jp, "US")[old] is None and held(jp, "US")[old + 1] is None  # bodies verified


def test_a_tampered_pushed_entry_is_refused_and_nothing_is_stored(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    doc = json.loads(growth_push(us, old, "JP"))
    leaf = bytearray(doc["entries"][0]["leaf_input"].encode())
    leaf[40] = ord("A") if leaf[40] != ord("A") else ord("B")
    doc["entries"][0]["leaf_input"] = leaf.decode()
    before = held(jp, "US")
    with pytest.raises(VerificationError):
        pull_pushed(jp, "US", json.dumps(doc).encode())
    assert held(jp, "US") == before


def test_a_body_left_out_of_a_push_to_its_addressee_is_recorded_as_withheld(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1, ("JP",))])
    doc = json.loads(growth_push(us, old, "JP"))
    del doc["entries"][0]["body"], doc["entries"][0]["salt"]
    report = pull_pushed(jp, "US", json.dumps(doc).encode())
    assert report.observations == 1
    assert held(jp, "US")[old] == EntryFlag.BODY_WITHHELD


def test_a_push_about_another_partys_log_is_refused_and_changes_nothing(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    body = growth_push(us, old, "JP")
    with jp.store.read() as conn:
        before = peers.get_status(conn, "US").remote_size
    for caller in ("KR", None):
        with pytest.raises(NotAuthorizedError, match="must come from US"):
            push.receive(jp, caller, body, now_ms())
    with jp.store.read() as conn:
        assert peers.get_status(conn, "US").remote_size == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda doc: doc.update(entries=doc["entries"] * 2), "beyond the checkpoint's size"),
        (lambda doc: doc.update(entries=[{}] * (push.PUSH_MAX_ENTRIES + 1)), "over 64"),
        (lambda doc: doc.pop("submission"), "needs 'submission'"),
        (lambda doc: doc["entries"][0].update(leaf_input="not base64!"), "leaf_input"),
    ],
)
def test_a_malformed_push_is_a_bad_request_that_changes_nothing(pair, kit, change, message) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    doc = json.loads(growth_push(us, old, "JP"))
    change(doc)
    with jp.store.read() as conn:
        before = peers.get_status(conn, "US").remote_size
    with pytest.raises(BadSubmissionError, match=message):
        push.receive(jp, "US", json.dumps(doc).encode(), now_ms())
    with jp.store.read() as conn:
        assert peers.get_status(conn, "US").remote_size == before


def test_a_push_over_the_byte_limit_is_a_bad_request() -> None:
    with pytest.raises(BadSubmissionError, match="over 524288 bytes"):
        push.receive(None, "US", b" " * (push.PUSH_MAX_BYTES + 1), 0)  # type: ignore[arg-type]


def test_a_push_to_a_peer_outside_the_audience_carries_no_byte_of_the_body(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us = pair["US"]
    old, _note = us.checkpoint()
    us.append([kit.hotline("JP", "restricted words for JP only")])
    with us.store.read() as conn:
        (stored,) = logs.get_range(conn, "US", old, old + 1)
    assert stored.body is not None and stored.salt is not None
    to_kr, to_jp = growth_push(us, old, "KR"), growth_push(us, old, "JP")
    secrets = [
        b"restricted words",
        stored.body,
        base64.b64encode(stored.body),
        base64.b64encode(stored.salt),
    ]
    assert not [secret for secret in secrets if secret in to_kr]
    assert base64.b64encode(stored.body) in to_jp


def announce_to(
    us: Node, jp_peer: peers.Peer, acked: int, answer: httpx.Response
) -> tuple[list[str], Runtime, int | Exception]:
    """Run the announcer's announcement of US's newest checkpoint against a scripted JP."""
    paths: list[str] = []

    def scripted(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/fed/v1/push":
            return answer
        return httpx.Response(200, text="— not a cosignature line\n")

    latest = us.checkpoint()
    assert latest is not None
    runtime = Runtime(us, LogFeed(lambda: latest, asyncio.Event))
    runtime.pinned["JP"] = jp_peer
    client = httpx.AsyncClient(base_url=jp_peer.url, transport=httpx.MockTransport(scripted))
    runtime.clients.announcers["JP"] = ((jp_peer.url, jp_peer.tls_spki), client)

    async def announce() -> int | Exception:
        try:
            return await runtime.announcer.announce("JP", latest, acked)
        except ParleyError as exc:
            return exc

    return paths, runtime, asyncio.run(announce())


def test_a_peer_without_the_push_route_gets_plain_submissions(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    jp_peer = kit.pin(us, jp)
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    no_route = httpx.Response(404, json={"detail": "Not Found"})
    paths, runtime, outcome = announce_to(us, jp_peer, old, no_route)
    assert paths == ["/fed/v1/push", "/fed/v1/add-checkpoint"]
    assert outcome == old + 1 and "JP" in runtime.announcer.no_push


def test_a_push_refused_by_the_peer_is_an_error_not_a_fallback(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    jp_peer = kit.pin(us, jp)
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    refused = httpx.Response(
        404,
        json={"detail": "unknown log origin"},
        headers={"content-type": "application/problem+json"},
    )
    paths, runtime, outcome = announce_to(us, jp_peer, old, refused)
    assert paths == ["/fed/v1/push"] and "JP" not in runtime.announcer.no_push
    assert isinstance(outcome, ParleyError) and "refused the checkpoint: 404" in str(outcome)


def test_a_push_to_the_server_is_stored_with_its_cosignature_record(pair, kit) -> None:  # type: ignore[no-untyped-def]
    """With the server's cursor cache the entries need no pull: stored in the cosigning commit."""
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1), kit.check(2, ("JP",))])
    size, _note = us.checkpoint()
    pushed = push.receive(jp, "US", growth_push(us, old, "JP"), now_ms(), ingest.CursorCache())
    assert pushed.stored is not None
    assert pushed.stored.entries == 2 and len(pushed.stored.receipts) == 2
    assert held(jp, "US")[old] is None and held(jp, "US")[old + 1] is None
    with jp.store.read() as conn:
        witnessed = witness_rows.get_witnessed(conn, "US")
        assert witnessed is not None and witnessed.size == size  # cosigned, same commit
        checkpoint = logs.latest_checkpoint(conn, "US")
        assert checkpoint is not None and checkpoint[0] == size


def test_a_tampered_push_to_the_server_is_cosigned_but_its_entries_are_left_to_the_pull(  # type: ignore[no-untyped-def]
    pair, kit
) -> None:
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    doc = json.loads(growth_push(us, old, "JP"))
    doc["entries"][0]["body"] = base64.b64encode(b'{"nonce":"forged"}').decode()
    before = held(jp, "US")
    pushed = push.receive(jp, "US", json.dumps(doc).encode(), now_ms(), ingest.CursorCache())
    assert pushed.stored is None and len(pushed.hint.pushed) == 1
    assert held(jp, "US") == before
    with unreachable_author("US") as client, pytest.raises(VerificationError):
        source = PushedSource(
            author_source(client, "US", "http://127.0.0.1:9"),
            pushed.hint.old,
            pushed.hint.pushed,
            "JP",
        )
        pull.pull(jp, peers.get_peer(jp.store, "US"), source, hint=pushed.hint)
    assert held(jp, "US") == before


@pytest.mark.parametrize("standing", ["held", "paused"])
def test_a_push_from_a_peer_not_in_good_standing_is_left_to_the_pull(pair, kit, standing) -> None:  # type: ignore[no-untyped-def]
    """A held equivocator or a peer paused for its quotas gets nothing stored by pushing."""
    us, jp = pair["US"], pair["JP"]
    if standing == "held":
        peers.hold(jp.store, "US", "two histories of one log", node="JP", now=now_ms())
    else:
        peers.record_throttle(jp.store, "US", now_ms() + 60_000, "3 entries over quota")
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    before = held(jp, "US")
    pushed = push.receive(jp, "US", growth_push(us, old, "JP"), now_ms(), ingest.CursorCache())
    assert pushed.stored is None and held(jp, "US") == before


def test_a_pushs_receipts_are_handed_to_the_announcer_with_the_pushers_material(pair, kit) -> None:  # type: ignore[no-untyped-def]
    """The push handler publishes the growth it committed: no watcher pass, no more reads."""
    us, jp = pair["US"], pair["JP"]
    jp_old, _note = jp.checkpoint()
    old, _note = us.checkpoint()
    us.append([kit.check(1), kit.check(2, ("JP",))])
    pushed = push.receive(jp, "US", growth_push(us, old, "JP"), now_ms(), ingest.CursorCache())
    assert pushed.stored is not None and len(pushed.stored.receipts) == 2
    published: list[tuple[int, str]] = []
    runtime = Runtime(jp, LogFeed(lambda: None, asyncio.Event, publish=published.append))
    runtime.announcer.acked["US"] = jp_old  # what US recorded of JP's log before these receipts
    hand_over = runtime.prepare_hand_over("US", pushed.stored.receipts)
    assert hand_over is not None
    runtime.handed_over(hand_over)
    size, note = jp.checkpoint()
    assert published == [(size, note)]
    assert {runtime.announcer.answers[h.seq] for h in pushed.stored.receipts} == {"US"}
    proof, entries = runtime.announcer.material[(jp_old, size)]
    assert [e.seq for e in entries or []] == list(range(jp_old, size))
    with jp.store.read() as conn:
        expected = merkle.consistency_proof(
            jp_old, size, lambda ids: logs.get_nodes(conn, "JP", ids)
        )
    assert proof == expected


def test_a_hand_over_without_a_recorded_size_carries_no_material(pair, kit) -> None:  # type: ignore[no-untyped-def]
    us, jp = pair["US"], pair["JP"]
    old, _note = us.checkpoint()
    us.append([kit.check(1)])
    pushed = push.receive(jp, "US", growth_push(us, old, "JP"), now_ms(), ingest.CursorCache())
    assert pushed.stored is not None
    pokes: list[bool] = []
    runtime = Runtime(jp, LogFeed(lambda: None, asyncio.Event, poke=lambda: pokes.append(True)))
    hand_over = runtime.prepare_hand_over("US", pushed.stored.receipts)
    assert hand_over is not None and hand_over.material is None  # the loop reads it itself
    runtime.handed_over(hand_over)
    assert pokes == [True] and not runtime.announcer.material  # no publisher: the watcher is poked
