"""Pinning peers: membership from the policy, URLs that need TLS, and strict decoding of answers."""

from __future__ import annotations

import base64

import httpx
import pytest

from parley.core.errors import (
    ParleyError,
    PeerProtocolError,
    PeerRefusedError,
    PeerUnreachableError,
    PolicyError,
)
from parley.core.keys import SigningKey
from parley.node.federation import peers
from parley.node.federation.peer_client import (
    LogSource,
    check_url,
)
from parley.node.node import Node, now_ms


def test_a_party_outside_the_policy_is_refused(network, tmp_path) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    outsider = Node.create(tmp_path / "ru", party="RU", name="RU", network="parley-test")
    key = outsider.context().statement.identity.b64
    with pytest.raises(PolicyError, match="not a member"):
        peers.pin_peer(nodes["JP"], "http://127.0.0.1:9", "RU", key, None, now_ms())


def test_a_member_under_another_key_is_refused(network) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    wrong = SigningKey.generate().public.b64
    with pytest.raises(PolicyError, match="not its identity key"):
        peers.pin_peer(nodes["JP"], "http://127.0.0.1:9", "US", wrong, None, now_ms())


def test_a_node_does_not_pin_itself(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("US", "JP")["JP"]
    with pytest.raises(PolicyError, match="own party"):
        peers.pin_peer(
            jp, "http://127.0.0.1:9", "JP", jp.context().statement.identity.b64, None, now_ms()
        )


def test_an_unreachable_peer_is_not_pinned(network) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    key = nodes["US"].context().statement.identity.b64
    with pytest.raises(PeerUnreachableError):
        peers.pin_peer(nodes["JP"], "http://127.0.0.1:9", "US", key, None, now_ms())
    assert peers.list_peers(nodes["JP"].store) == []


@pytest.mark.parametrize(
    ("url", "pin", "words"),
    [
        ("http://cn.example:8700", None, "must use https"),
        ("https://cn.example:8700", None, "no certificate pin"),
        ("ftp://127.0.0.1", None, "not an http"),
        ("http://127.0.0.1:8700/fed/v1", None, "scheme, host and port only"),
    ],
)
def test_urls_off_this_machine_need_tls_and_a_pin(url: str, pin: str | None, words: str) -> None:
    with pytest.raises(ParleyError, match=words):
        check_url(url, pin)
    assert check_url("https://cn.example:8700/", "a" * 64) == "https://cn.example:8700"
    assert check_url("http://localhost:8700", None) == "http://localhost:8700"


def source(handler) -> LogSource:  # type: ignore[no-untyped-def]
    client = httpx.Client(base_url="http://peer", transport=httpx.MockTransport(handler))
    return LogSource(client, "/fed/v1", party="US", via="http://peer", author=True)


def test_endless_data_attack_more_entries_than_asked_is_refused() -> None:
    leaf = base64.b64encode(b"{}").decode()
    flood = {"entries": [{"leaf_input": leaf}] * 5}
    with pytest.raises(PeerProtocolError, match="malformed page"):
        source(lambda request: httpx.Response(200, json=flood)).entries(0, 1)


def test_malformed_bodies_and_proofs_are_refused() -> None:
    bad_salt = {"entries": [{"leaf_input": "e30=", "body": "e30=", "salt": "AAAA"}]}
    with pytest.raises(PeerProtocolError, match="salt"):
        source(lambda request: httpx.Response(200, json=bad_salt)).entries(0, 0)
    long_proof = {"consistency": [base64.b64encode(b"\0" * 32).decode()] * 65}
    with pytest.raises(PeerProtocolError, match="consistency"):
        source(lambda request: httpx.Response(200, json=long_proof)).consistency(3, 9)


def test_server_errors_are_unreachable_and_refusals_are_refusals() -> None:
    with pytest.raises(PeerUnreachableError):
        source(lambda request: httpx.Response(503, text="down")).get_sth()
    with pytest.raises(PeerRefusedError) as caught:
        source(lambda request: httpx.Response(404, json={"detail": "no log"})).get_sth()
    assert caught.value.status == 404 and "no log" in caught.value.message


def test_a_peer_dropped_from_the_policy_is_neither_authenticated_nor_pulled(network, kit) -> None:  # type: ignore[no-untyped-def]
    from parley.api.peer_auth import Authenticator
    from parley.core.policy import SignedPolicy
    from parley.node.federation.pull import sync_peer
    from parley.node.policies import draft_policy

    nodes = network("US", "JP", "KR")
    jp = nodes["JP"]
    kit.pin(jp, nodes["US"])
    assert {party for party, _key in Authenticator(jp).keys().values()} == {"US"}
    members = [
        {"party": p, "name": p, "identity": nodes[p].context().statement.identity.b64}
        for p in ("JP", "KR")
    ]
    document = draft_policy(
        network="parley-test", name="without US", members=members, created=now_ms(), version=3
    )
    signed = SignedPolicy(document, {})
    for party in ("JP", "KR"):
        signed.add(document.sign(party, nodes[party].identity()))
    jp.adopt_policy(signed)
    assert Authenticator(jp).keys() == {}
    with pytest.raises(PolicyError, match="not a member"):
        sync_peer(jp, "US")
