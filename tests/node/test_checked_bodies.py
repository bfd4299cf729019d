"""A stored body's canonical form is checked once per process, and a failing one every time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.core.canonical import canonical_bytes
from parley.core.entry import SALT_SIZE, Body
from parley.core.errors import ParleyError
from parley.node import checked_bodies

SALT = b"\x01" * SALT_SIZE

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("abc", max_size=3), inner),
    max_leaves=12,
)


@given(json_values)
def test_a_canonical_body_reads_the_same_first_and_again(value: object) -> None:
    body = Body(SALT, canonical_bytes(value))
    assert checked_bodies.value_of(body) == value
    assert checked_bodies.value_of(body) == value


@pytest.mark.parametrize(
    "data",
    [b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":1.5}', b'{"a":9007199254740993}', b"not json"],
    ids=["unsorted", "spaced", "float", "unsafe-integer", "not-json"],
)
def test_a_body_that_is_not_canonical_is_refused_every_time(data: bytes) -> None:
    body = Body(SALT, data)
    for _ in range(2):
        with pytest.raises(ParleyError):
            checked_bodies.value_of(body)


def test_the_memo_forgets_the_oldest_beyond_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checked_bodies, "MAX_REMEMBERED", 3)
    monkeypatch.setattr(checked_bodies, "_canonical", type(checked_bodies._canonical)())
    for number in range(5):
        checked_bodies.value_of(Body(SALT, canonical_bytes({"n": number})))
    assert len(checked_bodies._canonical) == 3
