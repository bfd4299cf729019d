"""Log entries on the wire: the RFC 6962 ``get-entries`` item, with a body only for its readers.

One item is ``{"leaf_input": <base64 leaf>}`` plus ``"body"`` and ``"salt"`` (base64) when the
reader may read the body (``Header.readable_by``): anyone for ALL + CLEAR, else an authenticated
peer in the audience, or the author. The author's ``get-entries``, every mirror and a wake-up
that carries the entries it announces (``parley.node.federation.push``) all encode with
``entry_item``.
"""

from __future__ import annotations

import base64
from typing import Any

from parley.core.entry import ALL, Audience, readable_by
from parley.store import logs


def b64(data: bytes) -> str:
    """Standard padded base64, as RFC 6962 encodes leaves and hashes."""
    return base64.b64encode(data).decode("ascii")


def stored_audience(text: str) -> Audience:
    """The audience as the store keeps it (``"ALL"`` or ``"A,B"``), as the header states it."""
    return ALL if text == ALL else tuple(text.split(","))


def readable(stored: logs.StoredEntry, reader: str | None) -> bool:
    """``Header.readable_by`` on the audience and TLP stored with the verified header.

    The one rule (``parley.core.entry.readable_by``) without parsing each leaf again.
    """
    audience = stored_audience(stored.audience)
    return readable_by(reader, author=stored.party, audience=audience, tlp=stored.tlp)


def entry_item(stored: logs.StoredEntry, reader: str | None) -> dict[str, Any]:
    """One get-entries item: the leaf, and the body only where ``reader`` may read it."""
    item: dict[str, Any] = {"leaf_input": b64(stored.leaf)}
    if stored.body is not None and stored.salt is not None and readable(stored, reader):
        item["body"] = b64(stored.body)
        item["salt"] = b64(stored.salt)
    return item
