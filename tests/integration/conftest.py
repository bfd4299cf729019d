"""Fixtures of the five-node integration tests (``fleet``: set up once per module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.fleet import Fleet, eventually


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.running(tmp_path_factory.mktemp("fleet")) as fleet:
        yield fleet


@pytest.fixture
def wait() -> Callable[..., Any]:
    """``wait(check, timeout, what)``: poll until ``check()`` is truthy, bounded in time."""
    return eventually
