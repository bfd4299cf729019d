"""Matching offers to open assistance requests, and the resource catalogue that types them."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.assistance import AssistanceV2, Line
from parley.core.assistance_state import Signed, request_state
from parley.formats.assistance_match import distance_km, match_request
from parley.formats.errors import FormatError
from parley.formats.resources import catalogue, check_line

TOKYO = {"name": "Tokyo", "lat": "35.68", "lon": "139.69"}
SEOUL = {"name": "Seoul", "lat": "37.57", "lon": "126.98"}
LA = {"name": "Los Angeles", "lat": "34.05", "lon": "-118.24"}
DAY = 86_400_000


def signed(party: str, seq: int, **body: Any) -> Signed:
    leaf = hashlib.sha256(f"{party}:{seq}".encode()).hexdigest()
    return Signed(party, seq, leaf, AssistanceV2.model_validate({"v": 2, **body}))


def request(teams: str, window: dict[str, Any] | None = None) -> Signed:
    need = {
        "id": "l1",
        "type": "usar.heavy",
        "quantity": teams,
        "unit": "{team}",
        "needed_at": TOKYO,
    }
    if window:
        need["window"] = window
    return signed(
        "JP",
        5,
        type="RequestResource",
        resources=[need],
        incident={"ref": "JP:2", "leaf_hash": "a" * 64},
    )


def offer(req: Signed, party: str, teams: str, origin: dict[str, Any], **line: Any) -> Signed:
    return signed(
        party,
        3,
        type="ResponseToRequestResource",
        answer="accept",
        request={"ref": req.ref, "leaf_hash": req.leaf_hash},
        resources=[
            {
                "id": "o1",
                "type": "usar.heavy",
                "quantity": teams,
                "unit": "{team}",
                "origin": origin,
                **line,
            }
        ],
    )


def test_nearer_offers_fill_first_and_the_rest_is_still_needed() -> None:
    req = request("3")
    us, kr = offer(req, "US", "2", LA), offer(req, "KR", "2", SEOUL)
    (match,) = match_request(request_state(req, [us, kr]))
    assert [c.party for c in match.candidates] == ["KR", "US"]
    assert [c.allotted for c in match.candidates] == [Decimal(2), Decimal(1)]
    assert match.candidates[1].partial and match.still_needed == 0


def test_a_short_offer_leaves_what_is_still_needed() -> None:
    req = request("5")
    (match,) = match_request(request_state(req, [offer(req, "KR", "2", SEOUL)]))
    assert match.still_needed == Decimal(3)


def test_an_offer_outside_the_window_of_need_does_not_match() -> None:
    req = request("1", {"start": 0, "end": DAY})
    late = offer(req, "KR", "1", SEOUL, window={"start": 2 * DAY, "end": 3 * DAY})
    (match,) = match_request(request_state(req, [late]))
    assert match.candidates == () and match.still_needed == 1


def test_an_offer_of_another_type_does_not_match() -> None:
    req = request("1")
    other = offer(req, "KR", "1", SEOUL)
    other = signed(
        "KR",
        3,
        **{
            **other.body.model_dump(exclude_none=True),
            "resources": [{"id": "o1", "type": "usar.light", "quantity": "1", "unit": "{team}"}],
        },
    )
    (match,) = match_request(request_state(req, [other]))
    assert match.candidates == ()


def test_distance_tokyo_seoul_is_about_1150_km() -> None:
    from parley.core.assistance import Place

    km = distance_km(Place.model_validate(TOKYO), Place.model_validate(SEOUL))
    assert km is not None and 1100 < km < 1200


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 9), st.lists(st.integers(1, 5), min_size=0, max_size=5))
def test_allotments_never_exceed_need_or_offer(needed: int, offered: list[int]) -> None:
    req = request(str(needed))
    offers = [
        signed(p, 3, **offer(req, p, str(q), SEOUL).body.model_dump(exclude_none=True))
        for p, q in zip(("US", "KR", "CN", "RU", "MN"), offered, strict=False)
    ]
    (match,) = match_request(request_state(req, offers))
    assert sum(c.allotted for c in match.candidates) + match.still_needed == needed
    assert all(0 <= c.allotted <= c.available for c in match.candidates)


def test_catalogue_carries_ranet_usar_emt_and_vaccines() -> None:
    codes = set(catalogue())
    assert {
        "ranet.radiation-survey",
        "ranet.dose-assessment",
        "usar.light",
        "usar.medium",
        "usar.heavy",
        "emt.type-1-mobile",
        "emt.type-2",
        "emt.type-3",
        "health.vaccine",
        "health.antiviral",
        "shelter.tent",
        "water.purification",
    } <= codes


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"type": "usar.giant", "unit": "{team}"}, "l1.type: 'usar.giant' is not in the"),
        ({"type": "usar.heavy", "unit": "kg"}, "l1.unit: 'kg' is not a unit of usar.heavy"),
        ({"type": "health.vaccine", "unit": "{dose}"}, "l1.product: a health.vaccine line"),
    ],
)
def test_a_line_off_the_catalogue_is_refused_naming_the_field(
    line: dict[str, Any], message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        check_line(Line.model_validate({"id": "l1", "quantity": "1", **line}))
