"""One notification as a reader may see it, and its exports.

What ``parley show``, ``parley notify show`` and ``parley receipts`` compute, for one reader:
the signed header; the body, or why it is withheld (``access.withheld``, the one judgement);
the incident the notification belongs to (``lifecycle.incident_state``); and each addressee's
receipts and clocks (``inbox.entry``, which judges the clocks at read time).

Invariant 4 holds for everything derived from a body as well: the incident is shown only when
the reader may read every message of it, and a withheld notification's receipts lose the
acknowledgement replies (a reply inherits the TLP of what it answers). An export is refused
(``NotAuthorizedError``, 403) whenever the body would be withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley.core.entry import parse_header, parse_ref
from parley.core.errors import NotAuthorizedError, NotFoundError
from parley.node.access import Principal, withheld
from parley.node.messaging import inbox
from parley.node.node import Node
from parley.node.notifications import lifecycle
from parley.node.notifications.appending import KIND
from parley.node.notifications.export import export_ref
from parley.store import logs

__all__ = ["NotificationView", "export", "notification"]


@dataclass(frozen=True)
class NotificationView:
    """One notification as a reader sees it (module docstring)."""

    ref: str
    leaf_hash: str
    header: dict[str, Any]
    flag: str | None
    body: dict[str, Any] | None
    withheld: str | None
    witnessed: int | None
    incident: dict[str, Any] | None
    addressees: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the view."""
        return {
            "ref": self.ref,
            "leaf_hash": self.leaf_hash,
            "header": self.header,
            "flag": self.flag,
            "body": self.body,
            "withheld": self.withheld,
            "witnessed": self.witnessed,
            "incident": self.incident,
            "addressees": self.addressees,
        }


def _incident(node: Node, principal: Principal, ref: str, now: int) -> dict[str, Any] | None:
    state, links = lifecycle.incident_state(node, ref, now)
    if not all(principal.reads(link.header.tlp) for link in links):
        return None
    chain = [
        {
            "ref": link.ref,
            "leaf_hash": link.leaf_hash,
            "status": link.header.status,
            "msg_type": link.body["msg_type"],
            "sent": link.body["sent"],
        }
        for link in links
    ]
    return {**state, "chain": chain}


def _without_replies(addressee: dict[str, Any]) -> dict[str, Any]:
    shown = dict(addressee)
    for name in ("delivered", "acknowledged"):
        if shown.get(name) is not None:
            shown[name] = {**shown[name], "reply": None}
    return shown


def notification(node: Node, principal: Principal, ref: str, now: int) -> NotificationView:
    """Notification ``ref`` as ``principal`` may see it at ``now``."""
    shown = inbox.entry(node, ref, now)
    if shown.header["kind"] != KIND:
        raise NotFoundError(f"{ref} is a {shown.header['kind']}, not a notification")
    reason = withheld(principal, shown.header["tlp"], shown.why_no_body)
    body = shown.body if reason is None and isinstance(shown.body, dict) else None
    return NotificationView(
        ref=shown.ref,
        leaf_hash=shown.leaf_hash,
        header=shown.header,
        flag=shown.flag,
        body=body,
        withheld=reason,
        witnessed=shown.witnessed,
        incident=None if body is None else _incident(node, principal, shown.ref, now),
        addressees=(
            shown.addressees
            if body is not None
            else [_without_replies(a) for a in shown.addressees]
        ),
    )


def export(node: Node, principal: Principal, ref: str, fmt: str) -> bytes:
    """Notification ``ref`` as CAP, STIX or GeoJSON, if ``principal`` may read its body."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, seq)
    if stored is None:
        raise NotFoundError(f"{ref} is not stored on this node", hint="'parley sync' first")
    header = parse_header(stored.leaf)
    if header.kind != KIND:
        raise NotFoundError(f"{ref} is a {header.kind}, not a notification")
    held = inbox.why_no_body(stored, header, node.party)
    reason = withheld(principal, header.tlp, held)
    if reason is not None:
        raise NotAuthorizedError(f"{ref} cannot be exported: its body is withheld ({reason})")
    return export_ref(node, ref, fmt)
