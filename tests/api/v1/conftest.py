"""A node and its ``/api/v1`` in this process, with officers of every role and TOTP factors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from starlette.testclient import TestClient

from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.node import officers
from parley.node.access import ROLES, Scope
from parley.node.node import Node, now_ms
from tests.support import OFFICER_PASSWORD, init_node


@dataclass
class Api:
    """A node, its app, and a way to log officers in."""

    node: Node
    app: object
    home: Path
    secrets: dict[str, str]
    opened: dict[str, tuple[str, str]] = field(default_factory=dict)

    def client(self, **headers: str) -> TestClient:
        """A client with no credentials (no lifespan: no background job runs)."""
        return TestClient(
            self.app,  # type: ignore[arg-type]
            base_url="http://127.0.0.1",
            raise_server_exceptions=False,
            headers=headers,
        )

    def token(self, officer: str, scope: Scope) -> TestClient:
        """A client that carries a fresh token of ``officer`` with ``scope``."""
        secret, _info = officers.issue_token(self.node.store, officer, scope, now_ms())
        return self.client(authorization=f"Bearer {secret}")

    def totp(self, officer: str) -> str:
        """The current TOTP code of ``officer``."""
        return pyotp.TOTP(self.secrets[officer]).now()

    def session(self, officer: str) -> tuple[TestClient, str]:
        """A logged-in client of ``officer`` and its CSRF token.

        A TOTP code is accepted once, so the first login's cookie is kept for later clients.
        """
        client = self.client()
        if officer not in self.opened:
            answer = client.post(
                "/api/v1/session",
                json={"name": officer, "password": OFFICER_PASSWORD, "totp": self.totp(officer)},
            )
            assert answer.status_code == 201, answer.text
            self.opened[officer] = (answer.cookies["parley_session"], answer.json()["csrf"])
        cookie, csrf = self.opened[officer]
        client.cookies.set("parley_session", cookie)
        return client, csrf


def make_api(folder: Path, party: str = "JP") -> Api:
    """A node with one officer per role (named after the role), each with a TOTP factor."""
    home = init_node(folder / party.lower(), party)
    node = Node.open(home)
    secrets: dict[str, str] = {}
    for role in ROLES:
        if role != "admin":
            officers.add_officer(node.store, role, role, OFFICER_PASSWORD, now_ms())
        uri = officers.enrol_totp(node.store, role)
        secrets[role] = pyotp.parse_uri(uri).secret
    app = create_app(node)
    app.state.published = node.checkpoint()
    mounted = next(r for r in app.routes if getattr(r, "path", "") == "/api/v1")
    limits = mounted.app.state.api_limits  # type: ignore[attr-defined]
    limits.by_address = AnonymousLimiter(rate=1e9, burst=1e9)
    limits.by_caller = AnonymousLimiter(rate=1e9, burst=1e9)
    return Api(node, app, home, secrets)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    built = make_api(tmp_path_factory.mktemp("api"))
    yield built
    built.node.close()
