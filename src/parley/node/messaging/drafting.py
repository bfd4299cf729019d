"""Checking what an officer asks to append, before anything is signed.

``check_draft`` refuses system kinds (written only by the node itself: receipt, key, policy,
evidence, observation), unknown kinds, bad statuses, incoherent audience/TLP pairs, and bodies
that break their kind's schema. It is the one gate for low-level appends.

Given the policy in force (``policy``), it also holds this node's own entries to the rules a
peer will judge them by (``check_policy``), so nothing is signed that a peer would store
header-only: a named audience lists members of the network only (once there is a network: the
one-member policy ``parley init`` writes names no one else yet), and an addressed entry's
``deadlines`` keep to its deadline class's bounds (``parley.core.deadlines.bounds_breach``, the
check ingest applies; a kind whose schema requires deadlines must state them). ``log append``
and ``hotline send`` pass the policy; ``inquire``, ``reply`` and notifications state their
deadlines with ``parley.core.deadlines.deadlines_for``, which keeps to the same bounds.
"""

from __future__ import annotations

from typing import Any

from parley.core import bodies
from parley.core.canonical import check_subset
from parley.core.deadlines import bounds_breach
from parley.core.entry import ADDRESSED_KINDS, ALL, KINDS, STATUSES, SYSTEM_KINDS, resolve_sharing
from parley.core.errors import InvalidEntryError, PolicyError
from parley.core.policy import PolicyDocument
from parley.node.log import Draft
from parley.node.messaging.deadlines import REQUIRED_KINDS, deadline_class_of


def check_body(kind: str, body: Any) -> None:
    """Check ``body`` against its kind's schema (notification or ``parley.core.bodies``)."""
    check_subset(body, path="body")
    if kind == "notification":
        from parley.formats.notification import validate_notification

        validate_notification(body)
    else:
        bodies.validate_body(kind, body)


def check_policy(policy: PolicyDocument, draft: Draft) -> None:
    """Refuse a draft that the policy's members would store header-only (module docstring)."""
    members = {m.party for m in policy.members}
    if draft.audience is not None and draft.audience != ALL and len(members) > 1:
        for party in draft.audience:
            if party not in members:
                raise PolicyError(
                    f"{party} is not a member of network {policy.network}",
                    hint=f"members: {', '.join(sorted(members))}",
                )
    if draft.kind not in ADDRESSED_KINDS:
        return
    stated = draft.body.get("deadlines") if isinstance(draft.body, dict) else None
    name = deadline_class_of(draft.kind, draft.body)
    reason = bounds_breach(policy, name, stated, required=draft.kind in REQUIRED_KINDS)
    if reason is not None:
        raise PolicyError(
            f"{draft.kind}: {reason}; peers would store it header-only and never receipt it",
            hint="state deadlines within the policy's bounds ('parley policy show')",
        )


def check_draft(
    kind: str,
    status: str,
    body: Any,
    to: str | None = None,
    tlp: str | None = None,
    *,
    policy: PolicyDocument | None = None,
) -> Draft:
    """The ``Draft`` of an officer's append once it passes the checks of the module docstring."""
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
    draft = Draft(kind, status, body, audience, resolved_tlp)
    if policy is not None:
        check_policy(policy, draft)
    return draft
