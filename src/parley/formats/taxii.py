"""TAXII 2.1 values that need no I/O: media types, timestamps, filters and paging tokens.

OASIS TAXII 2.1 s1.6.6 (media types), s3.4 (``added_after``, ``limit``, ``next``, ``match[...]``)
and s3.6 (the ``next`` token is opaque to the client). Timestamps are STIX 2.1 ``timestamp``
values (RFC 3339, UTC, ``Z``); this module reads them to integer microseconds and writes
microseconds back with six fraction digits, so that ``date_added`` values, which grow by at
least one microsecond per object, stay distinct and ordered when written out.

A ``next`` token is the local object sequence of the last object of a page, in decimal: the
client passes it back unchanged and the server reads it only as a lower bound on that sequence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from parley.formats.errors import ValueFormatError

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
SPEC_VERSION = "2.1"
VERSION_KEYWORDS = frozenset({"first", "last", "all"})
MAX_MATCH_VALUES = 100

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$", re.ASCII
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_SEQUENCE = 2**62


def parse_timestamp_us(text: str, field: str = "timestamp") -> int:
    """A STIX 2.1 timestamp in microseconds since the epoch (digits past six are dropped)."""
    found = _TIMESTAMP.match(text)
    if found is None:
        raise ValueFormatError(
            f"{field}: {text!r} is not a timestamp like 2026-01-31T12:00:00.000Z",
            field=field,
        )
    year, month, day, hour, minute, second, fraction = found.groups()
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=dt.UTC
        )
    except ValueError as exc:
        raise ValueFormatError(
            f"{field}: {text!r} is not a real date ({exc})", field=field
        ) from exc
    whole = (moment - _EPOCH) // dt.timedelta(seconds=1)
    micros = int((fraction or "0").ljust(6, "0")[:6])
    return whole * 1_000_000 + micros


def format_timestamp_us(micros: int) -> str:
    """``micros`` since the epoch as a STIX 2.1 timestamp with six fraction digits."""
    moment = _EPOCH + dt.timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_version_us(micros: int) -> str:
    """An object version as STIX writes it: milliseconds when that is exact, else microseconds."""
    text = format_timestamp_us(micros)
    return text[:-4] + "Z" if micros % 1000 == 0 else text


def accepts_taxii(accept: str | None) -> bool:
    """Whether an ``Accept`` header admits the TAXII 2.1 media type (s1.6.6)."""
    if not accept:
        return True
    for part in accept.split(","):
        kind, _, params = part.strip().partition(";")
        kind = kind.strip().lower()
        if kind in ("*/*", "application/*"):
            return True
        if kind == "application/taxii+json":
            version = _parameter(params, "version")
            return version in (None, SPEC_VERSION)
    return False


def is_taxii_content(content_type: str | None) -> bool:
    """Whether a request's ``Content-Type`` is the TAXII 2.1 media type (s1.6.6)."""
    if not content_type:
        return False
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "application/taxii+json":
        return False
    return _parameter(params, "version") in (None, SPEC_VERSION)


def _parameter(params: str, name: str) -> str | None:
    for item in params.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


@dataclass(frozen=True)
class VersionMatch:
    """``match[version]`` (s3.4.2): keywords ``first``, ``last``, ``all`` and exact versions."""

    first: bool = False
    last: bool = True
    every: bool = False
    exact: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str | None, *, default: str = "last") -> VersionMatch:
        """Read a comma-separated ``match[version]``; absent means ``default``."""
        values = split_match(text if text is not None else default, "match[version]")
        exact = tuple(
            parse_timestamp_us(v, "match[version]") for v in values if v not in VERSION_KEYWORDS
        )
        return cls("first" in values, "last" in values, "all" in values, exact)


def split_match(text: str | None, field: str) -> tuple[str, ...]:
    """The comma-separated values of a ``match[...]`` parameter (none: empty)."""
    if text is None:
        return ()
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise ValueFormatError(f"{field}: give at least one value", field=field)
    if len(values) > MAX_MATCH_VALUES:
        raise ValueFormatError(
            f"{field}: at most {MAX_MATCH_VALUES} values, not {len(values)}", field=field
        )
    return values


def parse_limit(text: str | None, maximum: int) -> int:
    """``limit`` (s3.4.1): a positive integer; larger than ``maximum`` means ``maximum``."""
    if text is None:
        return maximum
    if not text.isdigit() or int(text) < 1:
        raise ValueFormatError(f"limit: {text!r} is not a positive integer", field="limit")
    return min(int(text), maximum)


def parse_next(text: str | None) -> int:
    """The object sequence a ``next`` token stands for (-1: from the start)."""
    if text is None:
        return -1
    if not text.isdigit() or len(text) > 19 or int(text) >= _MAX_SEQUENCE:
        raise ValueFormatError(f"next: {text[:40]!r} is not a token this server gave", field="next")
    return int(text)


def next_token(sequence: int) -> str:
    """The ``next`` token that continues after the object with local sequence ``sequence``."""
    return str(sequence)
