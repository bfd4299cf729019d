"""``/api/v1/subscriptions``: area subscriptions of the caller (``parley.node.subscriptions``).

An officer, or a tool with one of its tokens, subscribes to an area (a GeoJSON Polygon or
MultiPolygon, or a circle ``{"center": [lon, lat], "radius_km": "…"}`` with decimal strings),
categories and a minimum severity. Each match of a notification held here is recorded once and
goes out as the ``subscription.match`` event: on the owner's live stream (``/stream``) and by
signed webhook (``parley webhooks``), with retries and visible failures. A subscription belongs
to its officer: others can neither see nor delete it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.schemas import PROBLEMS, Strict
from parley.core.errors import ParleyError
from parley.node import subscriptions
from parley.node.access import Action, Principal
from parley.node.node import now_ms

FIELD_RE = re.compile(r"^[a-z_]+(\.[a-z_]+|\[[0-9]+\])*$")
MAX_ID = 2**53  # ids are database integers; anything larger names nothing
router = APIRouter(tags=["subscriptions"], responses=PROBLEMS)
Subscriber = Annotated[Principal, Depends(allowed(Action.SUBSCRIBE))]


class NewSubscription(Strict):
    """An area, the categories (codes, e.g. ``geo.tsunami``) and the least severity wanted."""

    area: dict[str, Any] = Field(
        description='A GeoJSON Polygon or MultiPolygon, or {"center": [lon, lat], '
        '"radius_km": "50"} (decimal strings).'
    )
    categories: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)]
    min_severity: Annotated[str, Field(max_length=16)] = "Minor"
    label: Annotated[str | None, Field(max_length=200)] = None


class SubscriptionView(BaseModel):
    """A stored subscription."""

    id: int
    owner: str
    token_id: str | None
    area: dict[str, Any]
    categories: list[str]
    min_severity: str
    label: str | None
    created: int


class MatchView(BaseModel):
    """One match: the subscription and the notification (``PARTY:SEQ``)."""

    id: int
    subscription: int
    label: str | None
    ref: str
    matched: int


def _view(row: subscriptions.SubscriptionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "owner": row.owner,
        "token_id": row.token_id,
        "area": row.area,
        "categories": list(row.categories),
        "min_severity": row.min_severity,
        "label": row.label,
        "created": row.created,
    }


@router.get("/subscriptions", response_model=list[SubscriptionView])
def mine(request: Request, principal: Subscriber) -> list[dict[str, Any]]:
    """The caller's subscriptions, oldest first."""
    return [_view(row) for row in subscriptions.listed(node_of(request), principal.officer)]


@router.post("/subscriptions", status_code=201, response_model=SubscriptionView)
def subscribe(wanted: NewSubscription, request: Request, principal: Subscriber) -> dict[str, Any]:
    """Subscribe the caller (and its token, if it used one) to an area."""
    try:
        row = subscriptions.subscribe(
            node_of(request),
            principal.officer,
            wanted.area,
            wanted.categories,
            wanted.min_severity,
            token_id=principal.token,
            label=wanted.label,
            now=now_ms(),
        )
    except ParleyError as exc:  # the service's messages start with the path of the bad input
        path = exc.message.split(":", 1)[0]
        if exc.field is None and FIELD_RE.match(path):
            exc.field = f"body.{path}"
        raise
    audit(request, principal, {"subscription": row.id})
    return _view(row)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def unsubscribe(
    subscription_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, principal: Subscriber
) -> Response:
    """Delete one of the caller's subscriptions; its matches stay."""
    subscriptions.unsubscribe(node_of(request), principal.officer, subscription_id, now_ms())
    audit(request, principal, {"subscription": subscription_id})
    return Response(status_code=204)


@router.get("/subscriptions/matches", response_model=list[MatchView])
def matches(
    request: Request,
    principal: Subscriber,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="The last match id seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The matches of the caller's subscriptions after match ``after``, oldest first."""
    found = subscriptions.matches_since(node_of(request), principal.officer, after, limit)
    return [
        {
            "id": m.id,
            "subscription": m.subscription,
            "label": m.label,
            "ref": f"{m.entry_party}:{m.entry_seq}",
            "matched": m.matched,
        }
        for m in found
    ]
