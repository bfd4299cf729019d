"""Builders for the protocol-core tests: keys, policies, whole logs and entry proofs.

``CoreLog`` writes a log with core functions only (``sign_header``, ``merkle``,
``sign_checkpoint``), exactly as ``parley.node.log.LocalLog`` does but in memory, so attack
tests can bend any rule on purpose (a retired key, a backwards clock, a forged checkpoint).
``real_node`` builds a real node with ``Node.create`` in a temporary folder (SQLite), for the
tests that check what real logs and real entry proofs look like.

Test modules reach these builders through fixtures, never by importing this file.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, origin_for, sign_checkpoint
from parley.core.entry import SALT_SIZE, Audience, Body, Header, resolve_sharing, sign_header
from parley.core.keys import PURPOSES, KeyStatement, SigningKey, commitment
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.node.home import write_key_file
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import logs

NETWORK = "parley-test"
T0 = 1_750_000_000_000
PROOF_FORMAT = "parley-entry-proof"


def policy_dict(
    members: Sequence[tuple[str, SigningKey]], *, network: str = NETWORK, **changes: Any
) -> dict[str, Any]:
    """A valid policy document (as a dict) for ``members`` (party, identity key), sorted."""
    bound = {"default": 60_000, "min": 6_000, "max": 240_000}
    doc: dict[str, Any] = {
        "v": 1,
        "network": network,
        "name": f"{network} policy",
        "version": 1,
        "created": T0 - 1,
        "members": [
            {"party": party, "name": f"{party} crisis centre", "identity": key.public.b64}
            for party, key in sorted(members, key=lambda m: m[0])
        ],
        "deadlines": {
            "nuclear": {"delivered_within": dict(bound), "acknowledged_within": dict(bound)},
        },
        "human_ack": ["nuclear"],
        "quotas": {
            "entries_per_minute": 600,
            "bytes_per_minute": 64 * 1024 * 1024,
            "addressed_per_minute": 300,
        },
        "limits": {"header_bytes": 4096, "body_bytes": 16 * 1024 * 1024},
        "witness_quorum": 0,
        "witnesses": [],
        "skew_tolerance_ms": 30_000,
        "check_interval_ms": 86_400_000,
        "regime": {"launch_notice_lead_ms": 86_400_000},
    }
    doc.update(changes)
    return doc


def signed_policy(
    members: Sequence[tuple[str, SigningKey]], *, network: str = NETWORK, **changes: Any
) -> SignedPolicy:
    """A policy signed by every member."""
    document = PolicyDocument.from_dict(policy_dict(members, network=network, **changes))
    signed = SignedPolicy(document, {})
    for party, key in members:
        signed.add(document.sign(party, key))
    return signed


def check_body(nonce: int = 0) -> dict[str, Any]:
    """A valid ``check`` body (the smallest addressed kind)."""
    return {"nonce": f"{nonce:032x}", "deadlines": {"delivered_within": 60_000}}


class CoreLog:
    """One author's log built in memory with core functions, entry by entry.

    The builder keeps the author's keys so a test can rotate them (``rotate_log_key``,
    ``rotate_identity``) or sign with a key it should not use (``append(log_key=...)``).
    """

    def __init__(
        self,
        party: str = "JP",
        network: str = NETWORK,
        *,
        others: Sequence[tuple[str, SigningKey]] = (),
        time: int = T0,
        **policy_changes: Any,
    ) -> None:
        self.party = party
        self.network = network
        self.origin = origin_for(network, party)
        self.identity = SigningKey.generate()
        self.next_identity = SigningKey.generate()
        self.keys = {purpose: SigningKey.generate() for purpose in PURPOSES}
        self.statement = KeyStatement(
            party=party,
            seq=0,
            identity=self.identity.public,
            purposes={p: k.public for p, k in self.keys.items()},
            next_identity=commitment(self.next_identity.public.raw),
        )
        self.members = [(party, self.identity), *others]
        self.policy = signed_policy(self.members, network=network, **policy_changes)
        self.time = time
        self.headers: list[Header] = []
        self.bodies: list[Body] = []
        self.nodes: dict[merkle.NodeId, bytes] = {}
        self.notes: list[str] = []
        self.append("key", self.statement.signed_body(self.identity))
        self.append("policy", self.policy.to_body())

    @property
    def size(self) -> int:
        return len(self.headers)

    def append(
        self,
        kind: str = "check",
        body: Any = None,
        *,
        status: str = "Actual",
        audience: Audience | None = None,
        tlp: str | None = None,
        time: int | None = None,
        log_key: SigningKey | None = None,
        policy: str | None = None,
        node: str | None = None,
        seq: int | None = None,
        network: str | None = None,
        party: str | None = None,
    ) -> Header:
        """Sign and append one entry; keyword arguments override what an honest author does."""
        if body is None:
            body = check_body(self.size)
        if kind == "key":
            self.statement = KeyStatement.from_body(body)
        elif kind == "policy":
            self.policy = SignedPolicy.from_body(body)
        audience, tlp = resolve_sharing(kind, audience, tlp)
        sealed = Body.seal(body, os.urandom(SALT_SIZE))
        # An explicit time (a forgery, a clock going backwards) does not move the log's clock.
        stamp = self.time if time is None else time
        self.time = max(self.time, stamp) + 1
        header = sign_header(
            network=network or self.network,
            policy=policy or self.policy.hash,
            party=party or self.party,
            node=node or self.statement.identity.kid,
            seq=self.size if seq is None else seq,
            time=stamp,
            kind=kind,
            status=status,
            audience=audience,
            tlp=tlp,
            body=sealed,
            log_key=log_key or self.keys["log"],
        )
        self.add_leaf(header, sealed)
        return header

    def add_leaf(self, header: Header, body: Body) -> None:
        """Put an already signed header (honest or not) into the tree at the next position."""
        completed = merkle.append_leaf(
            self.size, merkle.leaf_hash(header.leaf), self.nodes.__getitem__
        )
        self.nodes.update(completed)
        self.headers.append(header)
        self.bodies.append(body)

    def extend(self, count: int) -> None:
        for _ in range(count):
            self.append()

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return merkle.hash_of_nodes([self.nodes[n] for n in merkle.range_nodes(0, size)])

    def get_nodes(self, ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        return {nid: self.nodes[nid] for nid in ids}

    def checkpoint(
        self,
        size: int | None = None,
        *,
        time: int | None = None,
        key: SigningKey | None = None,
        root: bytes | None = None,
        origin: str | None = None,
    ) -> str:
        """Sign a checkpoint note (by the current log key unless told) and keep it."""
        size = self.size if size is None else size
        stamp = self.headers[size - 1].time if time is None else time
        origin = origin or self.origin
        cp = Checkpoint(origin, size, self.root(size) if root is None else root, stamp)
        note = sign_checkpoint(cp, origin, (key or self.keys["log"]).private)
        self.notes.append(note)
        return note

    def items(self, *, bodies: bool = True) -> list[tuple[bytes, Body | None]]:
        """(leaf, body) in seq order; without ``bodies`` only key and policy entries keep theirs."""
        return [
            (h.leaf, b if bodies or h.kind in ("key", "policy") else None)
            for h, b in zip(self.headers, self.bodies, strict=True)
        ]

    def rotate_log_key(self) -> SigningKey:
        """Certify a new ``log`` key under the same identity; return the retired one."""
        retired, self.keys["log"] = self.keys["log"], SigningKey.generate()
        statement = KeyStatement(
            party=self.party,
            seq=len(self.headers),
            identity=self.identity.public,
            purposes={p: k.public for p, k in self.keys.items()},
            next_identity=self.statement.next_identity,
        )
        self.append("key", statement.signed_body(self.identity))
        return retired

    def rotate_identity(self, new: SigningKey | None = None) -> SigningKey:
        """Rotate the identity to the committed next key (or ``new``); return the old one."""
        old, new = self.identity, new or self.next_identity
        self.next_identity = SigningKey.generate()
        statement = KeyStatement(
            party=self.party,
            seq=len(self.headers),
            identity=new.public,
            purposes={p: k.public for p, k in self.keys.items()},
            next_identity=commitment(self.next_identity.public.raw),
            previous_identity=old.public,
        )
        self.identity = new
        self.append("key", statement.signed_body(new, old))
        return old

    def record(self, seq: int, size: int, *, with_body: bool = True) -> dict[str, Any]:
        header, body = self.headers[seq], self.bodies[seq]
        record: dict[str, Any] = {"seq": seq, "leaf": b64(header.leaf)}
        if with_body:
            record["body"], record["salt"] = b64(body.data), b64(body.salt)
        path = merkle.inclusion_proof(seq, size, self.get_nodes)
        record["inclusion"] = [b64(h) for h in path]
        return record

    def proof(self, seq: int, *, note: str | None = None, with_body: bool = True) -> dict[str, Any]:
        """An entry proof in the shape ``parley.node.export.build_proof`` writes."""
        note = note or self.checkpoint()
        size = int(note.split("\n")[1])
        history = [
            self.record(h.seq, size) for h in self.headers[:size] if h.kind in ("key", "policy")
        ]
        return {
            "format": PROOF_FORMAT,
            "v": 1,
            "ref": f"{self.party}:{seq}",
            "checkpoint": note,
            "entry": self.record(seq, size, with_body=with_body),
            "history": history,
        }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="session")
def new_log() -> Callable[..., CoreLog]:
    """Factory of in-memory logs: ``new_log(party="JP", others=[...], **policy_changes)``."""
    return CoreLog


@pytest.fixture(scope="session")
def make_policy_dict() -> Callable[..., dict[str, Any]]:
    return policy_dict


@pytest.fixture(scope="session")
def make_signed_policy() -> Callable[..., SignedPolicy]:
    return signed_policy


@pytest.fixture(scope="session")
def make_check_body() -> Callable[[int], dict[str, Any]]:
    return check_body


@pytest.fixture
def real_node(tmp_path: Path) -> Iterator[Node]:
    """A real node (``Node.create``, SQLite) whose log holds a few ordinary entries.

    seq 0 key statement, seq 1 policy, seq 2-4 checks to ALL, seq 5 a hotline to KR (AMBER).
    """
    node = Node.create(tmp_path / "jp", party="JP", name="Japan", network=NETWORK)
    try:
        for nonce in range(3):
            node.append([Draft("check", "Test", check_body(nonce))])
        hotline = {"to": "KR", "text": "Do you read us?", "deadlines": {}}
        node.append([Draft("hotline", "Exercise", hotline, audience=("KR",))])
        yield node
    finally:
        node.close()


def read_real_log(node: Node) -> tuple[list[tuple[bytes, Body | None]], list[str]]:
    """A node's own log as ``verify_log`` takes it: (leaf, body) in seq order, and its notes."""
    with node.store.read() as conn:
        items = [
            (s.leaf, None if s.body is None else Body(s.salt or b"", s.body))
            for s in logs.iter_log(conn, node.party)
        ]
        notes = logs.all_checkpoints(conn, node.party)
    return items, notes


def rotate_real_log_key(node: Node) -> SigningKey:
    """Rotate the node's ``log`` key as an administrator would: new key file, then statement."""
    new = SigningKey.generate()
    path = node.home.key_path("log")
    path.unlink()
    write_key_file(path, new, None)
    current = node.context().statement
    identity = node.identity()

    def statement(seq: int) -> dict[str, Any]:
        return KeyStatement(
            party=current.party,
            seq=seq,
            identity=current.identity,
            purposes={**current.purposes, "log": new.public},
            next_identity=current.next_identity,
        ).signed_body(identity)

    node.append([Draft("key", "Actual", statement)])
    return new


@pytest.fixture(scope="session")
def real_log() -> Callable[[Node], tuple[list[tuple[bytes, Body | None]], list[str]]]:
    return read_real_log


@pytest.fixture(scope="session")
def rotate_node_log_key() -> Callable[[Node], SigningKey]:
    return rotate_real_log_key
