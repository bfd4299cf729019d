"""Deadlines: what a sender signs, what the policy allows, and where each clock stands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.core import deadlines as d
from parley.core.errors import InvalidEntryError
from parley.core.policy import PolicyDocument
from parley.node.policies import draft_policy

MEMBERS = [
    {"party": "JP", "name": "JP", "identity": "A" * 43 + "="},
    {"party": "KR", "name": "KR", "identity": "B" * 43 + "="},
]


def policy(**changes: object) -> PolicyDocument:
    document = draft_policy(network="parley-test", name="t", members=MEMBERS, created=0)
    return PolicyDocument.from_dict({**document.to_dict(), **changes})


def test_deadlines_for_states_the_class_defaults() -> None:
    bounds = policy().deadline("nuclear")
    assert bounds is not None
    assert d.deadlines_for(policy(), "nuclear") == {
        "delivered_within": bounds.delivered_within.default,
        "acknowledged_within": bounds.acknowledged_within.default,
    }


def test_deadlines_for_takes_a_requested_acknowledgement_within_bounds() -> None:
    assert d.deadlines_for(policy(), "inquiry", 20_000_000)["acknowledged_within"] == 20_000_000


def test_deadlines_for_refuses_a_value_outside_the_bounds_naming_class_value_and_bounds() -> None:
    with pytest.raises(InvalidEntryError) as caught:
        d.deadlines_for(policy(), "inquiry", 1000)
    message = caught.value.message
    assert "inquiry" in message and "1000 ms" in message and "[17280000, 691200000]" in message


def test_a_refused_deadline_is_named_in_the_unit_the_officer_typed() -> None:
    with pytest.raises(InvalidEntryError) as refused:
        d.deadlines_for(policy(), "inquiry", d.parse_duration("2h"), unit=d.duration_unit("2h"))
    assert "acknowledged_within 2h is outside the policy's bounds [4.8h, 192h]" in str(
        refused.value
    )
    assert "ms" not in refused.value.message
    assert refused.value.hint == "choose a value between 4.8h and 192h (default 48h)"
    assert d.in_unit(90_000, "s") == "90s" and d.in_unit(90_000, "m") == "1.5m"


def test_deadlines_for_falls_back_to_class_other_then_to_nothing() -> None:
    other = policy().deadline("other")
    assert other is not None
    assert d.deadlines_for(policy(), "no-such-class")["delivered_within"] == (
        other.delivered_within.default
    )
    bare = policy(deadlines={})
    assert d.deadlines_for(bare, "check") == {}
    assert d.deadlines_for(bare, "check", 5) == {"acknowledged_within": 5}


@pytest.mark.parametrize(
    ("stated", "required", "words"),
    [
        ({"acknowledged_within": 1}, False, "outside the policy's bounds"),
        ({"delivered_within": 10**12}, False, "delivered_within"),
        (None, True, "states no deadlines"),
        ([], False, "not an object"),
        ({"acknowledged_within": "60000"}, False, "whole number"),
        ({"acknowledged_within": True}, False, "whole number"),
    ],
)
def test_bounds_breach_names_what_breaks_the_policy(
    stated: object, required: bool, words: str
) -> None:
    reason = d.bounds_breach(policy(), "hotline", stated, required=required)
    assert reason is not None and words in reason


def test_bounds_breach_accepts_defaults_absent_fields_and_no_deadlines_where_optional() -> None:
    document = policy()
    assert (
        d.bounds_breach(document, "hotline", d.deadlines_for(document, "hotline"), required=True)
        is None
    )
    assert d.bounds_breach(document, "hotline", {}, required=True) is None
    assert d.bounds_breach(document, "assistance", None, required=False) is None


@pytest.mark.parametrize(
    ("text", "ms"),
    [("500ms", 500), ("30s", 30_000), ("10m", 600_000), ("48h", 172_800_000), ("2d", 172_800_000)],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert d.parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "10", "1.5h", "-3s", "3 weeks", "h"])
def test_parse_duration_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(InvalidEntryError):
        d.parse_duration(text)


def test_unwitnessed_times_stand_in_and_are_marked() -> None:
    entry = d.Stamp(1_000)
    answer = d.Answer("KR", d.DELIVERED, "KR:9", d.Stamp(2_000, 2_500))
    (clock,) = [
        c
        for c in d.judge(entry, {d.DELIVERED: 5_000}, ["KR"], [answer], 10_000, 30_000)
        if c.clock == d.DELIVERED
    ]
    assert clock.state == d.MET and clock.due == 6_000 and not clock.witnessed


def test_witnessed_time_decides_even_when_the_claimed_time_says_otherwise() -> None:
    entry = d.Stamp(1_000, 1_000)
    backdated = d.Answer("KR", d.ACKNOWLEDGED, "KR:9", d.Stamp(1_500, 9_000))
    (clock,) = [
        c
        for c in d.judge(entry, {d.ACKNOWLEDGED: 5_000}, ["KR"], [backdated], 20_000, 1_000)
        if c.clock == d.ACKNOWLEDGED
    ]
    assert clock.state == d.LATE and clock.late_by == 3_000
    assert clock.witnessed and clock.skew == ("answer",)


times = st.integers(min_value=0, max_value=10**12)
maybe_times = st.none() | times
stamps = st.builds(d.Stamp, times, maybe_times)
deadline = st.none() | st.integers(min_value=0, max_value=10**9)


@given(
    entry=stamps,
    within=deadline,
    answer=st.none() | stamps,
    now=times,
    tolerance=st.integers(0, 10**6),
)
def test_each_clock_is_in_exactly_the_state_its_times_imply(
    entry: d.Stamp, within: int | None, answer: d.Stamp | None, now: int, tolerance: int
) -> None:
    given_answer = None if answer is None else d.Answer("KR", d.ACKNOWLEDGED, "KR:1", answer)
    clock = d.judge_one(entry, "KR", d.ACKNOWLEDGED, within, given_answer, now, tolerance)
    due = None if within is None else entry.best + within
    assert clock.due == due
    if answer is not None:
        on_time = due is None or answer.best <= due
        assert clock.state == (d.MET if on_time else d.LATE)
        assert clock.late_by == (None if on_time else answer.best - due)  # type: ignore[operator]
    elif due is not None and now > due:
        assert clock.state == d.MISSED and clock.late_by == now - due
    else:
        assert clock.state == d.PENDING
        assert clock.remaining == (None if due is None else due - now)
        assert clock.remaining is None or clock.remaining >= 0
    assert clock.witnessed == (
        entry.witnessed is not None and (answer is None or answer.witnessed is not None)
    )
    assert ("entry" in clock.skew) == entry.skewed(tolerance)


@given(entry=stamps, within=st.integers(0, 10**9), now=times, later=times)
def test_a_miss_stays_a_miss_as_time_goes_on(
    entry: d.Stamp, within: int, now: int, later: int
) -> None:
    first = d.judge_one(entry, "KR", d.DELIVERED, within, None, now, 0)
    second = d.judge_one(entry, "KR", d.DELIVERED, within, None, now + later, 0)
    if first.state == d.MISSED:
        assert second.state == d.MISSED and second.late_by >= first.late_by  # type: ignore[operator]


@given(
    entry=st.builds(d.Stamp, times, times),
    answers=st.lists(
        st.builds(
            d.Answer,
            st.sampled_from(["JP", "KR"]),
            st.sampled_from(d.CLOCKS),
            st.just("X:1"),
            st.builds(d.Stamp, times, times),
        ),
        max_size=6,
    ),
    now=times,
)
def test_claimed_times_change_nothing_but_skew_once_everything_is_witnessed(
    entry: d.Stamp, answers: list[d.Answer], now: int
) -> None:
    limits = {d.DELIVERED: 60_000, d.ACKNOWLEDGED: 600_000}
    judged = d.judge(entry, limits, ["JP", "KR"], answers, now, 0)
    shifted = [
        d.Answer(a.party, a.clock, a.ref, d.Stamp(a.stamp.claimed + 7, a.stamp.witnessed))
        for a in answers
    ]
    again = d.judge(
        d.Stamp(entry.claimed + 7, entry.witnessed), limits, ["JP", "KR"], shifted, now, 0
    )
    assert len(judged) == 4
    assert [(c.state, c.due, c.late_by, c.remaining) for c in judged] == [
        (c.state, c.due, c.late_by, c.remaining) for c in again
    ]
