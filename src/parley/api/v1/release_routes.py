"""``/api/v1/pending``: two-person release between authenticated officers.

Thin routes over ``parley.node.notifications.release``: an officer who may notify prepares a
pending release (``POST /pending``, idempotent with ``Idempotency-Key``); a *different* officer
who may release signs it (``POST /pending/{id}/release``); the officer who prepared it may
release it alone for a stated reason (``POST /pending/{id}/break-glass``), which every officer
hears of on the live stream and by webhook; the preparer or an administrator withdraws it. Each
action is in the audit trail: ``ok`` once done, ``refused`` with the reason when the service
refused it (the officer who prepared it asking to release it, a state that is no longer
pending, ...). Whoever may read sees the list, with texts only within their TLP clearance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from parley.api.v1 import inputs
from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.notification_routes import alert_request
from parley.api.v1.notification_schemas import NewNotification, PendingView
from parley.api.v1.schemas import PROBLEMS, Strict
from parley.core.errors import ParleyError
from parley.node import officers
from parley.node.access import Action, Principal
from parley.node.node import now_ms
from parley.node.notifications import release
from parley.node.notifications.release import Pending

router = APIRouter(tags=["release"], responses=PROBLEMS)
T = TypeVar("T")
Status = Literal["Actual", "Exercise", "Test"]  # as POST /notifications: no Draft
Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]  # core.entry.TLP_LABELS


class Reason(Strict):
    """Why a lone officer releases a pending release (10 characters or more)."""

    reason: Annotated[str, Field(max_length=4000)]


class ReleasedView(BaseModel):
    """The signed notification (``PARTY:SEQ`` and leaf hash) and the released pending release."""

    ref: str
    leaf_hash: str
    warnings: list[str]
    pending: PendingView


def _action(request: Request) -> str:
    route = request.scope.get("route")
    return f"api {request.method} {getattr(route, 'path', request.url.path)}"


def _audited(
    request: Request, principal: Principal, detail: dict[str, Any], work: Callable[[], T]
) -> T:
    """Run ``work``; record it ``ok``, or ``refused`` with the reason the service gave."""
    try:
        result = work()
    except ParleyError as exc:
        store = node_of(request).store
        said = detail if principal.token is None else {**detail, "token": principal.token}
        officers.refuse(store, principal.officer, _action(request), said, exc.message, now_ms())
        raise
    audit(request, principal, detail)
    return result


def _released(done: release.Released, reader: Principal) -> dict[str, Any]:
    return {
        "ref": done.ref,
        "leaf_hash": done.outcome.written.leaf_hash,
        "warnings": done.outcome.warnings,
        "pending": done.pending.shown_to(reader),
    }


@router.get("/pending", response_model=list[PendingView])
def listed(
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.READ))],
    every: Annotated[bool, Query(alias="all", description="Released and withdrawn too.")] = False,
) -> list[dict[str, Any]]:
    """The pending releases waiting for a second officer, newest first (``?all=true``: all)."""
    return [item.shown_to(principal) for item in release.pending(node_of(request), every=every)]


@router.get("/pending/{pending_id}", response_model=PendingView)
def one(
    pending_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.READ))],
) -> dict[str, Any]:
    """One pending release, in whatever state it is."""
    return release.find(node_of(request), pending_id).shown_to(principal)


@router.post("/pending", status_code=201, response_model=PendingView)
def prepare(
    wanted: NewNotification,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(allowed(Action.NOTIFY))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Prepare a notification for a second officer: checked now, signed only when released."""
    node = node_of(request)
    now = now_ms()
    detail = {"category": wanted.category, "status": wanted.status}

    def act() -> tuple[int, Any]:
        def work() -> Pending:
            fields, audience = alert_request(node, wanted, now)
            return release.prepare(
                node,
                principal,
                fields,
                status=wanted.status,
                audience=audience,
                tlp=wanted.tlp,
                now=now,
            )

        item = _audited(request, principal, detail, work)
        return 201, item.shown_to(principal)

    parts = (wanted.model_dump(mode="json"),)
    value, _repeated = inputs.created(request, response, principal, idempotency_key, parts, act)
    return value


@router.post("/pending/{pending_id}/release", response_model=ReleasedView)
def release_it(
    pending_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.RELEASE))],
) -> dict[str, Any]:
    """Release (sign and send) a pending release another officer prepared; 403 to its preparer."""
    node = node_of(request)
    done = _audited(
        request,
        principal,
        {"id": pending_id},
        lambda: release.release(node, pending_id, principal.officer, principal.role, now_ms()),
    )
    return _released(done, principal)


@router.post("/pending/{pending_id}/break-glass", response_model=ReleasedView)
def break_glass(
    pending_id: str,
    stated: Reason,
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.BREAK_GLASS))],
) -> dict[str, Any]:
    """Release one's own pending release alone, for a reason; every officer is told."""
    node = node_of(request)

    def work() -> release.Released:
        return release.break_glass(
            node, pending_id, principal.officer, principal.role, stated.reason, now_ms()
        )

    done = _audited(request, principal, {"id": pending_id, "reason": stated.reason}, work)
    return _released(done, principal)


@router.post("/pending/{pending_id}/withdraw", response_model=PendingView)
def withdraw(
    pending_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.NOTIFY))],
) -> dict[str, Any]:
    """Withdraw a pending release unsigned (the officer who prepared it, or an administrator)."""
    node = node_of(request)
    item = _audited(
        request,
        principal,
        {"id": pending_id},
        lambda: release.withdraw(node, pending_id, principal.officer, principal.role, now_ms()),
    )
    return item.shown_to(principal)
