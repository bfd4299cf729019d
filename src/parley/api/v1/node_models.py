"""The reply bodies of ``/api/v1``'s node routes (``node_routes``): peers, health, log, evidence.

Each is the JSON form a node service gives (``parley.node.health``, ``parley.node.evidence``,
``parley.node.messaging.compliance``), field for field. Times are integer milliseconds UTC.
"""

from __future__ import annotations

from pydantic import Field

from parley.api.v1.messaging_models import ClockRow
from parley.api.v1.schemas import Strict


class PeerView(Strict):
    """A pinned peer: its pin, replication from it, and witnessing both ways."""

    party: str
    url: str
    identity: str
    fingerprint: str
    tls_spki: str | None
    checkpoint: int | None = Field(description="The size of its last checkpoint seen.")
    checkpoint_time: int | None = Field(
        description="The log's own time at that checkpoint (ms UTC, protocol s6): its `time` "
        "line, else its last entry's time; null until that entry is here."
    )
    synced: int
    lag: int | None = Field(description="Entries of that checkpoint not yet synced here.")
    health: str
    failures: int
    pending_bodies: int
    last_success: int | None
    next_attempt: int
    last_error: str | None
    held: str | None = Field(description="Why pulling is held (an equivocation); null if not.")
    cosigned_size: int | None = Field(description="The largest checkpoint of ours it cosigned.")
    cosigned: int | None = Field(description="When it cosigned it (whole seconds).")
    cosignature_age: int | None = Field(description="How old that cosignature is now, in ms.")
    witnessed_size: int | None = Field(description="The largest checkpoint of its log we cosigned.")
    witnessed: int | None = Field(description="When this node cosigned it.")


class PeerSummary(Strict):
    """A peer as the health summary shows it."""

    party: str
    health: str
    synced: int
    lag: int | None
    last_success: int | None
    error: str | None


class Alert(Strict):
    """Something an officer must look at: a held peer, an equivocation, a header-only entry."""

    type: str = Field(description="`held`, `equivocation` or `header-only`.")
    party: str
    detail: str
    detected: int | None = None
    entry: str | None = None
    observation: str | None = None
    time: int | None = None


class HealthView(Strict):
    """The node's health: peers, open and missed deadlines, alerts (`parley status`)."""

    node: str
    time: int
    peers: list[PeerSummary]
    open: list[ClockRow]
    missed: list[ClockRow]
    alerts: list[Alert]


class ClockFigures(Strict):
    """Compliance figures of one party and clock (docs/protocol.md §12)."""

    answers: int
    median_ms: int | None
    p95_ms: int | None
    met: int
    late: int
    missed: int


class Scoreboard(Strict):
    """The compliance scoreboard: per addressee party and clock."""

    as_of: int
    scope: str = Field(description="`members` (all traffic held) or `public` (ALL + CLEAR).")
    witness_quorum: int
    parties: dict[str, dict[str, ClockFigures]]


class Cosignature(Strict):
    """A cosignature held on a checkpoint: the witness's key name and its time."""

    witness: str
    time: int


class LogView(Strict):
    """The own log of the node: size, root and latest checkpoint with its cosignatures."""

    party: str
    origin: str
    size: int
    root: str
    last_time: int | None
    checkpoint: int | None
    note: str | None = Field(description="The checkpoint as a C2SP signed note, cosigned.")
    cosignatures: list[Cosignature]


class LogEntry(Strict):
    """One entry of the own log, as its signed header shows it (never its body)."""

    ref: str
    seq: int
    kind: str
    status: str
    audience: str | list[str] = Field(description="`ALL`, or the parties it is addressed to.")
    tlp: str
    time: int
    leaf_hash: str


class LogPage(Strict):
    """Entries of the own log, newest first by seq."""

    size: int
    entries: list[LogEntry]
    next: int | None = Field(description="Pass as `before` for the next older page; null at 0.")


class LogVerification(Strict):
    """What verifying the stored log established, or why it failed."""

    ok: bool
    party: str
    network: str | None
    size: int | None
    root: str | None
    checkpoints: int | None
    bodies: int | None
    error: str | None


class ProofRecord(Strict):
    """One entry in an entry proof: its leaf, inclusion path, and body and salt if carried."""

    seq: int
    leaf: str
    inclusion: list[str]
    body: str | None = None
    salt: str | None = None


class EntryProof(Strict):
    """An entry proof (`parley log proof`): the entry in a cosigned checkpoint, key history."""

    format: str
    v: int
    ref: str
    checkpoint: str
    entry: ProofRecord
    history: list[ProofRecord]


class EvidenceBundle(Strict):
    """An evidence bundle (docs/protocol.md): `parley verify bundle FILE` checks it offline."""

    format: str
    v: int
    ref: str
    entry: EntryProof
    receipts: list[EntryProof]
    keys: list[EntryProof]
