"""Stored bodies read again and again: check each one's canonical form once per process.

A list or a map page decodes every body it shows, and the dashboard asks for ten thousand of
them at each load. ``Body.value`` checks that the bytes are canonical JSON in Parley's subset
(DESIGN.md, "The entry"), a recursive walk and a re-encoding that cost a third of a map page's
time. The answer depends on the bytes alone, so it is remembered by their SHA-256: bytes found
canonical once are only decoded afterwards, and bytes that fail are checked again each time
(the error they raise is the reader's message).

The memo keeps at most ``MAX_REMEMBERED`` digests (32 bytes each), forgetting the oldest, and
is shared by the threads of one process under a lock. Keying by the bytes' own digest keeps it
right whatever the store holds: a row whose body changed, or was erased, is new bytes or none.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import orjson

from parley.core.entry import Body

__all__ = ["MAX_REMEMBERED", "value_of"]

MAX_REMEMBERED = 200_000  # about 12 MiB of digests and dictionary slots at most

_lock = threading.Lock()
_canonical: OrderedDict[bytes, None] = OrderedDict()


def value_of(body: Body) -> Any:
    """``body.value()``, decoding without the check when these bytes passed it before."""
    digest = hashlib.sha256(body.data).digest()
    with _lock:
        known = digest in _canonical
        if known:
            _canonical.move_to_end(digest)
    if known:
        return orjson.loads(body.data)
    value = body.value()  # raises for bytes that are not canonical: nothing is remembered
    with _lock:
        _canonical[digest] = None
        if len(_canonical) > MAX_REMEMBERED:
            _canonical.popitem(last=False)
    return value
