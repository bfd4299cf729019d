"""The assistance board as plain data: what every edge (CLI, API, pages) shows of it.

docs/protocol.md, "assistance, version 2". Quantities are decimal strings, as signed; each
request lists its lines (requested, taken up, committed and taken up, still needed, with the
ranked candidates of ``parley.formats.assistance_match``), its offers with their phase,
taken-up, committed and pending quantities, and the entries the lifecycle refused with the
reason. Version 1 entries and unreadable bodies are listed apart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from parley.core.assistance_state import OfferState, RequestState
from parley.formats.assistance_match import LineMatch
from parley.node.assistance import Board


def _text(value: Any) -> str | None:
    """A peer's version 1 field as text, or None: version 1 bodies are kept as they came."""
    return value if isinstance(value, str) else None


def _q(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _offer(offer: OfferState) -> dict[str, Any]:
    return {
        "ref": offer.entry.ref,
        "party": offer.party,
        "type": offer.entry.body.type,
        "phase": offer.phase,
        "commit": offer.commit,
        "lines": [
            {
                "id": line.id,
                "type": line.type,
                "fills": line.fills,
                "offered": line.quantity,
                "unit": line.unit,
                "product": line.product,
                "origin": None
                if line.origin is None
                else line.origin.model_dump(exclude_none=True),
                "taken": _q(offer.taken.get(line.id, Decimal(0))),
                "committed": _q(offer.committed.get(line.id, Decimal(0))),
                "counted": _q(offer.counted(line.id)),
                "pending": _q(offer.pending(line.id)),
            }
            for line in offer.lines.values()
        ],
    }


def _candidates(match: LineMatch | None) -> list[dict[str, Any]]:
    if match is None:
        return []
    return [
        {
            "offer": c.offer,
            "party": c.party,
            "line": c.line,
            "available": _q(c.available),
            "allotted": _q(c.allotted),
            "partial": c.partial,
            "distance_km": None if c.distance_km is None else round(c.distance_km, 1),
        }
        for c in match.candidates
    ]


def request_dict(state: RequestState, matches: list[LineMatch]) -> dict[str, Any]:
    """One request's state as plain data."""
    by_line = {m.line: m for m in matches}
    body = state.entry.body
    return {
        "ref": state.entry.ref,
        "requester": state.requester,
        "incident": None if body.incident is None else body.incident.ref,
        "phase": state.phase,
        "lines": [
            {
                "id": line.id,
                "type": line.type,
                "requested": line.quantity,
                "unit": line.unit,
                "product": line.product,
                "needed_at": None
                if line.needed_at is None
                else line.needed_at.model_dump(exclude_none=True),
                "taken": _q(state.taken.get(line.id, Decimal(0))),
                "counted": _q(state.counted(line.id)),
                "still_needed": _q(state.still_needed(line.id)),
                "candidates": _candidates(by_line.get(line.id)),
            }
            for line in state.lines.values()
        ],
        "offers": [_offer(o) for o in state.offers.values()],
        "refused": [{"ref": ref, "reason": reason} for ref, reason in state.refused],
        "notes": [{"ref": n.ref, "type": n.body.type, "text": n.body.text} for n in state.notes],
    }


def board_dict(board: Board) -> dict[str, Any]:
    """The whole board as plain data."""
    return {
        "requests": [request_dict(s, board.matches.get(s.entry.ref, [])) for s in board.requests],
        "unsolicited": [e.ref for e in board.unsolicited],
        "version_1": [
            {"ref": ref, "type": _text(body.get("type")), "text": _text(body.get("text"))}
            for ref, body in board.version_1
        ],
        "unreadable": [{"ref": ref, "reason": why} for ref, why in board.unreadable],
    }
