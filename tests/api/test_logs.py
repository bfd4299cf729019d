"""The one logging configuration: JSON lines, and secrets masked by key and by shape."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from parley.api import logs

TOKEN = "parley_0123456789ab_" + "S" * 43


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "node.log"
    monkeypatch.setenv("PARLEY_LOG_FILE", str(path))
    monkeypatch.setenv("PARLEY_LOG_LEVEL", "debug")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    logs.configure()
    yield path
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    structlog.reset_defaults()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stdlib_and_structlog_events_are_json_lines(logged: Path) -> None:
    logging.getLogger("parley.node.runtime.pulls").warning("pull from %s failed: %s", "KR", "down")
    structlog.get_logger("parley.request").debug("request", route="/feeds/cap.atom", status=200)
    first, second = lines(logged)
    assert first["event"] == "pull from KR failed: down" and first["level"] == "warning"
    assert first["logger"] == "parley.node.runtime.pulls" and "time" in first
    assert second == {**second, "event": "request", "route": "/feeds/cap.atom", "status": 200}


def test_a_secret_key_or_a_secret_shaped_value_is_redacted(logged: Path) -> None:
    structlog.get_logger("parley.test").info(
        "login", password="hunter2-secret", totp="123456", detail={"token": "abc"}, who="duty"
    )
    logging.getLogger("parley.test").warning(
        "refused %s and %s and %s", TOKEN, "Bearer abcdefghijkl", "otpauth://totp/x?secret=ABC"
    )
    text = logged.read_text()
    for secret in ("hunter2-secret", "123456", 'abc"', TOKEN, "abcdefghijkl", "secret=ABC"):
        assert secret not in text
    login, refused = lines(logged)
    assert login["password"] == logs.REDACTED and login["who"] == "duty"
    assert login["detail"] == {"token": logs.REDACTED}
    assert refused["event"] == "refused [redacted] and [redacted] and [redacted]"


def test_an_event_below_the_level_is_not_written(
    logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_LOG_LEVEL", "warning")
    logs.configure()
    structlog.get_logger("parley.request").debug("request", route="/metrics")
    logging.getLogger("parley.test").info("quiet")
    assert logged.read_text() == ""
