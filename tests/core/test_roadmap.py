"""Road map state (``parley.core.roadmap``): adoption, amendments, attestations, time."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.bodies import validate_body
from parley.core.errors import InvalidEntryError
from parley.core.roadmap import RoadmapEntry, check, roadmap_state
from tests.core.roadmap_cases import (
    adopted,
    answer,
    attest,
    document,
    entry,
    sign,
    stance,
    step,
    verified_freeze,
)


def statuses(entries: list[RoadmapEntry], now: int = 1_000) -> dict[str, str]:
    state = roadmap_state(entries, "US:1", now)
    return {s.id: s.status for s in state.steps.values()}


def test_a_road_map_is_in_force_only_once_every_member_party_has_signed() -> None:
    entries = adopted()
    assert roadmap_state(entries[:3], "US:1", 1_000).in_force is None
    state = roadmap_state(entries, "US:1", 1_000)
    assert state.in_force == "US:1"
    assert statuses(entries) == {
        "freeze": "unlocked",
        "relief": "locked",
        "inspect": "locked",
        "talks": "locked",
    }


def test_an_outside_party_cannot_sign_and_a_member_cannot_sign_twice() -> None:
    entries = [*adopted()[:3], sign("KP:1", "US:1", 104), sign("JP:9", "US:1", 105)]
    state = roadmap_state(entries, "US:1", 1_000)
    assert state.in_force is None
    reasons = dict(state.refused)
    assert "KP is not a member party" in reasons["KP:1"]
    assert "JP has already signed" in reasons["JP:9"]


def test_a_step_verified_by_every_verifier_unlocks_what_waits_for_it() -> None:
    entries = [*adopted(), *verified_freeze()]
    assert statuses(entries) == {
        "freeze": "verified",
        "relief": "unlocked",
        "inspect": "locked",
        "talks": "locked",
    }
    relief = [attest("US:4", "US:1", "relief", 300)]
    assert statuses(entries + relief)["inspect"] == "unlocked"  # waits for relief done only
    assert statuses(entries + relief)["talks"] == "locked"  # phase 1 needs relief verified


def test_a_milestone_is_reached_when_all_its_steps_are_verified() -> None:
    entries = [
        *adopted(),
        *verified_freeze(),
        attest("US:4", "US:1", "relief", 300),
        stance("JP:3", "confirm", "US:4", 301),
        stance("KR:2", "confirm", "US:4", 302),
    ]
    state = roadmap_state(entries, "US:1", 1_000)
    assert state.milestones() == {"phase-1": True}
    assert statuses(entries)["talks"] == "unlocked"
    assert roadmap_state(entries[:-1], "US:1", 1_000).milestones() == {"phase-1": False}


def test_a_party_cannot_attest_another_partys_step() -> None:
    entries = [*adopted(), *verified_freeze(), attest("JP:3", "US:1", "relief", 300)]
    state = roadmap_state(entries, "US:1", 1_000)
    (ref, reason) = state.refused[0]
    assert ref == "JP:3"
    assert "JP cannot attest step relief, which is US's" in reason
    assert statuses(entries)["relief"] == "unlocked"


def test_an_outside_partys_step_is_attested_only_by_its_verifiers() -> None:
    entries = [*adopted(), attest("KR:2", "US:1", "freeze", 200)]
    state = roadmap_state(entries, "US:1", 1_000)
    assert "attested by JP, US" in dict(state.refused)["KR:2"]


def test_attesting_a_locked_step_is_refused_naming_what_it_waits_for() -> None:
    entries = [*adopted(), attest("US:3", "US:1", "relief", 200)]
    state = roadmap_state(entries, "US:1", 1_000)
    assert "step relief is locked" in dict(state.refused)["US:3"]
    assert "freeze" in dict(state.refused)["US:3"]


def test_illegal_transitions_are_refused_with_the_step_and_its_state() -> None:
    base = [*adopted(), *verified_freeze()]
    cases = {
        "JP:7": stance("JP:7", "dispute", "US:3", 300),  # freeze is verified
        "KR:7": stance("KR:7", "confirm", "US:3", 300),  # KR does not verify freeze
        "US:8": attest("US:8", "US:1", "freeze", 300),  # freeze is verified
    }
    state = roadmap_state([*base, *cases.values()], "US:1", 1_000)
    reasons = dict(state.refused)
    assert "step freeze is verified" in reasons["JP:7"]
    assert "KR is not a verifier of step freeze" in reasons["KR:7"]
    assert "step freeze is verified" in reasons["US:8"]
    assert statuses(base) == statuses([*base, *cases.values()])


def test_a_claim_without_the_evidence_the_step_asks_for_is_refused() -> None:
    entries = [*adopted(), attest("US:3", "US:1", "freeze", 200, evidence=[{"entry": "JP:1"}])]
    assert "needs evidence by sha256" in dict(roadmap_state(entries, "US:1", 999).refused)["US:3"]


def test_a_dispute_holds_a_step_until_the_disputing_verifier_confirms() -> None:
    entries = [
        *adopted(),
        attest("US:3", "US:1", "freeze", 200),
        stance("JP:2", "dispute", "US:3", 201),
    ]
    assert statuses(entries)["freeze"] == "disputed"
    answered = [*entries, answer("US:4", "JP:2", 202)]
    assert statuses(answered)["freeze"] == "disputed"
    resolved = [*answered, stance("JP:3", "confirm", "US:3", 203)]
    assert statuses(resolved)["freeze"] == "verified"
    history = roadmap_state(resolved, "US:1", 999).steps["freeze"].history
    assert [h["type"] for h in history] == ["attest", "dispute", "answer", "confirm"]


def test_overdue_is_judged_on_witnessed_time_not_on_the_claimed_time() -> None:
    entries = adopted()
    assert statuses(entries, now=10_000)["freeze"] == "unlocked"
    assert statuses(entries, now=10_001)["freeze"] == "overdue"
    late = [*entries, attest("US:3", "US:1", "freeze", 12_000)]
    assert statuses(late, now=11_000)["freeze"] == "overdue"  # not witnessed by then
    state = roadmap_state(late, "US:1", 13_000)
    assert state.steps["freeze"].status == "claimed" and state.steps["freeze"].late
    assert state.unwitnessed == [] and roadmap_state(late, "US:1", 11_000).unwitnessed == ["US:3"]


def test_an_unwitnessed_entry_does_not_count() -> None:
    entries = [*adopted(), attest("US:3", "US:1", "freeze", None)]  # type: ignore[arg-type]
    state = roadmap_state(entries, "US:1", 1_000)
    assert state.steps["freeze"].status == "unlocked" and state.unwitnessed == ["US:3"]


def amendment() -> dict[str, object]:
    changed = document(version=2, replaces="US:1")
    changed["steps"] = [*changed["steps"], step("review", "JP", ["US"], due={"by": 90_000})]
    return changed


def test_an_amendment_without_every_signature_has_no_effect() -> None:
    entries = [
        *adopted(),
        entry("JP:2", amendment(), 300),
        sign("JP:3", "JP:2", 301),
        sign("US:3", "JP:2", 302),
    ]
    state = roadmap_state(entries, "US:1", 1_000)
    assert state.in_force == "US:1" and "review" not in state.steps
    assert state.versions["JP:2"].to_dict()["missing"] == ["KR"]
    signed = roadmap_state([*entries, sign("KR:2", "JP:2", 303)], "US:1", 1_000)
    assert signed.in_force == "JP:2" and signed.steps["review"].status == "unlocked"


def test_attestations_carry_over_to_an_amendment_and_old_versions_cannot_be_signed() -> None:
    entries = [
        *adopted(),
        *verified_freeze(),
        entry("JP:3", amendment(), 300),
        *(
            sign(f"{p}:{n}", "JP:3", 301 + i)
            for i, (p, n) in enumerate([("US", 4), ("JP", 4), ("KR", 2)])
        ),
        sign("KR:3", "US:1", 400),
    ]
    state = roadmap_state(entries, "US:1", 1_000)
    assert state.in_force == "JP:3" and state.steps["freeze"].status == "verified"
    assert "superseded" in dict(state.refused)["KR:3"]


def test_a_document_whose_steps_wait_for_each_other_in_a_cycle_is_refused() -> None:
    doc = document()
    doc["steps"][0]["requires"] = [{"step": "talks"}]
    with pytest.raises(InvalidEntryError, match="cycle"):
        validate_body("roadmap", doc)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["steps"][0].update(verifiers=["KP"]), "cannot verify its own step"),
        (lambda d: d["steps"][1].update(verifiers=["KP"]), "outside the network"),
        (lambda d: d["steps"][1].update(requires=[{"step": "nope"}]), "unknown step nope"),
        (lambda d: d["steps"][1].update(action={}), "steps.1.action"),
        (lambda d: d["steps"][1].update(type="gift"), "steps.1.type"),
        (lambda d: d.update(version=2), "replaces"),
        (lambda d: d["milestones"][0].update(steps=["nope"]), "no step nope"),
        (
            lambda d: d["pacing"].append({"mode": "parallel", "steps": ["freeze", "relief"]}),
            "pacing.1: step relief waits for a step it runs with",
        ),
    ],
)
def test_bad_documents_are_refused_naming_the_field(change, words) -> None:  # type: ignore[no-untyped-def]
    doc = copy.deepcopy(document())
    change(doc)
    with pytest.raises(InvalidEntryError, match=words):
        validate_body("roadmap", doc)


def test_a_version_1_body_still_validates_and_takes_no_part_in_a_version_2_state() -> None:
    old = {"type": "roadmap", "title": "Plan", "steps": [{"id": "a", "party": "JP", "title": "x"}]}
    validate_body("roadmap", old)
    assert RoadmapEntry.read("US:9", "00" * 32, 5, old) is None


def test_the_service_check_names_the_refusal() -> None:
    with pytest.raises(InvalidEntryError, match="JP cannot attest step relief"):
        check(
            [*adopted(), *verified_freeze()],
            "US:1",
            attest("JP:99", "US:1", "relief", 500),
            500,
        )


# Properties -----------------------------------------------------------------------------------

SCRIPT = [
    *adopted(),
    attest("US:3", "US:1", "freeze", 200),
    stance("JP:2", "dispute", "US:3", 201),
    answer("US:4", "JP:2", 202),
    stance("JP:3", "confirm", "US:3", 203),
    attest("US:5", "US:1", "relief", 300),
    stance("JP:4", "confirm", "US:5", 301),
    stance("KR:2", "confirm", "US:5", 302),
    attest("JP:5", "US:1", "inspect", 303),
    stance("KR:3", "confirm", "JP:5", 304),
    attest("KR:4", "US:1", "talks", 400),
    stance("US:6", "confirm", "KR:4", 401),
    attest("JP:6", "US:1", "relief", 402),  # refused: not JP's
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(SCRIPT), st.integers(0, 1_000))
def test_the_state_does_not_depend_on_the_order_entries_are_fed_in(order, now) -> None:  # type: ignore[no-untyped-def]
    expected = roadmap_state(SCRIPT, "US:1", now).to_dict()
    assert roadmap_state(order, "US:1", now).to_dict() == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(range(len(SCRIPT))), unique=True),
    st.lists(st.integers(100, 500), min_size=len(SCRIPT), max_size=len(SCRIPT)),
)
def test_no_step_is_verified_before_what_it_waits_for(picked, times) -> None:  # type: ignore[no-untyped-def]
    chosen = [
        RoadmapEntry(SCRIPT[i].ref, SCRIPT[i].leaf_hash, times[i], SCRIPT[i].body) for i in picked
    ]
    state = roadmap_state(chosen, "US:1", 1_000)
    doc = state.document
    if doc is None:
        return
    for step_state in state.steps.values():
        if step_state.status != "verified":
            continue
        assert step_state.waits_for == []
        needed = [r.step for r in doc.step(step_state.id).requires if r.step]  # type: ignore[union-attr]
        for other in needed:
            assert state.steps[other].claimed_at is not None
            assert state.steps[other].claimed_at <= step_state.claimed_at  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(
    st.permutations(range(len(SCRIPT))),
    st.lists(st.sampled_from([150, 250, 350]), min_size=len(SCRIPT), max_size=len(SCRIPT)),
)
def test_entries_witnessed_in_the_same_millisecond_give_one_state_in_any_order(
    order: list[int], times: list[int]
) -> None:
    timed = [
        RoadmapEntry(e.ref, e.leaf_hash, max(t, 100), e.body)
        for e, t in zip(SCRIPT, times, strict=True)
    ]
    expected = roadmap_state(timed, "US:1", 1_000).to_dict()
    assert roadmap_state([timed[i] for i in order], "US:1", 1_000).to_dict() == expected


def test_backdating_a_claim_in_its_header_changes_nothing() -> None:
    """Only the witnessed time places an entry: a claim witnessed late is late, whatever it says."""
    late = attest("US:3", "US:1", "freeze", 12_000, text={"en": "done on time, honestly"})
    state = roadmap_state([*adopted(), late], "US:1", 13_000)
    assert state.steps["freeze"].late and state.steps["freeze"].claimed_at == 12_000


def test_an_outside_partys_step_attested_by_its_only_verifier_is_verified() -> None:
    doc = document()
    doc["steps"][0]["verifiers"] = ["US"]
    entries = [entry("US:1", doc, 100), *adopted()[1:], attest("US:3", "US:1", "freeze", 200)]
    assert statuses(entries)["freeze"] == "verified"
