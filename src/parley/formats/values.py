r"""Lexical forms of the values a signed body carries: times, decimals, language tags, text.

Signed JSON has no floats (``parley.core.canonical``), so every coordinate, magnitude, radius or
depth travels as a *decimal string* in the form ``-?(0|[1-9][0-9]*)(\.[0-9]+)?``: no plus sign,
no exponent, no leading zeros, no negative zero, digits on both sides of a point.
``decimal_string`` turns any xs:decimal lexical form (CAP) or a float (GeoJSON input) into that
form without losing a digit.

Times are integer milliseconds since 1970-01-01T00:00:00Z. CAP 1.2 writes times as
``YYYY-MM-DDThh:mm:ss+hh:mm`` (CAP 1.2 s3.3.2, the XSD pattern); the offset is kept beside the
time as ``<field>_tz`` so that an imported time is exported with the literal the sender wrote
("-00:00" included, which RFC 3339 s4.3 gives its own meaning).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from parley.formats.errors import ValueFormatError

DECIMAL_RE = re.compile(r"^(?!-0(\.0*)?$)-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
XS_DECIMAL_RE = re.compile(r"^\s*([+-]?)([0-9]*)(?:\.([0-9]*))?\s*$")
TZ_RE = re.compile(r"^[+-](0[0-9]|1[0-4]):[0-5][0-9]$")
LANG_RE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")
CAP_TIME_RE = re.compile(
    r"^\s*(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?\s*$"
)
# XML 1.0 s2.2 Char, minus the C0 controls other than tab, newline and carriage return.
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
UTC_TZ = "+00:00"


def decimal_string(value: str | float | int | Decimal) -> str:
    """Return the canonical decimal string of an xs:decimal lexical form, a float or an int."""
    if isinstance(value, bool):
        raise ValueFormatError(f"{value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueFormatError(f"{value!r} is not a finite number")
        return _from_decimal(Decimal(repr(value)))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueFormatError(f"{value} is not a finite number")
        return _from_decimal(value)
    match = XS_DECIMAL_RE.match(value)
    if match is None or not (match.group(2) or match.group(3)):
        raise ValueFormatError(f"{value!r} is not a decimal number")
    sign, whole, frac = match.group(1), match.group(2).lstrip("0") or "0", match.group(3) or ""
    text = whole + ("." + frac if frac else "")
    if sign == "-" and text.strip("0.") != "":
        text = "-" + text
    return text


def _from_decimal(value: Decimal) -> str:
    text = format(value, "f")
    if text.startswith("-") and text.strip("-0.") == "":
        text = text[1:]
    return decimal_string(text)


def check_decimal(text: object) -> str:
    """Return ``text`` if it is a canonical decimal string, else raise."""
    if not isinstance(text, str) or not DECIMAL_RE.match(text):
        raise ValueFormatError(f'{text!r} is not a decimal string like "35.6895"')
    return text


def decimal_value(text: str) -> Decimal:
    """The ``Decimal`` a canonical decimal string stands for."""
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - guarded by check_decimal
        raise ValueFormatError(f"{text!r} is not a decimal") from exc


def parse_cap_time(text: str) -> tuple[int, str]:
    """Parse a CAP dateTime into (milliseconds UTC, offset as written, e.g. "-07:00").

    CAP 1.2 requires the offset; CAP 1.1 (xs:dateTime) may omit it or write "Z", and may carry
    fractions of a second. A missing offset is read as UTC, "Z" becomes "+00:00".
    """
    match = CAP_TIME_RE.match(text)
    if match is None:
        raise ValueFormatError(
            f"{text.strip()!r} is not a date-time like 2024-05-19T17:18:00+04:00"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, tz = match.group(7), match.group(8)
    if tz is None or tz == "Z":
        tz = UTC_TZ
    if not TZ_RE.match(tz) and tz != "-00:00":
        raise ValueFormatError(f"{text.strip()!r}: offset {tz} is out of range")
    extra = timedelta(0)
    if hour == 24 and minute == 0 and second == 0 and not (fraction or "").strip(".0"):
        hour, extra = 0, timedelta(days=1)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC) + extra
    except ValueError as exc:
        raise ValueFormatError(f"{text.strip()!r} is not a valid date-time ({exc})") from exc
    millis = int(((fraction or ".0")[1:] + "000")[:3])
    offset = (int(tz[1:3]) * 60 + int(tz[4:6])) * (-1 if tz[0] == "-" else 1)
    ms = _epoch_ms(moment) + millis - offset * 60_000
    if not 0 <= ms <= MAX_MS:
        raise ValueFormatError(f"{text.strip()!r} is outside 1970..9999")
    return ms, tz


def _epoch_ms(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000


def format_cap_time(ms: int, tz: str = UTC_TZ) -> str:
    """Write ``ms`` as a CAP 1.2 dateTime in offset ``tz`` (whole seconds, as CAP 1.2 requires)."""
    check_tz(tz)
    offset = (int(tz[1:3]) * 60 + int(tz[4:6])) * (-1 if tz[0] == "-" else 1)
    try:
        moment = datetime(1970, 1, 1) + timedelta(milliseconds=ms - ms % 1000, minutes=offset)
    except OverflowError as exc:
        raise ValueFormatError(f"{ms} ms cannot be written at offset {tz}") from exc
    if moment.year > 9999:
        raise ValueFormatError(f"{ms} ms cannot be written at offset {tz}")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + tz


def format_iso_ms(ms: int) -> str:
    """Write ``ms`` as RFC 3339 UTC with milliseconds, e.g. 2024-05-19T13:18:00.000Z."""
    moment = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def check_writable(ms: int, tz: str) -> None:
    """Refuse a time that its offset would push past 9999-12-31 (CAP has four-digit years)."""
    offset = (int(tz[1:3]) * 60 + int(tz[4:6])) * (-1 if tz[0] == "-" else 1)
    if ms + offset * 60_000 > MAX_MS:
        raise ValueFormatError(f"{ms} ms cannot be written at offset {tz}")


def check_tz(tz: object) -> str:
    """Return ``tz`` if it is a UTC offset as CAP writes it (``+09:00``, ``-00:00``), else raise."""
    if not isinstance(tz, str) or not (TZ_RE.match(tz) or tz == "-00:00"):
        raise ValueFormatError(f'{tz!r} is not a UTC offset like "+09:00"')
    return tz


def check_ms(value: object) -> int:
    """Return ``value`` if it is a time in integer ms between 1970 and year 9999, else raise."""
    if type(value) is not int or not 0 <= value <= MAX_MS:
        raise ValueFormatError(f"{value!r} is not a time in integer milliseconds (1970..9999)")
    return value


def xml_text_problem(text: str) -> str | None:
    """Name the first character that XML 1.0 cannot carry, or None when ``text`` is fine."""
    match = _NOT_XML_CHAR.search(text)
    if match is None:
        return None
    return f"character U+{ord(match.group()):04X} at position {match.start()} cannot appear in XML"
