"""Whom a restore asks: the peers an administrator names, and what each shows of this log.

Step 2 of ``parley.node.federation.restore``: each peer is asked who it is (the checks of
``peers add``), for the checkpoint of this node's log its mirror holds
(``/fed/v1/mirror/<party>/get-sth``) and for the one it last cosigned
(``/fed/v1/witnessed/<party>``); a peer that cannot be reached is left out, with a note. Once the
log is back (step 6), the peers are pinned and their cosignatures on it kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from parley.core.checkpoint import claimed_checkpoint
from parley.core.entry import check_party
from parley.core.errors import PeerAddressError, PeerRefusedError, PeerUnreachableError, PolicyError
from parley.core.keys import PublicKey
from parley.core.policy import PolicyDocument
from parley.core.verify import LogVerifier
from parley.node.federation import peer_client, peers, tlspin, witnessing
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.peer_client import (
    LogSource,
    author_source,
    check_url,
    http_client,
    mirror_source,
)
from parley.node.node import Node, now_ms

_NOT_WITNESSED = frozenset(range(100, 600)) - {200}  # any other answer: nothing cosigned


@dataclass(frozen=True)
class PeerAddress:
    """One peer as the administrator gives it: URL, party, identity key, TLS pin."""

    party: str
    url: str
    identity: PublicKey
    tls_spki: str | None

    @classmethod
    def parse(cls, url: str, party: str, key: str, tls_spki: str | None) -> PeerAddress:
        """Check and normalise a peer as the administrator gives it."""
        pin = None if tls_spki in (None, "", "-") else tlspin.check_pin(str(tls_spki))
        return cls(
            check_party(party),
            check_url(url, pin),
            PublicKey.from_b64(key, what=f"identity key of {party}"),
            pin,
        )


def read_peers_file(path: Path) -> list[PeerAddress]:
    """Peers from a JSON file: ``parley peers list --json`` output, or one ``node info --json``."""
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise PeerAddressError(f"{path}: not a readable JSON peers file ({exc})") from exc
    items = doc if isinstance(doc, list) else [doc]
    found = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not all(k in item for k in ("party", "url", "identity")):
            raise PeerAddressError(
                f"{path}: peer {index} needs party, url and identity",
                hint="save 'parley peers list --json' with every backup: it is a peers file",
            )
        found.append(
            PeerAddress.parse(
                str(item["url"]), str(item["party"]), str(item["identity"]), item.get("tls_spki")
            )
        )
    return found


@dataclass(frozen=True)
class Sighting:
    """A checkpoint of this node's log that a peer showed: held by its mirror, or cosigned."""

    peer: str
    what: str  # "mirror" or "witnessed"
    note: str
    size: int

    def describe(self) -> str:
        """Where the checkpoint came from, for messages."""
        return f"{self.peer}'s {'mirror' if self.what == 'mirror' else 'cosigned checkpoint'}"


@dataclass
class Contact:
    """A peer reached for the restore: its verified key statement and what it showed."""

    address: PeerAddress
    mirror: LogSource
    statement: Any
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def mirror_size(self) -> int:
        """The largest checkpoint of this log the peer's mirror holds."""
        return max((s.size for s in self.sightings if s.what == "mirror"), default=0)


def contact_peers(
    node: Node,
    addresses: Sequence[PeerAddress],
    clients: contextlib.ExitStack,
    notes: list[str],
) -> list[Contact]:
    """Reach each named peer; those that cannot be reached are left out with a note."""
    signer = RequestSigner(node.log.key("http"))
    contacts = []
    for address in addresses:
        if address.party == node.party:
            raise PolicyError(f"{address.party} is this node's own party; name its peers")
        client = clients.enter_context(
            http_client(address.url, address.tls_spki, signer, address.party)
        )
        try:
            author = author_source(client, address.party, address.url)
            statement = peers.fetch_statement(author, address.party, node.network, address.identity)
            contact = Contact(address, mirror_source(client, node.party, address.url), statement)
            contact.sightings = _sightings(contact, node.party)
        except (PeerUnreachableError, PeerRefusedError) as exc:
            notes.append(f"{address.party} left out: {exc.message}")
            continue
        contacts.append(contact)
    return contacts


def _sightings(contact: Contact, party: str) -> list[Sighting]:
    found = []
    peer = contact.address.party
    with contextlib.suppress(PeerRefusedError):  # 404: its mirror holds no copy
        note = contact.mirror.get_sth()
        found.append(Sighting(peer, "mirror", note, claimed_checkpoint(note).size))
    path = f"/fed/v1/witnessed/{party}"
    client, where = contact.mirror.client, contact.address.url
    response = peer_client.get(client, path, where=where, absent=_NOT_WITNESSED)
    if response is not None:
        found.append(
            Sighting(peer, "witnessed", response.text, claimed_checkpoint(response.text).size)
        )
    return found


def check_member(document: PolicyDocument, address: PeerAddress) -> None:
    """``peers.check_member`` against the restored policy (the node's own is not stored yet)."""
    member = document.member(address.party)
    if member.identity_key != address.identity:
        raise PolicyError(
            f"the key given for {address.party} is not its identity key in the restored policy "
            f"({member.identity_key.kid}, policy {document.hash[:16]}); nothing was stored",
            hint="compare fingerprints with the peer out of band",
        )


def pin_contacts(node: Node, contacts: Sequence[Contact], notes: list[str]) -> list[str]:
    """Pin the peers reached (unless pinned identically already); the parties pinned."""
    pinned_now: list[str] = []
    now = now_ms()
    for contact in contacts:
        a = contact.address
        with node.store.read() as conn:
            pinned = peers.find_peer(conn, a.party)
        if pinned is None:
            peers.store_pin(
                node.store, a.party, a.url, a.identity, a.tls_spki, contact.statement, now
            )
        elif (pinned.url, pinned.identity, pinned.tls_spki) != (a.url, a.identity, a.tls_spki):
            notes.append(f"{a.party} was pinned already with other values: kept as it was")
            continue
        pinned_now.append(a.party)
    return pinned_now


def keep_cosignatures(node: Node, sightings: Sequence[Sighting], verifier: LogVerifier) -> int:
    """Keep the peers' cosignatures on checkpoints of the restored log (witnessed times)."""
    kept = 0
    with node.store.write() as conn:
        policy = node.policy_in(conn)
        for sighting in sightings:
            if sighting.what != "witnessed" or not 0 < sighting.size <= verifier.size:
                continue
            key = verifier.key_at(sighting.size - 1).purposes["log"]
            kept += witnessing.store_cosigned_note(
                node, conn, node.party, sighting.note, key.raw, policy
            )[1]
    return kept
