"""A node's health at a glance: what ``parley status`` (and any other edge) shows.

DESIGN.md, "Services and edges": computed here once, printed by the edges.

* **Peers**: each pinned peer's sync health, synced size, lag, last success and last error.
* **Open deadlines**: the tracked clocks still running at ``now``, judged against the receipts
  and replies held (``deadlines.open_clocks``), so an acknowledged entry leaves the list the
  moment its receipt is stored, not when the escalation loop next looks at it. An overdue
  clock shows ``missed`` with a negative ``remaining`` even before the loop escalates it.
* **Missed and late**: escalated clocks, judged again at ``now`` (a late answer shows).
* **Alerts**: held peers, equivocations, and this node's entries that a peer stored
  header-only (its signed observation says why: policy-breach, over-quota, ...).
"""

from __future__ import annotations

from typing import Any

from parley.node.federation import peers
from parley.node.messaging import deadlines, receipts
from parley.node.node import Node
from parley.store import witnessing as witness_rows

ALERT_OBSERVATIONS = 20  # the latest observations about our entries shown as alerts


def peer_rows(node: Node) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each pinned peer's sync state, and the alerts of held peers and equivocations."""
    rows: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    with node.store.read() as conn:
        for peer in peers.list_peers(node.store):
            status = peers.get_status(conn, peer.party)
            synced = peers.synced_size(conn, peer.party)
            remote = status.remote_size
            rows.append({"party": peer.party, "health": status.health(), "synced": synced,
                         "lag": None if remote is None else max(remote - synced, 0),
                         "last_success": status.last_success,
                         "error": status.last_error})  # fmt: skip
            if status.held:
                alerts.append({"type": "held", "party": peer.party, "detail": status.held})
        for found in witness_rows.list_equivocations(conn):
            alerts.append({"type": "equivocation", "party": found.party,
                           "detected": found.detected, "detail": found.source})  # fmt: skip
    return rows, alerts


def header_only_alerts(node: Node) -> list[dict[str, Any]]:
    """Alerts for the entries of this node that peers stored header-only (their observations)."""
    return [
        {"type": "header-only", "party": seen["by"], "entry": seen["entry"],
         "observation": seen["observation"], "time": seen["time"],
         "detail": f"{seen['entry']} stored header-only by {seen['by']}: {seen['type']}: "
                   f"{seen['detail']}"}
        for seen in receipts.observations_about(node, limit=ALERT_OBSERVATIONS)
    ]  # fmt: skip


def health(node: Node, now: int) -> dict[str, Any]:
    """Peers, open deadlines (judged at ``now``), missed and late ones, and alerts."""
    rows, alerts = peer_rows(node)
    alerts += header_only_alerts(node)
    opened = deadlines.open_clocks(node, now)
    missed = deadlines.tracked(node, [deadlines.MISSED, deadlines.LATE], now=now)
    return {"node": node.party, "time": now, "peers": rows, "open": opened, "missed": missed,
            "alerts": alerts}  # fmt: skip
