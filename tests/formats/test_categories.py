"""The category table: complete, coherent with CAP, deadlines as agreed, inference from CAP."""

from __future__ import annotations

import re

import pytest

from parley.formats.categories import (
    CAP_CATEGORIES,
    CATEGORIES,
    EVENT_CODE_NAME,
    HOUR,
    MINUTE,
    SECOND,
    deadline_table,
    default_deadlines,
    infer_category,
)

ISSUE_CATEGORIES = {
    "geo.earthquake",
    "geo.tsunami",
    "geo.volcano",
    "geo.landslide",
    "met.tropical-cyclone",
    "met.flood",
    "met.storm-surge",
    "met.heavy-rain",
    "met.heat",
    "industrial.chemical-release",
    "industrial.explosion",
    "industrial.fire",
    "nuclear.facility-event",
    "security.terrorism",
    "security.mass-casualty",
    "security.major-event",
    "cyber.incident",
    "cyber.exploited-vulnerability",
    "cyber.indicators",
    "health.outbreak",
    "military.exercise-notice",
    "military.launch-notice",
    "maritime.encounter",
    "air.encounter",
    "maritime.search-rescue",
    "displacement.displaced",
}


def test_every_category_of_the_issue_is_in_the_table() -> None:
    assert ISSUE_CATEGORIES <= set(CATEGORIES)


@pytest.mark.parametrize("code", sorted(CATEGORIES))
def test_category_is_coherent(code: str) -> None:
    category = CATEGORIES[code]
    assert re.match(r"^[a-z]+\.[a-z-]+$", code) and category.code == code
    assert category.cap_categories and set(category.cap_categories) <= set(CAP_CATEGORIES)
    assert category.event_code == {"name": EVENT_CODE_NAME, "value": code}
    assert 0 < category.deadlines.delivered_within <= category.deadlines.acknowledged_within
    names = [f.name for f in category.details]
    assert len(names) == len(set(names))


def test_deadlines_as_agreed() -> None:
    nuclear = default_deadlines("nuclear.facility-event")
    assert (nuclear.delivered_within, nuclear.acknowledged_within) == (60 * SECOND, 15 * MINUTE)
    assert default_deadlines("geo.earthquake").acknowledged_within == 60 * MINUTE
    assert default_deadlines("met.tropical-cyclone").acknowledged_within == 60 * MINUTE
    assert default_deadlines("health.outbreak").acknowledged_within == 24 * HOUR
    assert default_deadlines("hotline").acknowledged_within == 5 * MINUTE
    table = deadline_table()
    assert table["hotline"] == {"delivered_within": 60_000, "acknowledged_within": 300_000}
    assert set(table) == set(CATEGORIES) | {"hotline"}


def test_nuclear_details_carry_ines_release_and_article_5() -> None:
    fields = {f.name: f for f in CATEGORIES["nuclear.facility-event"].details}
    assert (fields["ines_level"].minimum, fields["ines_level"].maximum) == (0, 7)
    assert fields["release"].choices == ("yes", "no", "unknown") and fields["release"].required
    art5 = {f.name for f in fields["art5"].fields}
    assert {
        "accident_time",
        "location",
        "nature",
        "facility_or_activity",
        "cause",
        "release",
        "meteorological_conditions",
        "environmental_monitoring",
        "protective_measures",
        "predicted_behaviour",
    } <= art5


@pytest.mark.parametrize(
    "events, cap, codes, expected",
    [
        (["Tsunami Warning after earthquake"], ["Geo"], [], "geo.tsunami"),
        (["Earthquake"], ["Geo"], [], "geo.earthquake"),
        (["anything"], ["Geo"], [("SAME", "EQW")], "geo.earthquake"),
        (["x"], ["Other"], [(EVENT_CODE_NAME, "cyber.incident")], "cyber.incident"),
        (["WINDBÖEN"], ["Met"], [], "met.storm"),
        (["STARKREGEN"], ["Met"], [], "met.heavy-rain"),
        (["台風第10号"], ["Met"], [], "met.tropical-cyclone"),
        (["Storm Surge Warning"], ["Met"], [], "met.storm-surge"),
        (["Launch window notice"], ["Security"], [], "military.launch-notice"),
        (["Icelandic weather"], ["Met"], [], "met.other"),
        (["Bushfire"], ["Fire"], [], "env.wildfire"),
        (["Motor Vehicle Accident"], ["Transport"], [], "general.other"),
    ],
)
def test_category_is_inferred_from_cap(
    events: list[str], cap: list[str], codes: list[tuple[str, str]], expected: str
) -> None:
    assert infer_category(events, cap, codes) == expected
