"""What this node signs keeps to its own policy: deadlines in bounds, members only."""

from __future__ import annotations

import pytest

from parley.core.errors import InvalidEntryError, PolicyError
from parley.node.messaging import hotline
from parley.node.messaging.drafting import check_draft


def test_an_out_of_bounds_deadline_is_refused_before_signing_naming_the_bound(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("JP", "CN")["JP"]
    body = {"to": "CN", "text": "later", "deadlines": {"acknowledged_within": 300000}}
    with pytest.raises(PolicyError, match=r"acknowledged_within 300000 .*12000"):
        check_draft("hotline", "Exercise", body, "CN,JP", None, policy=jp.context().policy.document)
    assert jp.size() == 3  # key statement, first and adopted policy: nothing else


def test_an_entry_addressed_to_a_non_member_is_refused(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("JP", "CN")["JP"]
    body = {"to": "ZZ", "text": "hi", "deadlines": {"acknowledged_within": 3000}}
    with pytest.raises(PolicyError, match="ZZ is not a member"):
        check_draft("hotline", "Exercise", body, "ZZ,JP", None, policy=jp.context().policy.document)


def test_a_deadline_within_bounds_passes(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("JP", "CN")["JP"]
    body = {"to": "CN", "text": "now", "deadlines": {"acknowledged_within": 12000}}
    draft = check_draft(
        "hotline", "Exercise", body, "CN,JP", None, policy=jp.context().policy.document
    )
    assert draft.audience == ("CN", "JP")


def test_hotline_send_checks_the_same_rules(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("JP", "CN")["JP"]
    with pytest.raises((PolicyError, InvalidEntryError)):
        hotline.send(jp, hotline.Outgoing(to="ZZ", status="Exercise", text="hi"))


def test_a_node_on_its_own_one_member_policy_is_not_held_to_a_member_list(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("JP")["JP"]
    body = {"to": "CN", "text": "hi", "deadlines": {"acknowledged_within": 3000}}
    draft = check_draft(
        "hotline", "Exercise", body, "CN,JP", None, policy=jp.context().policy.document
    )
    assert draft.audience == ("CN", "JP")
