"""Notifications: the body schema's public face, lifecycle, and what every rendering shows.

* ``validate_notification`` checks a body (``body_schema``, docs/formats.md, Body schema);
  ``check_status_agrees`` ties the body's CAP status to the signed header's status, so that no
  export can turn an exercise into something real.
* Lifecycle (CAP 1.2 s3.2.1 msgType): an ``Alert``, then ``Update``s that supersede it, then a
  ``Cancel``, or an ``Update`` whose infos say ``responseType`` ``AllClear``. Every follow-up
  references what it changes, both as Parley entries (``PARTY:SEQ`` + leaf hash) and as CAP
  ``sender,identifier,sent``. ``current_state`` derives an incident's state from its chain.
* Renderings (pages, feeds, GeoJSON) take the headline from ``render_headline``, which puts
  ``[EXERCISE]``, ``[TEST]`` or ``[DRAFT]`` in front of anything that is not Actual.

Everything here is pure: times come in as integer milliseconds, nothing is read or written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from parley.formats.body_schema import (
    MSG_TYPES,
    STATUSES,
    check_area,
    check_details,
    parse_cap_reference,
    validate_notification,
)
from parley.formats.categories import CATEGORIES
from parley.formats.errors import FormatError
from parley.formats.values import UTC_TZ, format_cap_time

__all__ = [
    "MSG_TYPES",
    "STATUSES",
    "body_identity",
    "cap_reference",
    "check_area",
    "check_details",
    "check_status_agrees",
    "current_state",
    "follow_up",
    "is_active",
    "is_all_clear",
    "new_notification",
    "parse_cap_reference",
    "pick_info",
    "render_headline",
    "status_marker",
    "validate_notification",
]

_MARKERS = {"Actual": "", "Exercise": "[EXERCISE] ", "Test": "[TEST] ", "Draft": "[DRAFT] "}


def check_status_agrees(body: dict[str, Any], header_status: str) -> None:
    """Raise ``FormatError`` unless the body's CAP status equals the signed header's status."""
    if header_status not in STATUSES:
        raise FormatError(f"header status {header_status!r} is not one of {', '.join(STATUSES)}")
    if body.get("status") != header_status:
        raise FormatError(
            f"body.status: {body.get('status')!r} disagrees with the header status "
            f"{header_status!r}",
            hint="an exercise, test or draft must be signed as such in both places",
        )


def status_marker(status: str) -> str:
    """The marker before a headline: ``[EXERCISE] `` for Exercise, and so on; none for Actual."""
    return _MARKERS.get(status, f"[{status.upper()}] ")


def pick_info(body: dict[str, Any], lang: str | None = None) -> dict[str, Any] | None:
    """The info block for a reader of language ``lang`` (BCP 47).

    The exact tag first, then the same primary language, then English, else the first block.
    """
    infos: list[dict[str, Any]] = body.get("info", [])
    if not infos:
        return None
    if lang:
        wanted = lang.lower()
        for info in infos:
            if info["lang"].lower() == wanted:
                return info
        primary = wanted.split("-")[0]
        for info in infos:
            if info["lang"].lower().split("-")[0] == primary:
                return info
    for info in infos:
        if info["lang"].lower().split("-")[0] == "en":
            return info
    return infos[0]


def render_headline(body: dict[str, Any], lang: str | None = None) -> str:
    """The headline to show, with the status marker for anything that is not Actual."""
    info = pick_info(body, lang)
    if info is None:
        text = f"{body.get('msg_type', 'Notification')} {body.get('identifier', '')}".strip()
    else:
        text = info.get("headline") or info.get("event") or body.get("category", "")
    return status_marker(str(body.get("status", "Actual"))) + text


def cap_reference(body: dict[str, Any]) -> str:
    """The CAP reference "sender,identifier,sent" naming ``body`` (CAP 1.2 s3.2.1)."""
    sent = format_cap_time(body["sent"], body.get("sent_tz", UTC_TZ))
    return f"{body['sender']},{body['identifier']},{sent}"


def body_identity(body: dict[str, Any]) -> tuple[str, str, int]:
    """The idempotency key of a body: (identifier, sender, sent in ms), as ``cap_identity``."""
    return body["identifier"], body["sender"], body["sent"]


def is_all_clear(body: dict[str, Any]) -> bool:
    """Whether ``body`` declares the all-clear: an Update whose every info says AllClear."""
    infos = body.get("info", [])
    return (
        body.get("msg_type") == "Update"
        and bool(infos)
        and all("AllClear" in info.get("response_types", []) for info in infos)
    )


def is_active(body: dict[str, Any], now_ms: int) -> bool:
    """Whether a notification is in force at ``now_ms``.

    In force: an Alert or Update that is not the all-clear and has not expired.
    """
    if body.get("msg_type") not in ("Alert", "Update") or is_all_clear(body):
        return False
    expires = body.get("expires")
    return expires is None or expires > now_ms


def new_notification(
    *,
    category: str,
    identifier: str,
    sender: str,
    sent_ms: int,
    status: str,
    headline: str,
    urgency: str,
    severity: str,
    certainty: str,
    areas: list[dict[str, Any]],
    lang: str = "en",
    description: str | None = None,
    instruction: str | None = None,
    event: str | None = None,
    details: dict[str, Any] | None = None,
    onset_ms: int | None = None,
    expires_ms: int | None = None,
    scope: str = "Public",
    deadlines: dict[str, int] | None = None,
    translations: tuple[dict[str, str], ...] = (),
) -> dict[str, Any]:
    """Build and check a native ``Alert`` body (``parley notify``).

    ``translations`` add one info block per further language: ``{"lang", "headline",
    "description"?, "instruction"?}``; everything else is shared with the first block.
    """
    if category not in CATEGORIES:
        raise FormatError(f"category: {category!r} is not a known category")
    cat = CATEGORIES[category]
    base: dict[str, Any] = {
        "lang": lang,
        "categories": list(cat.cap_categories),
        "event": event or cat.title,
        "urgency": urgency,
        "severity": severity,
        "certainty": certainty,
    }
    for key, value in (("onset", onset_ms), ("expires", expires_ms)):
        if value is not None:
            base[key] = value
    if areas:
        base["areas"] = copy.deepcopy(areas)
    infos = []
    first: dict[str, str | None] = {
        "lang": lang,
        "headline": headline,
        "description": description,
        "instruction": instruction,
    }
    texts: list[Mapping[str, str | None]] = [first, *translations]
    for text in texts:
        info = dict(copy.deepcopy(base), lang=text["lang"], headline=text["headline"])
        for key in ("description", "instruction"):
            if text.get(key):
                info[key] = text[key]
        infos.append(info)
    body: dict[str, Any] = {
        "category": category,
        "msg_type": "Alert",
        "status": status,
        "scope": scope,
        "identifier": identifier,
        "sender": sender,
        "sent": sent_ms,
        "info": infos,
        "details": dict(details or {}),
    }
    for key, value in (("onset", onset_ms), ("expires", expires_ms)):
        if value is not None:
            body[key] = value
    if deadlines is not None:
        body["deadlines"] = dict(deadlines)
    validate_notification(body)
    return body


def follow_up(
    previous: dict[str, Any],
    *,
    msg_type: str,
    previous_ref: str,
    previous_leaf_hash: str,
    identifier: str,
    sent_ms: int,
    sender: str | None = None,
    changes: dict[str, Any] | None = None,
    all_clear: bool = False,
) -> dict[str, Any]:
    """Build and check an Update, Cancel, Ack or Error that answers ``previous``.

    It starts as a copy of ``previous`` (a CAP Update supersedes the whole earlier message),
    applies ``changes`` (top-level body fields), and references ``previous`` both ways. With
    ``all_clear`` an Update tells that the event no longer poses a threat (CAP responseType
    AllClear, urgency Past).
    """
    if msg_type not in ("Update", "Cancel", "Ack", "Error"):
        raise FormatError(
            f"msg_type: a follow-up is Update, Cancel, Ack or Error, not {msg_type!r}"
        )
    if all_clear and msg_type != "Update":
        raise FormatError("all_clear: the all-clear is an Update")
    body = copy.deepcopy(previous)
    # An Update or Cancel is released by whoever writes it: the Alert's release is not its own.
    for key in ("source", "stix", "references", "cap_references", "sent_tz", "note", "release"):
        body.pop(key, None)
    body.update(copy.deepcopy(changes or {}))
    body.update(
        msg_type=msg_type, identifier=identifier, sent=sent_ms, sender=sender or previous["sender"]
    )
    body["references"] = [{"ref": previous_ref, "leaf_hash": previous_leaf_hash}]
    body["cap_references"] = [cap_reference(previous)]
    if all_clear:
        for info in body.get("info", []):
            info["response_types"] = ["AllClear"]
            info["urgency"] = "Past"
    validate_notification(body)
    return body


def current_state(chain: list[dict[str, Any]], now_ms: int | None = None) -> dict[str, Any]:
    """Derive an incident's current state from its chain of bodies, oldest first.

    Alerts and Updates supersede what came before (CAP semantics: an Update replaces the earlier
    message); details are merged field by field, so an Update that omits a field keeps it. A
    Cancel ends the incident ("cancelled"), an all-clear Update ends it ("all-clear"); past its
    ``expires`` (when ``now_ms`` is given) it is "expired"; otherwise "active". Acks and Errors
    are counted but change nothing.
    """
    if not chain:
        raise FormatError("chain: an incident has at least one notification")
    first = chain[0]
    last: dict[str, Any] | None = None
    details: dict[str, Any] = {}
    infos: list[dict[str, Any]] = []
    counts = {"Alert": 0, "Update": 0, "Cancel": 0, "Ack": 0, "Error": 0}
    for body in chain:
        kind = body["msg_type"]
        counts[kind] += 1
        if kind in ("Ack", "Error"):
            continue
        last = body
        details.update(body.get("details", {}))
        if body.get("info"):
            infos = body["info"]
    effective = last or first
    if effective["msg_type"] == "Cancel":
        state = "cancelled"
    elif is_all_clear(effective):
        state = "all-clear"
    elif (
        now_ms is not None
        and effective.get("expires") is not None
        and (effective["expires"] <= now_ms)
    ):
        state = "expired"
    else:
        state = "active"
    primary = pick_info({"info": infos}) or {}
    result: dict[str, Any] = {
        "state": state,
        "category": effective["category"],
        "status": effective["status"],
        "msg_type": effective["msg_type"],
        "identifier": first["identifier"],
        "sender": first["sender"],
        "first_sent": first["sent"],
        "last_sent": max(body["sent"] for body in chain),
        "messages": len(chain),
        "updates": counts["Update"],
        "acks": counts["Ack"],
        "errors": counts["Error"],
        "details": details,
        "info": infos,
    }
    for key in ("urgency", "severity", "certainty", "event", "headline"):
        if key in primary:
            result[key] = primary[key]
    for key in ("onset", "expires"):
        if key in effective:
            result[key] = effective[key]
    return result
