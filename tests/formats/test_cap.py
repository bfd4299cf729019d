"""CAP 1.2 in and out over every real message of the corpus, and on generated alerts.

The round trip is checked against an independent reading of the original XML (plain lxml and
shapely here, not the code under test): import then export must give schema-valid CAP 1.2 that
keeps identifier, sender, sent, status, msgType, scope and references; every info's language,
categories, event, urgency, severity, certainty, headline and description; every area compared
as geometry.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from shapely.geometry import Point, Polygon

from parley.core.canonical import canonical_bytes, check_subset
from parley.formats.cap import (
    CapAlert,
    cap_identity,
    cap_to_notification,
    notification_to_cap,
    parse_cap,
    split_cap_list,
)
from parley.formats.cap_export import status_note
from parley.formats.cap_marking import read_marking
from parley.formats.cap_schema import schema_bytes
from parley.formats.errors import CapError, FormatError
from parley.formats.notification import body_identity, cap_reference, validate_notification
from parley.formats.values import decimal_string, parse_cap_time

from .corpus import CAP_MESSAGES, REFUSED, cap_bytes

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11 = "urn:oasis:names:tc:emergency:cap:1.1"
ACCEPTED = [m for m in CAP_MESSAGES if m not in REFUSED]


def _xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(schema_bytes("1.2")))


XSD = _xsd()


# --- an independent reading of a CAP alert, for comparisons -------------------------------------


def _alerts_of(data: bytes) -> list[etree._Element]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag in (f"{{{CAP12}}}alert", f"{{{CAP11}}}alert"):
        return [root]
    return [e for e in root.iter(f"{{{CAP12}}}alert", f"{{{CAP11}}}alert")]


def _t(element: etree._Element, name: str) -> str | None:
    ns = etree.QName(element).namespace
    child = element.find(f"{{{ns}}}{name}")
    if child is None or child.text is None or not child.text.strip():
        return None
    return child.text


def _all(element: etree._Element, name: str) -> list[etree._Element]:
    return element.findall(f"{{{etree.QName(element).namespace}}}{name}")


def _shape(area: etree._Element) -> list[Any]:
    shapes: list[Any] = []
    for polygon in _all(area, "polygon"):
        if polygon.text and polygon.text.strip():
            points = [tuple(map(float, p.split(",")))[::-1] for p in polygon.text.split()]
            shapes.append(("polygon", Polygon(points).normalize()))
    for circle in _all(area, "circle"):
        if circle.text and circle.text.strip():
            center, radius = circle.text.split()
            lat, lon = map(float, center.split(","))
            shapes.append(("circle", Point(lon, lat), float(radius)))
    return shapes


def _summary(alert: etree._Element) -> dict[str, Any]:
    sent = (_t(alert, "sent") or "").strip()
    infos = []
    for info in _all(alert, "info"):
        infos.append(
            {
                "language": (_t(info, "language") or "en-US").strip(),
                "categories": [c.text for c in _all(info, "category")],
                "event": _t(info, "event"),
                **{k: (_t(info, k) or "").strip() for k in ("urgency", "severity", "certainty")},
                "headline": _t(info, "headline"),
                "description": _t(info, "description"),
                "areas": [(_t(a, "areaDesc"), _shape(a)) for a in _all(info, "area")],
            }
        )
    return {
        "identifier": (_t(alert, "identifier") or "").strip(),
        "sender": (_t(alert, "sender") or "").strip(),
        "sent": parse_cap_time(sent)[0],
        "status": _t(alert, "status"),
        "msgType": _t(alert, "msgType"),
        "scope": _t(alert, "scope"),
        "references": split_cap_list(_t(alert, "references") or ""),
        "infos": infos,
    }


def _assert_same_areas(original: list[Any], exported: list[Any]) -> None:
    assert len(original) == len(exported)
    for (desc_a, shapes_a), (desc_b, shapes_b) in zip(original, exported, strict=True):
        assert desc_a == desc_b
        assert len(shapes_a) == len(shapes_b)
        for a, b in zip(shapes_a, shapes_b, strict=True):
            assert a[0] == b[0]
            if a[0] == "polygon":
                assert a[1].equals_exact(b[1], 1e-9) or a[1].symmetric_difference(b[1]).area < 1e-12
            else:
                assert a[1].distance(b[1]) < 1e-9 and a[2] == pytest.approx(b[2])


# --- the corpus -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACCEPTED)
def test_real_message_round_trips_through_a_notification(name: str) -> None:
    data = cap_bytes(name)
    originals = _alerts_of(data)
    alerts = parse_cap(data)
    assert len(alerts) == len(originals)
    for original, alert in zip(originals, alerts, strict=True):
        body = cap_to_notification(alert)
        validate_notification(body)
        check_subset(body)
        exported = notification_to_cap(body, body["status"], prefer_original=False)
        root = etree.fromstring(exported)
        assert XSD.validate(root), XSD.error_log
        want, got = _summary(original), _summary(root)
        for key in ("identifier", "sender", "sent", "status", "msgType", "scope", "references"):
            assert got[key] == want[key], key
        assert (_t(root, "sent") or "").strip() == (_t(original, "sent") or "").strip() or (
            alert.version == "1.1"
        )
        assert len(got["infos"]) == len(want["infos"])
        for info_want, info_got in zip(want["infos"], got["infos"], strict=True):
            areas_want, areas_got = info_want.pop("areas"), info_got.pop("areas")
            assert info_got == info_want
            _assert_same_areas(areas_want, areas_got)
        again = cap_to_notification(parse_cap(exported)[0])
        assert _without(again, "source", "note") == _without(body, "source", "note")


def _without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_invalid_real_message_is_refused_with_the_reason(name: str) -> None:
    with pytest.raises(CapError) as caught:
        for alert in parse_cap(cap_bytes(name)):
            cap_to_notification(alert)
    assert REFUSED[name] in str(caught.value)


def test_the_corpus_accepts_all_but_the_invalid_messages() -> None:
    alerts = [a for name in ACCEPTED for a in parse_cap(cap_bytes(name))]
    assert len(ACCEPTED) == 118 and len(alerts) == 176
    assert {a.version for a in alerts} == {"1.1", "1.2"}


def test_edxl_de_distribution_is_unwrapped_into_its_alerts() -> None:
    alerts = parse_cap(cap_bytes("containers/nsw_rfs_bushfire_edxlde.xml"))
    assert len(alerts) == 59 and all(a.envelope == "edxl-de" for a in alerts)
    for index, alert in enumerate(alerts):
        single = parse_cap(cap_bytes(f"extracted/nsw_rfs/{index:02d}.xml"))[0]
        from_envelope = cap_to_notification(alert)
        alone = cap_to_notification(single)
        assert from_envelope["source"] == {
            "format": "cap",
            "cap_version": "1.2",
            "xml_signature": False,
            "envelope": "edxl-de",
        }
        assert _without(from_envelope, "source") == _without(alone, "source")


def test_edxl_de_without_cap_is_refused() -> None:
    data = (
        b'<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0">'
        b"<distributionID>x</distributionID></EDXLDistribution>"
    )
    with pytest.raises(CapError, match="holds no CAP 1.2 alert"):
        parse_cap(data)


def test_import_is_idempotent() -> None:
    data = cap_bytes("real_1.2/eccc_canada_update.cap")
    first, second = (cap_to_notification(parse_cap(data)[0]) for _ in range(2))
    assert canonical_bytes(first) == canonical_bytes(second)
    alert = parse_cap(data)[0]
    assert (
        cap_identity(alert)
        == body_identity(first)
        == (
            "2.49.0.1.124.6bddbc91.2012",
            "cap@ec.gc.ca",
            1336000864000,
        )
    )


def test_same_instant_written_differently_gives_the_same_identity() -> None:
    data = cap_bytes("real_1.2/eccc_canada_update.cap")
    shifted = data.replace(b"<sent>2012-05-02T23:21:04-00:00", b"<sent>2012-05-03T01:21:04+02:00")
    assert shifted != data
    assert cap_identity(parse_cap(shifted)[0]) == cap_identity(parse_cap(data)[0])


def test_update_keeps_its_references_and_links_by_cap_reference() -> None:
    update = cap_to_notification(
        parse_cap(cap_bytes("oasis_spec_examples/cap_v1dot2_appendix_A3.xml"))[0]
    )
    assert update["msg_type"] == "Update"
    assert update["cap_references"] == [
        "trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00"
    ]
    original = {
        "sender": "trinet@caltech.edu",
        "identifier": "TRI13970876.1",
        "sent": parse_cap_time("2003-06-11T20:30:00-07:00")[0],
        "sent_tz": "-07:00",
    }
    assert cap_reference(original) in update["cap_references"]


def test_every_info_polygon_circle_and_geocode_is_kept() -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/eccc_canada_update.cap"))[0])
    assert [i["lang"] for i in body["info"]] == ["en-CA", "fr-CA"]
    original = _alerts_of(cap_bytes("real_1.2/eccc_canada_update.cap"))[0]
    geocodes = len(original.findall(f".//{{{CAP12}}}geocode"))
    polygons = len(original.findall(f".//{{{CAP12}}}polygon"))
    areas = [a for i in body["info"] for a in i["areas"]]
    assert sum(len(a.get("geocodes", [])) for a in areas) == geocodes
    assert (
        sum(
            1 if a["geometry"]["type"] == "Polygon" else len(a["geometry"]["coordinates"])
            for a in areas
            if "geometry" in a
        )
        == polygons
    )
    circles = cap_to_notification(parse_cap(cap_bytes("extracted/nsw_rfs/08.xml"))[0])
    area = circles["info"][0]["areas"][0]
    assert area["circles"] and area["geometry"]


def test_cap_1_1_is_read_as_cap_1_2() -> None:
    alert = parse_cap(cap_bytes("real_1.1/nws_wind_advisory_2014.cap"))[0]
    assert alert.version == "1.1"
    body = cap_to_notification(alert)
    assert body["source"]["cap_version"] == "1.1"
    exported = notification_to_cap(body, body["status"])
    assert XSD.validate(etree.fromstring(exported))


def test_signed_cap_keeps_its_signed_xml_and_exports_it_unchanged() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    alert = parse_cap(data)[0]
    assert alert.signed and alert.document == data
    body = cap_to_notification(alert)
    assert body["source"]["xml_signature"] is True
    assert body["source"]["xml"].encode("utf-8") == data
    assert notification_to_cap(body, body["status"]) == data
    rebuilt = notification_to_cap(body, body["status"], prefer_original=False)
    assert b"Signature" not in rebuilt and XSD.validate(etree.fromstring(rebuilt))


def test_signed_iso_8859_1_document_is_kept_as_utf8_with_the_same_infoset() -> None:
    data = cap_bytes("real_1.1/cisn_earthquake_signed.cap")
    alert = parse_cap(data)[0]
    assert alert.document is not None and alert.document != data
    assert b"encoding='UTF-8'" in alert.document[:60] or b'encoding="UTF-8"' in alert.document[:60]
    c14n = etree.tostring(etree.fromstring(data).getroottree(), method="c14n")
    assert etree.tostring(etree.fromstring(alert.document).getroottree(), method="c14n") == c14n


def test_status_system_is_refused() -> None:
    data = cap_bytes("real_1.2/australia_bom.cap").replace(b">Actual<", b">System<")
    with pytest.raises(CapError, match="System"):
        cap_to_notification(parse_cap(data)[0])


def test_export_refuses_a_status_other_than_the_headers() -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0])
    with pytest.raises(FormatError, match="header says 'Exercise'"):
        notification_to_cap(body, "Exercise")


@pytest.mark.parametrize("status", ["Exercise", "Test", "Draft"])
def test_exercise_and_test_status_are_visible_in_exported_cap(status: str) -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0])
    body["status"] = status
    body.pop("note", None)
    root = etree.fromstring(notification_to_cap(body, status))
    assert _t(root, "status") == status
    assert _t(root, "note") == status_note(status) and status.upper() in status_note(status)


def test_exported_cap_carries_category_and_details_for_a_parley_reader() -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/usgs_earthquake_iso8859-1.cap"))[0])
    body["details"] = {"magnitude": "6.8", "depth_km": "10.5", "epicenter": ["142.37", "38.3"]}
    exported = notification_to_cap(body, body["status"], prefer_original=False)
    again = cap_to_notification(parse_cap(exported)[0])
    assert again["category"] == body["category"] == "geo.earthquake"
    assert again["details"] == body["details"]
    assert again["info"] == body["info"]


def test_category_can_be_set_on_import() -> None:
    alert = parse_cap(cap_bytes("real_1.2/taiwan_wra.cap"))[0]
    assert cap_to_notification(alert)["category"] == "general.other"
    assert cap_to_notification(alert, category="met.flood")["category"] == "met.flood"


def test_invalid_polygon_is_refused_naming_the_area() -> None:
    data = cap_bytes("real_1.2/bmkg_indonesia_banten.xml")
    root = etree.fromstring(data)
    polygon = root.find(f".//{{{CAP12}}}polygon")
    assert polygon is not None
    polygon.text = "-6.1,106.1 -6.2,106.2"
    with pytest.raises(CapError, match=r"info\[0\]\.area\[0\]\.polygon\[0\].*3 distinct"):
        cap_to_notification(parse_cap(etree.tostring(root))[0])


def test_latitude_out_of_range_is_refused() -> None:
    data = cap_bytes("real_1.2/noaa_ntwc_PAAQ_update.xml")
    root = etree.fromstring(data)
    circle = root.find(f".//{{{CAP12}}}circle")
    assert circle is not None
    circle.text = "95.0,-150.0 10"
    with pytest.raises(CapError, match="latitude 95.0 is outside"):
        cap_to_notification(parse_cap(etree.tostring(root))[0])


def test_cap_alert_type_names_the_version_and_envelope() -> None:
    alert = parse_cap(cap_bytes("real_1.2/taiwan_wra.cap"))[0]
    assert isinstance(alert, CapAlert)
    assert (alert.identifier, alert.version, alert.envelope, alert.signed) == (
        "WRA_ReservoirWarn_201405142010",
        "1.2",
        None,
        False,
    )


# --- generated alerts -----------------------------------------------------------------------------

_TEXT_ALPHABET = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
) | st.sampled_from("\n\t")
_text = st.text(_TEXT_ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip() != "")
_token = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=",<&"),
    min_size=1,
    max_size=20,
)
_ms = st.integers(0, 4102444800).map(lambda s: s * 1000)
_tz = st.sampled_from(["-00:00", "+09:00", "-07:00", "+05:45", "+14:00"])


def _coordinate(low: float, high: float) -> st.SearchStrategy[str]:
    return st.decimals(low, high, places=4, allow_nan=False, allow_infinity=False).map(
        decimal_string
    )


@st.composite
def _area(draw: st.DrawFn) -> dict[str, Any]:
    area: dict[str, Any] = {"desc": draw(_text)}
    rings = []
    for _ in range(draw(st.integers(0, 2))):
        lon, lat = draw(st.floats(-170, 170)), draw(st.floats(-80, 80))
        size = draw(st.floats(0.01, 5))
        ring = [
            [f"{lon:.4f}", f"{lat:.4f}"],
            [f"{lon + size:.4f}", f"{lat:.4f}"],
            [f"{lon + size:.4f}", f"{lat + size:.4f}"],
            [f"{lon:.4f}", f"{lat:.4f}"],
        ]
        rings.append(ring)
    if rings:
        from parley.formats.areas import rings_geometry

        area["geometry"] = rings_geometry(
            [[[decimal_string(float(c)) for c in p] for p in r] for r in rings]
        )
    circles = draw(
        st.lists(
            st.tuples(_coordinate(-180, 180), _coordinate(-90, 90), _coordinate(0, 500)), max_size=2
        )
    )
    if circles:
        area["circles"] = [{"center": [lon, lat], "radius_km": r} for lon, lat, r in circles]
    geocodes = draw(st.lists(st.tuples(_text, _text), max_size=2))
    if geocodes:
        area["geocodes"] = [{"name": n, "value": v} for n, v in geocodes]
    return area


@st.composite
def _body(draw: st.DrawFn) -> dict[str, Any]:
    msg_type = draw(st.sampled_from(["Alert", "Update", "Cancel"]))
    body: dict[str, Any] = {
        "category": draw(st.sampled_from(["geo.earthquake", "met.flood", "general.other"])),
        "msg_type": msg_type,
        "status": draw(st.sampled_from(["Actual", "Exercise", "Test", "Draft"])),
        "scope": "Public",
        "identifier": draw(_token),
        "sender": draw(_token),
        "sent": draw(_ms),
        "sent_tz": draw(_tz),
        "note": draw(_text),
        "source": {"format": "cap", "cap_version": "1.2", "xml_signature": False},
    }
    if msg_type != "Alert":
        body["cap_references"] = [f"{draw(_token)},{draw(_token)},2003-06-11T20:30:00-07:00"]
    infos = []
    for lang in draw(
        st.lists(
            st.sampled_from(["en", "ja-JP", "ko", "zh-Hans", "ru"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    ):
        info: dict[str, Any] = {
            "lang": lang,
            "categories": draw(
                st.lists(st.sampled_from(["Geo", "Met", "Safety", "Other"]), min_size=1, max_size=2)
            ),
            "event": draw(_text),
            "urgency": draw(st.sampled_from(["Immediate", "Expected", "Unknown"])),
            "severity": draw(st.sampled_from(["Extreme", "Minor", "Unknown"])),
            "certainty": draw(st.sampled_from(["Observed", "Likely", "Unknown"])),
            "headline": draw(_text),
            "description": draw(_text),
            "expires": draw(_ms),
            "expires_tz": draw(_tz),
            "areas": draw(st.lists(_area(), max_size=3)),
        }
        if not info["areas"]:
            del info["areas"]
        infos.append(info)
    body["info"] = infos
    body["expires"] = max(i["expires"] for i in infos)
    return body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_body())
def test_generated_notifications_round_trip_through_cap(body: dict[str, Any]) -> None:
    validate_notification(body)
    exported = notification_to_cap(body, body["status"])
    assert XSD.validate(etree.fromstring(exported))
    again = cap_to_notification(parse_cap(exported)[0])
    check_subset(again)
    want = copy.deepcopy(body)
    assert _without(again, "source") == _without(want, "source")


def test_schema_error_keeps_the_allowed_values() -> None:
    from parley.formats.cap_schema import validate_cap

    alert = etree.fromstring(
        f'<alert xmlns="{CAP12}"><identifier>x-1</identifier><sender>jp@example</sender>'
        "<sent>2026-12-04T18:02:11+09:00</sent><status>Bogus</status><msgType>Alert</msgType>"
        "<scope>Public</scope></alert>".encode()
    )
    with pytest.raises(CapError) as caught:
        validate_cap(alert)
    message = caught.value.message
    assert "'Actual'" in message and "'Exercise'" in message, message
    assert "urn:oasis" not in message


# --- who may read it: audience and TLP (parley.formats.cap_marking) -------------------------


def _marked(audience: Any, tlp: str) -> etree._Element:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0])
    return etree.fromstring(notification_to_cap(body, body["status"], audience=audience, tlp=tlp))


def _tlp_parameters(root: etree._Element) -> list[list[str | None]]:
    return [
        [_t(p, "value") for p in _all(info, "parameter") if _t(p, "valueName") == "TLP"]
        for info in _all(root, "info")
    ]


def test_a_named_amber_audience_exports_as_private_to_those_parties_with_its_tlp() -> None:
    root = _marked(("JP", "US"), "AMBER")
    assert _t(root, "scope") == "Private"
    assert _t(root, "addresses") == "JP US"
    assert _tlp_parameters(root) and all(p == ["TLP:AMBER"] for p in _tlp_parameters(root))
    body = cap_to_notification(parse_cap(etree.tostring(root))[0])
    assert read_marking(body) == (("JP", "US"), "AMBER")


def test_amber_for_every_member_exports_as_restricted_with_the_label_as_restriction() -> None:
    root = _marked("ALL", "AMBER+STRICT")
    assert (_t(root, "scope"), _t(root, "restriction")) == ("Restricted", "TLP:AMBER+STRICT")
    assert _t(root, "addresses") is None
    assert all(p == ["TLP:AMBER+STRICT"] for p in _tlp_parameters(root))
    body = cap_to_notification(parse_cap(etree.tostring(root))[0])
    assert read_marking(body) == ("ALL", "AMBER+STRICT")


@pytest.mark.parametrize("tlp", ["CLEAR", "GREEN"])
def test_clear_and_green_for_all_stay_public_and_still_carry_the_label(tlp: str) -> None:
    root = _marked("ALL", tlp)
    assert _t(root, "scope") == "Public" and _t(root, "restriction") is None
    assert all(p == [f"TLP:{tlp}"] for p in _tlp_parameters(root))
    assert read_marking(cap_to_notification(parse_cap(etree.tostring(root))[0])) == ("ALL", tlp)


def test_a_signed_alert_keeps_its_signed_xml_only_when_the_entry_is_public() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    body = cap_to_notification(parse_cap(data)[0])
    public = notification_to_cap(body, body["status"], audience="ALL", tlp="GREEN")
    assert public == body["source"]["xml"].encode("utf-8")
    narrow = etree.fromstring(
        notification_to_cap(body, body["status"], audience=("JP",), tlp="RED")
    )
    assert _t(narrow, "scope") == "Private" and _t(narrow, "addresses") == "JP"


def test_an_unmarked_alert_carries_no_audience_or_tlp() -> None:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0])
    assert read_marking(body) == (None, None)


def _with_marking(
    scope: str,
    tlps: list[str],
    *,
    addresses: list[str] | None = None,
    restriction: str | None = None,
) -> dict[str, Any]:
    body = cap_to_notification(parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0])
    body["scope"] = scope
    body.pop("addresses", None)
    body.pop("restriction", None)
    if addresses is not None:
        body["addresses"] = addresses
    if restriction is not None:
        body["restriction"] = restriction
    info = body["info"][0]
    body["info"] = [copy.deepcopy(info) for _ in tlps]
    for block, tlp in zip(body["info"], tlps, strict=True):
        block["parameters"] = [{"name": "TLP", "value": tlp}]
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_with_marking("Public", ["TLP:AMBER"]), "scope Public cannot carry TLP:AMBER"),
        (_with_marking("Private", ["TLP:AMBER"]), "names no addresses"),
        (_with_marking("Private", ["TLP:CLEAR"], addresses=["JP"]), "cannot carry TLP:CLEAR"),
        (_with_marking("Private", ["TLP:RED"], addresses=["ops@example.gov"]), "not a party code"),
        (
            _with_marking("Restricted", ["TLP:RED"], restriction="TLP:RED"),
            "Restricted cannot carry",
        ),
        (_with_marking("Restricted", ["TLP:GREEN"], restriction="TLP:AMBER"), "restriction says"),
        (_with_marking("Private", ["TLP:AMBER", "TLP:RED"], addresses=["JP"]), "different TLP"),
        (_with_marking("Public", ["TLP:PURPLE"]), "not a TLP 2.0 label"),
    ],
)
def test_an_incoherent_marking_is_refused_on_import(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(CapError, match=reason):
        read_marking(body)
