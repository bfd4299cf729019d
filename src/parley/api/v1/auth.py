"""Who calls ``/api/v1``, and whether they may: tokens, sessions, CSRF, rate limits, audit.

A caller is a ``Principal`` (``parley.node.access``), from exactly one of:

* ``Authorization: Bearer <token>``: a scoped token (``parley user token``);
* the ``parley_session`` cookie of a login (password and TOTP); a request that changes state
  must echo the session's CSRF token in ``X-CSRF-Token`` (the cookie is ``SameSite=Strict`` as
  well: two guards, not one).

Anything else is 401. The CAP feeds and ``/metrics`` (``token_reader``) take a token alone, as a
Bearer token or as the password of HTTP Basic (what feed readers and Prometheus send), never a
session cookie and never an officer's password; with no ``Authorization`` at all the feeds
answer the public. Every request draws on a token bucket per client address before its
credentials are checked and on one per token (or officer) after: 429 with ``Retry-After``.
A refusal (bad credentials, a role or scope that may not, a missing CSRF token) is written to
the audit trail with its reason before the caller hears of it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from parley.api import peer_auth
from parley.core.errors import NotAuthenticatedError, NotAuthorizedError
from parley.node import officers, sessions
from parley.node.access import Action, Principal
from parley.node.node import Node, now_ms

SESSION_COOKIE = "parley_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADDRESS_RATE, ADDRESS_BURST = 50.0, 300.0  # per client address, before authentication
CALLER_RATE, CALLER_BURST = 20.0, 120.0  # per token or officer, after it

# The security schemes the OpenAPI document declares (FastAPI reads them off the dependencies).
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A scoped token: `parley user token NAME --scope "
    "read|ack|analyst|notify|admin|scrape`.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The session cookie of `POST /api/v1/session` (password and TOTP). Requests "
    f"that change state also send the session's CSRF token in `{CSRF_HEADER}`.",
)


class Limits:
    """The API's two rate limits: per client address, and per authenticated caller."""

    def __init__(self, node: Node) -> None:
        self.by_address = peer_auth.limiter_for(
            node.store, ADDRESS_RATE, ADDRESS_BURST, "this address"
        )
        self.by_caller = peer_auth.limiter_for(node.store, CALLER_RATE, CALLER_BURST, "this caller")


def node_of(request: Request) -> Node:
    """The node this API serves."""
    node: Node = request.app.state.node
    return node


def _limits(request: Request) -> Limits:
    found: Limits = request.app.state.api_limits
    return found


def _what(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"api {request.method} {path}"


def _refuse(node: Node, name: str | None, request: Request, reason: str) -> None:
    officers.refuse(node.store, name, _what(request), {}, reason, now_ms())


def _principal(request: Request) -> Principal:
    """Resolve the caller's credentials (not its rights); refusals are audited."""
    node = node_of(request)
    address = request.client.host if request.client else "unknown"
    _limits(request).by_address.take(f"api:{address}")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    cookie = request.cookies.get(SESSION_COOKIE)
    now = now_ms()
    try:
        if scheme.lower() == "bearer" and token.strip():
            principal = officers.token_principal(node.store, token.strip(), now)
        elif cookie:
            resolved = sessions.resolve(node.store, cookie, now)
            principal = resolved.principal
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not secrets.compare_digest(sent.encode(), resolved.csrf.encode()):
                    raise NotAuthorizedError(
                        f"a session request that changes state needs {CSRF_HEADER}",
                        hint="send the csrf value the login answered",
                    )
        else:
            raise NotAuthenticatedError(
                "no credentials",
                hint="send 'Authorization: Bearer TOKEN' or log in at POST /api/v1/session",
            )
    except NotAuthorizedError as exc:
        _refuse(node, None, request, exc.message)
        raise
    _limits(request).by_caller.take(f"api:{principal.caller}")
    return principal


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    _user, colon, password = decoded.partition(":")
    if not colon or not password:
        raise NotAuthenticatedError(
            "Basic credentials must be base64 of 'NAME:TOKEN'",
            hint="send an API token as the password ('parley user token NAME --scope read')",
        )
    return password


def token_reader(request: Request) -> Principal | None:
    """The caller of a feed or ``/metrics``: a token (Bearer, or the Basic password), or None.

    None means no ``Authorization`` header (the public). Bad credentials are 401, audited.
    """
    _limits(request).by_address.take(f"api:{_address(request)}")
    header = request.headers.get("authorization")
    if header is None:
        return None
    node = node_of(request)
    scheme, _, credentials = header.partition(" ")
    try:
        if scheme.lower() == "basic":
            token = _basic_password(credentials)
        elif scheme.lower() == "bearer" and credentials.strip():
            token = credentials.strip()
        else:
            raise NotAuthenticatedError(
                "Authorization must be Basic (a token as the password) or Bearer",
                hint="send 'Authorization: Bearer TOKEN'",
            )
        principal = officers.token_principal(node.store, token, now_ms())
    except NotAuthorizedError as exc:
        _refuse(node, None, request, exc.message)
        raise
    _limits(request).by_caller.take(f"api:{principal.caller}")
    request.state.principal = principal
    return principal


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def caller(
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    _session: Annotated[str | None, Security(cookie_scheme)] = None,
) -> Principal:
    """Any authenticated caller (what it may do is checked by the route or by ``allowed``)."""
    principal = _principal(request)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(caller)]


def refuse_unless(request: Request, principal: Principal, action: Action) -> None:
    """Refuse (403, audited) unless ``principal``'s role and scope grant ``action``."""
    try:
        principal.require(action)
    except NotAuthorizedError as exc:
        _refuse(node_of(request), principal.officer, request, exc.message)
        raise


def allowed(action: Action) -> Callable[..., Principal]:
    """A dependency: the caller, if its role and scope grant ``action`` (else 403, audited)."""

    def check(request: Request, principal: Caller) -> Principal:
        refuse_unless(request, principal, action)
        return principal

    check.__name__ = f"may_{action.value.replace('-', '_')}"
    return check


def audit(request: Request, principal: Principal, detail: dict[str, object]) -> None:
    """Record a completed action of ``principal`` in the audit trail."""
    if principal.token:
        detail = {**detail, "token": principal.token}
    officers.record(
        node_of(request).store, principal.officer, _what(request), detail, "ok", now_ms()
    )
