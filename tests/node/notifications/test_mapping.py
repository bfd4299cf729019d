"""The map service: Features of polygons and circles, filters, paging, and no withheld outline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.core.errors import InvalidEntryError
from parley.formats.geojson import map_features
from parley.node.access import Principal
from parley.node.federation.pull import pull
from parley.node.node import Node
from parley.node.notifications import lifecycle, listing, mapping
from tests.node.conftest import MemoryLog, Network, pin

TOKYO = {"desc": "Tokyo Bay", "circles": [{"center": ["139.8", "35.5"], "radius_km": "30"}]}
SQUARE = [["140", "36"], ["141", "36"], ["141", "37"], ["140", "37"], ["140", "36"]]
SENDAI = {"desc": "Sendai coast", "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}
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
        "areas": [TOKYO],
        **changes,
    }
    return lifecycle.notify(node, **fields).written.ref  # type: ignore[arg-type]


def walk_all(node: Node, reader: Principal, **given: Any) -> tuple[list[dict[str, Any]], int]:
    """Every Feature of a walk by pages, and how many pages it took."""
    page = mapping.areas(node, reader, **given)
    features, pages = list(page.features), 1
    while page.next_cursor is not None:
        page = mapping.areas(node, reader, **dict(given, cursor=page.next_cursor))
        features += page.features
        pages += 1
    return features, pages


def test_a_polygon_is_a_polygon_with_numbers_and_a_circle_a_point_with_its_radius(
    node: Node,
) -> None:
    ref = notify(node, "Offshore quake", areas=[SENDAI, TOKYO])
    page = mapping.areas(node, DUTY)
    assert page.next_cursor is None and page.notifications == 1
    polygon, circle = page.features
    assert polygon["id"] == f"{ref}/0" and polygon["geometry"] == {
        "type": "Polygon",
        "coordinates": [
            [[140.0, 36.0], [141.0, 36.0], [141.0, 37.0], [140.0, 37.0], [140.0, 36.0]]
        ],
    }
    assert circle["geometry"] == {"type": "Point", "coordinates": [139.8, 35.5]}
    props = circle["properties"]
    assert props["radius_km"] == 30.0 and polygon["properties"]["radius_km"] is None
    assert props["area"] == "Tokyo Bay" and polygon["properties"]["area"] == "Sendai coast"
    assert {k: props[k] for k in ("ref", "party", "status", "msg_type", "category")} == {
        "ref": ref,
        "party": "JP",
        "status": "Exercise",
        "msg_type": "Alert",
        "category": "geo.earthquake",
    }
    assert props["severity"] == "Severe" and props["headline"] == "[EXERCISE] Offshore quake"
    assert isinstance(props["time"], int) and props["references"] == []


def test_several_polygons_of_an_area_are_one_multipolygon() -> None:
    other = [["150", "40"], ["151", "40"], ["151", "41"], ["150", "40"]]
    area = {
        "desc": "two coasts",
        "geometry": {"type": "MultiPolygon", "coordinates": [[SQUARE], [other]]},
        "geocodes": [{"name": "SAME", "value": "006109"}],
    }
    only_codes = {"desc": "county", "geocodes": [{"name": "SAME", "value": "006111"}]}
    body = {
        "category": "met.storm",
        "msg_type": "Alert",
        "info": [
            {"lang": "en", "severity": "Minor", "headline": "Gale", "areas": [area, only_codes]}
        ],
    }
    header = {"party": "JP", "status": "Actual", "time": 1}
    multi, unplaced = map_features("JP:7", header, body)
    assert multi["geometry"]["type"] == "MultiPolygon"
    assert multi["geometry"]["coordinates"][1] == [
        [[150.0, 40.0], [151.0, 40.0], [151.0, 41.0], [150.0, 40.0]]
    ]
    assert multi["properties"]["headline"] == "Gale"  # Actual: no marker
    assert unplaced["geometry"] is None and unplaced["properties"]["area"] == "county"


def test_an_area_repeated_across_languages_is_one_feature_at_its_highest_severity() -> None:
    info = {"lang": "ja", "severity": "Moderate", "headline": "地震", "areas": [TOKYO]}
    english = {"lang": "en", "severity": "Severe", "headline": "Quake", "areas": [TOKYO]}
    body = {"category": "geo.earthquake", "msg_type": "Alert", "info": [info, english]}
    (only,) = map_features("JP:3", {"party": "JP", "status": "Test", "time": 1}, body)
    assert only["properties"]["severity"] == "Severe"
    assert only["properties"]["headline"] == "[TEST] Quake"  # English first, as pick_info


def test_a_cancel_keeps_its_areas_marked_and_names_what_it_cancels(node: Node) -> None:
    alert = notify(node, "Quake")
    cancel = lifecycle.answer(node, alert, msg_type="Cancel").written.ref
    features, _pages = walk_all(node, DUTY)
    by_ref = {f["properties"]["ref"]: f["properties"] for f in features}
    assert by_ref[cancel]["msg_type"] == "Cancel" and by_ref[cancel]["references"] == [alert]
    assert by_ref[alert]["msg_type"] == "Alert"


def test_paging_with_the_cursor_covers_every_notification_exactly_once(node: Node) -> None:
    made = [notify(node, f"quake {n}") for n in range(7)]
    features, pages = walk_all(node, DUTY, limit=2)
    assert [f["properties"]["ref"] for f in features] == made[::-1]
    assert pages == 4
    page = mapping.areas(node, DUTY, limit=7)
    assert page.notifications == 7 and page.next_cursor is None


def test_filters_are_the_lists_filters(node: Node) -> None:
    offshore = notify(node, "Offshore quake", areas=[SENDAI])
    storm = notify(node, "Gale", category="met.storm", severity="Minor")
    actual = notify(node, "Real quake", status="Actual")
    for given, wanted in (
        ({"category": "met"}, {storm}),
        ({"severity": "Severe"}, {offshore, actual}),
        ({"area": "139,35,140,35.9"}, {storm, actual}),
        ({"status": "Actual"}, {actual}),
        ({"text": "gale"}, {storm}),
    ):
        filters = listing.Filters.parse(node, **given)
        refs = {f["properties"]["ref"] for f in mapping.areas(node, DUTY, filters).features}
        assert refs == wanted, given


def test_a_body_above_the_readers_clearance_gives_no_feature(node: Node) -> None:
    secret = notify(node, "Restricted quake", audience=["JP"], tlp="AMBER")
    open_one = notify(node, "Open quake")
    observed = mapping.areas(node, OBSERVER)
    assert {f["properties"]["ref"] for f in observed.features} == {open_one}
    assert observed.notifications == 2  # counted and passed by the cursor, as in the list
    assert "Restricted" not in str(observed.to_dict())
    assert secret in {f["properties"]["ref"] for f in mapping.areas(node, DUTY).features}


def test_a_peers_header_only_entry_gives_no_feature(network: Network) -> None:
    nodes = network("JP", "CN", "KR")
    jp, cn = nodes["JP"], nodes["CN"]
    to_kr = notify(cn, "For KR only", audience=["KR"])
    to_all = notify(cn, "For everyone")
    pull(jp, pin(jp, cn), MemoryLog(cn, jp.party))
    page = mapping.areas(jp, DUTY)
    assert {f["properties"]["ref"] for f in page.features} == {to_all}
    assert page.notifications == 2 and to_kr not in str(page.to_dict())


def test_a_limit_outside_one_to_the_maximum_is_refused(node: Node) -> None:
    for limit in (0, mapping.MAX_LIMIT + 1):
        with pytest.raises(InvalidEntryError) as caught:
            mapping.areas(node, DUTY, limit=limit)
        assert caught.value.field == "limit"
