"""Signed JSON: the orjson fast path equals RFC 8785 (JCS) on the subset, and nothing else passes."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from parley.core.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    canonical_bytes,
    check_subset,
    parse_canonical,
    parse_json,
)
from parley.core.errors import CanonicalizationError

# Any Unicode scalar value, every plane, but no surrogate code points (they are not scalars).
TEXT = st.text(st.characters(max_codepoint=0x10FFFF, exclude_categories=["Cs"]), max_size=12)
ASCII_KEYS = st.text(st.characters(max_codepoint=0x7F), max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(ASCII_KEYS, children, max_size=5)
    ),
    max_leaves=25,
)

FAST = settings(max_examples=200, deadline=None)


def nested(depth: int, leaf: Any = 0) -> Any:
    """``leaf`` inside ``depth`` levels of alternating lists and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


# ---------------------------------------------------------------------------------------------
# The subset: canonical_bytes is RFC 8785
# ---------------------------------------------------------------------------------------------


@FAST
@given(JSON_VALUES)
@example('\U0001f600 \U0010ffff \u2028\u2029 \x7f \x00\x1f "\\ /')
@example({"b": 1, "a": 2, "aa": 3, "B": 4, "": 5, "\x7f": 6, "\x00": 7})
@example({"g": "\U0001d11e non-BMP", "z": ["\ud7ff", "\ue000", "\uffff", "\U00010000"]})
@example([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, -1, True, False, None])
def test_canonical_bytes_equal_rfc8785_on_the_subset(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_canonical_bytes_parse_back_to_the_same_value(value: Any) -> None:
    data = canonical_bytes(value)
    assert parse_canonical(data) == value
    assert parse_json(data) == value


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(ASCII_KEYS, SCALARS | st.lists(SCALARS, max_size=3), min_size=2, max_size=5))
def test_any_other_serialisation_of_a_value_is_refused(value: dict[str, Any]) -> None:
    canonical = canonical_bytes(value)
    others = {
        orjson.dumps(value),  # insertion order, not sorted
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
        json.dumps(value, sort_keys=True).encode(),  # ", " and ": " separators, \u escapes
        json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(),
    }
    for data in others - {canonical}:
        with pytest.raises(CanonicalizationError, match="canonical form"):
            parse_canonical(data)
    # Every other form is still JSON within the subset: parse_json takes it as it is.
    for data in others:
        assert parse_json(data) == value


def test_integer_bounds_are_inclusive() -> None:
    assert canonical_bytes(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_bytes(-MAX_SAFE_INTEGER) == b"-9007199254740991"


def test_nesting_up_to_max_depth_is_accepted() -> None:
    value = nested(MAX_DEPTH)
    assert canonical_bytes(value) == rfc8785.dumps(value)


# ---------------------------------------------------------------------------------------------
# Outside the subset: refused, naming the place
# ---------------------------------------------------------------------------------------------

OUTSIDE = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, 1.0, 1e300, float("nan"), float("inf"), float("-inf")])
    | st.integers(min_value=MAX_SAFE_INTEGER + 1)
    | st.integers(max_value=-MAX_SAFE_INTEGER - 1)
    | st.builds(lambda s: s + "\ud800", TEXT)  # lone high surrogate
    | st.builds(lambda s: "\udfff" + s, TEXT)  # lone low surrogate
    | st.builds(lambda k, v: {k + "\u00e9": v}, ASCII_KEYS, SCALARS)  # non-ASCII key
    | st.builds(lambda k, v: {k + "\U0001f600": v}, ASCII_KEYS, SCALARS)  # non-BMP key
    | st.builds(lambda k: {k: 1}, st.integers() | st.none() | st.booleans())  # non-string key
    | st.builds(tuple, st.lists(SCALARS, max_size=3))
    | st.builds(set, st.lists(st.integers(0, 9), max_size=3))
    | st.binary(max_size=4)
    | st.builds(bytearray, st.binary(max_size=4))
    | st.just(object())
)


@st.composite
def with_one_bad_value(draw: st.DrawFn) -> Any:
    """A valid document with one value from OUTSIDE hidden at some depth inside it."""
    value = draw(OUTSIDE)
    for _ in range(draw(st.integers(0, 4))):
        siblings = draw(st.lists(SCALARS, max_size=3))
        if draw(st.booleans()):
            position = draw(st.integers(0, len(siblings)))
            value = [*siblings[:position], value, *siblings[position:]]
        else:
            others = {f"s{i}": s for i, s in enumerate(siblings)}
            value = {**others, draw(ASCII_KEYS): value}
    return value


@settings(max_examples=200, deadline=None)
@given(with_one_bad_value())
def test_anything_outside_the_subset_is_refused(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_bytes(value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1.5, r"\$: floating-point number 1\.5"),
        (float("nan"), "floating-point number nan"),
        (float("inf"), "floating-point number inf"),
        ({"lat": 35.6895}, r"\$\.lat: floating-point"),
        (2**53, r"integer 9007199254740992 outside \+/-\(2\^53-1\)"),
        (-(2**53), "integer -9007199254740992 outside"),
        ([0, 2**64], r"\$\[1\]: integer"),
        ({"caf\u00e9": 1}, "object key 'caf\u00e9' is not an ASCII string"),
        ({1: "x"}, "object key 1 is not an ASCII string"),
        ({"a": ["\ud800"]}, r"\$\.a\[0\]: string holds a lone surrogate"),
        ((1, 2), r"\$: tuple is not a JSON value"),
        (b"\x00", "bytes is not a JSON value"),
        ({1, 2}, "set is not a JSON value"),
        (nested(MAX_DEPTH + 1), f"nesting deeper than {MAX_DEPTH} levels"),
        (nested(1000), f"nesting deeper than {MAX_DEPTH} levels"),
    ],
)
def test_values_outside_the_subset_are_refused_naming_the_problem(value: Any, problem: str) -> None:
    with pytest.raises(CanonicalizationError, match=problem):
        canonical_bytes(value)
    with pytest.raises(CanonicalizationError, match=problem):
        check_subset(value)


def test_float_refusal_hints_at_decimal_strings() -> None:
    with pytest.raises(CanonicalizationError) as caught:
        canonical_bytes({"lat": 35.6895})
    assert caught.value.hint is not None
    assert "as strings" in caught.value.hint


def test_subclasses_of_json_types_are_refused() -> None:
    """A ``str`` or ``int`` subclass may serialise differently (enums, bool-likes): refused."""
    import enum
    from collections import OrderedDict

    class Colour(enum.IntEnum):
        RED = 1

    for value in (Colour.RED, OrderedDict(a=1)):
        with pytest.raises(CanonicalizationError, match="is not a JSON value"):
            canonical_bytes(value)


# ---------------------------------------------------------------------------------------------
# parse_canonical: exactly the canonical bytes, nothing else
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"a": 1}', "canonical form"),  # whitespace after the colon
        (b'{"a":1} ', "canonical form"),  # trailing whitespace
        (b' {"a":1}', "canonical form"),  # leading whitespace
        (b'{\n"a":1}', "canonical form"),
        (b'{"b":1,"a":2}', "canonical form"),  # unsorted keys
        (b'{"a":1,"a":1}', "canonical form"),  # duplicate keys, same value
        (b'{"a":1,"a":2}', "canonical form"),  # duplicate keys, last would win
        (b'"\\u0041"', "canonical form"),  # needless escape
        (b'"\\/"', "canonical form"),
        (b'"\\u00e9"', "canonical form"),  # JCS writes non-ASCII as UTF-8
        (b"-0", "canonical form"),
        (b"1.0", "floating-point number 1.0"),
        (b"1e2", "floating-point number 100.0"),
        (b'{"x":0.5}', r"\$\.x: floating-point"),
        (b"9007199254740992", "outside"),
        (b"18446744073709551616", "floating-point"),  # decoded as a float by orjson
        (b'{"\xc3\xa9":1}', "not an ASCII string"),
        (b"[1,2", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"NaN", "not valid JSON"),
        (b'"\\ud800"', "not valid JSON"),  # lone surrogate escape
        (b'"\xff"', "not valid JSON"),  # invalid UTF-8
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # byte order mark
    ],
)
def test_parse_canonical_refuses_non_canonical_bytes_naming_the_problem(
    data: bytes, problem: str
) -> None:
    with pytest.raises(CanonicalizationError, match=problem):
        parse_canonical(data, what="header")


def test_parse_canonical_names_what_it_parses() -> None:
    with pytest.raises(CanonicalizationError, match="^header: bytes are not in canonical form"):
        parse_canonical(b'{"b":1,"a":2}', what="header")
    with pytest.raises(CanonicalizationError, match="^body: not valid JSON"):
        parse_canonical(b"{", what="body")


def test_non_canonical_refusal_hints_at_the_rules() -> None:
    with pytest.raises(CanonicalizationError) as caught:
        parse_canonical(b'{"a":1,"a":2}')
    assert caught.value.hint is not None
    for rule in ("sorted", "whitespace", "duplicate"):
        assert rule in caught.value.hint


@pytest.mark.parametrize(
    "data",
    [b"null", b"true", b"0", b"-1", b'""', b"[]", b"{}", b'{"":[{}]}', '"\U0001f600"'.encode()],
)
def test_parse_canonical_accepts_canonical_bytes(data: bytes) -> None:
    assert canonical_bytes(parse_canonical(data)) == data


def test_parse_json_accepts_any_formatting_but_not_floats() -> None:
    assert parse_json('{ "b" : 1 ,\n "a" : [ ] }') == {"a": [], "b": 1}
    with pytest.raises(CanonicalizationError, match="floating-point"):
        parse_json(b'{"a": 1.5}')
    with pytest.raises(CanonicalizationError, match="^input: not valid JSON"):
        parse_json(b"{", what="input")
