"""Signed federation requests: RFC 9421 HTTP Message Signatures with the node's ``http`` key.

Every request one node sends another is signed (RFC 9421 s3.1) with Ed25519 (s3.3.6) by the
``http`` purpose key that the sender's key statement certifies. The signature, labelled
``parley``, covers:

* ``@method``, ``@authority`` and ``@target-uri`` (RFC 9421 s2.2.1, s2.2.3, s2.2.2): what is
  asked of which server, under the URL the sender pinned the recipient with;
* ``parley-to``: the party code of the recipient, so a request is bound to one node even where
  two nodes share an address;
* ``content-digest`` (RFC 9530) whenever the request has a body, so the body is bound too;
* the signature parameters ``created`` (seconds), ``keyid`` (the key id of the ``http`` key: the
  first 16 hex digits of SHA-256 of the raw key), ``alg="ed25519"``, a fresh random ``nonce``
  and ``tag="parley-fed/v2"`` (s2.3), which keeps these signatures apart from any other use.

The receiver (``RequestVerifier``) rebuilds the target URI from one of *its own* URLs (the
``[server] url`` settings, and the local address the connection arrived on), never from the
request's ``Host`` header, and accepts a signature only if the key id names the current ``http``
key of a pinned peer, the signature verifies over exactly those components for one of its own
URLs, ``parley-to`` names its own party, ``created`` lies within the network policy's clock-skew
tolerance (``DEFAULT_SKEW_MS`` when the policy is silent), and the nonce was never seen before.
A request that a peer received and relays to a third node therefore fails there: its authority
and ``parley-to`` name the first recipient. A request signed under the earlier tag
``parley-fed/v1``, which bound neither, is refused with a message naming both versions.

The nonce cache is kept in memory and in a database table, written behind the requests in batches
(within ``FLUSH_S``) so that authentication never waits for the node's write lock; a nonce the
memory lacks is looked up in the table, which covers a restart and the other worker processes
of a node (a replay that reaches another worker within ``FLUSH_S`` of the original is the one
it cannot see). A nonce is kept until its signature could no longer be accepted anyway. A
request signed by a pinned peer's key that fails any check is refused (401), never downgraded;
a signature by a key that belongs to no pinned peer authenticates nobody, and the request is
served as an anonymous one.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from parley.core.errors import PeerAddressError, RequestSignatureError
from parley.core.keys import PublicKey, SigningKey
from parley.store import nonces as nonce_rows
from parley.store.engine import Store

LABEL = "parley"
TAG = "parley-fed/v2"
RETIRED_TAGS = ("parley-fed/v1",)  # signed without the recipient: refused, by name
RECIPIENT = "parley-to"
COVERED = ("@method", "@authority", "@target-uri", RECIPIENT)
DEFAULT_SKEW_MS = 30_000
FLUSH_S = 0.05  # remembered nonces reach the database table this much later at most
PRUNE_EVERY = 1024  # forget expired nonces in memory after this many new ones

log = logging.getLogger("parley.federation")


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, private: Mapping[str, Any], public: Mapping[str, Any]) -> None:
        self.private = dict(private)
        self.public = dict(public)
        self.unknown: str | None = None

    def resolve_private_key(self, key_id: str) -> Any:
        return self.private[key_id]

    def resolve_public_key(self, key_id: str) -> Any:
        found = self.public.get(key_id)
        if found is None:
            self.unknown = key_id
        return found


class RequestSigner(httpx.Auth):
    """An httpx ``Auth`` that signs each outgoing request with the node's ``http`` key."""

    requires_request_body = True

    def __init__(self, http_key: SigningKey) -> None:
        self.kid = http_key.kid
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=_Keys({self.kid: http_key.private}, {}),
        )

    def sign(self, request: httpx.Request, *, created: dt.datetime | None = None) -> None:
        """Sign ``request``; it must name its recipient party in ``Parley-To``."""
        if not request.headers.get(RECIPIENT):
            raise PeerAddressError(
                f"a federation request to {request.url} names no recipient ({RECIPIENT} header)",
                hint="open peer clients with peer_client.http_client(..., recipient=PARTY)",
            )
        body = request.content
        self._signer.sign(
            request,
            key_id=self.kid,
            created=created or dt.datetime.now(dt.UTC),
            nonce=secrets.token_urlsafe(18),
            label=LABEL,
            tag=TAG,
            covered_component_ids=COVERED,
            body=body if body or request.method not in ("GET", "HEAD") else None,
        )

    def auth_flow(self, request: httpx.Request) -> Any:
        """Sign the request (httpx's auth hook)."""
        self.sign(request)
        yield request


@dataclass(frozen=True)
class IncomingRequest:
    """What the verifier needs of a received request: method, absolute URL, header lines."""

    method: str
    url: str
    headers: Mapping[str, str]

    def has_signature(self) -> bool:
        """Whether the request carries an RFC 9421 signature at all."""
        return any(name.lower() in ("signature", "signature-input") for name in self.headers)

    def addressed_to(self, base: str) -> IncomingRequest:
        """The same request as if sent to ``base`` (scheme and authority only).

        The receiver verifies a signature against its own URLs this way: the ``Host`` header
        a request carries is the sender's to choose, so it is never trusted.
        """
        parts = urllib.parse.urlsplit(self.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return IncomingRequest(self.method, base.rstrip("/") + target, self.headers)


@dataclass(frozen=True)
class Recipient:
    """The receiving node as a signed request must name it: its party and its own URLs."""

    party: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Caller:
    """An authenticated peer: its party and the key id it signed with."""

    party: str
    kid: str


class _Verifier(HTTPMessageVerifier):
    require_created = True


class RequestVerifier:
    """Checks signed requests against the pinned peers' current ``http`` keys."""

    def __init__(self, store: Store, skew_ms: int = DEFAULT_SKEW_MS) -> None:
        self.store = store
        self.skew_ms = skew_ms
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}  # nonce -> expiry (ms), in memory
        self._pending: list[dict[str, Any]] = []  # remembered, not yet in the table
        self._flusher: threading.Thread | None = None
        self._due = threading.Event()  # nonces wait in ``_pending``
        self._added = 0

    def verify(
        self,
        request: IncomingRequest,
        body: bytes,
        http_keys: Mapping[str, tuple[str, PublicKey]],
        now_ms: int,
        recipient: Recipient,
    ) -> Caller | None:
        """Return the authenticated caller, None for a key that is no pinned peer's, or raise.

        ``http_keys`` maps key ids to ``(party, key)`` for every pinned peer; ``recipient`` is
        this node: its party and its own URLs. A signature by a key this node does not know
        proves nothing, so its request is served as anonymous; a signature by a pinned peer's
        key that fails any check is a ``RequestSignatureError``.
        """
        _refuse_retired_tag(request)
        public = {kid: _openssl_key(key.raw) for kid, (_party, key) in http_keys.items()}
        keys = _Keys({}, public)
        verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)
        verifier.max_clock_skew = dt.timedelta(milliseconds=self.skew_ms)
        reason = "this node has no URL to check the request against"
        for url in recipient.urls:
            try:
                (result,) = verifier.verify(
                    request.addressed_to(url),
                    max_age=dt.timedelta(0),  # with the skew: ``created`` within +-skew of now
                    expect_tag=TAG,
                    require_components=COVERED,
                    body=body,
                )
                break
            except (InvalidSignature, HTTPMessageSignaturesException, ValueError) as exc:
                if keys.unknown is not None:
                    return None
                reason = str(exc) or "the signature does not verify"
        else:
            raise _misaddressed(request, recipient, reason)
        addressed = request.headers.get(RECIPIENT, "")
        if addressed != recipient.party:
            raise RequestSignatureError(
                f"request signature refused: it is addressed to {addressed!r}, not to "
                f"{recipient.party}: a request relayed from another node"
            )
        kid = str(result.parameters.get("keyid"))
        party = http_keys[kid][0]
        nonce = result.nonce
        if not nonce or len(nonce) > 128:
            raise RequestSignatureError("request signature refused: it carries no usable nonce")
        created = int(result.parameters["created"]) * 1000
        self._remember(nonce, party, created + 2 * self.skew_ms + 1000, now_ms)
        return Caller(party, kid)

    def _remember(self, nonce: str, party: str, expires: int, now_ms: int) -> None:
        """Record a nonce; a nonce seen before (and not yet expired) is a replay."""
        with self._lock:
            known = self._seen.get(nonce)
        if known is None:
            with self.store.read() as conn:
                known = nonce_rows.expiry(conn, nonce)
        with self._lock:
            known = max(known or 0, self._seen.get(nonce, 0))
            if known >= now_ms:
                raise RequestSignatureError(
                    "request signature refused: replayed request (nonce already used)"
                )
            self._seen[nonce] = expires
            self._pending.append({"nonce": nonce, "party": party, "expires": expires})
            self._added += 1
            if self._added % PRUNE_EVERY == 0:
                self._seen = {n: e for n, e in self._seen.items() if e >= now_ms}
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="parley-nonces", daemon=True
                )
                self._flusher.start()
            self._due.set()

    def _flush_loop(self) -> None:
        """Write the remembered nonces to the table at most ``FLUSH_S`` after they came.

        The thread stays: starting one per request of a quiet node cost more than the check.
        """
        while True:
            self._due.wait()
            time.sleep(FLUSH_S)
            with self._lock:
                self._due.clear()
                batch, self._pending = self._pending, []
            if not batch:
                continue
            try:
                self._write(batch)
            except Exception:  # noqa: BLE001 - memory still refuses these replays
                log.exception("the replay cache could not be written")

    def flush(self) -> None:
        """Write the remembered nonces now (a server stopping, a test)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self._write(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        now = int(time.time() * 1000)
        with self.store.shared() as tx:
            replays = nonce_rows.remember(tx, batch, now)
        if replays:
            log.warning("%d replayed request(s) reached two workers at once", replays)


def _refuse_retired_tag(request: IncomingRequest) -> None:
    """A request signed the way earlier versions did is refused by name, not as a bad signature."""
    signed = request.headers.get("signature-input", "")
    for retired in RETIRED_TAGS:
        if f'tag="{retired}"' in signed and f'tag="{TAG}"' not in signed:
            raise RequestSignatureError(
                f"request signature refused: it is signed as {retired}, which this node no "
                f"longer accepts; sign as {TAG} (the recipient's authority and party covered)",
                hint="upgrade the sending node: both ends of a federation speak one version",
            )


def _misaddressed(request: IncomingRequest, recipient: Recipient, reason: str) -> Exception:
    addressed = request.headers.get(RECIPIENT)
    if addressed and addressed != recipient.party:
        return RequestSignatureError(
            f"request signature refused: it is addressed to {addressed}, not to "
            f"{recipient.party}: a request relayed from another node"
        )
    return RequestSignatureError(
        f"request signature refused: it does not verify as a request to this node "
        f"({', '.join(recipient.urls) or 'no URL'}): {reason}"
    )


@functools.lru_cache(maxsize=256)
def _openssl_key(raw: bytes) -> Ed25519PublicKey:
    """The OpenSSL object of a pinned http key, made once (every request is checked against all)."""
    return Ed25519PublicKey.from_public_bytes(raw)


def header_pairs(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs as one comma-joined value per name (RFC 9110 s5.3)."""
    combined: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        combined[key] = f"{combined[key]}, {text}" if key in combined else text
    return combined
