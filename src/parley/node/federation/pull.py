"""Pull replication of one peer's log: checkpoint, consistency proof, entries; verify; store.

The workflow, read top to bottom against RFC 9162 and DESIGN.md (Federation):

1. Rebuild the cursor of the peer's log held here (``ingest.restore``).
2. Take the peer's latest checkpoint: from a wake-up (``add-checkpoint``) or ``get-sth``.
3. Verify its signature by the log key in force, and its consistency with the held tree: the
   RFC 9162 s2.1.4 proof from the held size (the one the wake-up carried, or
   ``get-sth-consistency``). A signed checkpoint whose root differs from the held tree at its
   size is a fork: recorded as equivocation evidence (two checkpoints signed by the author),
   and the peer is held until an administrator acts. A proof that does not verify proves
   nothing about the author: from the author, its entries are fetched and must reproduce the
   signed root instead; from a mirror, the mirror is condemned (``parley.node.federation.mirrors``).
4. Fetch the missing entries with ``get-entries`` in pages (a wake-up by ``push`` carries the
   first ones: they are verified exactly as fetched ones); verify each page entry by entry
   (``ingest.verify_entries``), then prove the page a prefix of the checkpoint with a consistency
   proof from the page's end (the last page must reproduce the checkpoint's root exactly), and
   only then store it with the receipts and observations it calls for (``ingest.store_page``).
   If the checkpoint is signed by a log key this node does not know yet (a rotation inside the
   missing range), every page is verified first and stored only once the key is known.
5. On success from the author, fetch the bodies still pending: those a mirror could not give, or
   that the author did not serve while it did not recognise this node as a peer. A body the
   author withholds from this node although it recognised it (``Parley-Peer``) is recorded as
   withheld, with an ``observation`` (``parley.node.federation.bodies``).

A peer that cannot be reached is pulled from the other pinned peers' mirrors instead: the
signatures make a mirrored copy as good as the original, and a mirror that serves anything
the author did not sign (a bad proof, a forged entry) gets a ``bad-mirror`` observation and
the next mirror is tried. Failures back off exponentially per
peer, from a second up to an hour; a peer over its quotas (``parley.node.federation.quotas``) is
paused for a minute after each page that broke them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from parley.core import merkle
from parley.core.checkpoint import claimed_checkpoint
from parley.core.errors import (
    BadProofError,
    ConcurrentIngestError,
    EquivocationError,
    HeldError,
    ParleyError,
    PeerProtocolError,
    PeerRefusedError,
    PeerUnreachableError,
    VerificationError,
)
from parley.node.federation import ingest, mirrors, peers
from parley.node.federation.bodies import fill_bodies, withheld_from
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.ingest import Target
from parley.node.federation.peer_client import (
    PAGE,
    Client,
    ClientPool,
    Fetched,
    LogSource,
    PushedSource,
    author_source,
    http_client,
    mirror_source,
)
from parley.node.federation.quotas import WINDOW_MS
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store import peers as peer_rows

POLL_MS = 60_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Hint:
    """A verified wake-up: the peer's new checkpoint and the proof from ``old`` to it."""

    note: str
    old: int
    proof: Sequence[bytes]
    pushed: Sequence[Fetched] = ()  # the entries from ``old`` on, if the wake-up carried them


@dataclass
class PullReport:
    """What one pull of a peer's log did."""

    party: str
    via: str
    before: int
    after: int
    remote: int
    stored: int = 0
    receipts: int = 0
    observations: int = 0
    filled: int = 0
    breaches: int = 0
    breach_flags: dict[str, int] = field(default_factory=dict)  # flag -> entries
    notes: list[str] = field(default_factory=list)

    @property
    def throttled(self) -> bool:
        """The peer broke its quotas: the pull stopped early and pauses for a window."""
        return self.breaches > 0

    def breach_summary(self) -> str:
        """What the stored header-only entries broke, by flag: "2 clock-skew, 1 over-quota"."""
        flags = ", ".join(f"{n} {flag}" for flag, n in sorted(self.breach_flags.items()))
        noun = "entry" if self.breaches == 1 else "entries"
        return f"{self.breaches} {noun} stored header-only ({flags or 'a policy limit'})"

    def add(self, stored: ingest.Stored) -> None:
        """Count what one stored page added."""
        self.stored += stored.entries
        self.breaches += stored.breaches
        for flag, count in stored.breach_flags.items():
            self.breach_flags[flag] = self.breach_flags.get(flag, 0) + count
        self.receipts += len(stored.receipts)
        self.observations += len(stored.observations)


def pull(
    node: Node,
    peer: peers.Peer,
    source: LogSource,
    *,
    hint: Hint | None = None,
    progress: Progress | None = None,
    cache: ingest.CursorCache | None = None,
) -> PullReport:
    """One pass of the workflow against one source; raises on any verification failure."""
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        cursor = None if cache is None else cache.take(conn, peer.party)
        if cursor is None:
            cursor = ingest.restore(conn, peer.party, node.network, peer.identity, policy, now_ms())
        elif cursor.window is not None:
            cursor.window.reset_clock(policy, now_ms())
    report = _pull(node, peer, source, cursor, hint, progress)
    if cache is not None:
        cache.keep(cursor)  # only reused while it matches the stored state exactly
    return report


def _pull(
    node: Node,
    peer: peers.Peer,
    source: LogSource,
    cursor: ingest.LogCursor,
    hint: Hint | None,
    progress: Progress | None,
) -> PullReport:
    note = hint.note if hint is not None else source.get_sth()
    claimed = claimed_checkpoint(note)
    report = PullReport(peer.party, source.via, cursor.size, cursor.size, claimed.size)
    if claimed.size <= cursor.size:
        held = ingest.open_target(cursor, note, cursor.log_key_at(claimed.size) or peer.log_key)
        with node.store.read() as conn:
            ingest.verify_target(conn, cursor, held, None)
            known = logs.checkpoint_at(conn, peer.party, claimed.size) is not None
        if claimed.size == cursor.size and claimed.size and not known:
            empty = ingest.Page(cursor.size, [], [], cursor.size, cursor.root, cursor.last_time)
            with node.store.write() as tx:
                ingest.store_page(node, tx, empty, target=held, refused=False, now=now_ms())
        return report
    key = cursor.log_key_at(cursor.size) or peer.log_key
    try:
        target: Target | None = ingest.open_target(cursor, note, key)
    except VerificationError:
        target = None  # maybe signed by a log key introduced in the missing entries
    if target is not None:
        proof = (
            hint.proof
            if hint is not None and hint.old == cursor.size
            else source.consistency(cursor.size, claimed.size)
        )
        try:
            with node.store.read() as conn:
                ingest.verify_target(conn, cursor, target, proof)
        except BadProofError as exc:
            if not source.author:
                raise  # a mirror's proof condemns the mirror (``_from_mirrors``)
            report.notes.append(f"{exc.message}; its entries are checked against it instead")
            target = None  # recompute: the entries must reproduce the signed root (step 4)
    if target is not None:
        if hint is None and peers.is_news(node.store, peer.party, claimed.size):
            with node.store.write() as conn:
                peer_rows.record_remote(conn, peer.party, claimed.size, note)
    pages = _fetch_pages(
        node, cursor, source, claimed.size, claimed.time_ms, target, report, progress
    )
    if target is None:
        target = ingest.open_target(cursor, note, cursor.log_key_at(claimed.size) or key)
        if cursor.root != target.checkpoint.root:
            raise VerificationError(f"{source.describe()}: entries do not match the checkpoint")
        for index, (page, refused) in enumerate(pages):
            last = index == len(pages) - 1
            signed = target if last else None
            with node.store.write() as tx:
                stored = ingest.store_page(
                    node, tx, page, target=signed, refused=refused, now=now_ms()
                )
            report.add(stored)
        with node.store.write() as conn:
            peer_rows.record_remote(conn, peer.party, claimed.size, note)
    report.after = cursor.size
    return report


@dataclass(frozen=True)
class _Served:
    """One page as the source served it (untrusted), and the proof fetched along with it."""

    entries: list[Fetched]
    refused: bool  # ``withheld_from`` as of this answer
    proof: list[bytes] | None  # consistency from the page's end to the checkpoint, if short of it


def _fetch_page(node: Node, source: LogSource, start: int, *, size: int, prove: bool) -> _Served:
    fetched = source.entries(start, min(size, start + PAGE) - 1)
    refused = withheld_from(node, source)
    end = start + len(fetched)
    proof = source.consistency(end, size) if prove and end < size else None
    return _Served(fetched, refused, proof)


def _fetch_pages(
    node: Node,
    cursor: ingest.LogCursor,
    source: LogSource,
    size: int,
    time_limit: int | None,
    target: Target | None,
    report: PullReport,
    progress: Progress | None,
) -> list[tuple[ingest.Page, bool]]:
    """Fetch and verify entries up to ``size``; commit each page when ``target`` is verified.

    The next page, with its consistency proof, is fetched by one background thread while this
    one is verified and stored: only the waiting for the source overlaps. Pages are still
    verified, proven a prefix and stored strictly in order, and while the loop runs that thread
    alone talks to ``source``.
    """
    buffered: list[tuple[ingest.Page, bool]] = []
    start = cursor.size
    fetch = functools.partial(_fetch_page, node, source, size=size, prove=target is not None)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-pull") as ahead:
        coming = ahead.submit(fetch, cursor.size)
        while cursor.size < size:
            served = coming.result()
            if not served.entries:
                raise VerificationError(f"{source.describe()}: get-entries returned no entries")
            following = cursor.size + len(served.entries)
            if following < size:
                coming = ahead.submit(fetch, following)
            page = ingest.verify_entries(cursor, served.entries, time_limit)
            if target is None:
                buffered.append((page, served.refused))
            else:
                _prove_prefix(cursor, source.describe(), target, size, served.proof)
                last = cursor.size == size
                signed = target if last else None
                with node.store.write() as tx:
                    stored = ingest.store_page(
                        node, tx, page, target=signed, refused=served.refused, now=now_ms()
                    )
                report.add(stored)
                if report.throttled:
                    break  # a flooding peer: pull the rest after a pause (quotas.WINDOW_MS)
            if progress is not None:
                progress(cursor.size - start, size - start)
    return buffered


def _prove_prefix(
    cursor: ingest.LogCursor,
    where: str,
    target: Target,
    size: int,
    proof: Sequence[bytes] | None,
) -> None:
    """The entries verified so far are a prefix of the checkpoint's tree (RFC 9162 s2.1.4)."""
    checkpoint = target.checkpoint
    if cursor.size == size:
        if cursor.root != checkpoint.root:
            raise VerificationError(
                f"{where}: the entries do not reproduce the root of the checkpoint of size {size}"
            )
        key = cursor.log_key_at(size)
        if key is not None:
            ingest.open_target(cursor, target.note, key)  # signed by the key in force at its end
        return
    assert proof is not None  # noqa: S101 - fetched with every page that ends short of size
    try:
        merkle.verify_consistency(cursor.size, size, cursor.root, checkpoint.root, proof)
    except VerificationError as exc:
        raise VerificationError(
            f"{where}: entries up to {cursor.size} are not a prefix of the checkpoint "
            f"of size {size}: {exc.message}"
        ) from exc


@dataclass(frozen=True)
class VerifiedPush:
    """The entries a push carried, verified against the held tree and ready to store."""

    cursor: ingest.LogCursor
    target: Target
    page: ingest.Page


def verify_push(
    node: Node, peer: peers.Peer, hint: Hint, cache: ingest.CursorCache
) -> VerifiedPush | None:
    """Verify a push's entries before any write, as a pull would; None leaves them to the pull.

    Only a push that carries the whole growth from the size held here is taken this way, from
    a member whose pulls are in good standing (not held, not paused for its quotas, no error
    since the last success), and only if nothing in it breaks a quota or a limit: everything
    else is the pull's, with its holds, pauses and reports.
    """
    size = claimed_checkpoint(hint.note).size
    if not hint.pushed or hint.old + len(hint.pushed) != size:
        return None
    party = peer.party
    with node.store.read() as conn:
        status = peers.get_status(conn, party)
        policy = node.policy_in(conn)
        if status.held or status.last_error is not None or not policy.has_member(party):
            return None
        cursor = cache.take(conn, party)
        if cursor is None:
            cursor = ingest.restore(conn, party, node.network, peer.identity, policy, now_ms())
        elif cursor.window is not None:
            cursor.window.reset_clock(policy, now_ms())
        try:
            if cursor.size != hint.old:
                raise VerificationError(f"{party}: {cursor.size} held, pushed from {hint.old}")
            target = ingest.open_target(
                cursor, hint.note, cursor.log_key_at(cursor.size) or peer.log_key
            )
            ingest.verify_target(conn, cursor, target, hint.proof)
        except VerificationError:
            cache.keep(cursor)  # untouched: still the held state
            return None
    try:
        page = ingest.verify_entries(cursor, hint.pushed, target.checkpoint.time_ms)
        _prove_prefix(cursor, f"{party}'s push", target, size, None)
    except VerificationError:
        return None  # the cursor moved: dropped; the pull verifies again and says why
    if any(item.breach is not None for item in page.entries):
        return None
    return VerifiedPush(cursor, target, page)


def sync_peer(
    node: Node,
    party: str,
    *,
    hint: Hint | None = None,
    progress: Progress | None = None,
    use_mirrors: bool = True,
    cache: ingest.CursorCache | None = None,
    pool: ClientPool | None = None,
) -> PullReport:
    """Pull one peer's log from the peer, or from mirrors if it is unreachable; record status.

    ``pool``: the server's kept-alive clients (a CLI pull opens and closes its own).
    """
    peer = peers.get_peer(node.store, party)
    with node.store.read() as conn:
        held = peers.get_status(conn, party).held
        node.policy_in(conn).member(party)  # a party the policy no longer lists is not pulled
    if held:
        raise HeldError(
            f"pulling from {party} is held: {held}",
            hint=f"inspect, then 'parley peers release {party}'",
        )
    signer = RequestSigner(node.log.key("http"))
    try:
        once = functools.partial(_sync_once, node, peer, signer, progress, use_mirrors, cache, pool)
        report = _with_retry(once, hint)
    except EquivocationError as exc:
        mirrors.record_fork(node, party, exc, now_ms())
        peers.record_failure(node.store, party, now_ms(), exc.message, node=node.party)
        raise
    except ParleyError as exc:
        peers.record_failure(node.store, party, now_ms(), str(exc), node=node.party)
        raise
    if report.throttled:
        peers.record_throttle(
            node.store, party, now_ms() + WINDOW_MS, f"{report.breach_summary()}; pulling paused"
        )
    else:
        peers.record_success(node.store, party, now_ms(), POLL_MS)
    return report


def _with_retry(once: Callable[[Hint | None], PullReport], hint: Hint | None) -> PullReport:
    """Run ``once`` up to three times while another pull of the log commits first; then no hint."""
    for attempt in range(3):
        try:
            return once(hint)
        except ConcurrentIngestError:
            if attempt == 2:
                raise
            hint = None
    raise AssertionError("unreachable")  # pragma: no cover


def _sync_once(
    node: Node,
    peer: peers.Peer,
    signer: RequestSigner,
    progress: Progress | None,
    use_mirrors: bool,
    cache: ingest.CursorCache | None,
    pool: ClientPool | None,
    hint: Hint | None,
) -> PullReport:
    try:
        if pool is None:
            with http_client(peer.url, peer.tls_spki, signer, peer.party) as client:
                return _from_author(node, peer, client, hint, progress, cache)
        try:
            client = pool.client(peer.party, peer.url, peer.tls_spki)
            return _from_author(node, peer, client, hint, progress, cache)
        except PeerUnreachableError:  # perhaps only the kept-alive connection: a fresh one
            pool.drop(peer.party)
            client = pool.client(peer.party, peer.url, peer.tls_spki)
            return _from_author(node, peer, client, hint, progress, cache)
    except PeerUnreachableError as unreachable:
        if not use_mirrors:
            raise
        mirrored = _from_mirrors(node, peer, signer, progress)
        if mirrored is None:
            raise
        mirrored.notes.append(f"{peer.party} unreachable ({unreachable.message})")
        return mirrored


def _from_author(
    node: Node,
    peer: peers.Peer,
    client: Client,
    hint: Hint | None,
    progress: Progress | None,
    cache: ingest.CursorCache | None,
) -> PullReport:
    source = author_source(client, peer.party, peer.url)
    if hint is not None and hint.pushed:
        source = PushedSource(source, hint.old, hint.pushed, node.party)
    report = pull(node, peer, source, hint=hint, progress=progress, cache=cache)
    report.filled = fill_bodies(node, peer, source)
    return report


def _from_mirrors(
    node: Node, peer: peers.Peer, signer: RequestSigner, progress: Progress | None
) -> PullReport | None:
    """Pull the peer's log from every other pinned peer's mirror; None if none could serve."""
    best: PullReport | None = None
    for other in peers.list_peers(node.store):
        if other.party == peer.party:
            continue
        try:
            with http_client(other.url, other.tls_spki, signer, other.party) as client:
                source = mirror_source(client, peer.party, other.url)
                report = pull(node, peer, source, progress=progress)
        except (PeerUnreachableError, PeerRefusedError):
            continue
        except EquivocationError:
            raise  # the author's own signatures disagree, whoever relayed them
        except (VerificationError, PeerProtocolError) as exc:
            mirrors.condemn(node, other.party, peer.party, exc.message, now_ms())
            continue  # the mirror served what the author did not sign: try the next one
        if best is None:
            best = report
        else:
            best.after, best.stored = report.after, best.stored + report.stored
            best.receipts += report.receipts
            best.via = report.via if report.stored else best.via
    return best
