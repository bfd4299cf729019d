"""Restoring a node's own log from its peers' mirrors (DESIGN.md, Federation).

"Signatures make mirrored copies as good as the original": a node whose database was lost, but
whose home survives (``parley.toml``, ``keys/``), recovers its own history from the copies its
peers hold. The workflow, read top to bottom:

1. The database must hold no log of this party; a fresh one gets the schema (``migrate``).
2. Each peer the administrator names is asked who it is (the checks of ``peers add``; its
   membership is checked against the policy in the restored log, step 5), for the checkpoint of
   this node's log its mirror holds (``/fed/v1/mirror/<party>/get-sth``) and for the one it last
   cosigned (``/fed/v1/witnessed/<party>``). A peer that cannot be reached is left out, and said.
3. The log is copied from the mirror with the largest checkpoint and verified completely on the
   way (``LogVerifier`` through ``ingest.verify_entries``: every signature, key statement,
   policy and body hash; the tree rebuilt from the leaves). The anchor is the home: the identity
   in force at the end of the log, reached from the first key statement by verified rotations
   only, must be the key in ``keys/identity.pem``, and its ``log`` key the one in
   ``keys/log.pem``. A mirror whose copy does not verify is passed over for the next largest.
4. Every checkpoint any peer showed must be signed by the log key in force at its size and carry
   the root of the verified tree at that size. A different root is a second history of this
   log (a fork, or a stolen key): ``EquivocationError`` shows both checkpoints and nothing is
   stored. A checkpoint beyond the verified tree means entries no peer mirrors are lost; the
   next append would contradict what that peer saw, so the restore refuses as well.
5. Bodies the chosen mirror lacks are asked from the others (the author may read every body of
   its own log, ``Header.readable_by``); each must match its header's hash. A body nobody holds
   is reported per entry, and its entry is stored header-only with the flag ``body-lost``.
6. Entries, subtree hashes, checkpoints, log state and the indexes derived from the log
   (``receipts``, ``notification_keys``, ``communication_checks``) commit in one transaction.
   Then the peers are pinned (skipped if already pinned identically, so a restore that failed
   later can be run again) and their cosignatures on this log are kept.

Pulling the peers' own logs afterwards is ordinary ``parley.node.federation.pull`` work. Officers
(argon2 hashes), webhooks and external witnesses live in no log: they are set up again by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, claimed_checkpoint
from parley.core.entry import ALL, Header, parse_header
from parley.core.errors import (
    BadProofError,
    ConflictError,
    EquivocationError,
    LostEntriesError,
    NotFoundError,
    PeerAddressError,
    PeerError,
    StoreError,
    VerificationError,
)
from parley.core.verify import LogVerifier
from parley.node.federation import ingest
from parley.node.federation.bodies import seq_runs
from parley.node.federation.peer_client import (
    PAGE,
    Fetched,
    LogSource,
)
from parley.node.federation.reindex import rebuild_indexes
from parley.node.federation.restore_contacts import (
    Contact,
    PeerAddress,
    Sighting,
    check_member,
    contact_peers,
    keep_cosignatures,
    pin_contacts,
)
from parley.node.home import NodeHome, PassphraseSource, no_passphrase
from parley.node.node import Node, now_ms
from parley.node.taxii import index as taxii_index
from parley.store import logs
from parley.store.engine import Writing
from parley.store.entries import EntryFlag

Progress = Callable[[int, int], None]


@dataclass
class RestoreReport:
    """What a restore stored, checked, could not recover, and noticed on the way."""

    party: str
    size: int = 0
    root: bytes = b""
    via: str = ""
    checkpoints: int = 0
    lost: list[str] = field(default_factory=list)  # "JP:7 hotline to CN,JP (AMBER)"
    pinned: list[str] = field(default_factory=list)
    cosignatures: int = 0
    indexed: dict[str, int] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def open_for_restore(path: Path, passphrase: PassphraseSource = no_passphrase) -> Node:
    """The node of a surviving home over a database that holds no log of its own (made fresh)."""
    home = NodeHome(path)
    node = Node(home, home.load_config(), passphrase)
    for purpose in ("identity", "log", "http"):  # readable, right passphrase: fail before work
        home.load_key(purpose, passphrase)
    try:
        node.store.migrate()
    except StoreError as exc:
        raise StoreError(
            exc.message,
            hint="move the damaged database aside (keep it: it may be "
            "evidence) and run 'parley restore' again",
        ) from exc
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
    if state is not None:
        node.close()
        raise ConflictError(
            f"the database {node.config.database} already holds {node.party}'s log "
            f"({state.size} entries)",
            hint="'parley verify log' checks it; restore only into a lost or moved-aside database",
        )
    return node


def restore(
    node: Node, addresses: Sequence[PeerAddress], progress: Progress | None = None
) -> RestoreReport:
    """Run the workflow of the module docstring; raise and store nothing on any refusal."""
    if not addresses:
        raise PeerAddressError(
            "name at least one peer to restore from",
            hint="--from-peers FILE, or --peer URL --party XX --key KEY",
        )
    report = RestoreReport(node.party)
    with contextlib.ExitStack() as clients:
        contacts = contact_peers(node, addresses, clients, report.notes)
        return restore_from(node, contacts, progress, report)


def restore_from(
    node: Node,
    contacts: Sequence[Contact],
    progress: Progress | None = None,
    report: RestoreReport | None = None,
) -> RestoreReport:
    """Steps 3 to 6 over peers already reached (their mirrors are ``LogSource``-shaped)."""
    report = RestoreReport(node.party) if report is None else report
    mirrors = sorted((c for c in contacts if c.mirror_size), key=lambda c: -c.mirror_size)
    if not mirrors:
        raise NotFoundError(
            f"no peer reached holds a copy of {node.party}'s log",
            hint="; ".join(report.notes) or None,
        )
    verifier = _restore_from_best(node, mirrors, contacts, report, progress)
    report.pinned += pin_contacts(node, contacts, report.notes)
    sightings = [s for c in contacts for s in c.sightings]
    report.cosignatures = keep_cosignatures(node, sightings, verifier)
    return report


def _restore_from_best(
    node: Node,
    mirrors: Sequence[Contact],
    contacts: Sequence[Contact],
    report: RestoreReport,
    progress: Progress | None,
) -> LogVerifier:
    """Copy and verify the largest mirror's log; fall back to the next on a broken copy."""
    failure: VerificationError | None = None
    for contact in mirrors:
        try:
            return _restore_from(node, contact, mirrors, contacts, report, progress)
        except (EquivocationError, LostEntriesError):
            raise
        except (VerificationError, PeerError) as exc:
            report.notes.append(f"{contact.address.party}'s mirror passed over: {exc.message}")
            failure = VerificationError(exc.message, hint=exc.hint)
    assert failure is not None  # noqa: S101 - at least one mirror was tried
    raise VerificationError(
        f"no peer's copy of {node.party}'s log verifies: {failure.message}",
        hint="; ".join(report.notes),
    )


def _restore_from(
    node: Node,
    chosen: Contact,
    mirrors: Sequence[Contact],
    contacts: Sequence[Contact],
    report: RestoreReport,
    progress: Progress | None,
) -> LogVerifier:
    """Steps 3 to 6 of the module docstring in one write transaction (rolled back on refusal)."""
    sightings = [s for c in contacts for s in c.sightings]
    verifier = LogVerifier(party=node.party, network=node.network)
    cursor = ingest.LogCursor(node.party, node.network, verifier, 0, merkle.EMPTY_ROOT, 0)
    best = max((s for s in chosen.sightings if s.what == "mirror"), key=lambda s: s.size)
    now = now_ms()
    with node.store.write() as conn:
        if logs.get_state(conn, node.party) is not None:
            raise ConflictError(f"{node.party}'s log was stored meanwhile by another process")
        lost = _copy(conn, cursor, chosen.mirror, claimed_checkpoint(best.note), now, progress)
        _check_anchor(node, cursor, chosen.mirror)
        report.checkpoints = _check_sightings(conn, cursor, best, sightings)
        policy = verifier.policy
        assert policy is not None  # noqa: S101 - seq 1 of a verified log is its policy
        for contact in contacts:
            check_member(policy.document, contact.address)
        logs.put_state(
            conn,
            logs.LogState(node.party, cursor.size, cursor.root, cursor.last_time),
            existed=False,
        )
        lost = _fill_bodies(conn, node.party, lost, [m for m in mirrors if m is not chosen], report)
        report.lost = [_describe(h) for h in lost]
        report.indexed = rebuild_indexes(conn, node.party)
        report.evidence = [
            f"{node.party}:{e.seq}" for e in logs.iter_kinds(conn, node.party, ("evidence",))
        ]
    report.size, report.root, report.via = cursor.size, cursor.root, chosen.address.party
    return verifier


def _copy(
    tx: Writing,
    cursor: ingest.LogCursor,
    source: LogSource,
    target: Checkpoint,
    now: int,
    progress: Progress | None,
) -> list[Header]:
    """Fetch, verify and insert entries up to the target checkpoint; return those bodiless."""
    lost: list[Header] = []
    next_ingest = logs.next_ingest(tx)
    while cursor.size < target.size:
        fetched = source.entries(cursor.size, min(target.size, cursor.size + PAGE) - 1)
        page = ingest.verify_entries(cursor, fetched, target.time_ms)
        rows = [
            ingest.entry_row(item, next_ingest + i, None if item.body else EntryFlag.BODY_LOST, now)
            for i, item in enumerate(page.entries)
        ]
        next_ingest += len(rows)
        lost += [item.header for item in page.entries if item.body is None]
        logs.insert_entries(tx, rows)
        taxii_index.index_entries(tx, rows, now)
        logs.insert_nodes(tx, cursor.party, page.nodes)
        if progress is not None:
            progress(cursor.size, target.size)
    return lost


def _check_anchor(node: Node, cursor: ingest.LogCursor, source: LogSource) -> None:
    """The verified log must end under this home's identity and log keys."""
    statement = cursor.verifier.statement
    assert statement is not None  # noqa: S101 - seq 0 of a verified log is a key statement
    identity = node.identity().public
    if statement.identity != identity:
        raise VerificationError(
            f"{source.describe()} is not this node's log: its identity in force is "
            f"{statement.identity.kid}, and keys/identity.pem holds {identity.kid}",
            hint="check the home folder: a restore needs the keys of the node that wrote the log",
        )
    if statement.purposes["log"] != node.log.key("log").public:
        raise LostEntriesError(
            f"{source.describe()} ends at {cursor.size} entries under log key "
            f"{statement.purposes['log'].kid}, but keys/log.pem holds "
            f"{node.log.key('log').kid}: the key rotation that installed it, and what followed, "
            "is in no peer's copy",
            hint="name every peer (one may hold more); otherwise follow 'Compromise' in "
            "docs/operations.md: the log cannot continue without a fork",
        )


def _check_sightings(
    tx: Writing, cursor: ingest.LogCursor, best: Sighting, sightings: Sequence[Sighting]
) -> int:
    """Check every checkpoint a peer showed against the verified tree; store those within it."""
    stored: set[int] = set()
    for sighting in sorted(sightings, key=lambda s: s.size):
        if sighting.size > cursor.size:
            _refuse_beyond(cursor, sighting)
        key = cursor.log_key_at(sighting.size)
        assert key is not None  # noqa: S101 - a checkpoint has at least one entry
        try:
            target = ingest.open_target(cursor, sighting.note, key)
        except VerificationError as exc:
            raise VerificationError(
                f"{sighting.describe()} of {cursor.party}'s log (size "
                f"{sighting.size}): {exc.message}"
            ) from exc
        if cursor.root_at(tx, sighting.size) != target.checkpoint.root:
            raise EquivocationError(
                f"two histories of {cursor.party}'s log: {sighting.describe()} at size "
                f"{sighting.size} disagrees with {best.describe()} at size {best.size}. Nothing "
                f"was stored.\n\n--- {best.describe()}\n{best.note}\n--- "
                f"{sighting.describe()}\n{sighting.note}",
                hint="a second history means this node's log key signed elsewhere (a stolen key, "
                "a copy of the node that appended): follow 'Compromise' in docs/operations.md",
            )
        if sighting.what == "mirror" and sighting.size not in stored:
            c = target.checkpoint
            logs.insert_checkpoint(
                tx, cursor.party, c.size, sighting.note, c.root, c.log_time(cursor.last_time)
            )
            stored.add(sighting.size)
    return len(stored)


def _refuse_beyond(cursor: ingest.LogCursor, sighting: Sighting) -> None:
    key = cursor.log_key_at(cursor.size)
    assert key is not None  # noqa: S101 - the verified log is not empty
    try:
        ingest.open_target(cursor, sighting.note, key)
        signed = "signed by this node's log key"
    except VerificationError:
        signed = "signed by a key this node cannot check"
    raise LostEntriesError(
        f"{sighting.describe()} of {cursor.party}'s log has {sighting.size} entries ({signed}), "
        f"but no peer reached mirrors more than {cursor.size}: entries {cursor.size}.."
        f"{sighting.size - 1} are lost, and appending after {cursor.size} would fork the log "
        "in that peer's eyes. Nothing was stored.",
        hint="name every peer (one may hold the rest); otherwise follow 'Compromise' in "
        "docs/operations.md",
    )


def _fill_bodies(
    tx: Writing,
    party: str,
    lost: list[Header],
    others: Sequence[Contact],
    report: RestoreReport,
) -> list[Header]:
    """Ask the other mirrors for the bodies the chosen one lacked; return those still lost."""
    for contact in others:
        if not lost:
            break
        wanted = [h for h in lost if h.seq < contact.mirror_size]
        try:
            found = _bodies_from(tx, party, contact.mirror, wanted)
        except (PeerError, BadProofError) as exc:
            report.notes.append(f"bodies from {contact.address.party}: {exc.message}")
            continue
        lost = [h for h in lost if h.seq not in found]
    return lost


def _bodies_from(tx: Writing, party: str, source: LogSource, wanted: Sequence[Header]) -> set[int]:
    found: set[int] = set()
    for start, end in seq_runs([h.seq for h in wanted]):
        for offset, item in enumerate(_entries(source, start, end)):
            header = parse_header(item.leaf)
            stored = logs.get_entry(tx, party, start + offset)
            if stored is None or stored.leaf != item.leaf:  # the mirror's fault, not a fork
                raise BadProofError(
                    f"{source.describe()} serves another {party}:"
                    f"{start + offset} than the verified log"
                )
            if item.body is not None:
                header.check_body(item.body)
                logs.put_body(tx, party, header.seq, item.body.data, item.body.salt)
                taxii_index.index_stored(tx, party, header.seq, now_ms())
                found.add(header.seq)
    return found


def _entries(source: LogSource, start: int, end: int) -> Iterator[Fetched]:
    while start <= end:
        page = source.entries(start, min(end, start + PAGE - 1))
        yield from page
        start += len(page)


def _describe(header: Header) -> str:
    to = "ALL" if header.audience == ALL else ",".join(header.audience)
    return f"{header.ref} {header.kind} to {to} ({header.tlp})"
