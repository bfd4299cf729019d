"""The TAXII 2.1 server at ``/taxii2/``: every endpoint of OASIS TAXII 2.1 s4 and s5.

A thin edge over ``parley.node.taxii``: discovery (s4.1) at ``/taxii2/``, one API root (s4.2)
at ``/taxii2/cyber/``, status (s4.3), collections (s5.1, s5.2), objects (s5.3 GET, s5.4 POST),
an object by id (s5.5), manifest (s5.6) and versions (s5.8). Delete an object (s5.7) answers
405: the log is append-only and a TAXII client may not erase what the node signed.

Listings answer the envelope (or manifest, or versions) with ``more`` and ``next``, and the
``X-TAXII-Date-Added-First`` and ``-Last`` headers of the page (s3.4.1). The errors, media
types and authentication are ``parley.api.taxii_http``'s.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from parley.api import taxii_http
from parley.api.taxii_http import check_media, node_of, principal_of, taxii_json
from parley.formats.taxii import (
    STIX_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    format_timestamp_us,
    format_version_us,
)
from parley.node.access import Action, Principal
from parley.node.node import Node, now_ms
from parley.node.taxii import reading, writing
from parley.store.taxii import ObjectRow

PREFIX = "/taxii2"
API_ROOT = "cyber"
MAX_CONTENT_LENGTH = 16 * 1024 * 1024


def _caller(request: Request) -> Principal:
    check_media(request)
    principal = principal_of(request)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(_caller)]
router = APIRouter()


@router.get("/")
def discovery(request: Request, principal: Caller) -> Response:
    """Server discovery (s4.1)."""
    node = node_of(request)
    root = f"{PREFIX}/{API_ROOT}/"
    return taxii_json(
        {
            "title": f"Parley node {node.party}",
            "description": "TAXII 2.1 over this node's cyber notifications, own and received",
            "default": root,
            "api_roots": [root],
        }
    )


@router.get(f"/{API_ROOT}/")
def api_root(request: Request, principal: Caller) -> Response:
    """The API root (s4.2)."""
    return taxii_json(
        {
            "title": f"Cyber notifications of {node_of(request).party}",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": MAX_CONTENT_LENGTH,
        }
    )


@router.get(f"/{API_ROOT}/status/{{status_id}}/")
def status(request: Request, principal: Caller, status_id: str) -> Response:
    """A status resource (s4.3)."""
    return taxii_json(writing.status_for(node_of(request), principal, status_id))


def _collection_json(collection: reading.Collection) -> dict[str, Any]:
    return {
        "id": collection.id,
        "title": collection.title,
        "description": f"cyber notifications, audience {collection.audience}, "
        f"status {collection.status}",
        "can_read": collection.can_read,
        "can_write": collection.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    }


@router.get(f"/{API_ROOT}/collections/")
def collections(request: Request, principal: Caller) -> Response:
    """The collections this caller can read or write (s5.1)."""
    principal.require(Action.READ)
    found = reading.collections_for(node_of(request), principal)
    return taxii_json({"collections": [_collection_json(c) for c in found]} if found else {})


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/")
def collection(request: Request, principal: Caller, collection_id: str) -> Response:
    """One collection (s5.2)."""
    found = reading.collection_for(node_of(request), principal, collection_id)
    return taxii_json(_collection_json(found))


async def _page(
    request: Request,
    principal: Principal,
    collection_id: str,
    object_id: str | None = None,
    *,
    version_default: str = "last",
) -> reading.Page:
    node = node_of(request)
    params = dict(request.query_params)

    def read() -> reading.Page:
        wanted = reading.ObjectFilter.parse(params, version_default=version_default)
        found = reading.collection_for(node, principal, collection_id)
        return reading.page_of(node, principal, found, wanted, object_id=object_id)

    return await anyio.to_thread.run_sync(read)


def _listing(page: reading.Page, body: dict[str, Any]) -> Response:
    headers = {}
    if page.objects:
        headers["X-TAXII-Date-Added-First"] = format_timestamp_us(page.objects[0].date_added)
        headers["X-TAXII-Date-Added-Last"] = format_timestamp_us(page.objects[-1].date_added)
    if page.more:
        body = {"more": True, "next": page.next, **body}
    return taxii_json(body, headers=headers)


def _envelope(page: reading.Page) -> Response:
    """An envelope (s3.7) whose objects are spliced in as stored, never re-encoded."""
    if not page.objects:
        return _listing(page, {})
    response = _listing(page, {"objects": []})
    spliced = bytes(response.body)[:-2] + b",".join(row.object for row in page.objects) + b"]}"
    response.body = spliced
    response.headers["content-length"] = str(len(spliced))
    return response


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/")
async def get_objects(request: Request, principal: Caller, collection_id: str) -> Response:
    """Objects (s5.3), paged by the local object sequence."""
    return _envelope(await _page(request, principal, collection_id))


@router.post(f"/{API_ROOT}/collections/{{collection_id}}/objects/")
async def add_objects(request: Request, principal: Caller, collection_id: str) -> Response:
    """Add objects (s5.4): the envelope becomes one cyber notification; 202 with its status."""
    node: Node = node_of(request)
    data = await request.body()

    def write() -> dict[str, Any]:
        return writing.add_to(node, principal, collection_id, data, now_ms()).to_json()

    resource = await anyio.to_thread.run_sync(write)
    taxii_http.audit(
        request,
        principal,
        {"status": resource["id"], "objects": resource["success_count"]},
    )
    return taxii_json(resource, 202)


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/")
async def get_object(
    request: Request, principal: Caller, collection_id: str, object_id: str
) -> Response:
    """One object (s5.5): its versions that match, as an envelope; 404 when none."""
    page = await _page(request, principal, collection_id, object_id)
    if not page.objects and "next" not in request.query_params:
        raise HTTPException(404, f"no object {object_id[:300]!r} this caller may read here")
    return _envelope(page)


@router.delete(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/")
def delete_object(request: Request, principal: Caller, collection_id: str, object_id: str) -> None:
    """Delete an object (s5.7): refused, 405. The log is append-only."""
    raise HTTPException(
        405,
        "objects cannot be deleted: they are part of signed, append-only notifications",
        headers={"Allow": "GET"},
    )


def _manifest_record(row: ObjectRow) -> dict[str, Any]:
    return {
        "id": row.stix_id,
        "date_added": format_timestamp_us(row.date_added),
        "version": format_version_us(row.version),
        "media_type": STIX_MEDIA_TYPE,
    }


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/manifest/")
async def manifest(request: Request, principal: Caller, collection_id: str) -> Response:
    """The manifest (s5.6): id, date_added, version and media type of each object."""
    page = await _page(request, principal, collection_id)
    records = [_manifest_record(row) for row in page.objects]
    return _listing(page, {"objects": records} if records else {})


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/")
async def versions(
    request: Request, principal: Caller, collection_id: str, object_id: str
) -> Response:
    """The versions of one object (s5.8), oldest added first."""
    page = await _page(request, principal, collection_id, object_id, version_default="all")
    if not page.objects and "next" not in request.query_params:
        raise HTTPException(404, f"no object {object_id[:300]!r} this caller may read here")
    found = [format_version_us(row.version) for row in page.objects]
    return _listing(page, {"versions": found})


def create(node: Node) -> FastAPI:
    """The TAXII 2.1 application of ``node``, to mount at ``PREFIX``."""
    app = FastAPI(
        title=f"Parley node {node.party}: TAXII 2.1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=True,
    )
    app.state.node = node
    app.state.taxii_limits = taxii_http.TaxiiLimits(node)
    taxii_http.install(app)
    app.include_router(router)
    return app
