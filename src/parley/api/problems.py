"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error answer of the node is ``application/problem+json``: a ``ParleyError`` (its
``http_status``), a request that fails validation (400), a route or method that does not exist
(Starlette's ``HTTPException``: 404, 405), the body limits of ``parley.api.limits`` (413), and
anything unexpected (500, logged with its traceback, its detail withheld). The one exception is
what C2SP tlog-witness fixes: the 409 of ``add-checkpoint`` is ``text/x.tlog.size``.

Each problem's ``type`` is ``PROBLEM_TYPE`` followed by a stable slug: an error class's
``problem`` attribute, or one of ``EDGE_PROBLEMS`` here; never a Python class name, so renaming
code changes no answer. ``title`` is the slug's fixed title, meant for a person; ``detail`` says
what happened this time. docs/protocol.md s8.3 lists every slug. A 429 carries ``Retry-After``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from parley.api.peer_auth import caller_party
from parley.core.errors import NotAuthorizedError, ParleyError, PeerRequiredError
from parley.node import officers
from parley.node.node import now_ms

PROBLEM_TYPE = "https://parley.invalid/problems/"
# Problems raised by the HTTP layer itself rather than by a ParleyError: slug -> title.
EDGE_PROBLEMS = {
    "bad-request": "Bad request",
    "no-such-route": "No such route",
    "method-not-allowed": "Method not allowed",
    "client-disconnected": "Client disconnected",
    "internal": "Internal error",
    "unhealthy": "Node failing",
}
_HTTP_SLUGS = {404: "no-such-route", 405: "method-not-allowed"}
log = logging.getLogger("parley.api")


def problem(
    status: int,
    title: str,
    detail: str,
    kind: str,
    *,
    field: str | None = None,
    hint: str | None = None,
) -> JSONResponse:
    """An RFC 9457 problem response whose ``type`` is ``PROBLEM_TYPE`` + the slug ``kind``.

    ``field`` (the input at fault, a dotted path) and ``hint`` (what to do) are extension
    members, present when known.
    """
    body: dict[str, object] = {
        "type": PROBLEM_TYPE + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if hint is not None:
        body["hint"] = hint
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def require_peer(request: Request, what: str) -> str:
    """The authenticated peer's party, or ``admin:NAME`` for an administrator's bearer token.

    Anyone else gets ``PeerRequiredError`` (401). An administrator authenticates with an
    officer token (``parley user token NAME --scope admin``) in ``Authorization: Bearer TOKEN``.
    """
    party = caller_party(request)
    if party is not None:
        return party
    bearer = request.headers.get("authorization", "")
    scheme, _, token = bearer.partition(" ")
    if scheme.lower() == "bearer" and token:
        node = request.app.state.node
        token = token.strip()
        try:  # a refused token or role is in the audit trail with its reason
            officer = officers.authorise(
                node.store,
                None,
                f"api {request.url.path}",
                {},
                ("admin",),
                password=None,
                token=token,
                now=now_ms(),
            )
        except NotAuthorizedError as exc:
            raise PeerRequiredError(f"{what}: {exc.message}") from exc
        return f"admin:{officer.name}"
    raise PeerRequiredError(
        f"{what} answers pinned peers and administrators only",
        hint="sign the request with the http key of a pinned peer (RFC 9421), or send an "
        "administrator's token as 'Authorization: Bearer TOKEN'",
    )


# Feed readers and Prometheus send a token as an HTTP Basic password (``api.feeds_api``).
BASIC_PATHS = ("/feeds/", "/metrics")
BASIC_CHALLENGE = 'Basic realm="parley", charset="UTF-8", Bearer realm="parley"'


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem: ParleyError, validation, routing, the rest."""

    @app.exception_handler(ParleyError)
    async def _parley_error(request: Request, exc: ParleyError) -> JSONResponse:
        detail = exc.message if exc.hint is None else f"{exc.message} (hint: {exc.hint})"
        answer = problem(
            exc.http_status, exc.title, detail, exc.problem, field=exc.field, hint=exc.hint
        )
        if exc.http_status == 401:
            answer.headers["WWW-Authenticate"] = (
                BASIC_CHALLENGE
                if request.url.path.startswith(BASIC_PATHS)
                else 'Bearer realm="parley"'
            )
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            answer.headers["Retry-After"] = str(retry_after)
        return answer

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
        return problem(
            400,
            EDGE_PROBLEMS["bad-request"],
            f"{where}: {first.get('msg')}",
            "bad-request",
            field=where or None,
        )

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        slug = _HTTP_SLUGS.get(exc.status_code, "bad-request")
        title = EDGE_PROBLEMS[slug]
        answer = problem(exc.status_code, title, str(exc.detail), slug)
        answer.headers.update(exc.headers or {})
        return answer

    @app.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        return problem(
            400,
            EDGE_PROBLEMS["client-disconnected"],
            "the request ended before its body",
            "client-disconnected",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(
            500,
            EDGE_PROBLEMS["internal"],
            "the node failed to answer; its log says why",
            "internal",
        )
