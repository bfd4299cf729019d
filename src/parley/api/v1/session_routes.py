"""``/api/v1/session``, ``/me`` and ``/tokens``: logging in, and one's own tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from parley.api.v1.auth import SESSION_COOKIE, Caller, audit, node_of
from parley.api.v1.schemas import PROBLEMS, Strict
from parley.core.deadlines import parse_duration
from parley.core.errors import NotAuthorizedError
from parley.node import officers, sessions
from parley.node.access import SCOPE_ACTIONS, Scope
from parley.node.node import now_ms

router = APIRouter(tags=["session"], responses=PROBLEMS)


class Login(Strict):
    """A password and a TOTP code."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    totp: Annotated[str, Field(min_length=6, max_length=8, pattern=r"^[0-9]+$")]


class SessionView(Strict):
    """A new session: the CSRF token to echo in ``X-CSRF-Token``, and when it ends."""

    officer: str
    role: str
    csrf: str
    expires: int


class Me(Strict):
    """Who the caller is and what it may do."""

    officer: str
    role: str
    scope: str | None
    token: str | None
    actions: list[str]
    clearance: list[str]


class NewToken(Strict):
    """A token request: scope, lifetime (``30d``, ``12h``; none: until revoked), label."""

    scope: Scope
    expires_in: Annotated[str | None, Field(max_length=16)] = None
    label: Annotated[str | None, Field(max_length=100)] = None


class TokenView(Strict):
    """A token as listed: never its secret."""

    id: str
    officer: str
    scope: str
    label: str | None
    created: int
    expires: int | None
    revoked: int | None
    last_used: int | None
    state: str


class IssuedToken(Strict):
    """A new token: the secret, shown this once, and its listing."""

    token: str
    info: TokenView


@router.post("/session", status_code=201, response_model=SessionView)
def log_in(login: Login, request: Request, response: Response) -> dict[str, Any]:
    """Log in with password and TOTP; sets the session cookie (HttpOnly, SameSite=Strict)."""
    node = node_of(request)
    now = now_ms()
    try:
        opened = sessions.login(node.store, login.name, login.password, login.totp, now)
    except NotAuthorizedError as exc:
        officers.refuse(node.store, login.name, "api session.login", {}, exc.message, now)
        raise
    officers.record(node.store, opened.officer, "api session.login", {}, "ok", now)
    response.set_cookie(
        SESSION_COOKIE,
        opened.cookie,
        max_age=sessions.LIFETIME_MS // 1000,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {
        "officer": opened.officer,
        "role": opened.role,
        "csrf": opened.csrf,
        "expires": opened.expires,
    }


@router.delete("/session", status_code=204)
def log_out(request: Request, principal: Caller) -> Response:
    """End the caller's session (a token caller has none: nothing changes)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and principal.token is None:
        sessions.logout(node_of(request).store, cookie, now_ms())
        audit(request, principal, {})
    answer = Response(status_code=204)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer


@router.get("/me", response_model=Me)
def me(principal: Caller) -> dict[str, Any]:
    """The caller: officer, role, the token's scope, what it may do and read."""
    return {
        "officer": principal.officer,
        "role": principal.role,
        "scope": None if principal.scope is None else principal.scope.value,
        "token": principal.token,
        "actions": sorted(a.value for a in principal.actions),
        "clearance": sorted(principal.clearance),
    }


@router.get("/tokens", response_model=list[TokenView])
def my_tokens(request: Request, principal: Caller) -> list[dict[str, Any]]:
    """The caller's own tokens, revoked and expired ones included."""
    now = now_ms()
    return [t.to_dict(now) for t in officers.tokens_of(node_of(request).store, principal.officer)]


@router.post("/tokens", status_code=201, response_model=IssuedToken)
def issue(wanted: NewToken, request: Request, principal: Caller) -> dict[str, Any]:
    """Issue a token for oneself, within one's role (a token may issue only narrower ones)."""
    node = node_of(request)
    now = now_ms()
    lifetime = (
        None if wanted.expires_in is None else parse_duration(wanted.expires_in, "expires_in")
    )
    if principal.scope is not None and not SCOPE_ACTIONS[wanted.scope] <= principal.actions:
        raise NotAuthorizedError(
            f"a token of scope {principal.scope.value} may not issue one of scope "
            f"{wanted.scope.value}"
        )
    secret, info = officers.issue_token(
        node.store,
        principal.officer,
        wanted.scope,
        now,
        expires=None if lifetime is None else now + lifetime,
        label=wanted.label,
    )
    audit(request, principal, {"issued": info.id, "scope": info.scope})
    return {"token": secret, "info": info.to_dict(now)}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke(token_id: str, request: Request, principal: Caller) -> Response:
    """Revoke one of the caller's own tokens."""
    officers.revoke_token(node_of(request).store, principal.officer, token_id, now_ms())
    audit(request, principal, {"revoked": token_id})
    return Response(status_code=204)
