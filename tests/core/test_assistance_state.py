"""The assistance lifecycle of ``parley.core.assistance_state``: who may do what, and order."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.assistance import AssistanceV2
from parley.core.assistance_state import Signed, board, check_step, request_state
from parley.core.bodies import validate_body
from parley.core.errors import ConflictError, InvalidEntryError

INCIDENT = {"ref": "JP:2", "leaf_hash": "a" * 64}


def signed(party: str, seq: int, **body: Any) -> Signed:
    leaf = hashlib.sha256(f"{party}:{seq}".encode()).hexdigest()
    return Signed(party, seq, leaf, AssistanceV2.model_validate({"v": 2, **body}))


def ref(entry: Signed) -> dict[str, str]:
    return {"ref": entry.ref, "leaf_hash": entry.leaf_hash}


def line(
    id: str, quantity: str, fills: str | None = None, type: str = "usar.heavy"
) -> dict[str, Any]:
    out = {"id": id, "type": type, "quantity": quantity, "unit": "{team}"}
    return out if fills is None else {**out, "fills": fills}


REQUEST = signed("JP", 5, type="RequestResource", incident=INCIDENT, resources=[line("l1", "3")])


def offer(party: str, seq: int, teams: str) -> Signed:
    return signed(
        party,
        seq,
        type="ResponseToRequestResource",
        answer="accept",
        request=ref(REQUEST),
        resources=[line("o1", teams, fills="l1")],
    )


def act(
    party: str, seq: int, kind: str, target: Signed, quantity: str | None = None, **more: Any
) -> Signed:
    takes = [] if quantity is None else [{"line": "o1", "quantity": quantity}]
    return signed(
        party, seq, type=kind, request=ref(REQUEST), refers_to=ref(target), takes=takes, **more
    )


def test_full_lifecycle_reaches_returned() -> None:
    us = offer("US", 7, "2")
    entries = [
        us,
        act("JP", 6, "RequisitionResource", us, "2"),
        act("US", 8, "CommitResource", us, "2"),
        act("US", 9, "ReportResourceDeploymentStatus", us, deployment="deployed"),
        act("JP", 7, "ReleaseResource", us),
        act("US", 10, "ReportResourceDeploymentStatus", us, deployment="returned"),
    ]
    state = request_state(REQUEST, entries)
    assert state.refused == []
    assert state.offers[us.ref].phase == "returned"
    assert state.counted("l1") == Decimal(2)
    assert state.still_needed("l1") == Decimal(1)
    assert state.phase == "open"


def test_a_commitment_not_taken_up_is_pending() -> None:
    kr = offer("KR", 3, "2")
    state = request_state(REQUEST, [kr, act("KR", 4, "CommitResource", kr, "2")])
    assert state.offers[kr.ref].phase == "commitment-pending"
    assert state.offers[kr.ref].pending("o1") == Decimal(2)
    assert state.counted("l1") == 0


def test_conflicting_commitments_resolve_by_the_requesters_order() -> None:
    us, kr = offer("US", 7, "2"), offer("KR", 3, "2")
    entries = [
        us,
        kr,
        act("US", 8, "CommitResource", us, "2"),
        act("KR", 4, "CommitResource", kr, "2"),
        act("JP", 6, "RequisitionResource", kr, "2"),
        act("JP", 7, "RequisitionResource", us, "2"),
    ]
    state = request_state(REQUEST, entries)
    assert state.offers[kr.ref].phase == "committed"
    assert state.offers[us.ref].phase == "commitment-pending"
    assert [r for r, _ in state.refused] == ["JP:7"]
    assert "request JP:5 is open: RequisitionResource refused" in state.refused[0][1]
    assert "1 still needed" in state.refused[0][1]


def test_only_the_requester_may_requisition() -> None:
    us = offer("US", 7, "2")
    with pytest.raises(ConflictError, match="only JP, the requesting party, may"):
        check_step(REQUEST, [us], act("KR", 9, "RequisitionResource", us, "1"))


def test_only_the_offerer_may_commit() -> None:
    us = offer("US", 7, "2")
    with pytest.raises(ConflictError, match=r"offer US:7 is offered: CommitResource refused"):
        check_step(REQUEST, [us], act("JP", 9, "CommitResource", us, "1"))


def test_a_returned_report_before_release_is_refused_naming_the_state() -> None:
    us = offer("US", 7, "2")
    done = [
        us,
        act("JP", 6, "RequisitionResource", us, "2"),
        act("US", 8, "CommitResource", us, "2"),
    ]
    draft = act("US", 9, "ReportResourceDeploymentStatus", us, deployment="returned")
    with pytest.raises(ConflictError, match="offer US:7 is committed: ReportResourceDeployment"):
        check_step(REQUEST, done, draft)


def test_a_party_cannot_offer_on_its_own_request() -> None:
    with pytest.raises(ConflictError, match="cannot offer on its own request"):
        check_step(REQUEST, [], offer("JP", 9, "1"))


def test_a_reference_with_another_leaf_hash_is_refused() -> None:
    us = offer("US", 7, "2")
    forged = act("JP", 6, "RequisitionResource", us, "2")
    named = forged.body.refers_to
    assert named is not None
    body = forged.body.model_copy(
        update={"refers_to": named.model_copy(update={"leaf_hash": "b" * 64})}
    )
    state = request_state(REQUEST, [us, Signed("JP", 6, forged.leaf_hash, body)])
    assert state.refused and "not an offer on this request" in state.refused[0][1]


def test_version_2_body_schema_names_the_missing_field() -> None:
    with pytest.raises(InvalidEntryError, match="names the notification or incident"):
        validate_body(
            "assistance", {"v": 2, "type": "RequestResource", "resources": [line("l1", "1")]}
        )


def test_version_1_bodies_still_validate() -> None:
    validate_body("assistance", {"type": "offer", "resources": []})


# Property tests ---------------------------------------------------------------------------

PARTIES = ("US", "KR", "CN", "RU")


@st.composite
def histories(draw: st.DrawFn) -> list[Signed]:
    """Offers, commitments and requisitions in any mix, legal or not."""
    entries: list[Signed] = []
    seqs = {p: 10 for p in (*PARTIES, "JP")}
    offers: list[Signed] = []
    for party in draw(st.lists(st.sampled_from(PARTIES), min_size=1, max_size=4, unique=True)):
        seqs[party] += 1
        offers.append(offer(party, seqs[party], str(draw(st.integers(1, 3)))))
    entries.extend(offers)
    for _ in range(draw(st.integers(0, 12))):
        target = draw(st.sampled_from(offers))
        kind = draw(st.sampled_from(["CommitResource", "RequisitionResource"]))
        author = draw(st.sampled_from([target.party, "JP", "CN"]))
        seqs[author] += 1
        quantity = str(draw(st.integers(1, 3)))
        more = {"beyond_request": True} if kind != "CommitResource" and draw(st.booleans()) else {}
        entries.append(act(author, seqs[author], kind, target, quantity, **more))
    return entries


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_state_does_not_depend_on_arrival_order(entries: list[Signed], random) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(entries)
    random.shuffle(shuffled)
    one, two = request_state(REQUEST, entries), request_state(REQUEST, shuffled)
    assert one.refused == two.refused
    assert {r: (o.phase, o.taken, o.committed) for r, o in one.offers.items()} == {
        r: (o.phase, o.taken, o.committed) for r, o in two.offers.items()
    }


@settings(max_examples=150, deadline=None)
@given(histories())
def test_never_more_counted_than_requested_unless_the_requester_said_so(
    entries: list[Signed],
) -> None:
    state = request_state(REQUEST, entries)
    explicit = any(e.body.beyond_request for e in entries if e.party == "JP")
    assert sum(state.taken.values()) <= Decimal(3)
    assert state.counted("l1") <= Decimal(3) + sum(state.beyond.values(), Decimal(0))
    if not explicit:
        assert state.beyond == {} and state.counted("l1") <= Decimal(3)
    for offer_state in state.offers.values():
        for line_id, taken in offer_state.taken.items():
            assert taken <= Decimal(offer_state.lines[line_id].quantity)


@settings(max_examples=100, deadline=None)
@given(histories())
def test_only_authors_entitled_change_the_state(entries: list[Signed]) -> None:
    state = request_state(REQUEST, entries)
    by_ref = {e.ref: e for e in entries}
    for offer_state in state.offers.values():
        if offer_state.commit is not None:
            assert by_ref[offer_state.commit].party == offer_state.party
    accepted = {e.ref for e in entries} - {r for r, _ in state.refused}
    for ref_ in accepted:
        if by_ref[ref_].body.type == "RequisitionResource":
            assert by_ref[ref_].party == "JP"


def test_board_groups_entries_by_request() -> None:
    other = signed("KR", 1, type="RequestResource", incident=INCIDENT, resources=[line("l1", "1")])
    us = offer("US", 7, "2")
    states = board([us, REQUEST, other])
    assert [s.entry.ref for s in states] == ["JP:5", "KR:1"]
    assert list(states[0].offers) == ["US:7"] and states[1].offers == {}


def test_a_refusal_names_the_state_the_entitled_party_made() -> None:
    kr = offer("KR", 3, "2")
    done = [kr, act("KR", 4, "CommitResource", kr, "2")]
    with pytest.raises(ConflictError, match="offer KR:3 is commitment-pending: CommitResource"):
        check_step(REQUEST, done, act("JP", 9, "CommitResource", kr, "1"))


def test_a_requisition_beyond_the_request_counts_only_when_the_requester_says_so() -> None:
    us = offer("US", 7, "4")
    plain = act("JP", 6, "RequisitionResource", us, "4")
    state = request_state(REQUEST, [us, plain])
    assert state.refused and "say beyond_request to take more" in state.refused[0][1]
    explicit = act("JP", 6, "RequisitionResource", us, "4", beyond_request=True)
    state = request_state(REQUEST, [us, explicit])
    assert state.refused == [] and state.taken["l1"] == 3 and state.beyond["o1"] == 1
