"""What the live stream carries, and to whom: new entries and node events, in commit order.

Two sources, each read past a position:

* entries, by the local ingest sequence (notifications and their updates, receipts, hotline
  messages, inquiries, replies, every kind a node stores, own and received);
* live events (``store/live``): what the node says that is no entry. Every event of the one
  webhook sender (escalations, missed deadlines, peers held or failing, observations,
  subscription matches, break-glass releases) is also a live event, written in the same
  transaction (``parley.node.webhooks.emit``).

A position is a ``Cursor`` of both (``"<ingest>.<event id>"``, the SSE event id). Entries are
numbered under the single-writer lock and so are live events, so a reader that resumes after a
cursor misses nothing and sees nothing twice.

Rights: an event addressed to one officer (a subscription match) goes to that officer only.
Headers are never secret (every peer gets them), so an entry's event always names its ref,
kind, status, audience and TLP; what its body says (headline, message type, the receipt's reply)
is added only when the reader's clearance covers its TLP and the node holds the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.core.entry import ALL, Body, parse_header
from parley.core.errors import InvalidEntryError, ParleyError
from parley.node.access import Principal, withheld
from parley.store import live as live_rows
from parley.store import logs
from parley.store.engine import Store, Writing

CURSOR_RE = re.compile(r"^(-?[0-9]{1,18})\.([0-9]{1,18})$")
PAGE = 500


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the stream: the last ingest sequence and the last live event seen."""

    ingest: int
    event: int

    def __str__(self) -> str:
        return f"{self.ingest}.{self.event}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor an SSE client sends back in ``Last-Event-ID``; a bad one is named."""
        found = CURSOR_RE.match(text.strip())
        if found is None:
            raise InvalidEntryError(
                f"Last-Event-ID {text[:40]!r} is not a stream position",
                field="Last-Event-ID",
                hint="send back the id of the last event received, e.g. 1042.17",
            )
        return cls(int(found.group(1)), int(found.group(2)))


@dataclass(frozen=True)
class Event:
    """One event as stored, before the rights of a reader are applied."""

    cursor: Cursor
    name: str
    data: dict[str, Any]
    officer: str | None = None
    tlp: str | None = None
    held: bool = True
    private: dict[str, Any] = field(default_factory=dict)

    def for_reader(self, principal: Principal) -> dict[str, Any] | None:
        """What ``principal`` may see of this event, or None when it is not for them."""
        if self.officer is not None and self.officer != principal.officer:
            return None
        if self.tlp is None:
            return self.data
        held = None if self.held else "this node holds the signed header only"
        reason = withheld(principal, self.tlp, held)
        if reason is None:
            return {**self.data, **self.private}
        return {**self.data, "withheld": reason}


def publish(
    tx: Writing, kind: str, data: dict[str, Any], now: int, officer: str | None = None
) -> None:
    """Store a live event in the caller's transaction (for everyone, or for one officer)."""
    live_rows.add(tx, now, kind, orjson.dumps(data).decode(), officer)


def head(store: Store) -> Cursor:
    """The position of the newest entry and live event: where a new reader starts."""
    with store.read() as conn:
        return Cursor(logs.last_ingest(conn), live_rows.last_id(conn))


def after(conn: Connection, cursor: Cursor, limit: int = PAGE) -> tuple[list[Event], Cursor]:
    """The events past ``cursor``: entries first, then live events; and the new position."""
    stored = logs.entries_after(conn, cursor.ingest, limit)
    found = [_entry_event(Cursor(row.ingest, cursor.event), row) for row in stored]
    ingest = stored[-1].ingest if stored else cursor.ingest
    rows = live_rows.after(conn, cursor.event, limit)
    found += [_live_event(Cursor(ingest, row.id), row) for row in rows]
    event = rows[-1].id if rows else cursor.event
    return found, Cursor(ingest, event)


def _live_event(cursor: Cursor, row: live_rows.LiveRow) -> Event:
    try:
        data = orjson.loads(row.data)
    except orjson.JSONDecodeError:
        data = {}
    return Event(cursor, row.kind, {"time": row.time, **data}, officer=row.officer)


def _entry_event(cursor: Cursor, row: logs.StoredEntry) -> Event:
    header = parse_header(row.leaf)
    audience = ALL if header.audience == ALL else list(header.audience)
    data: dict[str, Any] = {
        "ref": header.ref,
        "kind": header.kind,
        "status": header.status,
        "audience": audience,
        "tlp": header.tlp,
        "time": header.time,
        "flag": row.flag,
    }
    value = None
    if row.body is not None and row.salt is not None:
        try:
            value = Body(row.salt, row.body).value()
        except ParleyError:
            value = None
    name = _event_name(header.kind, value)
    private = _said(header.kind, value) if isinstance(value, dict) else {}
    return Event(cursor, name, data, tlp=header.tlp, held=value is not None, private=private)


def _event_name(kind: str, value: Any) -> str:
    if kind == "notification" and isinstance(value, dict):
        return "update" if value.get("msg_type") in ("Update", "Cancel") else "notification"
    return kind


def _said(kind: str, value: dict[str, Any]) -> dict[str, Any]:
    """What an entry's body says, in a few fields, for a reader who may read it."""
    if kind == "notification":
        infos = value.get("info") or [{}]
        return {
            "msg_type": value.get("msg_type"),
            "category": value.get("category"),
            "severity": infos[0].get("severity"),
            "headline": infos[0].get("headline"),
        }
    if kind == "receipt":
        return {k: value.get(k) for k in ("type", "entry", "reply") if k in value}
    if kind == "hotline":
        return {k: value.get(k) for k in ("to", "phrase", "text", "lang") if k in value}
    if kind == "inquiry":
        about = value.get("about")
        return {
            "about": about.get("ref") if isinstance(about, dict) else None,
            "question": value.get("question"),
        }
    return {}
