"""What ``/metrics`` reports of a node, computed at scrape from the services the status shows.

Every figure that lives in the database comes from the same functions as ``parley status``,
``parley peers list`` and the health pages (``health.health``: peer states, open and missed
deadlines, held peers), plus two counts of the store (entries by party and kind, the webhook
outbox by status). They are read at each scrape, so every worker of a multi-worker node reports
the same values, whichever worker Prometheus reaches.

Per-process figures (request latency, stream clients) are not here: they are counted by the
edge (``parley.api.metrics_api``) with prometheus-client, in its multiprocess mode when the
node serves with several workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.node.health import health
from parley.node.node import Node
from parley.store import logs
from parley.store import webhooks as webhook_rows

__all__ = ["Figures", "PeerFigures", "figures"]


@dataclass(frozen=True)
class PeerFigures:
    """One pinned peer: lag (entries, and seconds since its last good pull), witnessing, hold."""

    party: str
    lag_entries: int | None
    since_success_s: float | None
    cosignature_age_s: float | None
    cosigned_size: int | None  # the largest checkpoint of this node's log the peer cosigned
    held: bool
    failures: int


@dataclass(frozen=True)
class Figures:
    """The node's database-derived figures at one moment (module docstring)."""

    party: str
    log_size: int  # this node's own log
    entries: dict[tuple[str, str], int]  # (party, kind) -> count
    peers: list[PeerFigures]
    deadlines_missed: dict[str, int]  # kind -> clocks missed or answered late
    deadlines_overdue: int  # open clocks already past due, not yet escalated
    webhook_events: dict[str, int]  # outbox status -> events
    webhook_failed_attempts: int


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def figures(node: Node, now: int) -> Figures:
    """The figures of ``node`` at ``now`` (ms)."""
    state = health(node, now)
    peers = [
        PeerFigures(
            party=peer.party,
            lag_entries=peer.lag,
            since_success_s=(
                None if peer.last_success is None else _seconds(max(now - peer.last_success, 0))
            ),
            cosignature_age_s=_seconds(peer.cosignature_age(now)),
            cosigned_size=peer.cosigned_size,
            held=peer.held is not None,
            failures=peer.failures,
        )
        for peer in state.peers
    ]
    missed: dict[str, int] = {}
    for clock in state.missed:
        missed[str(clock["kind"])] = missed.get(str(clock["kind"]), 0) + 1
    overdue = sum(1 for clock in state.open if int(clock.get("remaining", 0)) < 0)
    with node.store.read() as conn:
        counts = logs.entry_counts(conn)
        outbox = webhook_rows.outbox_counts(conn)
    return Figures(
        party=node.party,
        log_size=node.size(),
        entries=counts,
        peers=peers,
        deadlines_missed=missed,
        deadlines_overdue=overdue,
        webhook_events={status: count for status, (count, _failed) in outbox.items()},
        webhook_failed_attempts=sum(failed for _count, failed in outbox.values()),
    )
