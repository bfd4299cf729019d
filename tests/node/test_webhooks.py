"""The webhook sender: signed payloads, retries with backoff, and failures that stay visible."""

from __future__ import annotations

import httpx
import pytest

from parley.core.errors import VerificationError
from parley.node import webhooks
from parley.node.federation import peers
from parley.node.node import now_ms


def test_events_are_signed_delivered_once_and_recorded(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("US", "JP")["JP"]
    hook = webhooks.add(jp.store, "http://hooks.example/parley", ["peer.held"], now_ms())
    webhooks.add(jp.store, "http://hooks.example/other", ["observation"], now_ms())
    peers.hold(jp.store, "US", "two histories", node="JP", now=now_ms())
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(record))
    key = jp.log.key("http")
    assert webhooks.deliver_due(jp.store, key, client, now_ms()) == 1
    assert webhooks.deliver_due(jp.store, key, client, now_ms()) == 0  # delivered once
    (request,) = seen
    assert request.headers["parley-event"] == "peer.held"
    webhooks.verify_signature(key.public, request.content, request.headers["parley-signature"])
    assert b'"party":"US"' in request.content and b'"node":"JP"' in request.content
    tampered = request.content.replace(b"two", b"one")
    with pytest.raises(VerificationError):
        webhooks.verify_signature(key.public, tampered, request.headers["parley-signature"])
    (row,) = webhooks.outbox(jp.store)
    assert row["webhook"] == hook.id and row["status"] == "delivered" and row["attempts"] == 1


def test_failures_back_off_then_show_as_failed(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("US", "JP")["JP"]
    webhooks.add(jp.store, "http://hooks.example/down", [], now_ms())
    peers.hold(jp.store, "US", "fork", node="JP", now=now_ms())
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503, text="no")))
    key, now = jp.log.key("http"), now_ms()
    assert webhooks.deliver_due(jp.store, key, client, now) == 0
    (row,) = webhooks.outbox(jp.store)
    assert row["status"] == "pending" and row["attempts"] == 1 and "HTTP 503" in row["last_error"]
    assert row["next_attempt"] > now
    assert webhooks.deliver_due(jp.store, key, client, now) == 0  # not due yet: no retry
    assert webhooks.outbox(jp.store)[0]["attempts"] == 1
    later = now
    for _ in range(webhooks.MAX_ATTEMPTS):
        later += 4_000_000  # more than the longest backoff (an hour + 10% jitter)
        webhooks.deliver_due(jp.store, key, client, later)
    (row,) = webhooks.outbox(jp.store)
    assert row["status"] == "failed" and row["attempts"] == webhooks.MAX_ATTEMPTS


def test_observations_about_peers_are_announced(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    webhooks.add(jp.store, "http://hooks.example/obs", ["observation"], now_ms())
    us.append([kit.check(1)])
    source = kit.MemoryLog(us, "JP")
    from parley.node.federation.peer_client import Fetched
    from parley.node.federation.pull import pull

    source.items[3] = Fetched(source.items[3].leaf, None)
    pull(jp, kit.pin(jp, us), source)
    (row,) = webhooks.outbox(jp.store)
    assert row["event"] == "observation" and row["status"] == "pending"
