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
in ``peer_status`` beside the pin. This module holds the rules and no SQL: ``parley.store.peers``
loads and saves pins and statuses (``Peer``, ``PeerStatus``, ``find_peer`` and ``get_status``
are re-exported from there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from parley.core.canonical import canonical_bytes
from parley.core.entry import check_party, parse_header
from parley.core.errors import (
    ConflictError,
    NotFoundError,
    PeerProtocolError,
    PolicyError,
    VerificationError,
)
from parley.core.keys import KeyStatement, PublicKey
from parley.node import webhooks
from parley.node.backoff import backoff_ms
from parley.node.federation import peer_client, tlspin
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.peer_client import (
    LogSource,
    author_source,
    check_url,
    http_client,
)
from parley.node.node import Node
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store.engine import Store, Writing
from parley.store.peers import Peer as Peer
from parley.store.peers import PeerStatus as PeerStatus
from parley.store.peers import find_peer as find_peer
from parley.store.peers import get_status as get_status


def list_peers(store: Store) -> list[Peer]:
    """Every pinned peer, by party."""
    with store.read() as conn:
        return peer_rows.list_pinned(conn)


def get_peer(store: Store, party: str) -> Peer:
    """The pinned peer of ``party``; ``NotFoundError`` if it is not pinned."""
    with store.read() as conn:
        peer = find_peer(conn, party)
    if peer is None:
        raise NotFoundError(f"{party} is not a pinned peer", hint="see 'parley peers list'")
    return peer


def http_keys(store: Store) -> dict[str, tuple[str, PublicKey]]:
    """Key id -> (party, current http key) of every pinned peer."""
    return {peer.http_key.kid: (peer.party, peer.http_key) for peer in list_peers(store)}


def is_news(store: Store, party: str, size: int) -> bool:
    """Whether ``size`` exceeds the largest checkpoint of ``party`` recorded so far."""
    with store.read() as conn:
        remote = get_status(conn, party).remote_size
    return remote is None or size > remote


def record_success(store: Store, party: str, now: int, poll_ms: int) -> None:
    """Note a successful pull (to within 5 s: a burst of pulls costs no write each)."""
    with store.read() as conn:
        if get_status(conn, party).fresh(now):
            return
    with store.write(durable=False) as tx:
        peer_rows.record_success(tx, party, now, poll_ms)


def record_throttle(store: Store, party: str, until: int, reason: str) -> None:
    """Pause pulling from a peer that broke its quotas until ``until`` (ms)."""
    with store.write(durable=False) as tx:
        peer_rows.put_status(tx, party, next_attempt=until, last_error=reason)


def throttled_until(store: Store, party: str, now: int) -> int | None:
    """Until when pulling from ``party`` is paused for its quotas (ms), or None."""
    with store.read() as conn:
        status = get_status(conn, party)
    return status.next_attempt if status.next_attempt > now and status.failures == 0 else None


FAILING_AFTER = 5  # consecutive failures before a "peer.failing" webhook


def record_failure(store: Store, party: str, now: int, error: str, *, node: str = "") -> PeerStatus:
    """Count a failed pull, back off, and send ``peer.failing`` after ``FAILING_AFTER``."""
    with store.write() as tx:
        failures = get_status(tx, party).failures + 1
        status = peer_rows.record_failure(tx, party, now, error, now + backoff_ms(failures))
        if status.failures == FAILING_AFTER:
            detail = {"party": party, "failures": failures, "error": error[:2000]}
            webhooks.emit(tx, node, "peer.failing", detail, now)
        return status


def hold(store: Store, party: str, reason: str, *, node: str = "", now: int = 0) -> None:
    """Stop pulling from a peer until an administrator acts; send the ``peer.held`` webhook.

    Equivocation holds the peer inside the transaction that records the evidence, and sends
    its own ``equivocation`` webhook instead (``witnessing.evidence_drafts``).
    """
    with store.write() as tx:
        peer_rows.put_status(tx, party, held=reason[:2000])
        webhooks.emit(tx, node, "peer.held", {"party": party, "reason": reason[:2000]}, now)


def release(store: Store, party: str) -> None:
    """Release a held peer: pulling resumes at once."""
    with store.write() as tx:
        peer_rows.put_status(tx, party, held=None, failures=0, next_attempt=0)


def update_statement(tx: Writing, party: str, statement_body: Any) -> None:
    """Adopt a newer key statement of a peer, verified in its log by the caller.

    The pin follows the peer's keys: its purpose keys (the ``http`` key that authenticates its
    requests, the ``log`` key of its wake-ups) and, after an identity rotation (signed by the
    old and the new identity, matching the old commitment), its identity key. The TLS pin is
    not a Parley key and does not change.
    """
    text = canonical_bytes(statement_body).decode("utf-8")
    identity = KeyStatement.from_body(statement_body).identity
    peer_rows.set_statement(tx, party, text, identity)


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
    response = peer_client.get(source.client, "/fed/v1/public-key", where=source.via)
    assert response is not None  # noqa: S101 - no status is taken for an absence here
    info = peer_client.answer_json(response, f"{source.via}/fed/v1/public-key")
    if not isinstance(info, dict):
        raise PeerProtocolError(f"{source.via}/fed/v1/public-key did not answer an object")
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
    with store.write() as tx:
        if find_peer(tx, party) is not None:
            raise ConflictError(f"{party} is pinned already")
        peer_rows.insert_pin(tx, Peer(party, url, identity, tls_spki, statement, now), text)
        found = find_peer(tx, party)
    assert found is not None  # noqa: S101 - just inserted
    return found


def remove_peer(store: Store, party: str) -> None:
    """Unpin a peer. Its entries stay: they are signed history, still served as a mirror."""
    with store.write() as tx:
        if find_peer(tx, party) is None:
            raise NotFoundError(f"{party} is not a pinned peer")
        peer_rows.delete_pin(tx, party)


def synced_size(conn: Connection, party: str) -> int:
    """How many entries of ``party``'s log this node holds."""
    state = logs.get_state(conn, party)
    return 0 if state is None else state.size
