"""Gathering the compliance scoreboard's records from what this node holds.

DESIGN.md, "Deadlines, time and compliance"; the formula is ``parley.core.compliance`` and
docs/protocol.md §12. Records come from signed fields only: each addressed entry's header
(author, audience, TLP, the policy it names, whose members ``ALL`` means) and stated
``deadlines`` (where this node reads the body), each receipt's body (which entry, which leaf
hash, which type) and header (who, which seq), each reply's ``inquiry`` reference and each
assistance acceptance's or refusal's ``refers_to`` (``parley.core.deadlines
.answers_acknowledgement``); and witnessed
times (``parley.node.federation.witnessing``). Flagged entries (policy breaches, withheld or pending
bodies) are left out. A member computes over what it can read; ``public`` keeps the entries
with audience ALL and TLP CLEAR. A person whose clearance does not reach AMBER (an observer)
gets the public figures only: the members' figures count traffic of every TLP, and which
parties were sent AMBER traffic, and missed it, is not for a reader of CLEAR and GREEN.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from parley.core import compliance
from parley.core import deadlines as clocks
from parley.core.deadlines import ACKNOWLEDGED, CLOCKS
from parley.core.entry import ADDRESSED_KINDS, ALL, Body, Header, format_ref, parse_header
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.node.messaging import deadlines
from parley.node.node import Node
from parley.node.witnessed import witnessed_time
from parley.store import inbox as entry_rows
from parley.store import receipts as receipt_rows
from parley.store.logs import StoredEntry


def policy_members(conn: Connection) -> dict[str, list[str]]:
    """Members of every policy held here (any log's policy entries), by policy hash."""
    found = {}
    for row in entry_rows.entries_of_kinds(conn, ["policy"], with_body=True):
        if row.body is None or row.salt is None:
            continue
        document = SignedPolicy.from_body(Body(row.salt, row.body).value()).document
        found[document.hash] = [m.party for m in document.members]
    return found


def _sent(
    node: Node,
    conn: Connection,
    row: StoredEntry,
    members: dict[str, list[str]],
    policy: PolicyDocument,
) -> tuple[compliance.Sent, Header]:
    header = parse_header(row.leaf)
    named = members.get(header.policy, [m.party for m in policy.members])
    value = deadlines.body_value(row)
    stated = deadlines.stated_deadlines(value)
    sent = compliance.Sent(
        header.ref,
        tuple(deadlines.addressees(header, named)),
        witnessed_time(node, conn, header.party, header.seq, policy),
        {clock: stated[clock] for clock in CLOCKS},
        header.audience == ALL and header.tlp == "CLEAR",
    )
    return sent, header


def _named_refs(value: Any) -> list[str]:
    """The refs an answering entry's body names (``inquiry``, ``refers_to``)."""
    if not isinstance(value, dict):
        return []
    named = (value.get(name) for name in ("inquiry", "refers_to"))
    return [n["ref"] for n in named if isinstance(n, dict) and isinstance(n.get("ref"), str)]


def gather(
    node: Node, conn: Connection, policy: PolicyDocument
) -> tuple[list[compliance.Sent], list[compliance.Answered]]:
    """Every unflagged addressed entry held here, and every answer to one of them."""
    members = policy_members(conn)
    sent, leaf_hashes, kinds = [], {}, {}
    rows = entry_rows.entries_of_kinds(conn, sorted(ADDRESSED_KINDS), unflagged=True)
    answering = {rule[0] for rule in clocks.ACKNOWLEDGING_ENTRIES.values()}
    candidates = []
    for row in rows:
        record, header = _sent(node, conn, row, members, policy)
        sent.append(record)
        leaf_hashes[record.ref] = row.leaf_hash
        kinds[record.ref] = header.kind
        if header.kind in answering and row.body is not None:
            candidates.append((header, deadlines.body_value(row)))
    answers = [
        compliance.Answered(
            format_ref(r.entry_party, r.entry_seq),
            r.by_party,
            r.type,
            witnessed_time(node, conn, r.by_party, r.receipt_seq, policy),
        )
        for r in receipt_rows.all_receipts(conn)
        if leaf_hashes.get(format_ref(r.entry_party, r.entry_seq)) == r.leaf_hash
        and not (
            r.type == ACKNOWLEDGED
            and kinds[format_ref(r.entry_party, r.entry_seq)] in clocks.ANSWER_ONLY_KINDS
        )
    ]
    for header, value in candidates:
        for ref in _named_refs(value):
            kind = kinds.get(ref)
            if kind is None or not clocks.answers_acknowledgement(
                kind, header.kind, value, ref, leaf_hashes[ref].hex()
            ):
                continue
            answers.append(
                compliance.Answered(
                    ref,
                    header.party,
                    ACKNOWLEDGED,
                    witnessed_time(node, conn, header.party, header.seq, policy),
                )
            )
    return sent, answers


MEMBERS_CLEARANCE = "AMBER"  # the TLP a reader must be cleared for to see the members' figures


def scoreboard(
    node: Node, now: int, *, public_only: bool = False, clearance: frozenset[str] | None = None
) -> dict[str, Any]:
    """The scoreboard as ``parley compliance --json`` shows it.

    Public figures only with ``public_only``, or for a reader whose ``clearance`` lacks AMBER.
    """
    public_only = public_only or (clearance is not None and MEMBERS_CLEARANCE not in clearance)
    with node.store.read() as conn:
        policy = node.policy_in(conn)
        sent, answers = gather(node, conn, policy)
    return {
        "as_of": now,
        "scope": "public" if public_only else "members",
        "witness_quorum": policy.witness_quorum,
        "parties": compliance.scoreboard(sent, answers, now, public_only=public_only),
    }
