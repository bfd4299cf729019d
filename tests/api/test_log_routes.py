"""One RFC 6962 router mounted twice: the own log at ``/fed/v1`` and every held log as a mirror.

Two real nodes run in this process (Starlette's ``TestClient``, no lifespan). JP pulls US's log
through US's own app, signed as JP, so JP holds US's log as a mirror. The same party's log then
answers alike wherever it is served: JP's own routes and JP's mirror of JP, US's own routes and
JP's mirror of US, byte for byte, errors included.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.core import merkle
from parley.node.federation import peers
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.peer_client import author_source
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy
from parley.store import logs

NETWORK = "parley-test"


@dataclass
class Pair:
    """US and JP, each with its app's clients: anonymous, and signed by the other node."""

    us: Node
    jp: Node
    us_anonymous: TestClient
    jp_anonymous: TestClient
    jp_signed_by_us: TestClient
    us_signed_by_jp: TestClient


def _pin(receiver: Node, author: Node, url: str) -> peers.Peer:
    with author.store.read() as conn:
        first = logs.get_entry(conn, author.party, 0)
    assert first is not None and first.body is not None and first.salt is not None
    from parley.core.entry import Body

    statement = Body(first.salt, first.body).value()
    identity = author.context().statement.identity
    return peers.store_pin(receiver.store, author.party, url, identity, None, statement, now_ms())


def _clients(node: Node, signer: Node) -> tuple[TestClient, TestClient]:
    app = create_app(node)
    app.state.published = node.checkpoint()  # what the lifespan's watcher would publish
    app.state.authenticator.limiter = AnonymousLimiter(rate=1e9, burst=1e9)
    base = f"http://{node.config.host}:{node.config.port}"
    anonymous = TestClient(app, base_url=base, raise_server_exceptions=False)
    signed = TestClient(
        app, base_url=base, raise_server_exceptions=False, headers={"Parley-To": node.party}
    )
    signed.auth = RequestSigner(signer.log.key("http"))
    return anonymous, signed


def _check(n: int, to: str | tuple[str, ...], tlp: str | None) -> Draft:
    return Draft("check", "Exercise", {"nonce": f"{n:032x}", "deadlines": {}}, to, tlp)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    folder: Path = tmp_path_factory.mktemp("routes")
    us, jp = (
        Node.create(folder / p.lower(), party=p, name=f"{p} centre", network=NETWORK)
        for p in ("US", "JP")
    )
    members = members_of([us, jp])
    document = draft_policy(
        network=NETWORK, name="routes", members=members, created=now_ms(), version=2
    )
    adopt_by_all([us, jp], document)
    us.append(
        [
            _check(1, "ALL", "CLEAR"),
            _check(2, ("JP",), "AMBER"),
            _check(3, "ALL", "GREEN"),
            _check(4, ("JP",), "RED"),
        ]
    )
    jp.append([_check(5, ("US",), "AMBER"), _check(6, "ALL", "CLEAR")])
    us_anonymous, us_signed_by_jp = _clients(us, jp)
    jp_anonymous, jp_signed_by_us = _clients(jp, us)
    _pin(us, jp, str(jp_anonymous.base_url))
    peer = _pin(jp, us, str(us_anonymous.base_url))
    pull(jp, peer, author_source(us_signed_by_jp, "US", str(us_anonymous.base_url)))
    assert isinstance(jp_anonymous.app, FastAPI)
    jp_anonymous.app.state.published = jp.checkpoint()  # JP's receipts of what it pulled
    yield Pair(us, jp, us_anonymous, jp_anonymous, jp_signed_by_us, us_signed_by_jp)
    us.close()
    jp.close()


def _requests(node: Node) -> list[tuple[str, dict[str, object]]]:
    """The four routes with valid, out-of-range and malformed parameters for ``node``'s log."""
    size = node.size()
    with node.store.read() as conn:
        first = logs.get_entry(conn, node.party, 1)
    assert first is not None
    leaf = base64.b64encode(first.leaf_hash).decode()
    absent = base64.b64encode(merkle.leaf_hash(b"absent")).decode()
    return [
        ("/get-sth", {}),
        ("/get-sth-consistency", {"first": 1, "second": size}),
        ("/get-sth-consistency", {"first": 0, "second": size}),
        ("/get-sth-consistency", {"first": 2, "second": size + 1}),
        ("/get-sth-consistency", {"first": 3, "second": 2}),
        ("/get-sth-consistency", {"first": -1, "second": 2}),
        ("/get-proof-by-hash", {"hash": leaf, "tree_size": size}),
        ("/get-proof-by-hash", {"hash": leaf, "tree_size": 1}),
        ("/get-proof-by-hash", {"hash": leaf, "tree_size": size + 1}),
        ("/get-proof-by-hash", {"hash": absent, "tree_size": size}),
        ("/get-proof-by-hash", {"hash": "!" * 44, "tree_size": size}),
        ("/get-proof-by-hash", {"hash": "x", "tree_size": size}),
        ("/get-entries", {"start": 0, "end": size - 1}),
        ("/get-entries", {"start": 1, "end": 10_000}),
        ("/get-entries", {"start": size, "end": size}),
        ("/get-entries", {"start": 2, "end": 1}),
        ("/get-entries", {"start": "x", "end": 1}),
    ]


def _same(
    own: TestClient, mirror: TestClient, own_prefix: str, mirror_prefix: str, node: Node
) -> int:
    """Every request answers byte for byte alike at both prefixes; the number answered 200."""
    ok = 0
    for path, params in _requests(node):
        a = own.get(own_prefix + path, params=params)
        b = mirror.get(mirror_prefix + path, params=params)
        where = (path, params)
        assert (a.status_code, a.headers["content-type"]) == (
            b.status_code,
            b.headers["content-type"],
        ), where
        assert a.content == b.content, where
        ok += a.status_code == 200
    return ok


def test_the_own_log_and_its_mirror_on_the_same_node_answer_alike(pair: Pair) -> None:
    for client in (pair.jp_anonymous, pair.jp_signed_by_us):
        ok = _same(client, client, "/fed/v1", "/fed/v1/mirror/JP", pair.jp)
        assert ok == 6  # the rest are the same problems


def test_an_authors_log_and_a_peers_mirror_of_it_answer_alike(pair: Pair) -> None:
    assert _same(pair.us_anonymous, pair.jp_anonymous, "/fed/v1", "/fed/v1/mirror/US", pair.us)


def test_the_mirror_serves_a_peer_the_bodies_it_may_read_and_no_more(pair: Pair) -> None:
    size = pair.us.size()
    params = {"start": 0, "end": size - 1}
    anonymous = pair.jp_anonymous.get("/fed/v1/mirror/US/get-entries", params=params).json()
    as_us = pair.jp_signed_by_us.get("/fed/v1/mirror/US/get-entries", params=params).json()
    own = pair.us_signed_by_jp.get("/fed/v1/get-entries", params=params).json()
    bodies = [sum("body" in item for item in doc["entries"]) for doc in (anonymous, as_us, own)]
    assert bodies[0] < bodies[1]  # the author reads its own bodies, an auditor ALL + CLEAR only
    assert bodies[2] == size  # JP reads all of US's: ALL, or addressed to JP
    assert all("body" in item for item in as_us["entries"] if "salt" in item)


def test_a_log_not_held_or_a_bad_party_is_a_problem_and_public_key_is_the_own_logs(
    pair: Pair,
) -> None:
    missing = pair.jp_anonymous.get("/fed/v1/mirror/KR/get-sth")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "this node holds no checkpoint of KR's log"
    bad = pair.jp_anonymous.get("/fed/v1/mirror/jp/get-entries", params={"start": 0, "end": 0})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/bad-request")
    assert pair.jp_anonymous.get("/fed/v1/mirror/JP/public-key").status_code == 404
    assert pair.jp_anonymous.get("/fed/v1/public-key").json()["party"] == "JP"
