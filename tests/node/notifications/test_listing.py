"""The listing service: cursors, the withheld judgement, filters, and paging by ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.core.errors import InvalidEntryError
from parley.node import access
from parley.node.access import ROLES, Principal
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle, listing
from parley.node.notifications.input import request_area, request_details

TOKYO = [{"desc": "Tokyo Bay", "circles": [{"center": ["139.8", "35.5"], "radius_km": "30"}]}]
DUTY = Principal("duty", "duty-officer")
OBSERVER = Principal("watch", "observer")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    created = Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test")
    yield created
    created.close()


def notify(node: Node, headline: str, **changes: object) -> str:
    fields: dict[str, object] = {
        "status": "Exercise",
        "category": "geo.earthquake",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "headline": headline,
        "areas": TOKYO,
        **changes,
    }
    return lifecycle.notify(node, **fields).written.ref  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**17))
def test_a_cursor_round_trips_and_is_url_safe(ingest: int) -> None:
    cursor = listing.encode_cursor(ingest)
    assert listing.decode_cursor(cursor) == ingest
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(st.text(max_size=24))
def test_only_a_cursor_the_node_made_is_accepted(text: str) -> None:
    try:
        ingest = listing.decode_cursor(text)
    except InvalidEntryError as exc:
        assert exc.field == "cursor"
    else:
        assert listing.encode_cursor(ingest) == text


def test_withheld_names_the_first_reason_a_reader_sees_no_body() -> None:
    held = "JP is not in its audience: this node holds the signed header only"
    assert access.withheld(DUTY, "RED", None) is None
    assert access.withheld(DUTY, "GREEN", held) == held
    assert access.withheld(OBSERVER, "GREEN", None) is None
    assert access.withheld(OBSERVER, "AMBER", None) == (
        "TLP:AMBER is above the clearance of an observer"
    )
    for role in ROLES:
        reader = Principal("someone", role)
        for tlp in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"):
            assert (access.withheld(reader, tlp, None) is None) == reader.reads(tlp)


def test_pages_walk_newest_first_by_ingest_and_end_with_no_cursor(node: Node) -> None:
    made = [notify(node, f"quake {n}") for n in range(5)]
    page = listing.listing(node, DUTY, limit=2)
    walked = [i.header.ref for i in page.items]
    while page.next_cursor is not None:
        page = listing.listing(node, DUTY, cursor=page.next_cursor, limit=2)
        walked += [i.header.ref for i in page.items]
    assert walked == made[::-1]


def test_a_page_that_ends_the_list_exactly_has_no_next_cursor(node: Node) -> None:
    made = [notify(node, f"quake {n}") for n in range(3)]
    page = listing.listing(node, DUTY, limit=3)
    assert [i.header.ref for i in page.items] == made[::-1] and page.next_cursor is None


def test_a_scan_stops_after_its_budget_and_says_where_to_go_on(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "SCAN_PAGE", 2)
    monkeypatch.setattr(listing, "MAX_SCAN", 2)
    made = [notify(node, f"quake {n}") for n in range(3)] + [notify(node, "the rare one")]
    filters = listing.Filters.parse(node, text="quake 0")
    page = listing.listing(node, DUTY, filters)
    assert page.items == [] and page.next_cursor is not None
    found: list[str] = []
    while page.next_cursor is not None:
        page = listing.listing(node, DUTY, filters, cursor=page.next_cursor)
        found += [i.header.ref for i in page.items]
    assert found == [made[0]]


def test_filters_parse_query_text_and_refuse_bad_values(node: Node) -> None:
    filters = listing.Filters.parse(
        node, party="jp", since="2027-01-01T00:00:00+09:00", until="1700000000000", text="Chiba"
    )
    assert filters.party == "JP" and filters.until == 1_700_000_000_000
    assert filters.since == 1_798_729_200_000 and filters.text == "chiba"
    assert filters.on_body and not listing.Filters.parse(node, party="JP").on_body
    for name, value in (
        ("area", "1,2,3,4,5"),
        ("area", "200,1"),
        ("since", "soon"),
        ("severity", "Bad"),
        ("party", "?"),
    ):
        with pytest.raises(InvalidEntryError) as caught:
            listing.Filters.parse(node, **{name: value})
        assert caught.value.field == name


def test_an_area_filter_intersects_the_notification_areas(node: Node) -> None:
    assert listing.parse_area("139,35,140,36").intersects(listing.parse_area("139.8,35.5,30"))
    box = listing.Filters.parse(node, area="139,35,141,36")
    far = listing.Filters.parse(node, area="-10,38,-9,39")
    body = {"category": "geo.earthquake", "info": [{"areas": TOKYO}]}
    assert box.matches(body) and not far.matches(body)
    assert not box.matches({"info": [{"areas": [{"desc": "broken", "circles": [{}]}]}]})
    inside, outside = (listing.Filters.parse(node, area=p) for p in ("139.8,35.5", "-9,38.5"))
    assert inside.matches(body) and not outside.matches(body)  # a point in the circle, or not


def test_request_areas_and_details_read_as_the_cli_reads_them() -> None:
    circle = request_area("bay", None, {"center": ["139.8", "35.5"], "radius_km": "30"})
    assert circle == TOKYO[0] | {"desc": "bay"}
    square = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]  # clockwise: turned round
    polygon = request_area("sq", {"type": "Polygon", "coordinates": [square]}, None)
    assert polygon["geometry"]["coordinates"][0][1] == ["1", "0"]
    now = now_ms()
    details = request_details("geo.earthquake", {"magnitude": 7.1, "origin_time": "+1h"}, now)
    assert details == {"magnitude": "7.1", "origin_time": now + 3_600_000}
    with pytest.raises(InvalidEntryError) as caught:
        request_details("geo.earthquake", {"colour": "red"}, now, where="body.details")
    assert caught.value.field == "body.details.colour"
