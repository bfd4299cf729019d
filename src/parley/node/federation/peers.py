"""Pinned peers: who this node federates with, under which keys, and how their sync is going.

A peer is pinned by URL, party and identity key (and, for https, the SPKI hash of its TLS
certificate). Pinning checks, before anything is stored:

1. the party is a member of the network policy in force at this node, under exactly the identity
   key given (membership comes from the policy, never from the peer);
2. the peer answers ``/fed/v1/public-key`` with that party, this network and that identity;
3. the first entry of its log is a key statement signed by that identity, whose ``log`` key signs
   the entry's header. Its purpose keys (``log``, ``http``, ``witness``) are kept with the pin
   and replaced by later key statements as replication verifies them; an identity rotation
   verified in the log moves the pinned identity too (docs/protocol.md §3).

The sync status (last checkpoint seen, failures, exponential backoff, a hold on a fork) lives
in ``peer_status`` beside the pin.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Update, bindparam, delete, insert, select, update

from parley.core.canonical import canonical_bytes
from parley.core.entry import check_party
from parley.core.errors import (
    ConflictError,
    NotFoundError,
    PeerRefusedError,
    PeerUnreachableError,
    PolicyError,
    VerificationError,
)
from parley.core.keys import KeyStatement, PublicKey, fingerprint
from parley.node import webhooks
from parley.node.backoff import backoff_ms
from parley.node.federation import tlspin
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.peer_client import (
    LogSource,
    author_source,
    check_url,
    http_client,
    problem_detail,
)
from parley.node.node import Node
from parley.store import logs
from parley.store.engine import Store
from parley.store.schema import peer_status, peers


@dataclass(frozen=True)
class Peer:
    party: str
    url: str
    identity: PublicKey
    tls_spki: str | None
    statement: KeyStatement
    added: int

    @property
    def http_key(self) -> PublicKey:
        return self.statement.purposes["http"]

    @property
    def log_key(self) -> PublicKey:
        return self.statement.purposes["log"]

    def fingerprints(self) -> dict[str, str]:
        shown = {"identity": fingerprint(self.identity.raw)}
        shown.update({name: fingerprint(key.raw) for name, key in self.statement.purposes.items()})
        return shown


@dataclass(frozen=True)
class PeerStatus:
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
        if self.held:
            return "held"
        if self.failures:
            return "failing"
        if self.last_success is None:
            return "new"
        return "ok"


@functools.lru_cache(maxsize=256)
def _statement(text: str) -> KeyStatement:
    """A stored key statement, parsed and its signatures checked once per distinct text."""
    return KeyStatement.from_body(orjson.loads(text))


def _peer(row: Any) -> Peer:
    statement = _statement(row.key_statement)
    return Peer(row.party, row.url, PublicKey(row.identity), row.tls_spki, statement, row.added)


def list_peers(store: Store) -> list[Peer]:
    with store.read() as conn:
        return peers_in(conn)


# Built once: these run on every request and every delivery hop.
_PEERS = select(peers).order_by(peers.c.party)
_PEER = select(peers).where(peers.c.party == bindparam("party"))
_STATUS = select(peer_status).where(peer_status.c.party == bindparam("party"))


def peers_in(conn: Connection) -> list[Peer]:
    """Every pinned peer, read in the caller's transaction."""
    return [_peer(row) for row in conn.execute(_PEERS)]


def find_peer(conn: Connection, party: str) -> Peer | None:
    row = conn.execute(_PEER, {"party": party}).first()
    return None if row is None else _peer(row)


def get_peer(store: Store, party: str) -> Peer:
    with store.read() as conn:
        peer = find_peer(conn, party)
    if peer is None:
        raise NotFoundError(f"{party} is not a pinned peer", hint="see 'parley peers list'")
    return peer


def http_keys(store: Store) -> dict[str, tuple[str, PublicKey]]:
    """Key id -> (party, current http key) of every pinned peer."""
    return {peer.http_key.kid: (peer.party, peer.http_key) for peer in list_peers(store)}


def get_status(conn: Connection, party: str) -> PeerStatus:
    row = conn.execute(_STATUS, {"party": party}).first()
    if row is None:
        return PeerStatus(party, None, None, None, None, 0, 0, None, None)
    return PeerStatus(
        row.party, row.remote_size, row.remote_note, row.last_attempt, row.last_success,
        row.failures, row.next_attempt, row.last_error, row.held, row.pending_bodies,
    )  # fmt: skip


def _put_status(conn: Connection, party: str, **values: Any) -> None:
    updated = conn.execute(_status_update(tuple(sorted(values))), {"key": party, **values})
    if not updated.rowcount:
        defaults: dict[str, Any] = {"failures": 0, "next_attempt": 0, "pending_bodies": 0}
        conn.execute(insert(peer_status).values(party=party, **(defaults | values)))


@functools.lru_cache(maxsize=32)
def _status_update(columns: tuple[str, ...]) -> Update:
    """The UPDATE of a peer's status row that sets ``columns`` (built once per set)."""
    return (
        update(peer_status)
        .where(peer_status.c.party == bindparam("key"))
        .values({column: bindparam(column) for column in columns})
    )


def record_remote(
    conn: Connection, party: str, size: int, note: str, current: PeerStatus | None = None
) -> None:
    """Remember the largest checkpoint the peer has shown us (verified by the caller).

    ``current``: the peer's status as read in this transaction, if the caller has it.
    """
    current = get_status(conn, party) if current is None else current
    if current.remote_size is None or size > current.remote_size:
        _put_status(conn, party, remote_size=size, remote_note=note)


def is_news(store: Store, party: str, size: int) -> bool:
    """Whether ``size`` exceeds the largest checkpoint of ``party`` recorded so far."""
    with store.read() as conn:
        remote = get_status(conn, party).remote_size
    return remote is None or size > remote


def count_pending(
    conn: Connection, party: str, change: int | None = None, *, total: int | None = None
) -> None:
    """Adjust (or set) the number of bodies of ``party`` still to fetch from it."""
    current = get_status(conn, party).pending_bodies
    value = total if total is not None else max(current + (change or 0), 0)
    if value != current:
        _put_status(conn, party, pending_bodies=value)


SUCCESS_RESOLUTION_MS = 5_000


def record_success(store: Store, party: str, now: int, poll_ms: int) -> None:
    """Note a successful pull (to within 5 s: a burst of pulls costs no write each)."""
    with store.read() as conn:
        status = get_status(conn, party)
    if _still_fresh(status, now):
        return
    with store.write(durable=False) as conn:
        record_success_in(conn, party, now, poll_ms)


def record_success_in(conn: Connection, party: str, now: int, poll_ms: int) -> None:
    """``record_success`` in the caller's write transaction (a push stored in it)."""
    if not _still_fresh(get_status(conn, party), now):
        _put_status(conn, party, last_attempt=now, last_success=now, failures=0,
                    next_attempt=now + poll_ms, last_error=None)  # fmt: skip


def _still_fresh(status: PeerStatus, now: int) -> bool:
    fresh = status.last_success is not None and now - status.last_success < SUCCESS_RESOLUTION_MS
    return fresh and status.failures == 0 and status.last_error is None


def record_throttle(store: Store, party: str, until: int, reason: str) -> None:
    """Pause pulling from a peer that broke its quotas until ``until`` (ms)."""
    with store.write(durable=False) as conn:
        _put_status(conn, party, next_attempt=until, last_error=reason)


def throttled_until(store: Store, party: str, now: int) -> int | None:
    with store.read() as conn:
        status = get_status(conn, party)
    return status.next_attempt if status.next_attempt > now and status.failures == 0 else None


FAILING_AFTER = 5  # consecutive failures before a "peer.failing" webhook


def record_failure(store: Store, party: str, now: int, error: str, *, node: str = "") -> PeerStatus:
    with store.write() as conn:
        failures = get_status(conn, party).failures + 1
        _put_status(conn, party, last_attempt=now, failures=failures,
                    next_attempt=now + backoff_ms(failures), last_error=error[:2000])  # fmt: skip
        if failures == FAILING_AFTER:
            detail = {"party": party, "failures": failures, "error": error[:2000]}
            webhooks.emit(conn, node, "peer.failing", detail, now)
        return get_status(conn, party)


def hold(store: Store, party: str, reason: str, *, node: str = "", now: int = 0) -> None:
    """Stop pulling from a peer until an administrator acts (a fork, an equivocation)."""
    with store.write() as conn:
        hold_in(conn, party, reason)
        webhooks.emit(conn, node, "peer.held", {"party": party, "reason": reason[:2000]}, now)


def hold_in(conn: Connection, party: str, reason: str) -> None:
    """``hold`` inside the caller's write transaction (no webhook: the caller sends its own)."""
    _put_status(conn, party, held=reason[:2000])


def release(store: Store, party: str) -> None:
    with store.write() as conn:
        _put_status(conn, party, held=None, failures=0, next_attempt=0)


def update_statement(conn: Connection, party: str, statement_body: Any) -> None:
    """Adopt a newer key statement of a peer, verified in its log by the caller.

    The pin follows the peer's keys: its purpose keys (the ``http`` key that authenticates its
    requests, the ``log`` key of its wake-ups) and, after an identity rotation (signed by the
    old and the new identity, matching the old commitment), its identity key. The TLS pin is
    not a Parley key and does not change.
    """
    text = canonical_bytes(statement_body).decode("utf-8")
    identity = _statement(text).identity
    values = {"key_statement": text, "identity": identity.raw}
    conn.execute(update(peers).where(peers.c.party == party).values(**values))


def check_member(node: Node, party: str, identity: PublicKey) -> None:
    """A peer must be a member of the policy in force, under the identity key it is pinned with."""
    if party == node.party:
        raise PolicyError(f"{party} is this node's own party; a node does not pin itself")
    document = node.context().policy.document
    member = document.member(party)
    if member.identity_key != identity:
        raise PolicyError(
            f"the key given for {party} is not its identity key in the policy in force "
            f"({member.identity_key.kid}, policy {document.hash[:16]})",
            hint="compare fingerprints with the peer out of band; a new key needs a new policy",
        )


def fetch_statement(source: LogSource, party: str, network: str, identity: PublicKey) -> Any:
    """Fetch and verify the peer's identity and its first key statement; return its body."""
    from parley.core.entry import parse_header

    try:
        response = source.client.get("/fed/v1/public-key")
    except Exception as exc:  # noqa: BLE001 - any transport failure: unreachable
        raise PeerUnreachableError(f"{source.via}: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        raise PeerRefusedError(
            f"{source.via}/fed/v1/public-key answered {response.status_code}: "
            f"{problem_detail(response)}",
            status=response.status_code,
        )
    info = response.json()
    claimed = (info.get("party"), info.get("network"), info.get("identity"))
    if claimed != (party, network, identity.b64):
        raise VerificationError(
            f"{source.via} is not {party} on {network} under the pinned key: it claims party "
            f"{claimed[0]}, network {claimed[1]}, identity "
            f"{PublicKey.from_b64(str(claimed[2])).kid if claimed[2] else '?'}",
            hint="check the URL and compare fingerprints with the peer out of band",
        )
    (first,) = source.entries(0, 0)
    header = parse_header(first.leaf)
    if header.seq != 0 or header.kind != "key" or header.party != party or first.body is None:
        raise VerificationError(
            f"{source.via}: the log does not start with {party}'s key statement"
        )
    header.check_body(first.body)
    body = first.body.value()
    statement = KeyStatement.from_body(body)
    if statement.identity != identity or statement.party != party:
        raise VerificationError(f"{source.via}: the first key statement is not by the pinned key")
    header.verify_signature(statement.purposes["log"])
    return body


def pin_peer(node: Node, url: str, party: str, key: str, tls_spki: str | None, now: int) -> Peer:
    """Check and pin a peer (see the module docstring); refuse a party pinned already."""
    party = check_party(party)
    identity = PublicKey.from_b64(key, what="--key")
    pin = None if tls_spki is None else tlspin.check_pin(tls_spki)
    url = check_url(url, pin)
    check_member(node, party, identity)
    with node.store.read() as conn:
        if find_peer(conn, party) is not None:
            raise ConflictError(f"{party} is pinned already", hint="'parley peers remove' it first")
    signer = RequestSigner(node.log.key("http"))
    with http_client(url, pin, signer, party) as client:
        body = fetch_statement(author_source(client, party, url), party, node.network, identity)
    return store_pin(node.store, party, url, identity, pin, body, now)


def store_pin(
    store: Store,
    party: str,
    url: str,
    identity: PublicKey,
    tls_spki: str | None,
    statement_body: Any,
    now: int,
) -> Peer:
    """Store a pin whose checks have passed (``pin_peer``); the statement must be the peer's."""
    statement = KeyStatement.from_body(statement_body)
    if statement.identity != identity or statement.party != party:
        raise VerificationError(f"the key statement is not {party}'s under the pinned identity")
    text = canonical_bytes(statement_body).decode("utf-8")
    with store.write() as conn:
        if find_peer(conn, party) is not None:
            raise ConflictError(f"{party} is pinned already")
        conn.execute(insert(peers).values(
            party=party, url=url, identity=identity.raw, tls_spki=tls_spki, key_statement=text,
            added=now,
        ))  # fmt: skip
        _put_status(conn, party, next_attempt=0)
        found = find_peer(conn, party)
    assert found is not None  # noqa: S101 - just inserted
    return found


def remove_peer(store: Store, party: str) -> None:
    """Unpin a peer. Its entries stay: they are signed history, still served as a mirror."""
    with store.write() as conn:
        if find_peer(conn, party) is None:
            raise NotFoundError(f"{party} is not a pinned peer")
        conn.execute(delete(peers).where(peers.c.party == party))
        conn.execute(delete(peer_status).where(peer_status.c.party == party))


def synced_size(conn: Connection, party: str) -> int:
    state = logs.get_state(conn, party)
    return 0 if state is None else state.size
