"""The runtime's HTTP clients, all made by ``parley.node.federation.peer_client``.

One ``PeerClients`` per runtime holds every client its jobs use:

* ``pool``, a ``peer_client.ClientPool``: kept-alive signed clients for the jobs that run in
  worker threads (pulls, gossip).
* ``announcing(peer)``: kept-alive signed clients (``peer_client.async_http_client``) for the
  announcements, which run on the event loop; no TLS handshake per announcement.
* ``witness(url)``: a client for an external C2SP witness, which is not a peer: unsigned,
  checked against the system's CAs, no proxy from the environment.

A peer's client is made anew when its URL or TLS pin changes. ``close`` closes them all.
"""

from __future__ import annotations

import contextlib

from parley.node.federation import peers
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.peer_client import (
    AsyncClient,
    ClientPool,
    async_http_client,
    witness_client,
)

PeerKey = tuple[str, str | None]  # the peer's URL and TLS pin


class PeerClients:
    """Every HTTP client of one runtime (see the module docstring)."""

    def __init__(self, signer: RequestSigner) -> None:
        self.signer = signer
        self.pool = ClientPool(signer)
        self.announcers: dict[str, tuple[PeerKey, AsyncClient]] = {}

    async def announcing(self, peer: peers.Peer) -> AsyncClient:
        """The announcing client of ``peer``, made anew when its URL or TLS pin changed."""
        key = (peer.url, peer.tls_spki)
        known = self.announcers.get(peer.party)
        if known is not None and known[0] == key:
            return known[1]
        if known is not None:
            await known[1].aclose()
        client = async_http_client(peer.url, peer.tls_spki, self.signer, peer.party)
        self.announcers[peer.party] = (key, client)
        return client

    def witness(self, url: str) -> AsyncClient:
        """A client for one submission to the external witness at ``url`` (close it after)."""
        return witness_client(url)

    async def close(self) -> None:
        """Close every kept-alive client."""
        announcers, self.announcers = list(self.announcers.values()), {}
        for _key, client in announcers:
            with contextlib.suppress(Exception):
                await client.aclose()
        self.pool.close()
