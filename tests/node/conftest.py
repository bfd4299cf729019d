"""Builders for the federation tests: real nodes under one policy, and hostile log sources.

``network`` creates real nodes (``Node.create``, SQLite in a temporary folder) that all sign and
adopt one policy. ``MemoryLog`` is a copy of one node's log, served the way ``LogSource`` serves
a peer's log over HTTP (``get_sth``, ``consistency``, ``entries``), that a test can bend on
purpose: replace an entry, drop a body, re-sign a checkpoint over a rewritten history. It signs
with the author's real keys, so only the rules of ingest can tell a forgery from the original.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, sign_checkpoint
from parley.core.entry import SALT_SIZE, Body, Header, parse_header, sign_header
from parley.core.policy import PolicyDocument
from parley.node.federation import peers
from parley.node.federation.peer_client import Fetched, LogSource
from parley.node.log import Draft
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy
from parley.store import logs

NETWORK = "parley-test"

# The ``network`` fixture: ``network("US", "JP", quotas=..., databases=...)`` builds real nodes.
Network = Callable[..., dict[str, Node]]


def make_network(
    folder: Path,
    parties: tuple[str, ...],
    quotas: dict[str, int] | None = None,
    databases: dict[str, str] | None = None,
) -> dict[str, Node]:
    nodes = {
        p: Node.create(
            folder / p.lower(),
            party=p,
            name=f"{p} centre",
            network=NETWORK,
            database=(databases or {}).get(p),
        )
        for p in parties
    }
    document = draft_policy(
        network=NETWORK,
        name="test network",
        members=members_of(nodes.values()),
        created=now_ms(),
        version=2,
        deadline_scale=0.01,
    )
    if quotas is not None:
        document = PolicyDocument.from_dict({**document.to_dict(), "quotas": quotas})
    adopt_by_all(nodes.values(), document)
    return nodes


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    made: list[Node] = []

    def factory(
        *parties: str,
        quotas: dict[str, int] | None = None,
        databases: dict[str, str] | None = None,
    ) -> dict[str, Node]:
        nodes = make_network(tmp_path, parties, quotas, databases)
        made.extend(nodes.values())
        return nodes

    yield factory
    for node in made:
        node.close()


def pin(receiver: Node, author: Node, url: str = "http://127.0.0.1:9") -> peers.Peer:
    """Pin ``author`` at ``receiver`` without a network (the statement is read from its log)."""
    with author.store.read() as conn:
        first = logs.get_entry(conn, author.party, 0)
    assert first is not None and first.body is not None and first.salt is not None
    body = Body(first.salt, first.body).value()
    identity = author.context().statement.identity
    return peers.store_pin(receiver.store, author.party, url, identity, None, body, now_ms())


def check(n: int, to: Any = "ALL") -> Draft:
    return Draft("check", "Exercise", {"nonce": f"{n:032x}", "deadlines": {}}, to, None)


def hotline(to: str, text: str) -> Draft:
    body = {"to": to, "text": text, "deadlines": {"acknowledged_within": 3000}}
    return Draft("hotline", "Exercise", body, (to,), "AMBER")


class MemoryLog(LogSource):
    """One party's log as a (possibly hostile) source would serve it to ``reader``.

    A ``LogSource`` answered from memory: it overrides ``describe`` and the three requests
    (``get_sth``, ``consistency``, ``entries``), so it has no HTTP ``client`` and does not run
    ``LogSource.__init__``; it sets the attributes ``pull`` reads (``party``, ``via``,
    ``author``, ``recognised_as``) itself.
    """

    def __init__(self, author: Node, reader: str | None, *, from_author: bool = True) -> None:
        self.node = author
        self.party = author.party
        self.via = f"memory:{author.party}"
        self.author = from_author  # LogSource.author: served by the author itself
        self.recognised_as = reader  # LogSource.recognised_as: whom the server authenticated
        self.log_key = author.log.key("log")
        self.origin = author.log.origin  # the origin the author chose at init
        with author.store.read() as conn:
            stored = list(logs.iter_log(conn, author.party))
        self.items: list[Fetched] = []
        for entry in stored:
            header = parse_header(entry.leaf)
            body = None
            if entry.body is not None and entry.salt is not None and header.readable_by(reader):
                body = Body(entry.salt, entry.body)
            self.items.append(Fetched(entry.leaf, body))
        self.time = max(parse_header(item.leaf).time for item in self.items)
        self.size = len(self.items)
        self.requests: list[str] = []

    def describe(self) -> str:
        return f"{self.party}'s log in memory"

    def _nodes(self, size: int) -> dict[merkle.NodeId, bytes]:
        nodes: dict[merkle.NodeId, bytes] = {}
        for index, item in enumerate(self.items[:size]):
            nodes.update(merkle.append_leaf(index, merkle.leaf_hash(item.leaf), nodes.__getitem__))
        return nodes

    def root(self, size: int) -> bytes:
        nodes = self._nodes(size)
        return merkle.hash_of_nodes([nodes[n] for n in merkle.range_nodes(0, size)])

    def note(self, size: int | None = None, time: int | None = None) -> str:
        size = self.size if size is None else size
        checkpoint = Checkpoint(self.origin, size, self.root(size), time or self.time)
        return sign_checkpoint(checkpoint, self.origin, self.log_key.private)

    # The LogSource interface ------------------------------------------------------------
    def get_sth(self) -> str:
        self.requests.append("get-sth")
        return self.note()

    def consistency(self, first: int, second: int) -> list[bytes]:
        self.requests.append(f"consistency {first} {second}")
        nodes = self._nodes(second)
        return merkle.consistency_proof(first, second, lambda ids: {i: nodes[i] for i in ids})

    def entries(self, start: int, end: int) -> list[Fetched]:
        self.requests.append(f"entries {start} {end}")
        return self.items[start : min(end, self.size - 1) + 1]

    # Bending the log ---------------------------------------------------------------------
    def forge(self, seq: int, *, body: Any = None, **changes: Any) -> Header:
        """Replace entry ``seq`` by a validly signed one with other fields (and body)."""
        old = parse_header(self.items[seq].leaf)
        sealed = Body.seal(
            body if body is not None else {"nonce": "f" * 32, "deadlines": {}},
            os.urandom(SALT_SIZE),
        )
        fields: dict[str, Any] = {
            "network": old.network,
            "policy": old.policy,
            "party": old.party,
            "node": old.node,
            "seq": old.seq,
            "time": old.time,
            "kind": old.kind,
            "status": old.status,
            "audience": old.audience,
            "tlp": old.tlp,
        }
        fields.update(changes)
        header = sign_header(**fields, body=sealed, log_key=self.log_key)
        self.items[seq] = Fetched(header.leaf, sealed)
        return header


class Kit:
    """The builders above, handed to tests through the ``kit`` fixture."""

    make_network = staticmethod(make_network)
    pin = staticmethod(pin)
    check = staticmethod(check)
    hotline = staticmethod(hotline)
    MemoryLog = MemoryLog


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
