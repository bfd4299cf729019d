"""RFC 9457 everywhere: every error is a problem with a stable, documented type and a title."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import parley
from parley.api import problems
from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.core.errors import ParleyError
from parley.node.node import Node
from tests.support import init_node

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def every_error_class() -> set[type[ParleyError]]:
    for module in pkgutil.walk_packages(parley.__path__, "parley."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    found: set[type[ParleyError]] = set()
    todo: list[type[ParleyError]] = [ParleyError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def documented_slugs() -> set[str]:
    text = PROTOCOL.read_text(encoding="utf-8")
    section = text[text.index("### 8.3 Errors") : text.index("## 9.")]
    return set(re.findall(r"`([a-z][a-z0-9-]+)`", section))


def test_every_problem_type_is_a_stable_slug_listed_in_the_protocol() -> None:
    documented = documented_slugs()
    for cls in every_error_class():
        assert re.fullmatch(r"[a-z][a-z0-9-]+", cls.problem), cls
        assert cls.problem in documented, f"{cls.__name__}: {cls.problem} is not in protocol s8.3"
        assert cls.title and cls.title[0].isupper(), cls
    assert set(problems.EDGE_PROBLEMS) <= documented


def test_a_renamed_error_class_keeps_its_problem_type() -> None:
    from parley.core.errors import EquivocationError

    class SomethingElseError(EquivocationError):
        pass

    renamed = SomethingElseError
    assert renamed.problem == "equivocation"
    assert renamed.title == "Two histories of one log"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    node = Node.open(init_node(tmp_path_factory.mktemp("problems") / "jp", "JP"))
    app = create_app(node)
    app.state.published = node.checkpoint()
    app.state.authenticator.limiter = AnonymousLimiter(rate=0.5, burst=6)
    yield TestClient(app, base_url="http://127.0.0.1:8700", raise_server_exceptions=False)
    node.close()


def is_problem(answer, slug: str, status: int) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == problems.PROBLEM_TYPE + slug
    assert body["status"] == status and body["title"] and body["detail"]


def test_unknown_routes_wrong_methods_and_docs_are_typed_problems(client: TestClient) -> None:
    is_problem(client.get("/fed/v1/no-such-route"), "no-such-route", 404)
    is_problem(client.get("/docs"), "no-such-route", 404)  # off: it would need a CDN
    is_problem(client.delete("/fed/v1/get-sth"), "method-not-allowed", 405)
    is_problem(client.get("/fed/v1/witnessed/KR"), "not-found", 404)
    is_problem(client.get("/fed/v1/get-entries?start=5&end=1"), "bad-proof-request", 400)


def test_a_rate_limited_caller_is_told_when_to_come_back(client: TestClient) -> None:
    answers = [client.get("/fed/v1/get-sth") for _ in range(12)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, "twelve anonymous requests in a row were never rate-limited"
    is_problem(limited[0], "rate-limited", 429)
    assert 1 <= int(limited[0].headers["retry-after"]) <= 2  # one token at 0.5 per second


def test_every_error_class_lives_in_the_one_hierarchy_outside_the_edge() -> None:
    """The API raises errors of ``parley.core.errors`` and the services; it defines none."""
    defined_in_api = {cls for cls in every_error_class() if cls.__module__.startswith("parley.api")}
    assert not defined_in_api, sorted(cls.__qualname__ for cls in defined_in_api)
    body_too_large = [cls for cls in every_error_class() if cls.problem == "body-too-large"]
    assert len(body_too_large) == 1, body_too_large
