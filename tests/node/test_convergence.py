"""Nodes have converged only when each holds every log at its author's size and root."""

from __future__ import annotations

from typing import Any

from parley.core.deadlines import deadlines_for
from parley.core.entry import ALL
from parley.node import convergence
from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.node import Node


def sync(kit: Any, receiver: Node, author: Node) -> None:
    pinned = {p.party: p for p in peers.list_peers(receiver.store)}
    peer = pinned.get(author.party) or kit.pin(receiver, author)
    pull(receiver, peer, kit.MemoryLog(author, receiver.party))


def check(node: Node) -> Draft:
    body = {"nonce": "ab" * 16, "deadlines": deadlines_for(node.context().policy.document, "check")}
    return Draft("check", "Exercise", body, ALL, None)


def views(nodes: dict[str, Node]) -> dict[str, dict[str, tuple[int, bytes]]]:
    return {party: convergence.held(node) for party, node in nodes.items()}


def sync_all(kit: Any, nodes: dict[str, Node]) -> None:
    for a in nodes.values():
        for b in nodes.values():
            if a is not b:
                sync(kit, a, b)


def test_counts_differ_until_every_node_holds_every_log_at_its_author_s_size(  # type: ignore[no-untyped-def]
    network, kit
) -> None:
    nodes = network("US", "JP", "KR")
    sync_all(kit, nodes)
    assert convergence.behind(views(nodes)) == []
    assert len({convergence.entries_held(view) for view in views(nodes).values()}) == 1
    (sent,) = nodes["US"].append([check(nodes["US"])])
    sync(kit, nodes["JP"], nodes["US"])  # JP stores it and appends its delivered receipt
    lags = convergence.behind(views(nodes))
    assert {(lag.holder, lag.log) for lag in lags} == {("KR", "US"), ("KR", "JP"), ("US", "JP")}
    (us_at_kr,) = [lag for lag in lags if (lag.holder, lag.log) == ("KR", "US")]
    assert us_at_kr.describe() == f"KR holds US's log at {sent.seq} of {sent.seq + 1} entries"
    held = {p: convergence.entries_held(v) for p, v in views(nodes).items()}
    assert held["KR"] < held["US"] < held["JP"]
    for _round in range(2):  # KR's own receipt travels in the second round
        sync_all(kit, nodes)
    assert convergence.behind(views(nodes)) == []
    assert len({convergence.entries_held(view) for view in views(nodes).values()}) == 1


def test_a_log_nobody_else_holds_yet_is_named() -> None:
    root = bytes(32)
    lags = convergence.behind({"US": {"US": (3, root)}, "JP": {"JP": (2, root)}})
    assert [lag.describe() for lag in lags] == [
        "US does not hold JP's log yet",
        "JP does not hold US's log yet",
    ]
    other = convergence.behind({"US": {"US": (3, root)}, "JP": {"US": (3, b"x" * 32)}})
    assert [lag.describe() for lag in other] == ["JP holds US's log with another root at size 3"]
