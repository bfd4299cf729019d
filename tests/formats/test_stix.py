"""STIX 2.1 bundles in and out: same ids, the float rule, splitting, and TLP 2.0 both ways."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core.canonical import canonical_bytes, check_subset
from parley.formats.errors import StixError
from parley.formats.notification import validate_notification
from parley.formats.stix import (
    TLP1_MARKING_IDS,
    TLP2_MARKING_IDS,
    bundle_tlp,
    check_tlp,
    from_signed_json,
    merge_bundles,
    notification_to_stix,
    parse_bundle,
    split_bundle,
    stix_to_notification,
    stix_to_notifications,
    tlp_marking_definition,
    tlp_of_marking,
    to_signed_json,
)

from .corpus import STIX_DATA, stix_bytes

BUNDLES = sorted(
    str(p.relative_to(STIX_DATA))
    for p in STIX_DATA.rglob("*.json")
    if p.name != "interop-objectmarking-test.json"
)
SENT = 1_700_000_000_000


def _import(
    name: str, status: str = "Actual", **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = parse_bundle(stix_bytes(name))
    body = stix_to_notification(bundle, sender="JP-NISC", sent_ms=SENT, status=status, **kwargs)
    return bundle, body


@pytest.mark.parametrize("name", BUNDLES)
def test_bundle_imports_as_one_cyber_notification_and_exports_with_the_same_ids(name: str) -> None:
    bundle, body = _import(name)
    validate_notification(body)
    check_subset(body)
    assert body["category"].startswith("cyber.") and body["source"] == {"format": "stix"}
    exported = notification_to_stix(body, "Actual")
    assert [o["id"] for o in exported["objects"]] == [o["id"] for o in bundle["objects"]]
    assert exported == bundle
    stix2.parse(exported, allow_custom=True)


def test_poison_ivy_report_is_an_exploited_vulnerability_with_its_cves() -> None:
    _, body = _import("oasis_examples/poisonivy.json")
    assert body["category"] == "cyber.exploited-vulnerability"
    assert "CVE-2012-0158" in body["details"]["cves"]
    assert body["info"][0]["headline"] == "Poison Ivy: Assessing Damage and Extracting Intelligence"


def test_indicator_bundle_counts_its_indicators() -> None:
    _, body = _import("oasis_examples/apt1.json")
    assert body["category"] == "cyber.indicators"
    assert body["details"]["indicator_count"] == 12


def test_a_single_object_is_not_a_bundle() -> None:
    with pytest.raises(StixError, match="not a bundle"):
        parse_bundle(stix_bytes("oasis_examples/interop-objectmarking-test.json"))


def test_stix_2_0_and_malformed_bundles_are_refused() -> None:
    bundle = orjson.loads(stix_bytes("oasis_examples/indicator-for-c2-ip-address.json"))
    with pytest.raises(StixError, match="only STIX 2.1"):
        parse_bundle(dict(bundle, spec_version="2.0"))
    broken = dict(bundle, objects=[dict(bundle["objects"][0], created="yesterday")])
    with pytest.raises(StixError, match="not valid STIX 2.1"):
        parse_bundle(broken)
    with pytest.raises(StixError, match="not valid JSON"):
        parse_bundle(b'{"type": "bundle",')
    with pytest.raises(StixError, match="no objects"):
        parse_bundle({"type": "bundle", "id": bundle["id"], "objects": []})


def _location_bundle(latitude: float, longitude: float, extra: Any = None) -> dict[str, Any]:
    location: dict[str, Any] = {
        "type": "location",
        "spec_version": "2.1",
        "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
        "created": "2016-04-06T20:03:00.000Z",
        "modified": "2016-04-06T20:03:00.000Z",
        "latitude": latitude,
        "longitude": longitude,
        "precision": 10.5,
    }
    if extra is not None:
        location["x_parley_extra"] = extra
    return {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [location],
    }


def test_float_rule_keeps_floats_exactly_through_a_signed_body() -> None:
    bundle = parse_bundle(_location_bundle(35.6895, 139.6917, {"big": 2**60, "tiny": 1e-300}))
    body = stix_to_notification(bundle, sender="JP", sent_ms=SENT, status="Actual")
    check_subset(body)
    stored = body["stix"]["bundle"]["objects"][0]
    assert stored["latitude"] == {"$float": "35.6895"}
    assert stored["x_parley_extra"]["big"] == {"$int": str(2**60)}
    exported = notification_to_stix(body, "Actual")
    assert exported == bundle
    assert orjson.dumps(exported) == orjson.dumps(bundle)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_float_rule_is_lossless_and_in_the_signed_subset(value: Any) -> None:
    signed = to_signed_json(value)
    check_subset(signed)
    back = from_signed_json(signed)
    assert orjson.dumps(back) == orjson.dumps(value)
    assert _same(back, value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_marker_keys_in_input_are_refused() -> None:
    with pytest.raises(StixError, match=r"\$float"):
        to_signed_json({"x_thing": {"$float": "1.5"}})


def test_large_bundle_is_split_under_the_limit_and_merged_back() -> None:
    bundle = parse_bundle(stix_bytes("mitre_atlas/stix-atlas.json"))
    bodies = stix_to_notifications(
        bundle, sender="US-CISA", sent_ms=SENT, status="Actual", max_body_bytes=120_000
    )
    assert len(bodies) > 3
    assert all(len(canonical_bytes(b)) <= 120_000 for b in bodies)
    assert [b["stix"]["part"] for b in bodies] == list(range(1, len(bodies) + 1))
    assert len({b["identifier"] for b in bodies}) == len(bodies)
    for body in bodies:
        validate_notification(body)
    exported = notification_to_stix(list(reversed(bodies)), "Actual")
    assert exported == bundle


def test_each_part_repeats_the_marking_definitions() -> None:
    bundle = parse_bundle(stix_bytes("mitre_atlas/stix-atlas.json"))
    markings = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
    parts = split_bundle(bundle, 100_000)
    assert all(m in p["objects"] for p in parts for m in markings)
    assert merge_bundles(parts) == bundle


def test_missing_part_is_refused_on_export() -> None:
    bundle = parse_bundle(stix_bytes("mitre_atlas/stix-atlas.json"))
    bodies = stix_to_notifications(
        bundle, sender="US", sent_ms=SENT, status="Actual", max_body_bytes=150_000
    )
    with pytest.raises(StixError, match=r"parts \[2\]"):
        notification_to_stix([bodies[0], *bodies[2:]], "Actual")


def test_object_too_large_for_any_part_is_refused() -> None:
    bundle = parse_bundle(stix_bytes("oasis_examples/poisonivy.json"))
    with pytest.raises(StixError, match="no part under 2000 bytes can hold it"):
        split_bundle(bundle, 2000)


@pytest.mark.parametrize("label", list(TLP2_MARKING_IDS))
def test_tlp_2_marking_definitions_are_valid_stix_and_map_both_ways(label: str) -> None:
    definition = tlp_marking_definition(label)
    parsed = stix2.parse(definition)
    assert parsed.id == TLP2_MARKING_IDS[label] and parsed.name == f"TLP:{label}"
    assert tlp_of_marking(definition["id"]) == label


def test_tlp_1_markings_read_as_tlp_2() -> None:
    assert sorted(TLP1_MARKING_IDS.values()) == ["AMBER", "CLEAR", "GREEN", "RED"]
    assert tlp_of_marking(stix2.TLP_WHITE.id) == "CLEAR"
    assert tlp_of_marking(stix2.TLP_RED.id) == "RED"


def test_bundle_tlp_is_the_most_restrictive_marking() -> None:
    bundle = parse_bundle(stix_bytes("oasis_examples/indicator-for-c2-ip-address.json"))
    assert bundle_tlp(bundle) is None
    objects = [dict(o, object_marking_refs=[TLP2_MARKING_IDS["GREEN"]]) for o in bundle["objects"]]
    objects[0]["granular_markings"] = [
        {"marking_ref": TLP2_MARKING_IDS["AMBER+STRICT"], "selectors": ["name"]}
    ]
    marked = dict(bundle, objects=[tlp_marking_definition("GREEN"), *objects])
    assert bundle_tlp(marked) == "AMBER+STRICT"
    check_tlp(marked, "RED")
    with pytest.raises(StixError, match="marked TLP:AMBER\\+STRICT; the entry cannot be TLP:AMBER"):
        check_tlp(marked, "AMBER")


def test_export_adds_the_tlp_2_marking_definition() -> None:
    bundle, body = _import("oasis_examples/indicator-for-c2-ip-address.json")
    exported = notification_to_stix(body, "Actual", tlp="AMBER")
    assert exported["objects"][:-1] == bundle["objects"]
    assert exported["objects"][-1] == tlp_marking_definition("AMBER")


@pytest.mark.parametrize("status", ["Exercise", "Test", "Draft"])
def test_exercise_status_is_visible_in_the_exported_bundle(status: str) -> None:
    bundle, body = _import("oasis_examples/indicators-for-C2-with-COA.json", status=status)
    exported = notification_to_stix(body, status, tlp="GREEN")
    note = exported["objects"][-1]
    assert note["type"] == "note" and note["content"].startswith(f"[{status.upper()}]")
    assert set(note["object_refs"]) >= {o["id"] for o in bundle["objects"]}
    assert note["object_marking_refs"] == [TLP2_MARKING_IDS["GREEN"]]
    stix2.parse(exported, allow_custom=True)
    again = notification_to_stix(body, status, tlp="GREEN")
    assert again == exported  # the note's id is derived, not random


def test_export_refuses_a_status_other_than_the_headers() -> None:
    _, body = _import("oasis_examples/infrastructure.json", status="Exercise")
    with pytest.raises(StixError, match="status"):
        notification_to_stix(body, "Actual")
