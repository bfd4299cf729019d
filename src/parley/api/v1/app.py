"""The ``/api/v1`` application, mounted in the node's app.

Its own OpenAPI document is served at ``/api/v1/openapi.json``: every route, schema, error and
security scheme. Errors are RFC 9457 problems (``parley.api.problems``), as on every route of the
node. Request bodies are bounded before they are read (``BODY_LIMITS``; ``API_LIMIT`` for any
other request under ``/api/v1``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from parley.api import problems
from parley.api.v1 import (
    assistance_routes,
    auth,
    category_routes,
    map_routes,
    messaging_routes,
    node_routes,
    notification_routes,
    release_routes,
    roadmap_routes,
    search_routes,
    session_routes,
    settings_routes,
    stream_routes,
    subscription_routes,
)
from parley.node.node import Node

PREFIX = "/api/v1"
API_LIMIT = 64 * 1024
BODY_LIMITS: dict[tuple[str, str], int] = {
    ("POST", f"{PREFIX}/notifications"): 1024 * 1024,
    ("POST", f"{PREFIX}/notifications/import"): 16 * 1024 * 1024,
    ("POST", f"{PREFIX}/roadmaps"): 4 * 1024 * 1024,
}


def create(node: Node) -> FastAPI:
    """The API of ``node``, to mount at ``PREFIX``."""
    api = FastAPI(
        title=f"Parley node {node.party}: officer and tool API",
        version="1",
        description="What an officer or a tool does with the node. See docs/api.md.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.node = node
    api.state.api_limits = auth.Limits(node)
    problems.install(api)
    api.openapi = lambda: _document(api)  # type: ignore[method-assign]
    api.include_router(session_routes.router)
    api.include_router(settings_routes.router)
    api.include_router(map_routes.router)  # before /notifications/{ref}
    api.include_router(notification_routes.router)
    api.include_router(stream_routes.router)
    api.include_router(subscription_routes.router)
    api.include_router(search_routes.router)
    api.include_router(messaging_routes.router)
    api.include_router(node_routes.router)
    api.include_router(release_routes.router)
    api.include_router(category_routes.router)
    api.include_router(assistance_routes.router)
    api.include_router(roadmap_routes.router)
    return api


# OpenAPI links (3.0 s4.7.20): what a client (and schemathesis' stateful run) may do next with
# what an answer returned. (method, path, status) -> link name -> (method, path, parameters).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/notifications", "201"): {
        "GetNotification": ("get", "/notifications/{ref}", {"ref": "$response.body#/ref"}),
        "UpdateNotification": (
            "post",
            "/notifications/{ref}/update",
            {"ref": "$response.body#/ref"},
        ),
        "CancelNotification": (
            "post",
            "/notifications/{ref}/cancel",
            {"ref": "$response.body#/ref"},
        ),
        "GetReceipts": ("get", "/receipts/{ref}", {"ref": "$response.body#/ref"}),
        "GetEvidence": ("get", "/evidence/{ref}", {"ref": "$response.body#/ref"}),
    },
    ("post", "/pending", "201"): {
        "GetPending": ("get", "/pending/{pending_id}", {"pending_id": "$response.body#/id"}),
        "ReleasePending": (
            "post",
            "/pending/{pending_id}/release",
            {"pending_id": "$response.body#/id"},
        ),
        "WithdrawPending": (
            "post",
            "/pending/{pending_id}/withdraw",
            {"pending_id": "$response.body#/id"},
        ),
    },
    ("post", "/tokens", "201"): {
        "RevokeToken": ("delete", "/tokens/{token_id}", {"token_id": "$response.body#/info/id"}),
    },
    ("post", "/hotline/messages", "201"): {
        "GetHotlineMessage": ("get", "/hotline/messages/{ref}", {"ref": "$response.body#/ref"}),
    },
    ("post", "/inquiries", "201"): {
        "GetInquiry": ("get", "/entries/{ref}", {"ref": "$response.body#/ref"}),
    },
}


def _links(document: dict[str, Any]) -> None:
    """Add ``LINKS`` to the document, naming each target by its operationId."""
    paths = document.get("paths", {})
    for (method, path, status), links in LINKS.items():
        answer = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if answer is None:
            raise RuntimeError(f"LINKS names {method.upper()} {path} {status}, which is no answer")
        answer["links"] = {
            name: {"operationId": paths[target][verb]["operationId"], "parameters": parameters}
            for name, (verb, target, parameters) in links.items()
        }


def _document(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, built once: every error answer is ``application/problem+json``."""
    if api.openapi_schema is None:
        document = get_openapi(
            title=api.title,
            version=api.version,
            description=api.description,
            routes=api.routes,
            servers=[{"url": PREFIX}],
        )
        for path in document.get("paths", {}).values():
            for operation in path.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        _links(document)
        api.openapi_schema = document
    return api.openapi_schema
