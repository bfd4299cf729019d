"""How ``parley assistance board|status|verify`` print the board (plain data of the service)."""

from __future__ import annotations

from typing import Any

from parley.cli.common import err_console, out
from parley.node.assistance import Board
from parley.node.assistance_view import board_dict

__all__ = ["board_dict", "print_board"]


def _say(text: str, style: str | None = None) -> None:
    out.print(text, markup=False, highlight=False, style=style)


def _request(item: dict[str, Any]) -> None:
    _say(
        f"{item['ref']}  {item['phase']}  requested by {item['requester']} for {item['incident']}",
        "bold",
    )
    for line in item["lines"]:
        _say(
            f"  {line['id']} {line['type']}: requested {line['requested']} {line['unit']}, "
            f"taken up {line['taken']}, committed {line['counted']}, "
            f"still needed {line['still_needed']}"
        )
        for c in line["candidates"]:
            km = "" if c["distance_km"] is None else f", {c['distance_km']} km"
            part = " (partial)" if c["partial"] else ""
            _say(
                f"      match {c['offer']} {c['party']}: {c['allotted']} of "
                f"{c['available']}{part}{km}"
            )
    for offer in item["offers"]:
        _say(f"  offer {offer['ref']} {offer['party']}: {offer['phase']}")
        for line in offer["lines"]:
            _say(
                f"      {line['id']} {line['type']} offered {line['offered']}, taken up "
                f"{line['taken']}, committed {line['committed']}, pending {line['pending']}"
            )
    for refused in item["refused"]:
        _say(f"  refused {refused['ref']}: {refused['reason']}", "yellow")


def print_board(board: Board) -> None:
    """The board for a person: each request, its lines, matches, offers and refusals."""
    data = board_dict(board)
    if not data["requests"]:
        err_console.print("no assistance requests held", markup=False)
    for item in data["requests"]:
        _request(item)
    for ref in data["unsolicited"]:
        _say(f"unsolicited offer {ref}")
    for note in data["version_1"]:
        _say(f"version 1 {note['ref']}: {note['type']} (no lifecycle) {note['text'] or ''}")
    for bad in data["unreadable"]:
        _say(f"unreadable {bad['ref']}: {bad['reason']}", "red")
