"""A node's health at a glance: what ``parley status`` and ``parley peers list`` show.

DESIGN.md, "Services and edges": computed here once, as value types that every edge (the CLI
today, the API and the pages next) only renders, so they cannot disagree.

* **Peers** (``peer_states``): each pinned peer's pin, sync health, last checkpoint seen and
  the log's own time at it (protocol s6: its ``time`` line, else its last entry's time, when
  that entry is here), synced size, lag behind that checkpoint, failures, last success and last
  error, and the
  witnessing both ways: the latest checkpoint of this node's log the peer cosigned (and when),
  and the latest of the peer's log this node cosigned. A peer whose cosignature grows old has
  stopped witnessing this log, whatever its pulls say.
* **Open deadlines**: the tracked clocks still running at ``now``, judged against the receipts
  and replies held (``clock_views.open_clocks``), so an acknowledged entry leaves the list the
  moment its receipt is stored, not when the escalation loop next looks at it. An overdue
  clock shows ``missed`` with a negative ``remaining`` even before the loop escalates it.
* **Missed and late**: escalated clocks, judged again at ``now`` (a late answer shows).
* **Alerts**: held peers, equivocations (with the ``evidence`` entry of this node's own log
  that tells of one, when appended), and this node's entries that a peer stored header-only
  (its signed observation says why: policy-breach, over-quota, ...).
* **The stored log** (``verify_stored_log``): every signature, the tree, every body against
  its hash and every checkpoint of this node's own log, read back from its store, and the
  stored log state against what was verified (``parley verify --home``, the exercise report);
  ``log_state``: its size, root and latest checkpoint with the cosignatures held on it;
  ``log_entries``: its entries' headers, newest first by seq, a page at a time (``before``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core.checkpoint import add_signature_lines, claimed_checkpoint
from parley.core.entry import ALL, Body, format_ref, parse_header
from parley.core.errors import VerificationError
from parley.core.keys import PublicKey
from parley.core.verify import LogReport, verify_log
from parley.node.federation import peers
from parley.node.messaging import clock_views, deadlines, receipts
from parley.node.node import Node
from parley.node.witnessed import member_witness_name
from parley.store import logs
from parley.store import witnessing as witness_rows

__all__ = [
    "Alert",
    "Health",
    "LogPage",
    "LogView",
    "PeerState",
    "health",
    "log_entries",
    "log_state",
    "peer_states",
    "verify_stored_log",
]

ALERT_OBSERVATIONS = 20  # the latest observations about our entries shown as alerts
HELD = "held"
EQUIVOCATION = "equivocation"
HEADER_ONLY = "header-only"
# the fields each type of alert carries between its party and its detail
_ALERT_FIELDS = {
    HELD: (),
    EQUIVOCATION: ("detected", "entry"),
    HEADER_ONLY: ("entry", "observation", "time"),
}


@dataclass(frozen=True)
class PeerState:
    """One pinned peer: its pin and how replication from it stands."""

    party: str
    url: str
    identity: str
    fingerprint: str
    tls_spki: str | None
    checkpoint: int | None  # the size of the peer's last checkpoint seen
    synced: int
    health: str
    failures: int
    pending_bodies: int
    last_success: int | None
    next_attempt: int
    last_error: str | None
    held: str | None
    cosigned_size: int | None = None  # the largest checkpoint of our log the peer cosigned
    cosigned: int | None = None  # when (ms; cosignature times are whole seconds)
    witnessed_size: int | None = None  # the largest checkpoint of its log this node cosigned
    witnessed: int | None = None  # when (ms)
    checkpoint_time: int | None = None  # the log's time at that checkpoint (ms), when known

    @property
    def lag(self) -> int | None:
        """How many entries of the last checkpoint seen are not yet synced here."""
        return None if self.checkpoint is None else max(self.checkpoint - self.synced, 0)

    def cosignature_age(self, now: int) -> int | None:
        """How old (ms) the peer's latest cosignature of this node's log is at ``now``."""
        return None if self.cosigned is None else max(now - self.cosigned, 0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``parley peers list --json``."""
        return {
            "party": self.party,
            "url": self.url,
            "identity": self.identity,
            "fingerprint": self.fingerprint,
            "tls_spki": self.tls_spki,
            "checkpoint": self.checkpoint,
            "checkpoint_time": self.checkpoint_time,
            "synced": self.synced,
            "lag": self.lag,
            "health": self.health,
            "failures": self.failures,
            "pending_bodies": self.pending_bodies,
            "last_success": self.last_success,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
            "held": self.held,
            "cosigned_size": self.cosigned_size,
            "cosigned": self.cosigned,
            "witnessed_size": self.witnessed_size,
            "witnessed": self.witnessed,
        }

    def summary(self) -> dict[str, Any]:
        """The JSON form of the peer in ``parley status --json``."""
        return {
            "party": self.party,
            "health": self.health,
            "synced": self.synced,
            "lag": self.lag,
            "last_success": self.last_success,
            "error": self.last_error,
        }


@dataclass(frozen=True)
class Alert:
    """Something an officer must look at: a held peer, an equivocation, a header-only entry."""

    type: str
    party: str
    detail: str
    detected: int | None = None
    entry: str | None = None
    observation: str | None = None
    time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the alert: its type's fields only."""
        fields = {name: getattr(self, name) for name in _ALERT_FIELDS[self.type]}
        return {"type": self.type, "party": self.party, **fields, "detail": self.detail}


@dataclass(frozen=True)
class Health:
    """The node's health at ``time``: peers, open and missed deadlines, alerts."""

    node: str
    time: int
    peers: list[PeerState]
    open: list[dict[str, Any]]
    missed: list[dict[str, Any]]
    alerts: list[Alert]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``parley status --json``."""
        return {
            "node": self.node,
            "time": self.time,
            "peers": [peer.summary() for peer in self.peers],
            "open": self.open,
            "missed": self.missed,
            "alerts": [alert.to_dict() for alert in self.alerts],
        }


def peer_states(node: Node) -> list[PeerState]:
    """Every pinned peer's pin and replication state."""
    states = []
    pinned = peers.list_peers(node.store)
    with node.store.read() as conn:
        network = node.policy_in(conn).network
        for peer in pinned:
            status = peers.get_status(conn, peer.party)
            name = member_witness_name(conn, network, peer.party)
            theirs = witness_rows.latest_cosignature(conn, node.party, name)
            ours = witness_rows.get_witnessed(conn, peer.party)
            states.append(
                PeerState(
                    party=peer.party,
                    url=peer.url,
                    identity=peer.identity.b64,
                    fingerprint=peer.fingerprints()["identity"],
                    tls_spki=peer.tls_spki,
                    checkpoint=status.remote_size,
                    checkpoint_time=_checkpoint_time(conn, status),
                    synced=peers.synced_size(conn, peer.party),
                    health=status.health(),
                    failures=status.failures,
                    pending_bodies=status.pending_bodies,
                    last_success=status.last_success,
                    next_attempt=status.next_attempt,
                    last_error=status.last_error,
                    held=status.held,
                    cosigned_size=None if theirs is None else theirs.size,
                    cosigned=None if theirs is None else theirs.time,
                    witnessed_size=None if ours is None else ours.size,
                    witnessed=None if ours is None else ours.cosigned,
                )
            )
    return states


def _checkpoint_time(conn: Connection, status: peers.PeerStatus) -> int | None:
    """The log's own time at the peer's last checkpoint seen (protocol s6), when known here.

    The note was verified when it was recorded. Its ``time`` line says it; an extension-free
    checkpoint takes the time of its last entry, known once that entry is synced (or from the
    checkpoint held with its time when the pull reached it). The time of our last pull is not it.
    """
    if status.remote_size is None or status.remote_note is None:
        return None
    claimed = claimed_checkpoint(status.remote_note)
    if claimed.time_ms is not None or not claimed.size:
        return claimed.log_time(0)
    held = logs.checkpoint_time(conn, status.party, claimed.size)
    if held is not None:
        return held
    last = logs.get_entry(conn, status.party, claimed.size - 1)
    return None if last is None else claimed.log_time(last.time)


def _peer_alerts(node: Node, states: list[PeerState]) -> list[Alert]:
    alerts = [Alert(HELD, state.party, state.held) for state in states if state.held]
    with node.store.read() as conn:
        for found in witness_rows.list_equivocations(conn):
            told = None if found.entry_seq is None else format_ref(node.party, found.entry_seq)
            alerts.append(
                Alert(EQUIVOCATION, found.party, found.source, detected=found.detected, entry=told)
            )
    return alerts


def _header_only_alerts(node: Node) -> list[Alert]:
    """Alerts for the entries of this node that peers stored header-only (their observations)."""
    return [
        Alert(
            HEADER_ONLY,
            seen["by"],
            f"{seen['entry']} stored header-only by {seen['by']}: {seen['type']}: {seen['detail']}",
            entry=seen["entry"],
            observation=seen["observation"],
            time=seen["time"],
        )
        for seen in receipts.observations_about(node, limit=ALERT_OBSERVATIONS)
    ]


def health(node: Node, now: int) -> Health:
    """Peers, open deadlines (judged at ``now``), missed and late ones, and alerts."""
    states = peer_states(node)
    alerts = _peer_alerts(node, states) + _header_only_alerts(node)
    opened = clock_views.open_clocks(node, now)
    missed = clock_views.tracked(node, [deadlines.MISSED, deadlines.LATE], now=now)
    return Health(node.party, now, states, opened, missed, alerts)


def verify_stored_log(node: Node, pinned_identity: PublicKey | None = None) -> LogReport:
    """Verify this node's own log as stored, and that the stored log state matches it."""
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        items = (
            (s.leaf, None if s.body is None else Body(s.salt or b"", s.body))
            for s in logs.iter_log(conn, node.party)
        )
        report = verify_log(
            items, logs.iter_checkpoints(conn, node.party), pinned_identity=pinned_identity
        )
    if state is None or report.root != state.root or report.size != state.size:
        raise VerificationError("the stored log state does not match the verified entries")
    return report


@dataclass(frozen=True)
class LogView:
    """The own log of a node: size, root, and its latest checkpoint with the cosignatures held."""

    party: str
    origin: str
    size: int
    root: str  # hex
    last_time: int | None
    checkpoint: int | None  # the latest checkpoint's size
    note: str | None  # that checkpoint as a signed note, with every cosignature line held
    cosignatures: list[dict[str, Any]]  # witness name and time (ms) of each

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the log's state."""
        return {
            "party": self.party,
            "origin": self.origin,
            "size": self.size,
            "root": self.root,
            "last_time": self.last_time,
            "checkpoint": self.checkpoint,
            "note": self.note,
            "cosignatures": self.cosignatures,
        }


def log_state(node: Node) -> LogView:
    """The own log's state and its latest checkpoint, cosigned (``GET /fed/v1/checkpoint``)."""
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        latest = logs.latest_checkpoint(conn, node.party)
        held = [] if latest is None else witness_rows.cosignatures_at(conn, node.party, latest[0])
    note = None
    if latest is not None:
        note = add_signature_lines(latest[1], [c.line for c in held]) if held else latest[1]
    return LogView(
        node.party,
        node.log.origin,
        0 if state is None else state.size,
        "" if state is None else state.root.hex(),
        None if state is None else state.last_time,
        None if latest is None else latest[0],
        note,
        [{"witness": c.witness, "time": c.time} for c in held],
    )


@dataclass(frozen=True)
class LogPage:
    """Headers of the own log's entries, newest first, and where the next older page starts."""

    size: int
    entries: list[dict[str, Any]]  # ref, seq, kind, status, audience, tlp, time, leaf_hash
    next: int | None  # the ``before`` of the next older page; None at seq 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the page."""
        return {"size": self.size, "entries": self.entries, "next": self.next}


def log_entries(node: Node, before: int | None, limit: int) -> LogPage:
    """At most ``limit`` headers of the own log with seq below ``before`` (default: its size).

    Headers only: every peer receives them, so every reader may see them (never a body).
    """
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        size = 0 if state is None else state.size
        end = size if before is None else min(before, size)
        start = max(end - limit, 0)
        stored = logs.get_range(conn, node.party, start, end)
    entries = []
    for row in reversed(stored):
        header = parse_header(row.leaf)
        entries.append(
            {
                "ref": header.ref,
                "seq": header.seq,
                "kind": header.kind,
                "status": header.status,
                "audience": ALL if header.audience == ALL else list(header.audience),
                "tlp": header.tlp,
                "time": header.time,
                "leaf_hash": row.leaf_hash.hex(),
            }
        )
    return LogPage(size, entries, start if start > 0 else None)
