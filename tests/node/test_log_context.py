"""The key statement and policy a node acts under are parsed once, and follow every change."""

from __future__ import annotations

from parley.node import keyrotation
from parley.node.home import no_passphrase
from parley.node.node import Node, now_ms


def context_of(node: Node):  # type: ignore[no-untyped-def]
    with node.store.read() as conn:
        return node.log.context(conn, node.size())


def test_a_grown_log_keeps_the_parsed_context(network, kit) -> None:  # type: ignore[no-untyped-def]
    us = network("US", "JP")["US"]
    first = context_of(us)
    with us.store.write() as conn:  # as ingest appends receipts inside its own transaction
        us.log.append_in(conn, [kit.check(1)], now_ms())
    us.append([kit.check(2)])
    assert context_of(us) is first


def test_a_key_rotated_by_another_process_is_seen_at_once(network, tmp_path) -> None:  # type: ignore[no-untyped-def]
    us = network("US", "JP")["US"]
    before = context_of(us).statement.purposes["log"]
    other = Node.open(tmp_path / "us")  # e.g. 'parley key rotate' while the server runs
    try:
        keyrotation.rotate_purpose(other, no_passphrase, "log", now_ms())
    finally:
        other.close()
    after = context_of(us).statement.purposes["log"]
    assert after != before
    reopened = Node.open(tmp_path / "us")
    try:
        assert after == reopened.log.key("log").public
    finally:
        reopened.close()
