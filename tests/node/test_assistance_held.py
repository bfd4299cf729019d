"""How the assistance service files what it reads: version 2, version 1 notes, unreadable."""

from __future__ import annotations

from parley.node.assistance import Held, board_of

INCIDENT = {"ref": "JP:2", "leaf_hash": "a" * 64}
LINE = {"id": "l1", "type": "usar.heavy", "quantity": "1", "unit": "{team}"}


def test_version_1_bodies_are_notes_that_take_part_in_no_lifecycle() -> None:
    found = Held()
    found.add("US", 4, "b" * 64, {"type": "offer", "resources": [], "text": "doses"})
    board = board_of(found)
    assert board.requests == [] and board.version_1 == [("US:4", found.version_1[0][1])]


def test_a_body_claiming_version_2_that_breaks_it_is_unreadable_not_version_1() -> None:
    found = Held()
    found.add("US", 4, "b" * 64, {"v": 2, "type": "RequestResource", "resources": [LINE]})
    assert found.version_1 == [] and found.signed == []
    assert found.unreadable[0][0] == "US:4" and "incident" in found.unreadable[0][1]


def test_a_later_body_version_is_unreadable() -> None:
    found = Held()
    found.add("US", 4, "b" * 64, {"v": 3, "type": "RequestResource"})
    assert found.unreadable == [("US:4", "body version 3 is not known here")]


def test_a_version_2_request_is_on_the_board() -> None:
    found = Held()
    found.add(
        "JP",
        5,
        "c" * 64,
        {"v": 2, "type": "RequestResource", "incident": INCIDENT, "resources": [LINE]},
    )
    board = board_of(found)
    assert [s.entry.ref for s in board.requests] == ["JP:5"]
    assert board.matches["JP:5"][0].still_needed == 1
