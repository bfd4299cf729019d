"""The compliance scoreboard: the formula of docs/protocol.md §11 on plain records."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from parley.core.compliance import Answered, Sent, percentile, scoreboard

D, A = "delivered", "acknowledged"


def sent(ref: str, witnessed: int | None, *, public: bool = False) -> Sent:
    return Sent(ref, ("JP", "KR"), witnessed, {D: 1_000, A: 10_000}, public)


def test_figures_per_party_from_witnessed_times() -> None:
    entries = [sent("US:2", 100_000, public=True), sent("US:3", 200_000)]
    answers = [
        Answered("US:2", "JP", D, 100_400),
        Answered("US:2", "JP", A, 105_000),
        Answered("US:3", "JP", D, 201_500),
        Answered("US:3", "JP", A, None),  # unwitnessed
        Answered("US:2", "KR", D, 100_200),
    ]
    board = scoreboard(entries, answers, now=300_000)
    assert board["JP"][D] == {
        "answers": 2,
        "median_ms": 400,
        "p95_ms": 1_500,
        "met": 1,
        "late": 1,
        "missed": 0,
    }
    assert board["JP"][A] == {
        "answers": 1,
        "median_ms": 5_000,
        "p95_ms": 5_000,
        "met": 1,
        "late": 0,
        "missed": 0,
    }
    assert board["KR"][D]["missed"] == 1 and board["KR"][A]["missed"] == 2
    public = scoreboard(entries, answers, now=300_000, public_only=True)
    assert public["JP"][D]["answers"] == 1 and public["KR"][A]["missed"] == 1


def test_unwitnessed_entries_and_running_deadlines_are_left_out() -> None:
    board = scoreboard([sent("US:2", None), sent("US:3", 1_000)], [], now=1_500)
    assert board["JP"][D] == {
        "answers": 0,
        "median_ms": None,
        "p95_ms": None,
        "met": 0,
        "late": 0,
        "missed": 0,
    }
    assert scoreboard([sent("US:3", 1_000)], [], now=2_001)["JP"][D]["missed"] == 1


def test_the_earliest_witnessed_answer_counts_and_a_negative_delay_is_zero() -> None:
    answers = [
        Answered("US:2", "JP", D, 5_000),
        Answered("US:2", "JP", D, 900),
        Answered("US:2", "JP", D, None),
    ]
    assert scoreboard([sent("US:2", 1_000)], answers, now=0)["JP"][D]["median_ms"] == 0


samples = st.lists(st.integers(0, 10**9), min_size=1, max_size=60)


@given(values=samples, p=st.integers(1, 100))
def test_percentile_is_the_nearest_rank(values: list[int], p: int) -> None:
    ordered = sorted(values)
    found = percentile(ordered, p)
    rank = math.ceil(p * len(ordered) / 100)
    assert found == ordered[rank - 1]
    assert sum(v <= found for v in ordered) * 100 >= p * len(ordered)


@given(values=samples)
def test_median_never_exceeds_p95(values: list[int]) -> None:
    ordered = sorted(values)
    assert percentile(ordered, 50) <= percentile(ordered, 95)  # type: ignore[operator]


records = st.lists(
    st.tuples(st.integers(0, 50), st.none() | st.integers(0, 10**6), st.booleans()),
    max_size=12,
    unique_by=lambda r: r[0],
)
answer_records = st.lists(
    st.tuples(
        st.integers(0, 50),
        st.sampled_from(["JP", "KR"]),
        st.sampled_from([D, A]),
        st.none() | st.integers(0, 10**6),
    ),
    max_size=30,
)


@given(entries=records, answers=answer_records, now=st.integers(0, 2 * 10**6), seed=st.randoms())
def test_figures_ignore_record_order_and_public_is_a_subset(
    entries: list[tuple[int, int | None, bool]],
    answers: list[tuple[int, str, str, int | None]],
    now: int,
    seed: object,
) -> None:
    sent_records = [sent(f"US:{n}", w, public=p) for n, w, p in entries]
    answered = [Answered(f"US:{n}", party, clock, w) for n, party, clock, w in answers]
    board = scoreboard(sent_records, answered, now)
    shuffled_sent, shuffled_answers = list(sent_records), list(answered)
    seed.shuffle(shuffled_sent)  # type: ignore[attr-defined]
    seed.shuffle(shuffled_answers)  # type: ignore[attr-defined]
    assert scoreboard(shuffled_sent, shuffled_answers, now) == board
    public = scoreboard(sent_records, answered, now, public_only=True)
    for party, clocks in public.items():
        for clock, figures in clocks.items():
            full = board[party][clock]
            for name in ("answers", "met", "late", "missed"):
                assert figures[name] <= full[name]
    witnessed = sum(w is not None for _, w, _ in entries)
    for party in board:
        for clock in (D, A):
            f = board[party][clock]
            assert f["met"] + f["late"] == f["answers"]
            assert f["answers"] + f["missed"] <= witnessed
