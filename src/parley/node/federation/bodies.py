"""Bodies a pull left pending: asked of the author again, stored, or marked withheld.

A body the author did not serve with its header (a mirror lacks it, or the author did not yet
recognise this node) is stored as pending (``EntryFlag.BODY_PENDING``) and asked for again at
the next pull. Only the author can withhold, and only from a node it recognised: such a body is
final (``BODY_WITHHELD``) and answered with an observation, never a receipt.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.core.entry import parse_header
from parley.node.federation import ingest, peers
from parley.node.federation.peer_client import PAGE, Fetched, LogSource
from parley.node.messaging import receipts
from parley.node.node import Node, now_ms
from parley.node.taxii import index as taxii_index
from parley.store import entries as entry_rows
from parley.store import logs
from parley.store import peers as peer_rows
from parley.store.entries import EntryFlag


def withheld_from(node: Node, source: LogSource) -> bool:
    """Whether a missing readable body in the last answer was withheld from this node.

    Only the author can withhold, and only from a node it recognised (``Parley-Peer``): a body
    a mirror lacks, or one not served to a node the author does not (yet) pin, is pending.
    """
    return source.author and source.recognised_as == node.party


def fill_bodies(node: Node, peer: peers.Peer, source: LogSource, limit: int = PAGE) -> int:
    """Fetch from the author the bodies of ``peer``'s log still pending; return how many came."""
    with node.store.read() as conn:
        if peers.get_status(conn, peer.party).pending_bodies == 0:
            return 0
        pending = entry_rows.flagged_seqs(conn, peer.party, EntryFlag.BODY_PENDING, limit)
    filled = 0
    for start, end in seq_runs(pending):
        fetched = source.entries(start, end)
        filled += _fill(node, peer.party, start, fetched, withheld_from(node, source))
    with node.store.write() as tx:
        left = entry_rows.count_flagged(tx, peer.party, EntryFlag.BODY_PENDING)
        peer_rows.count_pending(tx, peer.party, total=left)
    return filled


def seq_runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending seqs as runs of consecutive ones: ``[1, 2, 3, 7]`` -> ``[(1, 3), (7, 7)]``."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def _fill(node: Node, party: str, start: int, fetched: Sequence[Fetched], refused: bool) -> int:
    """Store the pending bodies that came, or mark them withheld; append what answers them."""
    filled, now = 0, now_ms()
    with node.store.write() as tx:
        drafts = []
        for offset, item in enumerate(fetched):
            stored = logs.get_entry(tx, party, start + offset)
            if stored is None or stored.flag != EntryFlag.BODY_PENDING or stored.leaf != item.leaf:
                continue
            header = parse_header(stored.leaf)
            if item.body is None:
                if not refused:
                    continue
                entry_rows.set_flag(tx, party, header.seq, EntryFlag.BODY_WITHHELD)
                flag: str | None = EntryFlag.BODY_WITHHELD
            else:
                header.check_body(item.body)
                logs.put_body(tx, party, header.seq, item.body.data, item.body.salt)
                taxii_index.index_stored(tx, party, header.seq, now)
                filled, flag = filled + 1, None
            verified = ingest.Verified(header, stored.leaf_hash, item.body)
            drafts.extend(ingest.answers(tx, node, verified, flag, now))
        headers = node.log.append_in(tx, drafts, now)
        receipts.index_own(tx, headers, drafts, now)
    return filled
