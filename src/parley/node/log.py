"""Appending to the node's own log: sign, hash, store and checkpoint in one durable commit.

An append runs entirely under the single-writer lock (``Store.write``): it reads the log state,
assigns seq and time (never earlier than the previous entry), seals each body with a fresh salt,
signs each header with the ``log`` key in force, computes the leaf and the new perfect-subtree
hashes from the cached frontier, signs a C2SP checkpoint for the new size, and commits header,
body, leaf hash, subtree hashes, checkpoint and log state together. Only when the commit has
returned (WAL, synchronous=FULL) is the entry reported as appended.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, origin_for, sign_checkpoint
from parley.core.entry import SALT_SIZE, Audience, Body, Header, resolve_sharing, sign_header
from parley.core.errors import StoreError
from parley.core.keys import KeyStatement, SigningKey
from parley.core.policy import SignedPolicy
from parley.node.taxii import index as taxii_index
from parley.store import logs
from parley.store.engine import Store, Writing

Marks = tuple[tuple[int, bytes], ...]  # (seq, leaf hash) of a log's key and policy entries


@dataclass(frozen=True)
class Draft:
    """An entry before it is signed: what the author wants to say, and to whom.

    ``body`` may be a function of the seq the entry will stand at: key statements name their
    own position, which is known only under the single-writer lock.
    """

    kind: str
    status: str
    body: Any
    audience: Audience | None = None
    tlp: str | None = None


@dataclass
class LogContext:
    """The key statement and policy in force, read back from the log itself."""

    statement: KeyStatement
    policy: SignedPolicy


def read_context(conn: Connection, party: str) -> LogContext | None:
    """The key statement and policy in force in ``party``'s log; None before both are in it."""
    statement = policy = None
    for stored in logs.key_and_policy_entries(conn, party):
        value = Body(stored.salt or b"", stored.body or b"").value()
        if stored.kind == "key":
            statement = KeyStatement.from_body(value)
        else:
            policy = SignedPolicy.from_body(value)
    if statement is None or policy is None:
        return None
    return LogContext(statement, policy)


class LocalLog:
    """The author side of one node's log."""

    def __init__(
        self,
        store: Store,
        party: str,
        network: str,
        key_loader: Callable[[str], SigningKey],
        *,
        origin: str | None = None,
    ) -> None:
        self.store = store
        self.party = party
        self.network = network
        self._configured_origin = origin
        self._origin: str | None = None
        self._key_loader = key_loader
        self._keys: dict[str, SigningKey] = {}
        self._frontier: tuple[int, dict[merkle.NodeId, bytes]] = (-1, {})
        # (log size, key and policy entries as (seq, leaf hash), what they say): one tuple,
        # replaced whole, so threads never see a size with another log's context
        self._context: tuple[int, Marks, LogContext | None] = (-1, (), None)

    @property
    def origin(self) -> str:
        """The log's origin (protocol s6): chosen once, at ``init``, and never recomputed.

        Once the log has a checkpoint, the origin it carries; before, the one ``init`` stored
        in ``parley.toml``; in homes made before deployment origins, ``parley/<net>/<party>``.
        """
        if self._origin is None:
            with self.store.read() as conn:
                return self._origin_in(conn)
        return self._origin

    def _origin_in(self, conn: Connection) -> str:
        if self._origin is None:
            held = logs.latest_checkpoint(conn, self.party)
            if held is not None:
                self._origin = held[1].split("\n", 1)[0]
            else:
                return self._configured_origin or origin_for(self.network, self.party)
        return self._origin

    def key(self, purpose: str) -> SigningKey:
        """The node's private key of ``purpose``, loaded from its file once."""
        if purpose not in self._keys:
            self._keys[purpose] = self._key_loader(purpose)
        return self._keys[purpose]

    def context(self, conn: Connection, size: int) -> LogContext | None:
        """The key statement and policy in force at ``size``, parsed again only if they changed.

        A grown log (peers' receipts, this node's own) usually adds neither: a look at the seqs
        and leaf hashes of the key and policy entries keeps the parsed ones.
        """
        cached_size, marks, context = self._context
        if cached_size != size:
            now = logs.key_and_policy_marks(conn, self.party)
            if now != marks or context is None:
                context = read_context(conn, self.party)
            self._context = (size, now, context)
        return context

    def append(
        self,
        drafts: Sequence[Draft],
        now: int,
        *,
        bootstrap: tuple[KeyStatement, SignedPolicy] | None = None,
    ) -> list[Header]:
        """Append ``drafts`` durably; return their signed headers once committed."""
        if not drafts:
            return []
        with self.store.write() as conn:
            headers, new_size, frontier = self._append(conn, drafts, now, bootstrap)
        self._frontier = (new_size, frontier)
        self._carry_context(drafts, new_size)
        return headers

    def _carry_context(self, drafts: Sequence[Draft], new_size: int) -> None:
        """Keep the cached key statement and policy valid past our own append.

        Without this every append would re-read the log's key and policy entries; a batch that
        holds a key or policy entry drops the cache instead.
        """
        size, marks, context = self._context
        if any(d.kind in ("key", "policy") for d in drafts):
            self._context = (-1, (), None)
        elif context is not None and size == new_size - len(drafts):
            self._context = (new_size, marks, context)

    def append_in(self, tx: Writing, drafts: Sequence[Draft], now: int) -> list[Header]:
        """Append ``drafts`` inside a write transaction the caller holds (``Store.write``).

        The entries commit (or roll back) with the caller's transaction, so a peer's entries and
        the receipts that answer them are stored together or not at all.
        """
        self._frontier = (-1, {})  # the caller may still roll back: cache nothing
        if not drafts:
            return []
        return self._append(tx, drafts, now, None)[0]

    def _append(
        self,
        tx: Writing,
        drafts: Sequence[Draft],
        now: int,
        bootstrap: tuple[KeyStatement, SignedPolicy] | None,
    ) -> tuple[list[Header], int, dict[merkle.NodeId, bytes]]:
        state = logs.get_state(tx, self.party)
        size = 0 if state is None else state.size
        if bootstrap is not None:
            if state is not None:
                raise StoreError(f"the log of {self.party} already exists")
            statement, policy = bootstrap
        else:
            context = self.context(tx, size)
            if context is None:
                raise StoreError(f"the log of {self.party} has no key statement and policy")
            statement, policy = context.statement, context.policy
        time = max(now, 0 if state is None else state.last_time)
        headers, rows, new_nodes, frontier, log_key = self._sign_batch(
            tx, drafts, size, time, statement, policy
        )
        new_size = size + len(drafts)
        root = merkle.hash_of_nodes(list(frontier.values()))
        origin = self._origin_in(tx)
        checkpoint = Checkpoint(origin, new_size, root, time if policy.document.time_line else None)
        note = sign_checkpoint(checkpoint, origin, log_key.private)
        logs.insert_entries(tx, rows)
        taxii_index.index_entries(tx, rows, time)
        logs.insert_nodes(tx, self.party, new_nodes)
        logs.insert_checkpoint(tx, self.party, new_size, note, root, time)
        logs.put_state(
            tx, logs.LogState(self.party, new_size, root, time), existed=state is not None
        )
        return headers, new_size, frontier

    def _log_key_for(self, statement: KeyStatement) -> SigningKey:
        """The private log key that the statement certifies (reloaded after a rotation)."""
        if self.key("log").public != statement.purposes["log"]:
            self._keys.pop("log")
        key = self.key("log")
        if key.public != statement.purposes["log"]:
            raise StoreError(f"the log key file does not hold the certified key {key.kid}")
        return key

    def _load_frontier(self, conn: Connection, size: int) -> dict[merkle.NodeId, bytes]:
        cached_size, cached = self._frontier
        if cached_size == size:
            return dict(cached)
        ids = merkle.range_nodes(0, size)
        found = logs.get_nodes(conn, self.party, ids)
        if len(found) != len(ids):
            raise StoreError(f"the stored tree of {self.party} is missing subtree hashes")
        return found

    def _sign_batch(
        self,
        conn: Connection,
        drafts: Sequence[Draft],
        size: int,
        time: int,
        statement: KeyStatement,
        policy: SignedPolicy,
    ) -> tuple[
        list[Header],
        list[dict[str, Any]],
        list[tuple[merkle.NodeId, bytes]],
        dict[merkle.NodeId, bytes],
        SigningKey,
    ]:
        limits, policy_hash = policy.document.limits, policy.hash  # hashing a policy is costly
        nodes = self._load_frontier(conn, size)
        new_nodes: list[tuple[merkle.NodeId, bytes]] = []
        log_key = self._log_key_for(statement)
        ingest = logs.next_ingest(conn)
        headers: list[Header] = []
        rows: list[dict[str, Any]] = []
        for offset, draft in enumerate(drafts):
            seq = size + offset
            audience, tlp = resolve_sharing(draft.kind, draft.audience, draft.tlp)
            value = draft.body(seq) if callable(draft.body) else draft.body
            body = Body.seal(value, os.urandom(SALT_SIZE), limit=limits.body_bytes)
            if draft.kind == "key":
                statement = KeyStatement.from_body(value)
                log_key = self._log_key_for(statement)
            elif draft.kind == "policy":
                policy = SignedPolicy.from_body(value)
                limits, policy_hash = policy.document.limits, policy.hash
            header = sign_header(
                network=self.network,
                policy=policy_hash,
                party=self.party,
                node=statement.identity.kid,
                seq=seq,
                time=time,
                kind=draft.kind,
                status=draft.status,
                audience=audience,
                tlp=tlp,
                body=body,
                log_key=log_key,
                header_limit=limits.header_bytes,
            )
            leaf_hash = merkle.leaf_hash(header.leaf)
            completed = merkle.append_leaf(seq, leaf_hash, nodes.__getitem__)
            nodes.update(completed)
            new_nodes.extend(completed)
            headers.append(header)
            rows.append(
                {
                    "party": self.party,
                    "seq": seq,
                    "ingest": ingest + offset,
                    "leaf": header.leaf,
                    "leaf_hash": leaf_hash,
                    "kind": header.kind,
                    "status": header.status,
                    "time": header.time,
                    "audience": audience if audience == "ALL" else ",".join(audience),
                    "tlp": tlp,
                    "body": body.data,
                    "salt": body.salt,
                    "flag": None,
                    "stored_at": time,
                }
            )
        end = size + len(drafts)
        frontier = {nid: nodes[nid] for nid in merkle.range_nodes(0, end)}
        return headers, rows, new_nodes, frontier, log_key
