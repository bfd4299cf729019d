"""Drafting network policies: the defaults a new policy starts from.

Deadline defaults follow the regimes Parley serves (docs/protocol.md, Deadlines): nuclear
notifications delivered within 60 s and acknowledged within 15 min; hotline messages
acknowledged within 5 min; disasters within 60 min; outbreaks within 24 h. Bounds let the
sender shorten a deadline, never stretch it past the maximum or under the minimum. A live
network sets real minimums; a demo or test network may scale everything down to seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parley.core.policy import PolicyDocument

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

# (delivered_within, acknowledged_within) defaults per deadline class, in ms.
DEADLINE_CLASSES: dict[str, tuple[int, int]] = {
    "nuclear": (60 * SECOND, 15 * MINUTE),
    "hotline": (60 * SECOND, 5 * MINUTE),
    "disaster": (5 * MINUTE, 60 * MINUTE),
    "security": (5 * MINUTE, 60 * MINUTE),
    "cyber": (15 * MINUTE, 4 * HOUR),
    "health": (15 * MINUTE, 24 * HOUR),
    "military": (15 * MINUTE, 60 * MINUTE),
    "encounter": (60 * SECOND, 5 * MINUTE),
    "inquiry": (5 * MINUTE, 48 * HOUR),
    "check": (5 * MINUTE, 60 * MINUTE),
    "assistance": (5 * MINUTE, 4 * HOUR),
    "roadmap": (60 * MINUTE, 7 * 24 * HOUR),
    "other": (15 * MINUTE, 24 * HOUR),
}
# The shortest deadline that witnessed times can judge: a cosignature time is whole seconds
# (rounded down, so +-1 s on each of the entry and the answer), and a receipt's k-th
# cosignature can follow it by the time its node takes to announce it to a second witness
# (``parley.node.runtime.announcer.LAZY_S``, 2 s). A scaled-down policy (the demo's) keeps every
# deadline at least this long, or prompt answers would be judged late.
WITNESSED_FLOOR_MS = 10 * SECOND
HUMAN_ACK = ["encounter", "hotline", "nuclear", "check", "inquiry"]

# Notification category domains (docs/formats.md, Categories) by deadline class; a category
# code absent here falls back to its domain, then to "other".
_CATEGORY_CLASSES: dict[str, str] = {
    "nuclear": "nuclear",
    "geo": "disaster",
    "met": "disaster",
    "env": "disaster",
    "industrial": "disaster",
    "displacement": "disaster",
    "maritime.search-rescue": "disaster",
    "security": "security",
    "cyber": "cyber",
    "health": "health",
    "military": "military",
    "maritime.encounter": "encounter",
    "air.encounter": "encounter",
}


def deadline_class(category: str) -> str:
    """The policy's deadline class for a notification category code (``geo.tsunami``).

    Natural and industrial hazards, search and rescue and displacement are ``disaster``;
    encounters at sea or in the air are ``encounter``; every other domain has its own class;
    anything else (``general.other``, an unknown code) is ``other``.
    """
    if category in _CATEGORY_CLASSES:
        return _CATEGORY_CLASSES[category]
    return _CATEGORY_CLASSES.get(category.split(".", 1)[0], "other")


def deadline_table(scale: float = 1.0, floor_ms: int = 1) -> dict[str, Any]:
    """Deadline bounds per class; ``scale`` < 1 shrinks them for demo and test networks.

    No default or minimum goes under ``floor_ms``: a network that judges its deadlines on
    witnessed times needs them longer than witnessing can resolve (``WITNESSED_FLOOR_MS``).
    """
    table: dict[str, Any] = {}
    floor = max(1, floor_ms)
    for name, (delivered, acknowledged) in DEADLINE_CLASSES.items():
        d, a = max(floor, int(delivered * scale)), max(floor, int(acknowledged * scale))
        table[name] = {
            "delivered_within": {"default": d, "min": max(floor, d // 10), "max": d * 4},
            "acknowledged_within": {"default": a, "min": max(floor, a // 10), "max": a * 4},
        }
    return table


def draft_policy(
    *,
    network: str,
    name: str,
    members: Sequence[dict[str, str]],
    created: int,
    version: int = 1,
    witness_quorum: int | None = None,
    deadline_scale: float = 1.0,
    deadline_floor_ms: int = 1,
    check_interval_ms: int = 24 * HOUR,
) -> PolicyDocument:
    """A policy document with Parley's defaults for the given members (sorted by party)."""
    ordered = sorted(members, key=lambda m: m["party"])
    quorum = min(2, len(ordered) - 1) if witness_quorum is None else witness_quorum
    return PolicyDocument.from_dict(
        {
            "v": 1,
            "network": network,
            "name": name,
            "version": version,
            "created": created,
            "members": [
                {"party": m["party"], "name": m["name"], "identity": m["identity"]} for m in ordered
            ],
            "deadlines": deadline_table(deadline_scale, deadline_floor_ms),
            "human_ack": HUMAN_ACK,
            "quotas": {
                "entries_per_minute": 600,
                "bytes_per_minute": 64 * 1024 * 1024,
                "addressed_per_minute": 300,
            },
            "limits": {"header_bytes": 4096, "body_bytes": 16 * 1024 * 1024},
            "witness_quorum": quorum,
            "witnesses": [],
            "skew_tolerance_ms": 30 * SECOND,
            "check_interval_ms": check_interval_ms,
            "regime": {"launch_notice_lead_ms": 24 * HOUR},
            "checkpoint_time_line": False,  # extension-free C2SP checkpoints (protocol s6)
        }
    )
