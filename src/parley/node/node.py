"""A node: its home, its database, its keys and its own log, opened together.

``Node.create`` makes a node home (``parley init``): it writes the identity key, the next
identity key (pre-rotation, for offline storage), the purpose keys, the configuration, the
database schema, and the first two entries of the log: the key statement (seq 0) and a
single-member network policy (seq 1). The home is made 0700 and its files 0600.
``Node.open`` opens an existing home and refuses a home folder or SQLite database that other
users could read, keys with loose permissions, a wrong passphrase, or a database that is not a
Parley database.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Connection

from parley.core.checkpoint import deployment_origin
from parley.core.entry import Header, format_ref
from parley.core.errors import ConflictError, PolicyError
from parley.core.keys import PURPOSES, KeyStatement, SigningKey, commitment
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.node.home import (
    DEFAULT_PORT,
    NodeConfig,
    NodeHome,
    PassphraseSource,
    check_urls,
    database_to_write,
    no_passphrase,
    write_key_file,
)
from parley.node.log import Draft, LocalLog, LogContext, read_context
from parley.node.policies import draft_policy
from parley.store import logs
from parley.store.engine import Store

DEFAULT_NETWORK = "parley-local"


def now_ms() -> int:
    """The node's clock: integer milliseconds UTC (read at the edges, passed into core)."""
    return _time.time_ns() // 1_000_000


class Node:
    """An open node: configuration, store and own log."""

    def __init__(self, home: NodeHome, config: NodeConfig, passphrase: PassphraseSource) -> None:
        self.home = home
        self.config = config
        self.store = Store(config.database)
        self._passphrase = passphrase
        self.log = LocalLog(
            self.store,
            config.party,
            config.network,
            lambda p: home.load_key(p, passphrase),
            origin=config.origin,
        )

    @property
    def party(self) -> str:
        """The party code of this node, from ``parley.toml``."""
        return self.config.party

    @property
    def network(self) -> str:
        """The network this node's log belongs to."""
        return self.config.network

    @classmethod
    def open(cls, path: Path, passphrase: PassphraseSource = no_passphrase) -> Node:
        """Open the node whose home is ``path``, refusing a loose home or an unmigrated database."""
        home = NodeHome(path)
        config = home.load_config()
        home.check_private(config)
        node = cls(home, config, passphrase)
        node.store.check()
        return node

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        party: str,
        name: str,
        network: str = DEFAULT_NETWORK,
        database: str | None = None,
        passphrase: bytes | None = None,
        port: int | None = None,
        urls: Sequence[str] = (),
    ) -> Node:
        """Create a node home at ``path``; ``urls`` default to ``https://127.0.0.1:PORT``."""
        home = NodeHome(path)
        port = port or DEFAULT_PORT
        keys = {purpose: SigningKey.generate() for purpose in ("identity", *PURPOSES)}
        next_identity = SigningKey.generate()
        written = NodeConfig(
            party=party,
            name=name,
            network=network,
            database=database_to_write(database),
            port=port,
            urls=check_urls(list(urls) or [f"https://127.0.0.1:{port}"]),
            origin=deployment_origin(network, party, keys["identity"].public.kid),
        )
        home.create(written)
        config = home.load_config()  # the database resolved against the home
        for purpose, key in keys.items():
            write_key_file(home.key_path(purpose), key, passphrase)
        write_key_file(home.next_identity_path, next_identity, passphrase)
        node = cls(home, config, lambda _p: passphrase)
        node.store.migrate()
        with node.store.read() as conn:
            if logs.get_state(conn, party) is not None:
                raise ConflictError(f"the database {config.database} already holds a log")
        statement = KeyStatement(
            party=party,
            seq=0,
            identity=keys["identity"].public,
            purposes={p: keys[p].public for p in PURPOSES},
            next_identity=commitment(next_identity.public.raw),
        )
        created = now_ms()
        document = draft_policy(
            network=network,
            name=f"{name} (single-member policy)",
            members=[{"party": party, "name": name, "identity": keys["identity"].public.b64}],
            created=created,
            witness_quorum=0,
        )
        policy = SignedPolicy(document, {})
        policy.add(document.sign(party, keys["identity"]))
        node.log.append(
            [
                Draft("key", "Actual", statement.signed_body(keys["identity"])),
                Draft("policy", "Actual", policy.to_body()),
            ],
            created,
            bootstrap=(statement, policy),
        )
        return node

    def context(self) -> LogContext:
        """The key statement and policy in force in this node's log; ``PolicyError`` before both."""
        with self.store.read() as conn:
            context = read_context(conn, self.party)
        if context is None:
            raise PolicyError(f"the log of {self.party} has no key statement and policy yet")
        return context

    def policy_in(self, conn: Connection) -> PolicyDocument:
        """The policy in force at this node, read in ``conn`` (cached by the log per size)."""
        state = logs.get_state(conn, self.party)
        context = self.log.context(conn, 0 if state is None else state.size)
        if context is None:
            return self.context().policy.document
        return context.policy.document

    def append(self, drafts: Sequence[Draft], now: int | None = None) -> list[Header]:
        """Sign and append ``drafts`` to this node's log, durably; their headers."""
        return self.log.append(drafts, now_ms() if now is None else now)

    def checkpoint(self) -> tuple[int, str] | None:
        """The newest checkpoint of this node's own log: (size, signed note); None before any."""
        with self.store.read() as conn:
            return logs.latest_checkpoint(conn, self.party)

    def size(self) -> int:
        """The number of entries in this node's own log."""
        with self.store.read() as conn:
            state = logs.get_state(conn, self.party)
        return 0 if state is None else state.size

    def identity(self) -> SigningKey:
        """The node's identity key, read from its file (it signs policies and key statements)."""
        return self.home.load_key("identity", self._passphrase)

    def adopt_policy(self, signed: SignedPolicy) -> Header:
        """Append a fully signed policy; from then on every header names its hash."""
        signed.verify_complete()
        document: PolicyDocument = signed.document
        if document.network != self.network:
            raise PolicyError(
                f"the policy is for network {document.network}; this node's log belongs to "
                f"{self.network}",
                hint="a log never changes network: create a node for the other network",
            )
        document.member(self.party)
        current = self.context().policy.document
        if document.version <= current.version:
            raise PolicyError(
                f"policy version {document.version} is not newer than {current.version}"
            )
        (header,) = self.append([Draft("policy", "Actual", signed.to_body())])
        return header

    def ref(self, seq: int) -> str:
        """The ``PARTY:SEQ`` name of entry ``seq`` of this node's log."""
        return format_ref(self.party, seq)

    def close(self) -> None:
        """Release the database connections."""
        self.store.dispose()


def members_of(nodes: Iterable[Node]) -> list[dict[str, str]]:
    """The policy's member list of nodes held on this machine, under their own names."""
    return [
        {
            "party": node.party,
            "name": node.config.name,
            "identity": node.context().statement.identity.b64,
        }
        for node in nodes
    ]


def adopt_by_all(nodes: Iterable[Node], document: PolicyDocument) -> SignedPolicy:
    """Sign ``document`` by every one of ``nodes`` and adopt it at each.

    For a network whose members all run on one machine (the demo, an exercise, tests,
    benches); members of a real network sign with ``parley policy sign`` on their own nodes.
    """
    held = list(nodes)
    signed = SignedPolicy(document, {})
    for node in held:
        signed.add(document.sign(node.party, node.identity()))
    for node in held:
        node.adopt_policy(signed)
    return signed
