"""The ``/api/v1`` application, mounted in the node's app.

Its own OpenAPI document is served at ``/api/v1/openapi.json``: every route, schema, error and
security scheme. Errors are RFC 9457 problems (``parley.api.problems``), as on every route of the
node. Request bodies are bounded before they are read (``BODY_LIMITS``; ``API_LIMIT`` for any
other request under ``/api/v1``).
"""

from __future__ import annotations

from fastapi import FastAPI

from parley.api import problems
from parley.api.v1 import auth, release_routes, session_routes, stream_routes
from parley.node.node import Node

PREFIX = "/api/v1"
API_LIMIT = 64 * 1024
BODY_LIMITS: dict[tuple[str, str], int] = {}


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
    api.include_router(session_routes.router)
    api.include_router(stream_routes.router)
    api.include_router(release_routes.router)
    return api
