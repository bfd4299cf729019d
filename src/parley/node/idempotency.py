"""``Idempotency-Key``: a repeated create returns the first result and appends nothing.

The key is claimed for the caller (a token or an officer) in its own transaction before the
action runs, with a digest of the request; the reply is kept once the action completed. A repeat
with the same request gets the kept reply; with another request under the same key, a conflict;
while the first still runs, a conflict that says to retry. A request that failed before it
changed anything gives its claim up, so it can be sent again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from parley.core.errors import ConflictError, InvalidEntryError, ParleyError
from parley.store import access as rows
from parley.store.engine import Store

MAX_KEY = 200


@dataclass(frozen=True)
class Kept:
    """A reply: its HTTP status and JSON value, and whether it is a repeat's."""

    status: int
    value: Any
    repeated: bool


def request_digest(*parts: Any) -> str:
    """The digest of a request: its route and its parsed input, canonically ordered.

    The standard library's encoder, not orjson: a request may carry any JSON number, integers
    past 64 bits included, and must still get a digest (and its answer, a 400 naming the field).
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def once(
    store: Store,
    caller: str,
    key: str | None,
    digest: str,
    action: Callable[[], tuple[int, Any]],
    now: int,
) -> Kept:
    """Run ``action`` once per ``(caller, key)``; without a key, run it every time."""
    if key is None:
        status, value = action()
        return Kept(status, value, False)
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidEntryError(
            f"Idempotency-Key: 1 to {MAX_KEY} printable characters", field="Idempotency-Key"
        )
    with store.write() as tx:
        earlier = rows.reserve_reply(tx, caller, key, digest, now)
    if earlier is not None:
        if earlier.request != digest:
            raise ConflictError(
                "this Idempotency-Key was used for another request",
                hint="use a new key for a new request",
            )
        if earlier.status is None or earlier.reply is None:
            raise ConflictError(
                "the first request with this Idempotency-Key has not finished",
                hint="retry in a moment",
            )
        return Kept(earlier.status, orjson.loads(earlier.reply), True)
    try:
        status, value = action()
    except ParleyError:
        with store.write() as tx:
            rows.release_reply(tx, caller, key)
        raise
    with store.write() as tx:
        rows.keep_reply(tx, caller, key, status, orjson.dumps(value).decode())
    return Kept(status, value, False)
