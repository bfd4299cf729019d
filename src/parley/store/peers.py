"""Rows of pinned peers (``peers``) and of their sync status (``peer_status``).

``parley.node.federation.peers`` decides whom to pin and checks every key before it asks this
module to store anything; this module only loads and saves rows. A function that writes takes
``tx: Writing`` (a write transaction its caller owns); a read takes a ``Connection``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Update, bindparam, delete, insert, select, update

from parley.core.keys import KeyStatement, PublicKey, fingerprint
from parley.store.engine import Writing
from parley.store.schema import peer_status, peers

SUCCESS_RESOLUTION_MS = 5_000


@dataclass(frozen=True)
class Peer:
    """A pinned peer: URL, party, identity key, TLS pin and its latest verified key statement."""

    party: str
    url: str
    identity: PublicKey
    tls_spki: str | None
    statement: KeyStatement
    added: int

    @property
    def http_key(self) -> PublicKey:
        """The key that signs the peer's requests (RFC 9421)."""
        return self.statement.purposes["http"]

    @property
    def log_key(self) -> PublicKey:
        """The key that signs the peer's entry headers and checkpoints."""
        return self.statement.purposes["log"]

    def fingerprints(self) -> dict[str, str]:
        """Fingerprints of the identity and purpose keys, for out-of-band comparison."""
        shown = {"identity": fingerprint(self.identity.raw)}
        shown.update({name: fingerprint(key.raw) for name, key in self.statement.purposes.items()})
        return shown


@dataclass(frozen=True)
class PeerStatus:
    """How the sync of one peer is going: last checkpoint seen, failures, backoff, a hold."""

    party: str
    remote_size: int | None
    remote_note: str | None
    last_attempt: int | None
    last_success: int | None
    failures: int
    next_attempt: int
    last_error: str | None
    held: str | None
    pending_bodies: int = 0

    def health(self) -> str:
        """``held``, ``failing``, ``new`` or ``ok``."""
        if self.held:
            return "held"
        if self.failures:
            return "failing"
        if self.last_success is None:
            return "new"
        return "ok"

    def fresh(self, now: int) -> bool:
        """Whether a success was recorded within ``SUCCESS_RESOLUTION_MS`` with no error since."""
        recent = self.last_success is not None and now - self.last_success < SUCCESS_RESOLUTION_MS
        return recent and self.failures == 0 and self.last_error is None


@functools.lru_cache(maxsize=256)
def _statement(text: str) -> KeyStatement:
    """A stored key statement, parsed and its signatures checked once per distinct text."""
    return KeyStatement.from_body(orjson.loads(text))


def _peer(row: Any) -> Peer:
    statement = _statement(row.key_statement)
    return Peer(row.party, row.url, PublicKey(row.identity), row.tls_spki, statement, row.added)


# Built once: these run on every request and every delivery hop.
_PEERS = select(peers).order_by(peers.c.party)
_PEER = select(peers).where(peers.c.party == bindparam("party"))
_STATUS = select(peer_status).where(peer_status.c.party == bindparam("party"))


def list_pinned(conn: Connection) -> list[Peer]:
    """Every pinned peer, by party."""
    return [_peer(row) for row in conn.execute(_PEERS)]


def find_peer(conn: Connection, party: str) -> Peer | None:
    """The pinned peer of ``party``, if any."""
    row = conn.execute(_PEER, {"party": party}).first()
    return None if row is None else _peer(row)


def get_status(conn: Connection, party: str) -> PeerStatus:
    """The sync status of ``party`` (a fresh one if none is stored)."""
    row = conn.execute(_STATUS, {"party": party}).first()
    if row is None:
        return PeerStatus(party, None, None, None, None, 0, 0, None, None)
    return PeerStatus(
        row.party,
        row.remote_size,
        row.remote_note,
        row.last_attempt,
        row.last_success,
        row.failures,
        row.next_attempt,
        row.last_error,
        row.held,
        row.pending_bodies,
    )


def put_status(tx: Writing, party: str, **values: Any) -> None:
    """Set columns of a peer's status row, creating the row if needed."""
    updated = tx.execute(_status_update(tuple(sorted(values))), {"key": party, **values})
    if not updated.rowcount:
        defaults: dict[str, Any] = {"failures": 0, "next_attempt": 0, "pending_bodies": 0}
        tx.execute(insert(peer_status).values(party=party, **(defaults | values)))


@functools.lru_cache(maxsize=32)
def _status_update(columns: tuple[str, ...]) -> Update:
    """The UPDATE of a peer's status row that sets ``columns`` (built once per set)."""
    return (
        update(peer_status)
        .where(peer_status.c.party == bindparam("key"))
        .values({column: bindparam(column) for column in columns})
    )


def record_remote(
    tx: Writing, party: str, size: int, note: str, current: PeerStatus | None = None
) -> None:
    """Remember the largest checkpoint the peer has shown (verified by the caller).

    ``current``: the peer's status as read in this transaction, if the caller has it.
    """
    current = get_status(tx, party) if current is None else current
    if current.remote_size is None or size > current.remote_size:
        put_status(tx, party, remote_size=size, remote_note=note)


def count_pending(
    tx: Writing, party: str, change: int | None = None, *, total: int | None = None
) -> None:
    """Adjust (or set) the number of bodies of ``party`` still to fetch from it."""
    current = get_status(tx, party).pending_bodies
    value = total if total is not None else max(current + (change or 0), 0)
    if value != current:
        put_status(tx, party, pending_bodies=value)


def record_success(tx: Writing, party: str, now: int, poll_ms: int) -> None:
    """Note a successful pull, unless one was noted within ``SUCCESS_RESOLUTION_MS``."""
    if not get_status(tx, party).fresh(now):
        values = {"last_attempt": now, "last_success": now, "failures": 0}
        put_status(tx, party, **values, next_attempt=now + poll_ms, last_error=None)


def record_failure(tx: Writing, party: str, now: int, error: str, retry_at: int) -> PeerStatus:
    """Count a failed pull and when to retry; return the status as it now is."""
    failures = get_status(tx, party).failures + 1
    values = {"last_attempt": now, "failures": failures, "next_attempt": retry_at}
    put_status(tx, party, **values, last_error=error[:2000])
    return get_status(tx, party)


def set_statement(tx: Writing, party: str, statement_text: str, identity: PublicKey) -> None:
    """Store a newer key statement of a peer (canonical text) and the identity it names."""
    values = {"key_statement": statement_text, "identity": identity.raw}
    tx.execute(update(peers).where(peers.c.party == party).values(**values))


def insert_pin(tx: Writing, peer: Peer, statement_text: str) -> None:
    """Store a new pin (checked by the caller) and a status row ready for a first pull."""
    values = {"party": peer.party, "url": peer.url, "identity": peer.identity.raw}
    tx.execute(
        insert(peers).values(
            **values, tls_spki=peer.tls_spki, key_statement=statement_text, added=peer.added
        )
    )
    put_status(tx, peer.party, next_attempt=0)


def delete_pin(tx: Writing, party: str) -> None:
    """Forget a pin and its status row (the peer's entries stay)."""
    tx.execute(delete(peers).where(peers.c.party == party))
    tx.execute(delete(peer_status).where(peer_status.c.party == party))
