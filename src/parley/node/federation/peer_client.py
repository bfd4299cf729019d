"""The client side of the federation API: one peer's log, at its author or at a mirror.

``LogSource`` speaks the RFC 6962 s4-shaped endpoints (``get-sth``, ``get-sth-consistency``,
``get-entries``) under a prefix: ``<url>/fed/v1`` for the author's own log, or
``<url>/fed/v1/mirror/<party>`` for a copy of ``party``'s log held by another node. What comes
back is untrusted until ``parley.node.federation.ingest`` has verified it; this module only decodes
it, strictly and within bounds. A failed request is a ``PeerError``: ``PeerUnreachableError``
(no answer, or a server error), ``PeerRefusedError`` (an error status), ``PeerProtocolError``
(an answer not in the protocol's form); what an answer proves is judged elsewhere.

Every request is signed with the node's ``http`` key (``parley.node.federation.http_signatures``).
A ``https`` URL is reached over TLS 1.3 only, and the server's certificate must carry the pinned
SPKI hash (``parley.node.federation.tlspin``); non-loopback URLs must be ``https`` with a pin.
"""

from __future__ import annotations

import base64
import ipaddress
import threading
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from parley.core.entry import Body
from parley.core.errors import (
    PeerAddressError,
    PeerProtocolError,
    PeerRefusedError,
    PeerUnreachableError,
    PinMismatchError,
    ProofRequestError,
)
from parley.node.federation import tlspin
from parley.node.federation.http_signatures import RECIPIENT

TIMEOUT_S = 10.0
PAGE = 1000
MAX_PROOF = 64

# The HTTP library stays behind this module (and the webhook sender): other modules name its
# client and answer types through these names, and see only the errors of core.errors.
Client = httpx.Client
AsyncClient = httpx.AsyncClient
Response = httpx.Response


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (localhost or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, tls_spki: str | None) -> str:
    """Normalise a peer URL; non-loopback URLs need https and an SPKI pin (DESIGN, Federation)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerAddressError(
            f"peer URL {url!r} is not an http(s) URL", hint="e.g. https://jp.example:8700"
        )
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise PeerAddressError(f"peer URL {url!r}: give scheme, host and port only")
    if parts.scheme == "https" and tls_spki is None:
        raise PeerAddressError(
            f"peer URL {url} uses TLS but no certificate pin was given",
            hint="pass --tls-spki with the SHA-256 of the peer's SPKI ('parley node info')",
        )
    if not is_loopback(url) and (parts.scheme != "https" or tls_spki is None):
        raise PeerAddressError(
            f"peer URL {url} is not on this machine: it must use https with a pinned SPKI hash",
            hint="run the peer with 'parley serve --tls' and pass --tls-spki HASH",
        )
    return f"{parts.scheme}://{parts.netloc}"


def http_client(
    url: str, tls_spki: str | None, auth: httpx.Auth | None, recipient: str
) -> httpx.Client:
    """A client for one peer: signed requests, TLS 1.3 with the SPKI pin for https.

    Every request names ``recipient`` (the peer's party) in ``Parley-To``, which the signature
    covers (``http_signatures``). Plain http (loopback only) never loads a CA bundle, and no proxy
    settings are taken from the environment: a peer is reached directly or not at all.
    """
    if url.startswith("https:"):
        transport: httpx.HTTPTransport = tlspin.pinned_transport(tls_spki)
    else:
        transport = httpx.HTTPTransport(verify=False)  # noqa: S501 - no TLS on http URLs
    return httpx.Client(transport=transport, **_client_settings(url, auth, recipient))


def _client_settings(url: str, auth: httpx.Auth | None, recipient: str) -> dict[str, Any]:
    """What every client for one peer sets: no redirects, no proxies from the environment."""
    return {
        "base_url": url,
        "auth": auth,
        "timeout": TIMEOUT_S,
        "follow_redirects": False,
        "trust_env": False,
        "headers": {RECIPIENT: recipient},
    }


class ClientPool:
    """Kept-alive clients, one per peer party, renewed when the peer's URL or TLS pin changes.

    A server pulls from and gossips with the same peers every few seconds; one connection per
    peer saves a TLS handshake on every request. Safe to use from worker threads.
    """

    def __init__(self, auth: httpx.Auth | None) -> None:
        self.auth = auth
        self._clients: dict[str, tuple[tuple[str, str | None], httpx.Client]] = {}
        self._lock = threading.Lock()

    def client(self, party: str, url: str, tls_spki: str | None) -> httpx.Client:
        """The kept-alive client of ``party``, renewed if its URL or pin changed."""
        with self._lock:
            known = self._clients.get(party)
            if known is not None and known[0] == (url, tls_spki):
                return known[1]
            if known is not None:
                known[1].close()
            client = http_client(url, tls_spki, self.auth, party)
            self._clients[party] = ((url, tls_spki), client)
            return client

    def drop(self, party: str) -> None:
        """Forget a peer's connection (it failed): the next request opens a new one."""
        with self._lock:
            known = self._clients.pop(party, None)
        if known is not None:
            known[1].close()

    def close(self) -> None:
        """Close every kept-alive client."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for _key, client in clients:
            client.close()


def async_http_client(
    url: str, tls_spki: str | None, auth: httpx.Auth | None, recipient: str
) -> httpx.AsyncClient:
    """An async client for one peer, as ``http_client`` (the replicator's wake-ups)."""
    if url.startswith("https:"):
        transport: httpx.AsyncHTTPTransport = tlspin.async_pinned_transport(tls_spki)
    else:
        transport = httpx.AsyncHTTPTransport(verify=False)  # noqa: S501 - no TLS on http URLs
    return httpx.AsyncClient(transport=transport, **_client_settings(url, auth, recipient))


def _b64(text: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise PeerProtocolError(f"{what}: expected base64 text")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise PeerProtocolError(f"{what}: not valid base64") from exc
    if size is not None and len(data) != size:
        raise PeerProtocolError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def get(
    client: httpx.Client,
    path: str,
    *,
    where: str,
    params: dict[str, int | str] | None = None,
    absent: Container[int] = (),
    max_bytes: int | None = None,
) -> httpx.Response | None:
    """GET ``path`` from a peer: its 200 answer, or None for a status in ``absent``.

    Every outbound federation request goes through here, so every caller sees one error set:
    ``PeerUnreachableError`` (no answer, or a server error), ``PeerRefusedError`` (another error
    status), ``PeerProtocolError`` (an answer over ``max_bytes``).
    """
    try:
        response = client.get(path, params=params)
    except (httpx.TransportError, PinMismatchError) as exc:
        raise PeerUnreachableError(f"{where}: {type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise PeerProtocolError(f"{where}: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if status in absent:
        return None
    if status >= 500:
        raise PeerUnreachableError(f"{where}: {path} answered {status}: {problem_detail(response)}")
    if status != 200:
        raise PeerRefusedError(
            f"{where}: {path} answered {status}: {problem_detail(response)}", status=status
        )
    if max_bytes is not None and len(response.content) > max_bytes:
        raise PeerProtocolError(f"{where}: {path} answered more than {max_bytes} bytes")
    return response


def answer_json(response: httpx.Response, what: str) -> Any:
    """The JSON document of a peer's answer; ``PeerProtocolError`` if it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise PeerProtocolError(f"{what} did not answer JSON") from exc


@dataclass(frozen=True)
class Fetched:
    """One entry as a source served it: the exact leaf bytes and, maybe, body and salt."""

    leaf: bytes
    body: Body | None


def problem_detail(response: httpx.Response) -> str:
    """The ``detail`` of a problem answer, else the start of the answer's text."""
    try:
        doc = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(doc, dict) and isinstance(doc.get("detail"), str):
        return str(doc["detail"])[:500]
    return response.text[:200]


class LogSource:
    """One party's log as served at ``prefix`` by one node (the author, or a mirror)."""

    def __init__(
        self, client: httpx.Client, prefix: str, *, party: str, via: str, author: bool
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.party = party
        self.via = via
        self.author = author
        self.recognised_as: str | None = None  # Parley-Peer of the last answer

    def describe(self) -> str:
        """Whose log this is and where it is served, for messages."""
        return f"{self.party}'s log at {self.via}" + ("" if self.author else " (mirror)")

    def _get(self, path: str, **params: int | str) -> Any:
        response = get(self.client, self.prefix + path, where=self.describe(), params=params)
        assert response is not None  # noqa: S101 - no status is taken for an absence here
        self.recognised_as = response.headers.get("parley-peer")
        return answer_json(response, f"{self.describe()}: {path}")

    def get_sth(self) -> str:
        """The source's latest checkpoint note (``get-sth``), not yet verified."""
        doc = self._get("/get-sth")
        note = doc.get("checkpoint") if isinstance(doc, dict) else None
        if not isinstance(note, str):
            raise PeerProtocolError(f"{self.describe()}: get-sth carries no checkpoint note")
        return note

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof between two sizes (``get-sth-consistency``), decoded."""
        if first in (0, second):
            return []
        doc = self._get("/get-sth-consistency", first=first, second=second)
        proof = doc.get("consistency") if isinstance(doc, dict) else None
        if not isinstance(proof, list) or len(proof) > MAX_PROOF:
            raise PeerProtocolError(f"{self.describe()}: malformed consistency proof")
        return [_b64(item, "consistency proof", 32) for item in proof]

    def entries(self, start: int, end: int) -> list[Fetched]:
        """Entries ``start..end`` inclusive (the server may return fewer, never more)."""
        if end < start:
            raise ProofRequestError(f"empty range {start}..{end}")
        doc = self._get("/get-entries", start=start, end=end)
        items = doc.get("entries") if isinstance(doc, dict) else None
        if not isinstance(items, list) or not items or len(items) > end - start + 1:
            raise PeerProtocolError(
                f"{self.describe()}: get-entries {start}..{end} returned a malformed page"
            )
        return [decode_item(item, f"{self.party}:{start + i}") for i, item in enumerate(items)]


class PushedSource(LogSource):
    """The author's log, with the entries its wake-up carried (``/fed/v1/push``) served first.

    The author signed the push and chose its bodies for this node (``recognised``), as it does
    for a ``get-entries`` it answers; anything else is asked of the author as usual.
    """

    def __init__(
        self, source: LogSource, start: int, pushed: Sequence[Fetched], recognised: str
    ) -> None:
        super().__init__(
            source.client, source.prefix, party=source.party, via=source.via, author=True
        )
        self.start = start
        self.pushed = list(pushed)
        self.recognised = recognised

    def entries(self, start: int, end: int) -> list[Fetched]:
        """Entries ``start..end``: the pushed ones first, then the author's answers."""
        if start == self.start and self.pushed and end >= start:
            served, self.pushed = self.pushed[: end - start + 1], []
            self.recognised_as = self.recognised
            return served
        return super().entries(start, end)


def decode_item(item: Any, where: str) -> Fetched:
    """Decode one ``get-entries`` item strictly; ``PeerProtocolError`` if malformed."""
    if not isinstance(item, dict):
        raise PeerProtocolError(f"{where}: expected an object")
    leaf = _b64(item.get("leaf_input"), f"{where} leaf_input")
    if item.get("body") is None:
        return Fetched(leaf, None)
    return Fetched(
        leaf, Body(_b64(item.get("salt"), f"{where} salt", 32), _b64(item["body"], where))
    )


def author_source(client: httpx.Client, party: str, url: str) -> LogSource:
    """The author's own log at ``url``."""
    return LogSource(client, "/fed/v1", party=party, via=url, author=True)


def mirror_source(client: httpx.Client, party: str, url: str) -> LogSource:
    """The copy of ``party``'s log mirrored by the node at ``url``."""
    return LogSource(client, f"/fed/v1/mirror/{party}", party=party, via=url, author=False)


async def post(client: httpx.AsyncClient, path: str, body: bytes, *, where: str) -> httpx.Response:
    """POST ``body`` to ``path`` on a kept-alive client: the answer, whatever its status.

    A kept-alive connection the other side closed fails at once: it is tried once more on a new
    one. Failing that, ``PeerUnreachableError``; an answer that is not HTTP,
    ``PeerProtocolError``. The caller judges the status, which C2SP tlog-witness gives meaning.
    """
    try:
        try:
            return await client.post(path, content=body)
        except httpx.TransportError:
            return await client.post(path, content=body)
    except (httpx.TransportError, PinMismatchError) as exc:
        raise PeerUnreachableError(f"{where}: {type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise PeerProtocolError(f"{where}: {type(exc).__name__}: {exc}") from exc


def witness_client(url: str) -> httpx.AsyncClient:
    """A client for an external C2SP witness: unsigned, checked against the system's CAs.

    An external witness is no peer: nothing pins it, and no proxy from the environment is used.
    """
    return httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S, trust_env=False)
