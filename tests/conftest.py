"""Fixtures shared by every test package: real nodes, real databases, real processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support import PG_ADMIN_URL, Server, pg_available

LONG = ("fleet", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the modules that start real nodes first, each module's tests kept in their order.

    ``make test`` runs with ``--dist loadscope``: a module runs whole on one worker, so that its
    fleet starts once, and workers take modules in this order. Starting with the long ones
    (a few minutes each) leaves the many short modules to even out the workers at the end.
    """
    long_modules = {
        item.module.__name__
        for item in items
        if isinstance(item, pytest.Function) and any(item.get_closest_marker(m) for m in LONG)
    }

    def weight(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        return 0 if module is not None and module.__name__ in long_modules else 1

    items.sort(key=weight)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not pg_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; .ci/run starts it")
    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """Run a store test on both engines: None means SQLite in the node home."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def start_server() -> Iterator[Callable[[Path], Server]]:
    """Start real ``parley serve`` processes; all are stopped after the test."""
    started: list[Server] = []

    def factory(home: Path) -> Server:
        server = Server(home)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
