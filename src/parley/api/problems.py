"""RFC 9457 problem details: the one place where errors become HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from parley.core.errors import ParleyError

PROBLEM_TYPE = "https://parley.invalid/problems/"


def problem(status: int, title: str, detail: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"type": PROBLEM_TYPE + kind, "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ParleyError)
    async def _parley_error(_request: Request, exc: ParleyError) -> JSONResponse:
        detail = exc.message if exc.hint is None else f"{exc.message} (hint: {exc.hint})"
        kind = type(exc).__name__.removesuffix("Error").lower() or "error"
        return problem(exc.http_status, type(exc).__name__, detail, kind)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
        return problem(400, "Bad request", f"{where}: {first.get('msg')}", "bad-request")
