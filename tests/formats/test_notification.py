"""The notification body: schema checks with precise paths, status agreement, lifecycle."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.canonical import canonical_bytes, check_subset
from parley.formats.areas import circle_area
from parley.formats.categories import CATEGORIES, HOUR, MINUTE
from parley.formats.errors import FormatError
from parley.formats.notification import (
    cap_reference,
    check_status_agrees,
    current_state,
    follow_up,
    is_active,
    is_all_clear,
    new_notification,
    pick_info,
    render_headline,
    status_marker,
    validate_notification,
)

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HASH = "ab" * 32
LAUNCH_AREA = {
    "desc": "Sohae",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [["124.70", "39.65"], ["124.75", "39.65"], ["124.75", "39.70"], ["124.70", "39.65"]]
        ],
    },
}


def nuclear(status: str = "Actual", **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "category": "nuclear.facility-event",
        "identifier": "JP-NRA-2026-0001",
        "sender": "nra.go.jp",
        "sent_ms": T0,
        "status": status,
        "headline": "INES 2 event at Example-2",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "areas": [circle_area("37.42", "141.03", "30", "Example-2")],
        "details": {
            "facility": "Example-2",
            "facility_type": "power-reactor",
            "ines_level": 2,
            "release": "no",
            "art5": {"accident_time": T0 - 10 * MINUTE, "location": ["141.03", "37.42"]},
        },
        "expires_ms": T0 + 24 * HOUR,
        "translations": ({"lang": "ja", "headline": "Example-2 で INES 2 の事象"},),
    }
    args.update(overrides)
    return new_notification(**args)


def test_native_notification_is_valid_and_in_the_signed_subset() -> None:
    body = nuclear()
    validate_notification(body)
    check_subset(body)
    assert canonical_bytes(body) == rfc8785.dumps(body)
    assert [i["lang"] for i in body["info"]] == ["en", "ja"]
    assert body["info"][0]["categories"] == ["CBRNE"]


@pytest.mark.parametrize(
    "path, change, message",
    [
        ("category", "nuclear.meltdown", "body.category: 'nuclear.meltdown' is not a known"),
        ("msg_type", "Retract", "body.msg_type: 'Retract' is not one of"),
        ("status", "System", "body.status: 'System' is not one of"),
        ("identifier", "has space", "body.identifier: 'has space' may not"),
        ("sender", "a,b", "body.sender: 'a,b' may not"),
        ("sent", 1.5, "body.sent: 1.5 is not a time in integer milliseconds"),
        ("sent", "2026-01-01", "body.sent: '2026-01-01' is not a time in integer milliseconds"),
        ("sent_tz", "+25:00", "body.sent: '+25:00' is not a UTC offset"),
        ("sent_tz", "+00:00", "body.sent_tz: omit it for +00:00"),
        ("info.0.lang", "not a tag!", "body.info[0].lang: 'not a tag!' is not a BCP 47"),
        ("info.0.categories", ["Weather"], "body.info[0].categories: one or more of"),
        ("info.0.urgency", "Soon", "body.info[0].urgency: 'Soon' is not one of"),
        ("info.0.headline", "bell\x07", "body.info[0].headline: character U+0007"),
        ("info.0.areas.0.circles.0.radius_km", "-3", "body.info[0].areas[0].circles[0].radius_km"),
        (
            "info.0.areas.0.circles.0.center",
            [141.03, 37.42],
            "body.info[0].areas[0].circles[0].center: must be [lon, lat] as decimal strings",
        ),
        (
            "info.0.areas.0.circles.0.center",
            ["141.03", "037.42"],
            "body.info[0].areas[0].circles[0].center: must be [lon, lat] as decimal strings",
        ),
        ("details.ines_level", 8, "body.details.ines_level: 8 is above 7"),
        ("details.release", "maybe", "body.details.release: 'maybe' is not one of yes, no"),
        ("details.art5.location", ["141.03", "97.0"], "body.details.art5.location: latitude 97.0"),
        ("details.art5.weather", "rain", "body.details.art5.weather: unknown field"),
        ("details.magnitude", "7.1", "body.details.magnitude: unknown field for this category"),
        ("deadlines", {"delivered_within": -1}, "body.deadlines.delivered_within: must be"),
        ("references", [{"ref": "jp:1", "leaf_hash": HASH}], "body.references[0].ref: 'jp:1'"),
        ("cap_references", ["a,b"], "body.cap_references[0]: 'a,b' is not 'sender,identifier"),
        ("colour", "red", "body.colour: unknown field"),
        ("expires", 2**60, "body.expires: 1152921504606846976 is not a time"),
        ("note", 3.5, "body.note: must be a string"),
        (
            "info.0.areas.0.geometry",
            {
                "type": "Polygon",
                "coordinates": [[["1", "1"], ["2", "1"], ["-0.0", "2"], ["1", "1"]]],
            },
            "body.info[0].areas[0].geometry.coordinates[0][2]: must be [lon, lat]",
        ),
    ],
)
def test_validator_names_the_bad_field(path: str, change: Any, message: str) -> None:
    body = nuclear()
    target: Any = body
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = change
    with pytest.raises(FormatError) as caught:
        validate_notification(body)
    assert message in str(caught.value)


def test_required_details_are_required_of_native_notifications_only() -> None:
    body = nuclear()
    del body["details"]["release"]
    with pytest.raises(FormatError, match=r"body.details.release: missing"):
        validate_notification(body)
    body["source"] = {"format": "cap", "cap_version": "1.2", "xml_signature": False}
    validate_notification(body)


def test_unknown_fields_pass_in_lenient_mode_for_a_later_version() -> None:
    body = nuclear()
    body["colour"] = "red"
    body["info"][0]["mood"] = "calm"
    body["details"]["reactor_unit"] = "2"
    with pytest.raises(FormatError):
        validate_notification(body)
    validate_notification(body, strict=False)


def test_launch_notice_carries_window_and_hazard_areas_as_polygon_or_circle() -> None:
    details: dict[str, Any] = {
        "vehicle": "space-launch-vehicle",
        "window_start": T0 + 48 * HOUR,
        "window_end": T0 + 50 * HOUR,
        "launch_area": LAUNCH_AREA,
        "hazard_areas": [circle_area("33.0", "125.5", "45", "drop zone 1"), LAUNCH_AREA],
    }
    body = new_notification(
        category="military.launch-notice",
        identifier="KP-1",
        sender="kp",
        sent_ms=T0,
        status="Actual",
        headline="Satellite launch",
        urgency="Future",
        severity="Moderate",
        certainty="Likely",
        areas=details["hazard_areas"],
        details=details,
    )
    validate_notification(body)
    body["details"]["window_end"] = T0
    with pytest.raises(FormatError, match="body.details.window_end: ends before window_start"):
        validate_notification(body)
    body["details"]["window_end"] = T0 + 50 * HOUR
    body["details"]["hazard_areas"] = []
    with pytest.raises(FormatError, match="hazard_areas: must be a list of one or more areas"):
        validate_notification(body)


def test_outbreak_and_every_category_accept_their_declared_fields() -> None:
    for code, category in CATEGORIES.items():
        details = {f.name: _sample(f) for f in category.details}
        body = new_notification(
            category=code,
            identifier=f"id-{code}",
            sender="s",
            sent_ms=T0,
            status="Test",
            headline=category.title,
            urgency="Unknown",
            severity="Unknown",
            certainty="Unknown",
            areas=[],
            details=details,
        )
        check_subset(body)


def _sample(field: Any) -> Any:
    samples = {
        "text": "x",
        "int": field.minimum or 0,
        "decimal": "1.5",
        "ms": T0,
        "bool": True,
        "point": ["10.0", "20.0"],
        "area": LAUNCH_AREA,
        "areas": [LAUNCH_AREA],
    }
    if field.kind == "enum":
        return field.choices[0]
    if field.kind == "texts":
        return ["CVE-2024-3400"] if field.pattern else ["x"]
    if field.kind == "text" and field.pattern:
        return {"cas_number": "7782-50-5", "un_number": "UN1017"}[field.name]
    if field.kind == "object":
        return {f.name: _sample(f) for f in field.fields}
    if field.kind == "objects":
        return [{f.name: _sample(f) for f in field.fields}]
    return samples[field.kind]


def test_status_must_agree_with_the_header() -> None:
    body = nuclear("Exercise")
    check_status_agrees(body, "Exercise")
    with pytest.raises(FormatError, match="'Exercise' disagrees with the header status 'Actual'"):
        check_status_agrees(body, "Actual")
    with pytest.raises(FormatError, match="header status 'System'"):
        check_status_agrees(body, "System")


@pytest.mark.parametrize(
    "status, marker",
    [("Actual", ""), ("Exercise", "[EXERCISE] "), ("Test", "[TEST] "), ("Draft", "[DRAFT] ")],
)
def test_rendered_headline_shows_exercise_and_test(status: str, marker: str) -> None:
    body = nuclear(status)
    assert status_marker(status) == marker
    assert render_headline(body) == marker + "INES 2 event at Example-2"
    assert render_headline(body, "ja-JP") == marker + "Example-2 で INES 2 の事象"


def test_info_is_picked_by_language() -> None:
    body = nuclear()
    assert pick_info(body, "ja")["lang"] == "ja"  # type: ignore[index]
    assert pick_info(body, "ko")["lang"] == "en"  # type: ignore[index]
    assert pick_info({"info": []}) is None


def _chain() -> list[dict[str, Any]]:
    alert = nuclear()
    update = follow_up(
        alert,
        msg_type="Update",
        previous_ref="JP:41",
        previous_leaf_hash=HASH,
        identifier="JP-NRA-2026-0002",
        sent_ms=T0 + HOUR,
        changes={"details": {"facility": "Example-2", "release": "yes", "ines_level": 3}},
    )
    return [alert, update]


def test_follow_up_references_what_it_changes_both_ways() -> None:
    alert, update = _chain()
    assert update["msg_type"] == "Update" and update["status"] == alert["status"]
    assert update["references"] == [{"ref": "JP:41", "leaf_hash": HASH}]
    assert update["cap_references"] == [cap_reference(alert)]
    assert cap_reference(alert) == "nra.go.jp,JP-NRA-2026-0001,2026-01-01T00:00:00+00:00"


def test_current_state_follows_the_chain() -> None:
    chain = _chain()
    state = current_state(chain, now_ms=T0 + 2 * HOUR)
    assert state["state"] == "active" and state["updates"] == 1
    assert (
        state["details"]["ines_level"] == 3 and state["details"]["facility_type"] == "power-reactor"
    )
    assert state["identifier"] == "JP-NRA-2026-0001" and state["last_sent"] == T0 + HOUR
    assert current_state(chain, now_ms=T0 + 25 * HOUR)["state"] == "expired"
    ack = follow_up(
        chain[-1],
        msg_type="Ack",
        previous_ref="JP:42",
        previous_leaf_hash=HASH,
        identifier="KR-ACK-1",
        sender="kins.re.kr",
        sent_ms=T0 + 2 * HOUR,
    )
    assert current_state([*chain, ack])["acks"] == 1
    cancel = follow_up(
        chain[-1],
        msg_type="Cancel",
        previous_ref="JP:42",
        previous_leaf_hash=HASH,
        identifier="JP-NRA-2026-0003",
        sent_ms=T0 + 3 * HOUR,
    )
    state = current_state([*chain, ack, cancel])
    assert state["state"] == "cancelled" and state["messages"] == 4
    assert not is_active(cancel, T0)


def test_all_clear_ends_the_incident() -> None:
    chain = _chain()
    clear = follow_up(
        chain[-1],
        msg_type="Update",
        previous_ref="JP:42",
        previous_leaf_hash=HASH,
        identifier="JP-NRA-2026-0004",
        sent_ms=T0 + 5 * HOUR,
        all_clear=True,
    )
    assert is_all_clear(clear) and not is_active(clear, T0)
    assert current_state([*chain, clear])["state"] == "all-clear"
    with pytest.raises(FormatError, match="the all-clear is an Update"):
        follow_up(
            chain[-1],
            msg_type="Cancel",
            previous_ref="JP:42",
            previous_leaf_hash=HASH,
            identifier="x",
            sent_ms=T0,
            all_clear=True,
        )


def test_empty_chain_is_refused() -> None:
    with pytest.raises(FormatError, match="at least one"):
        current_state([])


def test_update_without_reference_is_refused() -> None:
    update = copy.deepcopy(_chain()[1])
    del update["references"], update["cap_references"]
    with pytest.raises(FormatError, match="an Update must reference what it answers"):
        validate_notification(update)


_texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=80, deadline=None)
@given(
    headline=_texts,
    description=_texts,
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    radius=st.floats(0, 2000),
    sent=st.integers(0, 2**42),
)
def test_generated_native_bodies_lie_in_the_signed_subset(
    headline: str, description: str, lat: float, lon: float, radius: float, sent: int
) -> None:
    body = new_notification(
        category="geo.earthquake",
        identifier="id-1",
        sender="jma.go.jp",
        sent_ms=sent,
        status="Exercise",
        headline=headline,
        description=description,
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        areas=[circle_area(lat, lon, radius, "sea")],
        details={
            "magnitude": "7.1",
            "epicenter": [circle_area(lat, lon, 0, "e")["circles"][0]["center"][0], "38.1"],
        },
    )
    check_subset(body)
    assert canonical_bytes(body) == rfc8785.dumps(body)
    center = body["info"][0]["areas"][0]["circles"][0]["center"]
    assert (float(center[0]), float(center[1])) == (lon, lat)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON value, to plant something there."""
    slots: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            slots.append((value, key))
            slots.extend(_slots(item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            slots.append((value, index))
            slots.extend(_slots(item))
    return slots


_junk = st.one_of(
    st.floats(),
    st.integers(-(2**64), 2**64),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.lists(st.floats() | st.integers(-(2**64), 2**64), max_size=2),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_whatever_the_validator_accepts_lies_in_the_signed_subset(data: st.DataObject) -> None:
    # Strict validation types every field, so it skips the generic subset walk; this property
    # is what makes that safe.
    body = nuclear()
    body["info"][0]["areas"].append(copy.deepcopy(LAUNCH_AREA))
    container, key = data.draw(st.sampled_from(_slots(body)))
    container[key] = data.draw(_junk)
    try:
        validate_notification(body)
    except FormatError:
        return
    check_subset(body)
