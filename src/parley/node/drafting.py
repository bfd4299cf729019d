"""Checking what an officer asks to append, before anything is signed.

``check_draft`` refuses system kinds (written only by the node itself: receipt, key, policy,
evidence, observation), unknown kinds, bad statuses, incoherent audience/TLP pairs, and bodies
that break their kind's schema. It is the one gate for low-level appends.
"""

from __future__ import annotations

from typing import Any

from parley.core import bodies
from parley.core.canonical import check_subset
from parley.core.entry import KINDS, STATUSES, SYSTEM_KINDS, resolve_sharing
from parley.core.errors import InvalidEntryError
from parley.node.log import Draft


def check_body(kind: str, body: Any) -> None:
    check_subset(body, path="body")
    if kind == "notification":
        from parley.formats.notification import validate_notification

        validate_notification(body)
    else:
        bodies.validate_body(kind, body)


def check_draft(
    kind: str, status: str, body: Any, to: str | None = None, tlp: str | None = None
) -> Draft:
    if kind in SYSTEM_KINDS:
        raise InvalidEntryError(
            f"kind {kind!r} is written only by the node itself",
            hint=f"log append takes {', '.join(k for k in KINDS if k not in SYSTEM_KINDS)}",
        )
    if kind not in KINDS:
        raise InvalidEntryError(f"kind {kind!r} is unknown; expected one of {list(KINDS)}")
    if status not in STATUSES:
        raise InvalidEntryError(f"status {status!r} is not one of {list(STATUSES)}")
    audience, resolved_tlp = resolve_sharing(kind, to, tlp)
    check_body(kind, body)
    return Draft(kind, status, body, audience, resolved_tlp)
