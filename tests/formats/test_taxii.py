"""TAXII 2.1 values: timestamps, media types, filter parameters and ``next`` tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.formats.errors import ValueFormatError
from parley.formats.taxii import (
    TAXII_MEDIA_TYPE,
    VersionMatch,
    accepts_taxii,
    format_timestamp_us,
    format_version_us,
    is_taxii_content,
    next_token,
    parse_limit,
    parse_next,
    parse_timestamp_us,
    split_match,
)

moments = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)
)


@given(moments)
def test_a_timestamp_reads_back_to_the_microsecond(moment: dt.datetime) -> None:
    micros = (moment.replace(tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // (
        dt.timedelta(microseconds=1)
    )
    text = format_timestamp_us(micros)
    assert parse_timestamp_us(text) == micros
    assert parse_timestamp_us(format_version_us(micros)) == micros


@given(st.integers(0, 10**15), st.integers(1, 10**6))
def test_written_timestamps_sort_as_their_values(first: int, gap: int) -> None:
    assert format_timestamp_us(first) < format_timestamp_us(first + gap)


def test_a_version_keeps_the_millisecond_form_stix_writes() -> None:
    micros = parse_timestamp_us("2016-05-12T08:17:27.000Z")
    assert format_version_us(micros) == "2016-05-12T08:17:27.000Z"
    assert parse_timestamp_us("2016-05-12T08:17:27.123456789Z") % 1_000_000 == 123456


@pytest.mark.parametrize(
    "text", ["2026-02-30T00:00:00Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00", "", "0"]
)
def test_a_bad_timestamp_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValueFormatError) as refused:
        parse_timestamp_us(text, "added_after")
    assert refused.value.field == "added_after"


def test_media_types_follow_section_1_6_6() -> None:
    assert accepts_taxii(None) and accepts_taxii("*/*") and accepts_taxii(TAXII_MEDIA_TYPE)
    assert accepts_taxii("application/taxii+json")
    assert not accepts_taxii("application/taxii+json;version=2.0")
    assert not accepts_taxii("text/html")
    assert is_taxii_content("application/taxii+json; version=2.1")
    assert not is_taxii_content("application/json")
    assert not is_taxii_content(None)


@given(st.integers(0, 2**62 - 1))
def test_a_next_token_stands_for_its_sequence(sequence: int) -> None:
    assert parse_next(next_token(sequence)) == sequence


@pytest.mark.parametrize("text", ["-1", "x", "1e3", "99999999999999999999", ""])
def test_a_next_token_this_server_did_not_give_is_refused(text: str) -> None:
    with pytest.raises(ValueFormatError, match="next"):
        parse_next(text)


def test_limit_is_positive_and_capped() -> None:
    assert parse_limit(None, 1000) == 1000
    assert parse_limit("5", 1000) == 5
    assert parse_limit("5000", 1000) == 1000
    for bad in ("0", "-3", "ten"):
        with pytest.raises(ValueFormatError, match="limit"):
            parse_limit(bad, 1000)


def test_match_values_are_split_and_bounded() -> None:
    assert split_match("indicator, malware", "match[type]") == ("indicator", "malware")
    assert split_match(None, "match[type]") == ()
    with pytest.raises(ValueFormatError, match="at least one"):
        split_match(" , ", "match[type]")
    with pytest.raises(ValueFormatError, match="at most"):
        split_match(",".join(["a"] * 101), "match[type]")


def test_version_match_defaults_to_last_and_reads_keywords_and_timestamps() -> None:
    assert VersionMatch.parse(None) == VersionMatch(last=True)
    found = VersionMatch.parse("first,2016-05-12T08:17:27.000Z")
    assert found.first and not found.last and not found.every
    assert found.exact == (parse_timestamp_us("2016-05-12T08:17:27.000Z"),)
    assert VersionMatch.parse(None, default="all").every
