"""``/feeds``: the CAP 1.2 Atom feed and the CAP document of each of its items.

A thin edge over ``parley.node.feeds``: it resolves the caller (``auth.token_reader``: a token
as a Bearer token or as the HTTP Basic password; no ``Authorization`` is the public), answers
conditional requests (RFC 9110 s13.1: ``If-None-Match`` first, else ``If-Modified-Since``) and
says ``Vary: Authorization`` on every answer, since each caller gets its own feed and ETag.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from parley.api.v1.auth import node_of, token_reader
from parley.formats.atom import ATOM_MEDIA_TYPE, CAP_MEDIA_TYPE
from parley.node import feeds
from parley.node.access import PUBLIC
from parley.node.node import now_ms

router = APIRouter()
VARY = {"Vary": "Authorization"}

Text = Annotated[str | None, Query(max_length=200)]


def _cache(request: Request) -> feeds.FeedCache:
    app_state = request.app.state
    if not hasattr(app_state, "feed_cache"):
        app_state.feed_cache = feeds.FeedCache()
    cache: feeds.FeedCache = app_state.feed_cache
    return cache


def _http_date(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC), usegmt=True)


def _not_modified(request: Request, feed: feeds.Feed) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or feed.etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # RFC 9110 s13.1.3: an invalid date is ignored
    if when.tzinfo is None:
        return False
    return feed.modified <= int(when.timestamp()) * 1000


@router.get("/feeds/cap.atom", include_in_schema=False)
def cap_feed(
    request: Request,
    category: Text = None,
    area: Text = None,
    severity: Text = None,
    exercise: Text = None,
    cursor: Text = None,
) -> Response:
    """The CAP alerts the caller may read, as Atom (``parley.node.feeds``)."""
    node = node_of(request)
    reader = token_reader(request) or PUBLIC
    query = feeds.FeedQuery.parse(
        node,
        reader,
        category=category,
        area=area,
        severity=severity,
        exercise=exercise,
        cursor=cursor,
    )
    base = feeds.base_for(node, str(request.base_url).rstrip("/"))
    feed = feeds.feed(node, reader, query, base, _cache(request), now_ms())
    headers = {
        **VARY,
        "ETag": feed.etag,
        "Last-Modified": _http_date(feed.modified),
        "Cache-Control": "no-cache" if reader is PUBLIC else "private, no-cache",
    }
    if _not_modified(request, feed):
        return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type=ATOM_MEDIA_TYPE, headers=headers)


@router.get("/feeds/cap/{party}/{seq}.xml", include_in_schema=False)
def cap_document(request: Request, party: str, seq: str) -> Response:
    """One item's CAP 1.2 document, by the feed's rules."""
    reader = token_reader(request) or PUBLIC
    data = feeds.cap_document(node_of(request), reader, party, seq)
    cache = "no-cache" if reader is PUBLIC else "private, no-cache"
    return Response(data, media_type=CAP_MEDIA_TYPE, headers={**VARY, "Cache-Control": cache})
