"""Road maps at a node: draft, sign, attest, confirm, dispute, answer, and show the state.

docs/protocol.md §7.2. Every edge (CLI, API, pages) calls these functions; the rules are those
of ``parley.core.roadmap``, applied here twice:

* before signing, a new entry is checked against the state at this node's current time over
  the road map entries it holds (``parley.core.roadmap.check``): nothing is signed that every
  verifier would refuse. An entry that names an entry not yet witnessed is refused with that
  reason, since the state counts entries from their witnessed time only;
* ``show`` computes the state as of a time (default now) from the entries held, with the
  witnessed times this node knows (``parley.node.witnessed``).

Sharing: a document is addressed to its member parties and its verifiers by default (AMBER),
or as the officer says; every later entry of the road map inherits the audience (with its
author added), TLP and status of the version 1 document, as receipts and replies do. A reader
whose clearance does not cover that TLP is refused the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley.core import roadmap as state_of
from parley.core import roadmap_body as rb
from parley.core.entry import ALL, Body, Header, parse_header, parse_ref
from parley.core.errors import InvalidEntryError, NotAuthorizedError, NotFoundError, ParleyError
from parley.core.roadmap import RoadmapEntry, RoadmapState
from parley.node.access import withheld_from
from parley.node.messaging.drafting import check_draft
from parley.node.node import Node
from parley.node.witnessed import witnessed_time
from parley.store import inbox as rows
from parley.store import logs

KIND = "roadmap"


@dataclass(frozen=True)
class Held:
    """The road map entries this node holds and can read, with their witnessed times."""

    entries: list[RoadmapEntry]
    headers: dict[str, Header]


def held(node: Node, conn: Connection) -> Held:
    """Every version 2 road map entry held with its body, and its witnessed time (or None)."""
    policy = node.policy_in(conn)
    found: list[RoadmapEntry] = []
    headers: dict[str, Header] = {}
    for row in rows.entries_of_kinds(conn, [KIND], with_body=True, in_log_order=True):
        header = parse_header(row.leaf)
        value = Body(row.salt or b"", row.body or b"").value()
        try:
            entry = RoadmapEntry.read(
                header.ref,
                row.leaf_hash.hex(),
                witnessed_time(node, conn, row.party, row.seq, policy),
                value,
            )
        except ParleyError:
            continue  # a peer's malformed body: it counts for nothing, as offline
        if entry is not None:
            found.append(entry)
            headers[header.ref] = header
    return Held(found, headers)


def root_of(found: Held, ref: str) -> str:
    """The version 1 document of the road map that document ``ref`` is a version of."""
    by_ref = {e.ref: e for e in found.entries}
    cursor = by_ref.get(ref)
    if cursor is None or not isinstance(cursor.body, rb.Document):
        raise NotFoundError(f"{ref} is not a road map document (version 2) held by this node")
    seen = set()
    while isinstance(cursor.body, rb.Document) and cursor.body.replaces is not None:
        seen.add(cursor.ref)
        earlier = by_ref.get(cursor.body.replaces.ref)
        if earlier is None or earlier.ref in seen:
            break
        cursor = earlier
    return cursor.ref


def show(node: Node, ref: str, at: int, clearance: frozenset[str] | None = None) -> RoadmapState:
    """The state of the road map of document ``ref`` as of ``at`` (ms), as this node holds it."""
    with node.store.read() as conn:
        found = held(node, conn)
    root = root_of(found, ref)
    why = withheld_from(clearance, found.headers[root].tlp)
    if why is not None:
        raise NotAuthorizedError(f"road map {root}: {why}")
    return state_of.roadmap_state(found.entries, root, at)


def listing(node: Node) -> list[dict[str, Any]]:
    """The road maps this node holds: version 1 document, id, title, latest version seen."""
    with node.store.read() as conn:
        found = held(node, conn)
    docs = [e for e in found.entries if isinstance(e.body, rb.Document)]
    roots = sorted({root_of(found, e.ref) for e in docs}, key=parse_ref)
    result = []
    for root in roots:
        body = next(e.body for e in docs if e.ref == root)
        assert isinstance(body, rb.Document)  # noqa: S101 (root_of returns documents only)
        result.append({"roadmap": root, "id": body.roadmap, "title": dict(body.title)})
    return result


# Writing ------------------------------------------------------------------------------------------


def _sharing(node: Node, found: Held, root: str) -> tuple[str, Any, str]:
    header = found.headers[root]
    if header.audience == ALL:
        return header.status, ALL, header.tlp
    return header.status, tuple(sorted({*header.audience, node.party})), header.tlp


def _write(node: Node, body: dict[str, Any], root: str | None, now: int, **sharing: Any) -> Header:
    """Check ``body`` against the state at ``now`` and append it; its header."""
    parsed = rb.parse_body(body)
    with node.store.write() as tx:
        found = held(node, tx)
        state = logs.get_state(tx, node.party)
        candidate = RoadmapEntry(
            f"{node.party}:{0 if state is None else state.size}", "", now, parsed
        )
        if root is None:
            root = candidate.ref
            status, audience, tlp = sharing["status"], sharing["audience"], sharing["tlp"]
        else:
            _witnessed(found, body, now)
            status, audience, tlp = _sharing(node, found, root)
        state_of.check(found.entries, root, candidate, now)
        draft = check_draft(KIND, status, body, audience, tlp, policy=node.policy_in(tx))
        (header,) = node.log.append_in(tx, [draft], now)
    return header


def _witnessed(found: Held, body: dict[str, Any], now: int) -> None:
    """Refuse a body naming an entry that is held but not yet witnessed at ``now``."""
    named = next(
        (body[k]["ref"] for k in ("document", "attestation", "dispute") if k in body), None
    )
    entry = next((e for e in found.entries if e.ref == named), None)
    if entry is not None and (entry.witnessed is None or entry.witnessed > now):
        raise InvalidEntryError(
            f"{named} is not witnessed yet; road map states count entries from their witnessed "
            "time only",
            hint="try again in a few seconds, once the witnesses have cosigned it",
        )


def _ref(found: Held, ref: str, kind: type[rb.Body]) -> tuple[RoadmapEntry, dict[str, str]]:
    entry = next((e for e in found.entries if e.ref == ref), None)
    if entry is None or not isinstance(entry.body, kind):
        raise NotFoundError(f"{ref} is not a road map {kind.__name__.lower()} held by this node")
    return entry, {"ref": entry.ref, "leaf_hash": entry.leaf_hash}


def _found(node: Node) -> Held:
    with node.store.read() as conn:
        return held(node, conn)


def draft(
    node: Node,
    document: dict[str, Any],
    status: str,
    now: int,
    *,
    replaces: str | None = None,
    to: str | None = None,
    tlp: str | None = None,
) -> Header:
    """Append a road map version drafted by this node (``replaces``: the version amended)."""
    body = {**document, "v": rb.VERSION, "type": "document"}
    root = None
    if replaces is not None:
        found = _found(node)
        earlier, exact = _ref(found, replaces, rb.Document)
        assert isinstance(earlier.body, rb.Document)  # noqa: S101 (_ref checked the type)
        body |= {"replaces": exact, "version": earlier.body.version + 1}
        root = root_of(found, replaces)
    parsed = rb.parse_body(body)
    assert isinstance(parsed, rb.Document)  # noqa: S101 (the type is set above)
    _check_parties(node, parsed)
    audience = to if to is not None else tuple(sorted(_readers(parsed)))
    return _write(node, body, root, now, status=status, audience=audience, tlp=tlp)


def _readers(doc: rb.Document) -> set[str]:
    return set(doc.members) | {v for s in doc.steps for v in s.verifiers}


def _check_parties(node: Node, doc: rb.Document) -> None:
    members = {m.party for m in node.context().policy.document.members}
    if node.party not in doc.members:
        raise InvalidEntryError(f"{node.party} drafts only a road map it is a member party of")
    for party in doc.parties:
        if party.member != (party.code in members):
            state = "is" if party.code in members else "is not"
            raise InvalidEntryError(
                f"parties: {party.code} {state} a member of the network; set member accordingly"
            )
    for verifier in sorted({v for s in doc.steps for v in s.verifiers} - members):
        raise InvalidEntryError(f"verifiers: {verifier} is not a member of the network")


def sign(node: Node, ref: str, now: int) -> Header:
    """Co-sign the road map version ``ref``."""
    found = _found(node)
    _, exact = _ref(found, ref, rb.Document)
    body = {"v": rb.VERSION, "type": "sign", "document": exact}
    return _write(node, body, root_of(found, ref), now)


def attest(
    node: Node, ref: str, step: str, evidence: Sequence[dict[str, str]], text: Any, now: int
) -> Header:
    """Attest that ``step`` of the road map of document ``ref`` is done, with ``evidence``."""
    found = _found(node)
    root = root_of(found, ref)
    in_force = state_of.roadmap_state(found.entries, root, now).in_force
    if in_force is None:
        raise InvalidEntryError(f"road map {root} is not in force yet: not every member has signed")
    _, exact = _ref(found, in_force, rb.Document)
    body: dict[str, Any] = {
        "v": rb.VERSION,
        "type": "attest",
        "document": exact,
        "step": step,
        "evidence": list(evidence),
    }
    if text:
        body["text"] = text
    return _write(node, body, root, now)


def answer_attestation(
    node: Node,
    ref: str,
    word: str,
    evidence: Sequence[dict[str, str]],
    text: Any,
    now: int,
) -> Header:
    """``confirm`` or ``dispute`` (``text`` is then the reason) the attestation ``ref``."""
    found = _found(node)
    attestation, exact = _ref(found, ref, rb.Attest)
    assert isinstance(attestation.body, rb.Attest)  # noqa: S101 (_ref checked the type)
    body: dict[str, Any] = {"v": rb.VERSION, "type": word, "attestation": exact}
    body["evidence"] = list(evidence)
    if word == "dispute":
        if not text:
            raise InvalidEntryError("a dispute needs a reason (--reason)")
        body["reason"] = text
    elif text:
        body["text"] = text
    return _write(node, body, root_of(found, attestation.body.document.ref), now)


def answer_dispute(
    node: Node, ref: str, text: Any, evidence: Sequence[dict[str, str]], now: int
) -> Header:
    """Answer the dispute ``ref`` of a step this node attested."""
    found = _found(node)
    dispute, exact = _ref(found, ref, rb.Dispute)
    assert isinstance(dispute.body, rb.Dispute)  # noqa: S101 (_ref checked the type)
    attestation, _ = _ref(found, dispute.body.attestation.ref, rb.Attest)
    assert isinstance(attestation.body, rb.Attest)  # noqa: S101 (_ref checked the type)
    body = {"v": rb.VERSION, "type": "answer", "dispute": exact, "text": text}
    body["evidence"] = list(evidence)
    return _write(node, body, root_of(found, attestation.body.document.ref), now)
