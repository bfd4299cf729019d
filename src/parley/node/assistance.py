"""Assistance between parties: the board, its recomputation from exports, and signed steps.

docs/protocol.md, "assistance, version 2". Every edge (``parley assistance``, later the API and
the board page) calls these functions; none judges a step itself.

* **Reading** (``held``): every ``assistance`` entry this node holds with a verified body, from
  every log, read in bounded batches. Version 2 bodies become ``Signed`` entries; version 1
  bodies are listed as notes (they take part in no lifecycle); a body that fails the version 2
  schema is listed as unreadable, never guessed at. Entries stored header-only (flagged) carry
  no body and do not count. A reader's ``clearance`` withholds entries above it whole.
* **The board** (``board``): ``parley.core.assistance_state.board`` over what is held, with
  ``parley.formats.assistance_match`` for what each open request still needs.
* **Offline** (``verify_exports``): the same board from log exports alone, after every export
  verifies (``parley.core.verify.verify_log``: signatures, body hashes, checkpoints).
* **Writing** (``step``): a body is checked against the schema, the resource catalogue and the
  lifecycle (``check_step``, with this node as author, against what it holds) before it is
  signed, so a node does not sign a step its peers would refuse. Two officers of one party who
  sign at the same instant may still both pass the check; the lifecycle then counts the earlier
  of the two in the party's own log and refuses the later, alike at every node. Follow-up
  steps inherit the request's audience and TLP, so every party that sees a request sees its
  whole lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from parley.core import merkle
from parley.core.assistance import AssistanceV2, is_version_2
from parley.core.assistance_state import RequestState, Signed, board, check_step, request_state
from parley.core.deadlines import deadlines_for
from parley.core.entry import ALL, Body, Header, parse_header, parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.core.verify import LogReport, verify_log
from parley.formats.assistance_match import LineMatch, match_request
from parley.formats.resources import check_line
from parley.node.access import withheld_from
from parley.node.export import ExportReader
from parley.node.messaging.drafting import check_draft
from parley.node.node import Node, now_ms
from parley.store import logs

KIND = "assistance"
STARTS = frozenset({"RequestResource", "OfferUnsolicitedResource"})


@dataclass
class Held:
    """The assistance entries a reader may see: version 2, version 1 notes, unreadable ones."""

    signed: list[Signed] = field(default_factory=list)
    version_1: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    sharing: dict[str, tuple[str, str]] = field(default_factory=dict)  # ref: (audience, tlp)

    def add(self, party: str, seq: int, leaf_hash: str, value: Any) -> None:
        """File one decoded body under the version it claims."""
        ref = f"{party}:{seq}"
        if isinstance(value, dict) and "v" in value and not is_version_2(value):
            self.unreadable.append((ref, f"body version {value['v']!r} is not known here"))
            return
        if not is_version_2(value):
            self.version_1.append((ref, value if isinstance(value, dict) else {}))
            return
        try:
            self.signed.append(Signed(party, seq, leaf_hash, AssistanceV2.model_validate(value)))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            self.unreadable.append((ref, f"{where}: {first['msg']}"))


def held(node: Node, clearance: frozenset[str] | None = None) -> Held:
    """Every assistance entry this node holds with its body, that ``clearance`` may read."""
    out = Held()
    with node.store.read() as conn:
        for party in sorted(logs.held_logs(conn)):
            for row in logs.iter_kinds(conn, party, (KIND,)):
                if row.body is None or row.flag is not None:
                    continue
                if withheld_from(clearance, row.tlp) is not None:
                    continue
                value = Body(row.salt or b"", row.body).value()
                out.add(row.party, row.seq, row.leaf_hash.hex(), value)
                out.sharing[f"{row.party}:{row.seq}"] = (row.audience, row.tlp)
    return out


@dataclass
class Board:
    """Every request's state, the matches of its open lines, and what takes no part."""

    requests: list[RequestState]
    matches: dict[str, list[LineMatch]]
    unsolicited: list[Signed]
    version_1: list[tuple[str, dict[str, Any]]]
    unreadable: list[tuple[str, str]]


def board_of(found: Held) -> Board:
    """The board of what was found (module docstring)."""
    states = board(found.signed)
    loose = [e for e in found.signed if e.body.type in STARTS and e.body.request is None]
    loose = [e for e in loose if e.body.type == "OfferUnsolicitedResource"]
    matches = {s.entry.ref: match_request(s, loose) for s in states if s.phase == "open"}
    return Board(states, matches, loose, found.version_1, found.unreadable)


def node_board(node: Node, clearance: frozenset[str] | None = None) -> Board:
    """The board as this node holds it."""
    return board_of(held(node, clearance))


def verify_exports(paths: Iterable[Path]) -> tuple[Board, list[LogReport]]:
    """The board recomputed from log exports alone, once every export verifies."""
    found, reports = Held(), []
    for path in paths:
        reader = ExportReader(path)
        reader.head()
        reports.append(verify_log(_collect(reader.entries(), found), reader.notes()))
    return board_of(found), reports


def _collect(
    items: Iterator[tuple[bytes, Body | None]], found: Held
) -> Iterator[tuple[bytes, Body | None]]:
    """Pass entries on to the verifier; keep the assistance bodies once the log verifies."""
    kept: list[tuple[str, int, str, Any]] = []
    for leaf, body in items:
        yield leaf, body
        header = parse_header(leaf)
        if header.kind == KIND and body is not None:
            kept.append((header.party, header.seq, merkle.leaf_hash(leaf).hex(), body.value()))
    for party, seq, leaf_hash, value in kept:
        found.add(party, seq, leaf_hash, value)


# --------------------------------------------------------------------------------------------
# Writing


def _stored(node: Node, ref: str, what: str) -> tuple[Signed, str, str]:
    """The version 2 entry ``ref`` with its audience and TLP, or a clear refusal."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        row = logs.get_entry(conn, party, seq)
    if row is None or row.body is None:
        raise NotFoundError(
            f"{what} {ref}: this node holds no such entry with its body",
            hint="'parley sync' first, or check the reference",
        )
    found = Held()
    found.add(party, seq, row.leaf_hash.hex(), Body(row.salt or b"", row.body).value())
    if row.kind != KIND or not found.signed:
        raise InvalidEntryError(f"{what} {ref} is not an assistance entry of version 2")
    return found.signed[0], row.audience, row.tlp


def _ref(entry: Signed) -> dict[str, str]:
    return {"ref": entry.ref, "leaf_hash": entry.leaf_hash}


def step(
    node: Node,
    body: dict[str, Any],
    status: str,
    *,
    to: str | None = None,
    tlp: str | None = None,
    now: int | None = None,
) -> Header:
    """Check and sign one version 2 step (module docstring); return its header."""
    policy = node.context().policy.document
    deadlines = deadlines_for(policy, KIND)
    if body.get("type") != "RequestResource":  # see docs/protocol.md §7.1, Deadlines
        deadlines = {k: v for k, v in deadlines.items() if k == "delivered_within"}
    body = {"v": 2, **body, "deadlines": deadlines}
    parsed = _parsed(body)
    for line in parsed.resources:
        check_line(line)
    audience, tlp = _sharing(node, parsed, to, tlp)
    draft = check_draft(KIND, status, body, audience, tlp, policy=policy)
    _check_lifecycle(node, parsed)
    (header,) = node.append([draft], now_ms() if now is None else now)
    return header


def _parsed(body: dict[str, Any]) -> AssistanceV2:
    try:
        return AssistanceV2.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidEntryError(f"assistance {body.get('type')} {where}: {first['msg']}") from exc


def _sharing(
    node: Node, body: AssistanceV2, to: str | None, tlp: str | None
) -> tuple[str | None, str | None]:
    """A request's own audience, or the request's audience and TLP for every later step."""
    if body.request is None:
        return to, tlp
    _, audience, request_tlp = _stored(node, body.request.ref, "request")
    return (None if audience == ALL else audience), request_tlp


def _check_lifecycle(node: Node, body: AssistanceV2) -> None:
    """Refuse a step the lifecycle refuses, judged with this node as its author."""
    if body.request is None:
        return
    request, _, _ = _stored(node, body.request.ref, "request")
    if request.body.type != "RequestResource":
        raise InvalidEntryError(f"request {request.ref} is a {request.body.type}")
    related = [
        e
        for e in held(node).signed
        if e.body.request is not None and e.body.request.ref == request.ref
    ]
    draft = Signed(node.party, node.size(), "0" * 64, body)
    check_step(request, related, draft)


def reference(node: Node, ref: str, what: str) -> dict[str, str]:
    """The exact reference (``PARTY:SEQ`` and leaf hash) of a version 2 entry held here."""
    entry, _, _ = _stored(node, ref, what)
    return _ref(entry)


def request_of(node: Node, offer_ref: str) -> dict[str, str]:
    """The reference of the request an offer answers."""
    offer, _, _ = _stored(node, offer_ref, "offer")
    if offer.body.request is None:
        raise InvalidEntryError(f"offer {offer_ref} names no request")
    return offer.body.request.model_dump()


def state_of(node: Node, request_ref: str) -> RequestState:
    """One request's state as this node holds it."""
    request, _, _ = _stored(node, request_ref, "request")
    related = [
        e
        for e in held(node).signed
        if e.body.request is not None and e.body.request.ref == request.ref
    ]
    return request_state(request, related)


def any_reference(node: Node, ref: str) -> dict[str, str]:
    """The exact reference of any entry held here (the incident a request answers)."""
    party, seq = parse_ref(ref)
    with node.store.read() as conn:
        row = logs.get_entry(conn, party, seq)
    if row is None:
        raise NotFoundError(
            f"--incident {ref}: this node holds no such entry",
            hint="'parley sync' first, or check the reference",
        )
    return {"ref": ref, "leaf_hash": row.leaf_hash.hex()}
