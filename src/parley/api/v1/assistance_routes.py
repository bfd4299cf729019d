"""``GET /api/v1/assistance/board``: the assistance board (docs/protocol.md §7.1, docs/api.md).

A thin route over ``parley.node.assistance.node_board`` and ``parley.node.assistance_view``, the
service and the plain data ``parley assistance board --json`` prints: every request this node
holds with its lines, matches, offers, what is taken up, pending and still needed, and the steps
the lifecycle refused. Entries above the reader's TLP clearance are left out whole.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from parley.api.v1.auth import allowed, node_of
from parley.api.v1.schemas import PROBLEMS
from parley.node.access import Action, Principal
from parley.node.assistance import node_board
from parley.node.assistance_view import board_dict

router = APIRouter(tags=["assistance"], responses=PROBLEMS)


class CandidateView(BaseModel):
    """An offer line matched to a request line, and what of it is allotted."""

    offer: str
    party: str
    line: str
    available: str
    allotted: str
    partial: bool
    distance_km: float | None


class RequestLineView(BaseModel):
    """A request line: requested, taken up, committed and taken up, still needed."""

    id: str
    type: str
    requested: str
    unit: str
    product: str | None
    needed_at: dict[str, str] | None
    taken: str
    counted: str
    still_needed: str
    candidates: list[CandidateView]


class OfferLineView(BaseModel):
    """An offer line: offered, taken up, committed, counted and pending."""

    id: str
    type: str
    fills: str | None
    offered: str
    unit: str
    product: str | None
    origin: dict[str, str] | None
    taken: str
    committed: str
    counted: str
    pending: str


class OfferView(BaseModel):
    """An offer and its phase in the lifecycle."""

    ref: str
    party: str
    type: str
    phase: str
    commit: str | None
    lines: list[OfferLineView]


class RefusedView(BaseModel):
    """A signed step that takes no part in the state, and why."""

    ref: str
    reason: str


class NoteView(BaseModel):
    """An entry shown beside the lifecycle (a quote, information, a version 1 body)."""

    ref: str
    type: str | None
    text: str | None


class RequestView(BaseModel):
    """One request's state."""

    ref: str
    requester: str
    incident: str | None
    phase: str
    lines: list[RequestLineView]
    offers: list[OfferView]
    refused: list[RefusedView]
    notes: list[NoteView]


class BoardView(BaseModel):
    """The whole board."""

    requests: list[RequestView]
    unsolicited: list[str]
    version_1: list[NoteView]
    unreadable: list[RefusedView]


@router.get("/assistance/board", response_model=BoardView)
def board(
    request: Request, principal: Annotated[Principal, Depends(allowed(Action.READ))]
) -> dict[str, Any]:
    """Every assistance request this node holds, with its offers and what is still needed."""
    return board_dict(node_board(node_of(request), principal.clearance))
