"""Matching offers to the open lines of assistance requests (docs/protocol.md, assistance v2).

For each request line still needed, ``match_request`` lists the offer lines that could fill it:
the same catalogue type and unit, an availability window that overlaps the window of need (a
line without a window is always available), and what of the offer is not yet taken up. The
candidates are ranked by great-circle distance from the offer's origin to where the resource is
needed (``parley.formats.geodesy``; a line without a point ranks after those with one), then by
reference, so the ranking is the same at every node. Quantities are allotted down the ranking:
a candidate may fill part of a line (``partial``), and ``still_needed`` is what remains after
every candidate is allotted.

Pure: the request's state comes from ``parley.core.assistance_state``; unsolicited offers that
name no request are passed in as extra candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from parley.core.assistance import Line, Place
from parley.core.assistance_state import RequestState, Signed
from parley.formats.areas import EARTH_RADIUS_KM
from parley.formats.geodesy import central_angles, unit_vectors

__all__ = ["Candidate", "LineMatch", "distance_km", "match_request"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class Candidate:
    """An offer line that could fill a request line, and how much of it is allotted."""

    offer: str
    party: str
    line: str
    available: Decimal
    allotted: Decimal
    distance_km: float | None

    @property
    def partial(self) -> bool:
        """Whether the allotment takes less than the candidate has."""
        return self.allotted < self.available


@dataclass(frozen=True)
class LineMatch:
    """A request line: what is needed, the ranked candidates, and what no candidate covers."""

    request: str
    line: str
    type: str
    needed: Decimal
    candidates: tuple[Candidate, ...]
    still_needed: Decimal


def distance_km(a: Place | None, b: Place | None) -> float | None:
    """Great-circle distance between two places with points, else None."""
    if a is None or b is None or a.lat is None or b.lat is None:
        return None
    here = unit_vectors([float(a.lon or 0)], [float(a.lat)])
    there = unit_vectors([float(b.lon or 0)], [float(b.lat)])
    return float(central_angles(here, there)[0]) * EARTH_RADIUS_KM


def _overlaps(need: Line, offer: Line) -> bool:
    if need.window is None or offer.window is None:
        return True
    return offer.window.start <= need.window.end and need.window.start <= offer.window.end


def _fits(need: Line, offer: Line) -> bool:
    return offer.type == need.type and offer.unit == need.unit and _overlaps(need, offer)


def _offer_lines(
    state: RequestState, extra: Iterable[Signed]
) -> list[tuple[Signed, Line, Decimal]]:
    out = []
    for offer in state.offers.values():
        if offer.phase in ("declined", "released", "returned"):
            continue
        for line in offer.lines.values():
            left = Decimal(line.quantity) - offer.taken.get(line.id, ZERO)
            if left > 0:
                out.append((offer.entry, line, left))
    for entry in extra:
        if entry.party != state.requester:
            out.extend((entry, line, Decimal(line.quantity)) for line in entry.body.resources)
    return out


def match_request(state: RequestState, unsolicited: Sequence[Signed] = ()) -> list[LineMatch]:
    """The matches of every line of a request (module docstring), in the request's line order."""
    pool = _offer_lines(state, unsolicited)
    left = {(entry.ref, line.id): qty for entry, line, qty in pool}
    matches = []
    for need in state.lines.values():
        wanted = state.still_needed(need.id)
        ranked = sorted(
            (
                (distance_km(line.origin, need.needed_at), entry, line)
                for entry, line, _ in pool
                if _fits(need, line) and (line.fills in (None, need.id))
            ),
            key=lambda c: (c[0] is None, c[0] or 0.0, c[1].party, c[1].seq, c[2].id),
        )
        candidates = []
        for km, entry, line in ranked:
            available = left[(entry.ref, line.id)]
            allotted = min(available, wanted)
            wanted -= allotted
            left[(entry.ref, line.id)] = available - allotted
            candidates.append(Candidate(entry.ref, entry.party, line.id, available, allotted, km))
        matches.append(
            LineMatch(
                state.entry.ref,
                need.id,
                need.type,
                Decimal(need.quantity),
                tuple(candidates),
                wanted,
            )
        )
    return matches
