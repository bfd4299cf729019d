"""The merge rules of a CAP Update (``lifecycle.Revision``), applied to a previous body."""

from __future__ import annotations

from typing import Any

import pytest

from parley.core.errors import InvalidEntryError
from parley.node.notifications.lifecycle import Revision, info_changes, update_changes


def previous() -> dict[str, Any]:
    return {
        "category": "geo.earthquake",
        "details": {"magnitude": "6.8"},
        "info": [
            {
                "lang": "en",
                "headline": "Quake",
                "severity": "Severe",
                "expires": 1,
                "expires_tz": "+09:00",
            },
            {"lang": "ja", "headline": "地震", "severity": "Severe"},
        ],
    }


def test_new_texts_change_the_first_info_block_when_no_language_is_named() -> None:
    infos = info_changes(previous(), Revision(texts={"headline": "Quake, revised"}))
    assert [i["headline"] for i in infos] == ["Quake, revised", "地震"]


def test_new_texts_change_the_blocks_of_the_language_named() -> None:
    infos = info_changes(previous(), Revision(texts={"headline": "改訂"}, lang="JA"))
    assert [i["headline"] for i in infos] == ["Quake", "改訂"]


def test_levels_and_expiry_change_every_block_and_drop_the_old_zone() -> None:
    infos = info_changes(previous(), Revision(levels={"severity": "Extreme"}, expires_ms=99))
    assert [(i["severity"], i["expires"]) for i in infos] == [("Extreme", 99), ("Extreme", 99)]
    assert all("expires_tz" not in i for i in infos)


def test_a_language_the_notification_lacks_is_refused() -> None:
    with pytest.raises(InvalidEntryError, match="--lang ko: the notification has no info"):
        info_changes(previous(), Revision(texts={"headline": "x"}, lang="ko"))


def test_the_previous_body_is_left_as_it_was() -> None:
    before = previous()
    info_changes(before, Revision(texts={"headline": "x"}, levels={"severity": "Minor"}))
    assert before == previous()


def test_new_details_are_read_for_the_category_and_merged_over_the_old() -> None:
    seen: list[str] = []

    def pairs(category: str) -> list[str]:
        seen.append(category)
        return ["depth_km=10"]

    fields = update_changes(previous(), Revision(detail_pairs=pairs, expires_ms=5), now=0)
    assert seen == ["geo.earthquake"]
    assert fields["details"] == {"magnitude": "6.8", "depth_km": "10"}
    assert fields["expires"] == 5


def test_a_revision_without_changes_is_empty() -> None:
    assert Revision(texts={"headline": None}, levels={"severity": None}).empty
    assert not Revision(expires_ms=1).empty
    assert not Revision(detail_pairs=lambda _category: ["magnitude=7"]).empty
