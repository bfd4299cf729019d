"""Officer settings on both engines: defaults, partial changes, refusals that name their field."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect

from parley.core.errors import InvalidEntryError
from parley.node import settings
from parley.node.settings import Settings
from parley.store.schema import officer_settings

# Values a setting may not take, and what the refusal must name besides the field.
REFUSED: list[tuple[str, Any, tuple[str, ...]]] = [
    ("lang", "fr", settings.LANGS),
    ("lang", "EN", settings.LANGS),
    ("lang", None, settings.LANGS),
    ("time_zone", "Mars/Olympus_Mons", ("IANA",)),
    ("time_zone", "", ("IANA",)),
    ("time_zone", "asia/tokyo", ("IANA",)),
    ("time_zone", 9, ("IANA",)),
    ("alarm_severity", "Unknown", settings.ALARM_SEVERITIES),
    ("alarm_severity", "severe", settings.ALARM_SEVERITIES),
    ("sound", "yes", ("true or false",)),
    ("sound", 1, ("true or false",)),
    ("alarm_exercise", None, ("true or false",)),
    ("volume", 11, settings.FIELDS),
]
# Names that would reach a file if a zone were opened as a path: each is only an unknown name.
PATH_TRICKS = [
    "../../../../etc/passwd",
    "/etc/passwd",
    "/usr/share/zoneinfo/UTC",
    "UTC/../UTC",
    "Asia/../Asia/Tokyo",
    "localtime",
    "posixrules",
    "Asia/Tokyo\x00",
]


def test_an_officer_who_changed_nothing_has_the_defaults(network, database) -> None:  # type: ignore[no-untyped-def]
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    assert settings.settings_of(node.store, "duty") == Settings(
        lang="en",
        time_zone="UTC",
        sound=True,
        alarm_severity="Severe",
        alarm_exercise=False,
        updated=None,
    )
    assert settings.change(node.store, "duty", 1_000) == Settings()  # nothing asked, nothing kept


def test_a_change_keeps_the_settings_it_leaves_out(network, database) -> None:  # type: ignore[no-untyped-def]
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    first = settings.change(node.store, "duty", 1_000, lang="ja", time_zone="Asia/Tokyo")
    assert first == Settings(lang="ja", time_zone="Asia/Tokyo", updated=1_000)
    second = settings.change(
        node.store, "duty", 2_000, sound=False, alarm_severity="Extreme", alarm_exercise=True
    )
    assert second == Settings("ja", "Asia/Tokyo", False, "Extreme", True, 2_000)
    assert settings.settings_of(node.store, "duty") == second
    assert settings.settings_of(node.store, "observer") == Settings()  # one officer's only


def test_every_refusal_names_its_field_and_changes_nothing(network, database) -> None:  # type: ignore[no-untyped-def]
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    kept = settings.change(node.store, "duty", 1_000, lang="ko", time_zone="Asia/Seoul")
    for field, value, named in REFUSED:
        with pytest.raises(InvalidEntryError) as refused:
            # A good change beside the bad one is refused with it: all or nothing.
            good = {"lang": "zh"} if field != "lang" else {"alarm_exercise": True}
            settings.change(node.store, "duty", 2_000, **good, **{field: value})
        assert refused.value.field == field, (field, value)
        assert refused.value.message.startswith(f"{field}: "), refused.value.message
        for allowed in named:
            assert allowed in str(refused.value), (field, value, allowed)
        assert settings.settings_of(node.store, "duty") == kept


def test_a_time_zone_is_looked_up_never_opened_as_a_path(network) -> None:  # type: ignore[no-untyped-def]
    node = network("JP")["JP"]
    for trick in PATH_TRICKS:
        with pytest.raises(InvalidEntryError, match="no IANA time zone") as refused:
            settings.change(node.store, "duty", 1_000, time_zone=trick)
        assert refused.value.field == "time_zone"
    assert settings.settings_of(node.store, "duty") == Settings()
    for zone in ("UTC", "Asia/Tokyo", "Europe/Moscow", "America/Argentina/Buenos_Aires"):
        assert settings.change(node.store, "duty", 2_000, time_zone=zone).time_zone == zone


def test_the_alarm_severities_are_caps_four_levels_least_first() -> None:
    assert settings.ALARM_SEVERITIES == ("Minor", "Moderate", "Severe", "Extreme")
    assert settings.LANGS == ("en", "ja", "ko", "zh", "ru")


def test_the_migration_creates_the_table_as_the_schema_declares(network, database) -> None:  # type: ignore[no-untyped-def]
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    found = inspect(node.store.reader)
    columns = {c["name"]: c["nullable"] for c in found.get_columns(officer_settings.name)}
    assert columns == {c.name: c.nullable for c in officer_settings.columns}
    assert found.get_pk_constraint(officer_settings.name)["constrained_columns"] == ["officer"]
