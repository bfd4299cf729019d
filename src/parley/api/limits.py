"""Request body limits, enforced before the application reads a byte (pure ASGI middleware).

Invariants:

* **Declared too large, refused unread.** A ``Content-Length`` above the route's limit is
  answered 413 at once; the application is not called and the body is never received.
* **Streamed too large, cut off.** A body without ``Content-Length`` (chunked) is counted as it
  arrives, message by message; the message that passes the limit is not handed on, the reader
  (a route, or ``peer_auth.authenticate`` for a signed request) gets ``BodyTooLargeError``
  (``parley.core.errors``), and the answer is 413. A node therefore holds at most one route's
  limit per request in memory.
* **Every route has a limit.** The routes that take a body are listed with their limit in
  ``BODY_LIMITS`` (the federation routes in ``fed_api``); a GET or HEAD takes no body
  (limit 0), and any other request a small ``DEFAULT_LIMIT``.

The answer is an RFC 9457 problem (``problems.problem``) naming the limit in bytes and the route.
The server then discards what the client still sends for a moment and closes the connection
(``server.BoundedH11Protocol``, a lingering close), so that the client can read the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.api import problems
from parley.core.errors import BodyTooLargeError

DEFAULT_LIMIT = 1024  # a request to a route not listed: nothing of ours takes a body there
READ_LIMIT = 0  # GET and HEAD carry no body


def limit_for(
    limits: Mapping[tuple[str, str], int],
    method: str,
    path: str,
    prefixes: Mapping[str, int] | None = None,
) -> int:
    """The body limit in bytes of one request (``BODY_LIMITS``, else the defaults).

    A path under one of ``prefixes`` (the officer API) that is not listed takes that prefix's
    limit; GET and HEAD carry no body anywhere.
    """
    found = limits.get((method, path))
    if found is not None:
        return found
    if method in ("GET", "HEAD"):
        return READ_LIMIT
    for prefix, limit in (prefixes or {}).items():
        if path.startswith(prefix + "/"):
            return limit
    return DEFAULT_LIMIT


def _declared_length(scope: Any) -> int | None:
    """The ``Content-Length`` of the request, None without one; -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class BodyLimit:
    """ASGI middleware: at most ``limits[(method, path)]`` bytes of body per request."""

    def __init__(
        self,
        app: Any,
        limits: Mapping[tuple[str, str], int],
        prefixes: Mapping[str, int] | None = None,
    ) -> None:
        self.app, self.limits, self.prefixes = app, limits, prefixes or {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Refuse a declared length over the limit unread; cut a streamed body off at it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, method = scope["path"], scope["method"]
        limit = limit_for(self.limits, method, route, self.prefixes)
        declared = _declared_length(scope)
        if declared == -1:
            answer = problems.problem(
                400,
                problems.EDGE_PROBLEMS["bad-request"],
                "Content-Length is not a number",
                "bad-request",
            )
            await answer(scope, receive, send)
            return
        if declared is not None and declared > limit:
            await _too_large(BodyTooLargeError.for_route(route, limit), scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError.for_route(route, limit)
            return message

        async def watched_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLargeError as exc:  # raised where no handler answered it
            if started:
                raise
            await _too_large(exc, scope, receive, send)


async def _too_large(exc: BodyTooLargeError, scope: Any, receive: Any, send: Any) -> None:
    """Answer ``exc`` as its problem, with its message alone (the hint is left out here)."""
    answer = problems.problem(exc.http_status, exc.title, exc.message, exc.problem)
    await answer(scope, receive, send)
