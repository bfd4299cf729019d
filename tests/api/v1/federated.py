"""JP's ``/api/v1`` with a peer, CN: two real nodes under one policy, in this process.

The nodes are built as the federation tests build them (``tests.node.conftest.make_network``);
entries travel by the real pull workflow from an in-memory copy of the author's log
(``MemoryLog``), as a peer would serve them. JP has one officer per role, named after the role,
each with a TOTP factor, like ``conftest.make_api``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest

from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.node import officers
from parley.node.access import ROLES
from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.node import Node, now_ms
from tests.api.v1.conftest import Api
from tests.node.conftest import MemoryLog, make_network, pin
from tests.support import OFFICER_PASSWORD


@dataclass
class Federated:
    """JP's API, and CN, a peer of JP under the same policy."""

    api: Api
    cn: Node

    @property
    def jp(self) -> Node:
        """The node the API serves."""
        return self.api.node

    def deliver(self, author: Node, reader: Node) -> None:
        """``reader`` pulls ``author``'s log as the author serves it to the reader."""
        with reader.store.read() as conn:
            peer = peers.find_peer(conn, author.party)
        pull(reader, peer or pin(reader, author), MemoryLog(author, reader.party))


def make_federated(folder: Path, others: tuple[str, ...] = ()) -> Federated:
    """JP and CN (and ``others``), pinned to each other, and JP's app with every role."""
    nodes = make_network(folder, ("JP", "CN", *others))
    jp, cn = nodes["JP"], nodes["CN"]
    for reader in nodes.values():
        for author in nodes.values():
            if reader is not author:
                pin(reader, author)
    secrets: dict[str, str] = {}
    for role in ROLES:
        officers.add_officer(jp.store, role, role, OFFICER_PASSWORD, now_ms())
        secrets[role] = pyotp.parse_uri(officers.enrol_totp(jp.store, role)).secret
    app = create_app(jp)
    app.state.published = jp.checkpoint()
    mounted = next(r for r in app.routes if getattr(r, "path", "") == "/api/v1")
    limits = mounted.app.state.api_limits  # type: ignore[attr-defined]
    limits.by_address = AnonymousLimiter(rate=1e9, burst=1e9)
    limits.by_caller = AnonymousLimiter(rate=1e9, burst=1e9)
    return Federated(Api(jp, app, folder / "jp", secrets), cn)


def federated_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    """A JP + CN pair, closed after use: the body of each test module's ``federated`` fixture."""
    built = make_federated(tmp_path_factory.mktemp("federated"))
    yield built
    built.jp.close()
    built.cn.close()
