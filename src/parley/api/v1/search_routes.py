"""``GET /api/v1/search``: full-text search in five languages (``parley.node.search``).

Headlines, descriptions, instructions, hotline texts (and their phrases in every catalogue
language), inquiries and replies, in en, ja, ko, zh and ru; one- and two-character CJK queries
match (the index keeps every CJK character and pair). Results respect audiences and the caller's
clearance: the service looks only at bodies this node holds and the caller may read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from parley.api.v1.auth import allowed, node_of
from parley.api.v1.schemas import PROBLEMS
from parley.node import search
from parley.node.access import Action, Principal

router = APIRouter(tags=["search"], responses=PROBLEMS)


class HitView(BaseModel):
    """One entry that matches, with a snippet of its text."""

    ref: str
    kind: str
    author: str
    status: str
    tlp: str
    time: int
    snippet: str
    cursor: str


class SearchView(BaseModel):
    """A page of hits, newest first; follow ``cursor`` until it is null."""

    query: str
    hits: list[HitView]
    cursor: str | None
    behind: bool


@router.get("/search", response_model=SearchView)
def find(
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.READ))],
    q: Annotated[str, Query(max_length=200, description="Words, or CJK characters.")],
    kinds: Annotated[
        list[str] | None, Query(description=f"Any of {', '.join(search.SEARCHABLE_KINDS)}.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = search.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The entries whose text matches ``q``, that the caller may read, newest first."""
    page = search.search(
        node_of(request),
        q,
        clearance=principal.clearance,
        kinds=None if not kinds else tuple(kinds),
        after_cursor=cursor,
        limit=limit,
    )
    return page.to_dict()
