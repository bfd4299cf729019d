"""The HTTP side of TAXII 2.1 at ``/taxii2/``: who calls, media types, errors (s1.6, s3).

* **Authentication (s1.6.7).** HTTP Basic with an API token as the password (the user name is
  free: clients such as ``taxii2-client``, OpenCTI and MISP send one), or ``Authorization:
  Bearer <token>``. A token is a scoped token of ``parley user token``; an officer's password is
  never accepted here, so a TAXII client's stored secret can be revoked alone. No credentials,
  or bad ones: 401 with ``WWW-Authenticate`` for both schemes and a body that says which
  credentials to send. Every refusal is written to the audit trail (``officers.refuse``).
* **Rate limits.** A token bucket per client address before the credentials are checked and
  one per token after (429 with ``Retry-After``), wider than ``/api/v1``'s: a TAXII client
  pages quickly.
* **Media types (s1.6.6).** Every answer is ``application/taxii+json;version=2.1``; a request
  whose ``Accept`` admits neither it nor ``*/*`` gets 406, a POST of another content type 415.
* **Errors (s3.6.1).** Every error, including routing (404, 405) and validation, is a TAXII
  error message: ``title``, ``description``, ``http_status`` (a string), ``details`` naming
  the parameter or field at fault where there is one.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from parley.api import peer_auth
from parley.core.errors import NotAuthenticatedError, NotAuthorizedError, ParleyError
from parley.formats.taxii import TAXII_MEDIA_TYPE, accepts_taxii, is_taxii_content
from parley.node import officers
from parley.node.access import Principal
from parley.node.node import Node, now_ms

log = logging.getLogger(__name__)

ADDRESS_RATE, ADDRESS_BURST = 100.0, 600.0  # per client address, before authentication
CALLER_RATE, CALLER_BURST = 100.0, 600.0  # per token, after it
CHALLENGE = 'Basic realm="parley-taxii", Bearer realm="parley-taxii"'
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    429: "Too many requests",
    500: "Internal error",
}


class TaxiiLimits:
    """The TAXII edge's two rate limits: per client address, and per token."""

    def __init__(self, node: Node) -> None:
        self.by_address = peer_auth.limiter_for(
            node.store, ADDRESS_RATE, ADDRESS_BURST, "this address"
        )
        self.by_caller = peer_auth.limiter_for(node.store, CALLER_RATE, CALLER_BURST, "this token")


def taxii_json(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A TAXII 2.1 answer."""
    return Response(
        orjson.dumps(value), status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers
    )


def taxii_error(
    status: int,
    description: str,
    *,
    details: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A TAXII error message (s3.6.1)."""
    body: dict[str, Any] = {
        "title": _TITLES.get(status, "Request refused"),
        "description": description,
        "http_status": str(status),
    }
    if details:
        body["details"] = dict(details)
    return taxii_json(body, status, headers)


def node_of(request: Request) -> Node:
    """The node this TAXII server serves."""
    node: Node = request.app.state.node
    return node


def _token_of(header: str) -> str:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise NotAuthenticatedError(
                "the Basic credentials are not base64 of user:token"
            ) from None
        _user, colon, password = decoded.partition(":")
        if colon and password:
            return password
    raise NotAuthenticatedError(
        "no credentials",
        hint="send HTTP Basic with any user name and an API token as the password, or "
        "'Authorization: Bearer TOKEN' (a token of 'parley user token NAME --scope read'); "
        "officers' passwords are not accepted here",
    )


def principal_of(request: Request) -> Principal:
    """The caller's principal from its token; refusals are audited, then raised."""
    node = node_of(request)
    limits: TaxiiLimits = request.app.state.taxii_limits
    address = request.client.host if request.client else "unknown"
    limits.by_address.take(f"taxii:{address}")
    try:
        principal = officers.token_principal(
            node.store, _token_of(request.headers.get("authorization", "")), now_ms()
        )
    except NotAuthenticatedError as exc:
        if "Parley token" in exc.message:
            exc = NotAuthenticatedError(
                "the password is not an API token",
                hint="TAXII takes a token of 'parley user token NAME --scope read' as the "
                "password, never an officer's password",
            )
        refuse(request, None, exc)
        raise exc from None
    limits.by_caller.take(f"taxii:{principal.caller}")
    return principal


def refuse(request: Request, officer: str | None, exc: ParleyError) -> None:
    """Write a refusal to the audit trail."""
    what = f"taxii {request.method} {request.url.path}"
    officers.refuse(node_of(request).store, officer, what, {}, exc.message, now_ms())


def audit(request: Request, principal: Principal, detail: dict[str, object]) -> None:
    """Record a completed write of ``principal`` in the audit trail."""
    what = f"taxii {request.method} {request.url.path}"
    detail = {**detail, "token": principal.token} if principal.token else detail
    officers.record(node_of(request).store, principal.officer, what, detail, "ok", now_ms())


def check_media(request: Request) -> None:
    """406 unless the client accepts TAXII 2.1; 415 for a POST of another content type."""
    if not accepts_taxii(request.headers.get("accept")):
        raise HTTPException(406, f"this server answers {TAXII_MEDIA_TYPE} only")
    if request.method == "POST" and not is_taxii_content(request.headers.get("content-type")):
        raise HTTPException(415, f"send the envelope as {TAXII_MEDIA_TYPE}")


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a TAXII error message."""

    @app.exception_handler(ParleyError)
    async def _parley_error(request: Request, exc: ParleyError) -> Response:
        if isinstance(exc, NotAuthorizedError) and exc.http_status == 403:
            principal = getattr(request.state, "principal", None)
            refuse(request, getattr(principal, "officer", None), exc)
        details = {"field": exc.field} if exc.field else {}
        if exc.hint:
            details["hint"] = exc.hint
        headers = {"WWW-Authenticate": CHALLENGE} if exc.http_status == 401 else {}
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return taxii_error(exc.http_status, exc.message, details=details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path"))
        return taxii_error(400, f"{where}: {first.get('msg')}", details={"field": where})

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        description = str(exc.detail)
        if exc.status_code == 404 and description == "Not Found":
            description = "no TAXII resource at this address"
        if exc.status_code == 405 and description == "Method Not Allowed":
            description = "this TAXII resource does not take this method"
        return taxii_error(exc.status_code, description, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return taxii_error(500, "the node failed to answer; its log says why")
