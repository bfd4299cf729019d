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

from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.schemas import PROBLEMS, Strict
from parley.core.errors import ParleyError
from parley.node import idempotency, members, officers
from parley.node.access import Action, Principal
from parley.node.node import now_ms
from parley.node.notifications import release
from parley.node.notifications.release import Pending

router = APIRouter(tags=["release"], responses=PROBLEMS)
T = TypeVar("T")
Status = Literal["Actual", "Exercise", "Test"]  # as POST /notifications: no Draft
Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]  # core.entry.TLP_LABELS


class NotificationInput(Strict):
    """A native Alert as an officer asks for it (docs/formats.md: areas and details as there).

    ``audience`` is ``ALL`` (the default) or member parties; ``tlp`` defaults to GREEN for ALL
    and AMBER for a named audience. ``expires`` and ``onset`` are integer milliseconds.
    """

    status: Status
    category: Annotated[str, Field(max_length=100)]
    severity: Annotated[str, Field(max_length=20)]
    urgency: Annotated[str, Field(max_length=20)]
    certainty: Annotated[str, Field(max_length=20)]
    headline: Annotated[str, Field(min_length=1, max_length=10_000)]
    description: Annotated[str | None, Field(max_length=100_000)] = None
    instruction: Annotated[str | None, Field(max_length=100_000)] = None
    event: Annotated[str | None, Field(max_length=10_000)] = None
    lang: Annotated[str, Field(max_length=35)] = "en"
    areas: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    details: dict[str, Any] = Field(default_factory=dict)
    expires: int | None = None
    onset: int | None = None
    audience: Literal["ALL"] | list[Annotated[str, Field(max_length=8)]] = "ALL"
    tlp: Tlp | None = None

    def fields(self) -> dict[str, Any]:
        """The keyword fields of ``lifecycle.notify``."""
        fields = self.model_dump(exclude={"status", "audience", "tlp", "expires", "onset"})
        fields.update(expires_ms=self.expires, onset_ms=self.onset)
        return {k: v for k, v in fields.items() if v is not None}


class Reason(Strict):
    """Why a lone officer releases a pending release (10 characters or more)."""

    reason: Annotated[str, Field(max_length=4000)]


class PendingView(BaseModel):
    """A pending release; ``headline`` and ``fields`` are null above the reader's clearance."""

    id: str
    created: int
    prepared_by: str
    prepared_role: str
    category: str
    status: str
    audience: str | list[str]
    tlp: str
    state: Literal["pending", "released", "withdrawn"]
    headline: str | None
    fields: dict[str, Any] | None
    released_by: str | None
    released_role: str | None
    released_at: int | None
    break_glass: bool
    break_glass_reason: str | None
    ref: str | None = Field(description="The signed notification, once released.")
    withdrawn_by: str | None
    withdrawn_at: int | None
    withheld: str | None = None


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
    wanted: NotificationInput,
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
            policy = node.context().policy.document
            joined = (
                wanted.audience if isinstance(wanted.audience, str) else ",".join(wanted.audience)
            )
            audience = members.audience(policy, joined, what="audience")
            return release.prepare(
                node,
                principal,
                wanted.fields(),
                status=wanted.status,
                audience=audience,
                tlp=wanted.tlp,
                now=now,
            )

        item = _audited(request, principal, detail, work)
        return 201, item.shown_to(principal)

    digest = idempotency.request_digest("POST /pending", wanted.model_dump(mode="json"))
    kept = idempotency.once(node.store, principal.caller, idempotency_key, digest, act, now)
    response.status_code = kept.status
    if kept.repeated:
        response.headers["Idempotency-Replayed"] = "true"
    return kept.value


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
