"""Who is calling a federation endpoint: an authenticated peer, or an anonymous auditor.

``authenticate`` is a dependency of every ``/fed/v1`` route. A request signed (RFC 9421) by a
pinned peer's key must verify as addressed to this node
(``parley.node.federation.http_signatures``: one of its own URLs, or the local address the
connection reached; its party) or is refused with 401; one without a signature, or signed by a key
of no pinned peer, is anonymous and rate-limited per client address (token bucket). Until its
signature has verified, a request counts as anonymous: a refused signature draws on the same
bucket, so forged signatures cannot flood a node with 401s either. A signed body is read only up
to ``MAX_SIGNED_BODY`` (413 past it). The buckets live in the process on SQLite (one server
process), in the database on PostgreSQL (``parley.store.ratelimits``), so that N workers do not
grant N times the rate. Routes read the caller with ``caller_party``: ``None`` means anonymous,
who may read bodies of ALL + CLEAR entries only. Every answer to an authenticated peer carries
``Parley-Peer: <its party>`` (``PeerHeader``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request

from parley.core.errors import BodyTooLargeError, RateLimitedError, RequestSignatureError
from parley.core.keys import PublicKey
from parley.node.federation import peers
from parley.node.federation.http_signatures import (
    Caller,
    IncomingRequest,
    Recipient,
    RequestVerifier,
    header_pairs,
)
from parley.node.node import Node, now_ms
from parley.store import ratelimits
from parley.store.engine import Store

ANONYMOUS_RATE = 20.0  # requests per second, refilled continuously
ANONYMOUS_BURST = 200.0
MAX_SIGNED_BODY = 1024 * 1024
UNKNOWN_KEY_RECHECK_S = 0.05  # at most this stale when a signature's key is unknown
KEYS_TTL_S = 1.0
ANONYMOUS = "unauthenticated callers"
SWEEP_MS = 10_000  # how often a worker removes buckets idle long enough to be full again


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class AnonymousLimiter:
    """A token bucket per client address (in this process)."""

    def __init__(
        self, rate: float = ANONYMOUS_RATE, burst: float = ANONYMOUS_BURST, who: str = ANONYMOUS
    ) -> None:
        self.rate, self.burst, self.who = rate, burst, who
        self.buckets: dict[str, _Bucket] = {}

    async def check(self, client: str) -> None:
        """Draw one token for ``client``, or raise ``RateLimitedError``."""
        self.take(client)

    def take(self, client: str) -> None:
        """Draw one token from ``client``'s bucket in this process, or raise the refusal."""
        now = time.monotonic()
        bucket = self.buckets.get(client) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens < 1:
            raise _limited(math.ceil((1 - bucket.tokens) / self.rate), self.who)
        bucket.tokens -= 1
        self.buckets[client] = bucket
        if len(self.buckets) > 10_000:
            self.buckets.clear()


class SharedLimiter:
    """The same token bucket per client address, in the database: every worker draws on it.

    One upsert per anonymous request (``parley.store.ratelimits``) in a ``Store.shared``
    transaction: the bucket row's lock only, no writer lock, no flush. A refused request leaves
    the bucket at most one token in debt, so a caller that keeps knocking recovers as soon as it
    slows down. Every ``SWEEP_MS`` the same transaction removes buckets idle long enough to be
    full again.
    """

    def __init__(
        self,
        store: Store,
        rate: float = ANONYMOUS_RATE,
        burst: float = ANONYMOUS_BURST,
        who: str = ANONYMOUS,
    ) -> None:
        self.store, self.rate, self.burst, self.who = store, rate, burst, who
        self.swept = 0

    async def check(self, client: str) -> None:
        """Draw one token for ``client`` off the event loop, or raise ``RateLimitedError``."""
        await anyio.to_thread.run_sync(self.take, client)

    def take(self, client: str) -> None:
        """Draw one token for ``client`` (``store.ratelimits``), or raise ``RateLimitedError``."""
        now = now_ms()
        sweep = now - self.swept > SWEEP_MS
        idle_since = now - int(self.burst / self.rate * 1000) if sweep else None
        left = ratelimits.draw(
            self.store, client, now, rate=self.rate, burst=self.burst, idle_since=idle_since
        )
        if sweep:
            self.swept = now
        if left < 0:
            raise _limited(math.ceil(-left / 1000 / self.rate), self.who)


def _limited(retry_after_s: int, who: str) -> RateLimitedError:
    hint = (
        "peers sign their requests and are not rate-limited this way"
        if who == ANONYMOUS
        else f"wait {retry_after_s} s before the next request"
    )
    return RateLimitedError(
        f"too many requests from {who}; slow down", hint=hint, retry_after_s=retry_after_s
    )


def limiter_for(
    store: Store, rate: float, burst: float, who: str
) -> AnonymousLimiter | SharedLimiter:
    """A token-bucket limiter: in the database on PostgreSQL (every worker), else in memory."""
    if store.dialect == "postgresql":
        return SharedLimiter(store, rate, burst, who)
    return AnonymousLimiter(rate, burst, who)


class Authenticator:
    """Holds the verifier and a short-lived cache of the pinned peers' http keys."""

    def __init__(self, node: Node) -> None:
        self.node = node
        skew = node.context().policy.document.skew_tolerance_ms
        self.verifier = RequestVerifier(node.store, skew_ms=skew)
        self.limiter = limiter_for(node.store, ANONYMOUS_RATE, ANONYMOUS_BURST, ANONYMOUS)
        self._keys: tuple[float, dict[str, tuple[str, PublicKey]]] = (0.0, {})

    def keys(self, max_age_s: float = KEYS_TTL_S) -> dict[str, tuple[str, PublicKey]]:
        """The http keys of pinned peers that are members of the policy in force (cached 1 s)."""
        stamp, keys = self._keys
        if time.monotonic() - stamp > max_age_s:
            members = {m.party for m in self.node.context().policy.document.members}
            keys = {
                kid: found
                for kid, found in peers.http_keys(self.node.store).items()
                if found[0] in members
            }
            self._keys = (time.monotonic(), keys)
        return keys

    def recipient(self, arrived_at: str | None) -> Recipient:
        """The node as a request must address it: its party, its URLs, the address it reached.

        ``arrived_at`` is the local address of the connection (scheme, socket host and port, as
        the server saw them), never anything the request says about itself.
        """
        urls = self.node.config.urls
        if arrived_at is not None and arrived_at not in urls:
            urls = (*urls, arrived_at)
        return Recipient(self.node.party, urls)

    def verify(
        self, incoming: IncomingRequest, body: bytes, arrived_at: str | None = None
    ) -> Caller | None:
        """The authenticated caller, or None for a key no pinned peer holds.

        A key unknown to the cached list is looked up again before it counts as nobody's: a
        peer pinned a moment ago must not be served as an anonymous auditor.
        """
        recipient = self.recipient(arrived_at)
        found = self.verifier.verify(incoming, body, self.keys(), now_ms(), recipient)
        if found is None:
            found = self.verifier.verify(
                incoming, body, self.keys(UNKNOWN_KEY_RECHECK_S), now_ms(), recipient
            )
        return found


async def authenticate(request: Request) -> Caller | None:
    """Dependency: set ``request.state.caller`` (None for anonymous callers)."""
    if hasattr(request.state, "caller"):
        caller: Caller | None = request.state.caller
        return caller
    auth: Authenticator = request.app.state.authenticator
    incoming = IncomingRequest(
        request.method, str(request.url), header_pairs(request.scope["headers"])
    )
    client = request.client.host if request.client else "?"
    found = None
    if incoming.has_signature():
        body = await _bounded_body(request)
        try:
            found = await anyio.to_thread.run_sync(
                auth.verify, incoming, body, arrived_at(request.scope)
            )
        except RequestSignatureError:
            await auth.limiter.check(client)  # a failed signature is an anonymous request
            raise
    if found is None:
        await auth.limiter.check(client)
    request.state.caller = found
    return found


async def _bounded_body(request: Request) -> bytes:
    """The body of a signed request, refused (413) past ``MAX_SIGNED_BODY`` before it is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_SIGNED_BODY:
        raise BodyTooLargeError(
            f"request body of {declared} bytes is over the limit of {MAX_SIGNED_BODY} bytes",
            limit=MAX_SIGNED_BODY,
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_SIGNED_BODY:
            raise BodyTooLargeError(
                f"request body is over the limit of {MAX_SIGNED_BODY} bytes", limit=MAX_SIGNED_BODY
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # noqa: SLF001 - the route reads the body this dependency consumed
    return body


def arrived_at(scope: Any) -> str | None:
    """The URL of the local socket a request reached (``scope["server"]``), not its Host header."""
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    host = f"[{host}]" if ":" in host else host
    return f"{scope.get('scheme', 'http')}://{host}:{port}"


def caller_party(request: Request) -> str | None:
    """The authenticated peer's party, or None for an anonymous caller."""
    caller: Caller | None = getattr(request.state, "caller", None)
    return None if caller is None else caller.party


PEER_HEADER = b"parley-peer"


class PeerHeader:
    """ASGI middleware: ``Parley-Peer: <party>`` on every answer to an authenticated peer.

    With it a peer can tell "not in the audience" from "not recognised as a peer".
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on; add the header to the start of an authenticated peer's answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_peer(message: Any) -> None:
            if message["type"] == "http.response.start":
                caller = scope.get("state", {}).get("caller")
                if caller is not None:
                    headers = list(message.get("headers", []))
                    headers.append((PEER_HEADER, caller.party.encode("ascii")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_peer)
