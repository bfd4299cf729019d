"""Canonical bytes of signed JSON (RFC 8785, JSON Canonicalization Scheme).

Parley signs JSON only within a subset on which a fast sorted-key encoder (orjson) and JCS
produce the same bytes:

* object keys are ASCII strings (so UTF-8 byte order equals JCS's UTF-16 code-unit order);
* integers lie within +/-(2**53 - 1) (exactly representable as IEEE 754 doubles, RFC 8785 s3.2.2.3);
* no floating-point numbers at all (coordinates and magnitudes travel as decimal strings);
* strings are valid Unicode scalar sequences (no lone surrogates), any plane;
* nesting at most ``MAX_DEPTH`` deep.

``canonical_bytes`` refuses anything outside the subset; ``parse_canonical`` accepts bytes only if
they are exactly the canonical encoding of what they decode to, so a signed header has one and
only one byte form. The equivalence with RFC 8785 is proven by property tests against the
``rfc8785`` reference package (tests/core/test_canonical.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from parley.core.errors import CanonicalizationError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32

JSONValue = Any
"""A value within the signed-JSON subset (checked at run time by ``check_subset``)."""


def check_subset(value: JSONValue, *, path: str = "$", depth: int = 0) -> None:
    """Raise ``CanonicalizationError`` naming the first place where ``value`` leaves the subset."""
    if not _in_subset(value, depth):
        _explain(value, path, depth)


def _in_subset(value: JSONValue, depth: int) -> bool:
    """The fast path: a yes/no walk that builds no paths (the hot path of every append)."""
    if depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind is str:
        return value.isascii() or _encodable(value)
    if kind is dict:
        if value and depth >= MAX_DEPTH:
            return False
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            kind = type(item)
            if kind is str:
                if not (item.isascii() or _encodable(item)):
                    return False
            elif kind is int:
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    return False
            elif item is not None and kind is not bool and not _in_subset(item, depth + 1):
                return False
        return True
    if kind is list:
        if value and depth >= MAX_DEPTH:
            return False
        for item in value:  # strings inline, as in a dict: coordinates are lists of strings
            if type(item) is str:
                if not (item.isascii() or _encodable(item)):
                    return False
            elif not _in_subset(item, depth + 1):
                return False
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    return value is None or kind is bool


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _explain(value: JSONValue, path: str, depth: int) -> None:
    """The slow path: find and name the first place where ``value`` leaves the subset."""
    if depth > MAX_DEPTH:
        raise CanonicalizationError(f"{path}: nesting deeper than {MAX_DEPTH} levels")
    if value is None or value is True or value is False:
        return
    kind = type(value)
    if kind is str:
        _check_string(value, path)
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"{path}: integer {value} outside +/-(2^53-1)")
    elif kind is float:
        raise CanonicalizationError(
            f"{path}: floating-point number {value!r} is not allowed in signed JSON",
            hint='write decimals as strings, e.g. "35.6895"',
        )
    elif kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise CanonicalizationError(f"{path}: object key {key!r} is not an ASCII string")
            _explain(item, f"{path}.{key}", depth + 1)
    elif kind is list:
        for index, item in enumerate(value):
            _explain(item, f"{path}[{index}]", depth + 1)
    else:
        raise CanonicalizationError(f"{path}: {kind.__name__} is not a JSON value")


def _check_string(text: str, path: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CanonicalizationError(f"{path}: string holds a lone surrogate") from exc


def canonical_bytes(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``, which must lie in the subset."""
    check_subset(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def parse_canonical(data: bytes, *, what: str = "document") -> JSONValue:
    """Decode ``data`` and insist that it is already in canonical form."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CanonicalizationError(f"{what}: not valid JSON ({exc})") from exc
    check_subset(value)
    if orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != data:
        raise CanonicalizationError(
            f"{what}: bytes are not in canonical form (RFC 8785)",
            hint="keys must be sorted, no whitespace, no duplicate keys",
        )
    return value


def parse_json(data: bytes | str, *, what: str = "document") -> JSONValue:
    """Decode JSON from an outside source and check it lies in the subset (any formatting)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CanonicalizationError(f"{what}: not valid JSON ({exc})") from exc
    check_subset(value)
    return value
