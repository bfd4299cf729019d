"""The node's logs: one JSON object per line (structlog), configured here and nowhere else.

``configure`` routes every logger of the process (the node's ``logging.getLogger`` calls,
uvicorn's, structlog's own) through one structlog pipeline that writes one JSON object per line
with ``time`` (RFC 3339 UTC), ``level``, ``logger`` and ``event``, plus the event's own keys.
``parley serve`` calls it before uvicorn starts, and each ``--workers`` process again when it
builds its app (``app.create_app_from_env``). Settings, read from the environment:

* ``PARLEY_LOG_LEVEL``: ``debug``, ``info``, ``warning`` (default: what the node printed
  before it logged JSON, so a supervisor's pipe fills no faster) or ``error``. One
  ``request`` event per HTTP request (route template, method, status, milliseconds) is logged at
  ``debug``;
* ``PARLEY_LOG_FILE``: append to this file (0600) instead of writing to standard error.

**Never a secret.** What the node logs names things (a peer, a route template, an entry's
``PARTY:SEQ``, an error's message), never a body, a header value, a query string or a request
path (a route template instead). ``redact`` is the second guard: a key whose name says it holds
a secret (password, token, secret, totp, key, authorization, cookie, body, passphrase) is
replaced by ``[redacted]``, and anything in any value that looks like an API token
(``parley_<id>_<secret>``), an ``Authorization`` credential or an ``otpauth://`` URI is
masked. tests/integration/test_operations.py plants markers in a federation and finds none.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR
SECRET_KEYS = re.compile(
    r"pass|token|secret|totp|key|authori[sz]ation|cookie|body|credential|csrf", re.IGNORECASE
)
SECRET_TEXT = re.compile(
    r"parley_[0-9a-f]{12}_[A-Za-z0-9_-]{10,}"
    r"|(?i:\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|otpauth://\S+"
)
REDACTED = "[redacted]"
HANDLER_NAME = "parley-json"
KEEP = frozenset({"event", "level", "logger", "time", "exc_info", "stack_info"})

__all__ = ["configure", "redact"]


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return SECRET_TEXT.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEYS.search(str(k)) else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask secrets by key name and by shape (module docstring); a structlog processor."""
    for key in list(event):
        if key not in KEEP and SECRET_KEYS.search(key):
            event[key] = REDACTED
        else:
            event[key] = _masked(event[key])
    return event


def _stream() -> TextIO:
    path = os.environ.get("PARLEY_LOG_FILE")
    if not path:
        return sys.stderr
    target = Path(path)
    descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return os.fdopen(descriptor, "a", buffering=1, encoding="utf-8")


def configure() -> None:
    """Send every log record of this process through the JSON pipeline (module docstring)."""
    wanted = os.environ.get("PARLEY_LOG_LEVEL", "warning").lower()
    level = LEVELS.get(wanted, logging.WARNING)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    )
    handler = logging.StreamHandler(_stream())
    handler.setFormatter(formatter)
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        stream = getattr(old, "stream", None)
        if old.get_name() == HANDLER_NAME and stream is not sys.stderr:
            old.close()  # a file this module opened before
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
