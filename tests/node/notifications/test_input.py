"""What an officer types for a notification (``parley notify``, scenario steps), parsed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.core.errors import InvalidEntryError
from parley.node.notifications.input import area_option, parse_details, parse_when


def test_officer_input_is_read_by_the_kind_of_each_field(tmp_path: Path) -> None:
    now = 1_800_000_000_000
    assert parse_when("+1d12h", now) == now + 36 * 3_600_000
    assert parse_when("+PT90M", now) == now + 90 * 60_000
    assert parse_when("2027-03-11T14:46:00+09:00", now) == 1_804_743_960_000
    with pytest.raises(InvalidEntryError, match="not like"):
        parse_when("+6 hours", now)
    geojson = tmp_path / "bay.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [[[139.7, 35.5], [139.9, 35.5], [139.9, 35.7], [139.7, 35.5]]],
            }
        )
    )
    assert area_option(geojson, None, None)["desc"] == "bay"
    assert area_option(None, "35.6,139.8,10", "Bay")["circles"][0]["radius_km"] == "10"
    with pytest.raises(InvalidEntryError, match="--area FILE.geojson or --circle"):
        area_option(geojson, "35.6,139.8,10", None)
    details = parse_details(
        "military.launch-notice",
        [
            "vehicle=space-launch-vehicle",
            "window_start=+30h",
            "window_end=+31h",
            "launch_area=30.4,130.9,5",
            f"hazard_areas=28,132,50;@{geojson}",
            "hazard_areas=27,133,40",
            "azimuth_deg=95.5",
        ],
        now,
    )
    assert details["window_start"] == now + 30 * 3_600_000
    assert len(details["hazard_areas"]) == 3 and details["azimuth_deg"] == "95.5"
    with pytest.raises(InvalidEntryError, match="magnitude.*not a decimal"):
        parse_details("geo.earthquake", ["magnitude=strong"], now)
    with pytest.raises(InvalidEntryError, match="field of geo.earthquake"):
        parse_details("geo.earthquake", ["colour=red"], now)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("+500ms", 500),
        ("+90s", 90_000),
        ("+1w", 604_800_000),
        ("+1h30m", 5_400_000),
        ("+P1DT12H", 129_600_000),
    ],
)
def test_relative_times_read_durations_by_the_one_duration_grammar(text: str, ms: int) -> None:
    assert parse_when(text, 1_000) == 1_000 + ms


def test_a_time_that_is_neither_absolute_nor_relative_is_named_in_the_error() -> None:
    with pytest.raises(InvalidEntryError, match="time 'tomorrow'"):
        parse_when("tomorrow", 0)
    with pytest.raises(InvalidEntryError, match=r"duration '\+P' is not like"):
        parse_when("+P", 0)
