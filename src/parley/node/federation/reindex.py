"""The indexes a node's appends keep beside its own log, rebuilt from the log alone.

A restored log (``parley.node.federation.restore``) comes back without them: the receipts index,
the idempotency keys of notifications with their incidents, and the communication checks sent.
"""

from __future__ import annotations

import contextlib
from typing import Any

from parley.core.entry import ALL, Body, parse_header, parse_ref
from parley.core.errors import ParleyError
from parley.formats.notification import body_identity
from parley.node.messaging import receipts
from parley.node.notifications.appending import notification_key
from parley.store import entries as entry_rows
from parley.store import logs
from parley.store.engine import Writing


def rebuild_indexes(conn: Writing, party: str) -> dict[str, int]:
    """Rebuild from the own log the indexes its appends keep beside it; return row counts.

    * ``receipts``: every receipt of this node (``receipts.receipt_row``), observed at its time;
    * ``notification_keys``: the idempotency key of every notification, and its incident (the
      smallest incident among the own entries it references, else itself), as
      ``appending.Appender`` assigns it;
    * ``communication_checks``: every scheduled check (status Test, addressed to one peer).
    """
    rows: list[dict[str, Any] | None] = []
    keys: dict[bytes, dict[str, Any]] = {}
    checks: list[dict[str, Any]] = []
    incidents: dict[int, int] = {}
    for stored in logs.iter_kinds(conn, party, ("receipt", "notification", "check")):
        if stored.body is None or stored.salt is None:
            continue
        header = parse_header(stored.leaf)
        value = Body(stored.salt, stored.body).value()
        if header.kind == "receipt":
            rows.append(receipts.receipt_row(header, value, header.time))
        elif header.kind == "notification":
            incidents[header.seq] = _incident(party, header.seq, value, incidents)
            identifier, sender, sent = body_identity(value)
            keys.setdefault(
                notification_key(identifier, sender, sent),
                {
                    "party": party,
                    "identifier": identifier,
                    "sender": sender,
                    "sent": sent,
                    "seq": header.seq,
                    "incident": incidents[header.seq],
                },
            )
        elif header.status == "Test" and header.audience != ALL and len(header.audience) == 2:
            peer = next((p for p in header.audience if p != party), None)
            if peer is not None:
                checks.append({"seq": header.seq, "peer": peer, "sent": header.time})
    receipts.index_rows(conn, rows)
    entry_rows.insert_notification_keys(conn, [{"key": k, **v} for k, v in keys.items()])
    entry_rows.insert_communication_checks(conn, checks)
    return {
        "receipts": sum(r is not None for r in rows),
        "notification_keys": len(keys),
        "communication_checks": len(checks),
    }


def _incident(party: str, seq: int, body: Any, incidents: dict[int, int]) -> int:
    linked = []
    for reference in body.get("references", []) if isinstance(body, dict) else []:
        with contextlib.suppress(ParleyError, KeyError, TypeError, ValueError):
            ref_party, ref_seq = parse_ref(reference["ref"])
            if ref_party == party and ref_seq in incidents:
                linked.append(incidents[ref_seq])
    return min(linked) if linked else seq
