"""Notifications out: CAP 1.2, STIX 2.1 or GeoJSON, one notification or all this node may read.

A node exports what it holds with a body: its own notifications and those of its peers whose
audience includes it (DESIGN.md, invariant 4: the body is present only where it may be read).
Every output carries the signed status visibly (``parley.formats``): CAP ``<status>`` and a
note, a STIX ``note`` object, GeoJSON ``properties.status`` and a marked headline. A split STIX
bundle is exported whole, from all of its parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.core.entry import Body, parse_header
from parley.core.errors import InvalidEntryError, ParleyError
from parley.formats.cap_export import notification_to_cap
from parley.formats.errors import StixError
from parley.formats.geojson import feature_collection
from parley.formats.stix import notification_to_stix
from parley.node.node import Node
from parley.node.notifications.appending import KIND, notification_key
from parley.node.notifications.importing import named
from parley.node.notifications.lifecycle import Link, notification_at
from parley.store import logs
from parley.store import notifications as notification_rows

__all__ = ["FORMATS", "ExportResult", "export_all", "export_ref", "readable_notifications"]

FORMATS = {"cap": ".xml", "stix": ".json", "geojson": ".geojson"}


def readable_notifications(conn: Connection, batch: int = 200) -> Iterator[Link]:
    """Every notification whose body this node holds, by party then seq, read in batches."""
    after = ("", -1)
    while True:
        rows = notification_rows.readable_page(conn, KIND, after, batch)
        if not rows:
            return
        for row in rows:
            body = Body(row.salt, row.body).value()
            yield Link(parse_header(row.leaf), bytes(row.leaf_hash).hex(), body)
        after = (rows[-1].party, rows[-1].seq)


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


def stix_parts(conn: Connection, link: Link) -> list[dict[str, Any]]:
    """The bodies of every part of the STIX bundle ``link`` carries (itself when not split)."""
    body = link.body
    total = int(body["stix"].get("parts", 1))
    if total == 1:
        return [body]
    party = link.header.party
    base = body["identifier"].rsplit("#", 1)[0]
    wanted = {f"{base}#{i}of{total}" for i in range(1, total + 1)}
    found: dict[str, dict[str, Any]] = {}
    for identifier in wanted:
        key = notification_key(identifier, body["sender"], body["sent"])
        row = notification_rows.find_key(conn, party, key)
        if row is not None:
            found[identifier] = notification_at(conn, f"{party}:{row.seq}").body
    if len(found) < total:  # a peer's bundle: not in this node's key table
        for stored in logs.iter_log(conn, party):
            if stored.kind == KIND and stored.body is not None and stored.salt is not None:
                other = Body(stored.salt, stored.body).value()
                if other.get("identifier") in wanted and (other["sender"], other["sent"]) == (
                    body["sender"],
                    body["sent"],
                ):
                    found[other["identifier"]] = other
    return list(found.values())


def render(conn: Connection, link: Link, fmt: str) -> bytes:
    """One notification (a whole STIX bundle for ``stix``) in format ``fmt``."""
    status = link.header.status
    if fmt == "cap":
        return notification_to_cap(
            link.body, status, audience=link.header.audience, tlp=link.header.tlp
        )
    if fmt == "stix":
        if "stix" not in link.body:
            raise StixError(f"{link.ref} has no STIX form: it did not come from a STIX bundle")
        bundle = notification_to_stix(stix_parts(conn, link), status, tlp=link.header.tlp)
        return _json(bundle)
    if fmt == "geojson":
        header = {
            "status": status,
            "party": link.header.party,
            "tlp": link.header.tlp,
            "time": link.header.time,
        }
        return _json(feature_collection([(link.ref, header, link.body)]))
    raise InvalidEntryError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


def export_ref(node: Node, ref: str, fmt: str) -> bytes:
    """The notification ``ref`` in format ``fmt``."""
    with node.store.read() as conn:
        return render(conn, notification_at(conn, ref), fmt)


@dataclass
class ExportResult:
    """Files written, notifications with no form in the format, and per-notification errors."""

    written: list[Path] = field(default_factory=list)
    skipped: int = 0
    errors: list[ParleyError] = field(default_factory=list)


def export_all(
    node: Node, fmt: str, folder: Path, progress: Callable[[int], None] | None = None
) -> ExportResult:
    """Write every readable notification to ``folder`` as ``PARTY-SEQ.<ext>``, one per file.

    In STIX, a split bundle is one file named after its first part found, and notifications
    that did not come from a STIX bundle are skipped (counted in ``skipped``).
    """
    if fmt not in FORMATS:
        raise InvalidEntryError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    bundles: set[tuple[str, str, str, int]] = set()
    done = 0
    with node.store.read() as conn:
        for link in readable_notifications(conn):
            done += 1
            if progress is not None:
                progress(done)
            if fmt == "stix":
                if "stix" not in link.body:
                    result.skipped += 1
                    continue
                body = link.body
                bundle = (
                    link.header.party,
                    body["identifier"].rsplit("#", 1)[0],
                    body["sender"],
                    body["sent"],
                )
                if bundle in bundles:
                    continue
                bundles.add(bundle)
            try:
                data = render(conn, link, fmt)
            except ParleyError as exc:
                result.errors.append(named(exc, link.ref))
                continue
            path = folder / f"{link.header.party}-{link.header.seq}{FORMATS[fmt]}"
            path.write_bytes(data)
            result.written.append(path)
    return result
