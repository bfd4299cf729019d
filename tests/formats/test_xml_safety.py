"""Hostile XML: every attack is refused with an error that names it, and nothing is fetched.

Each test is named after the attack it defeats. A local HTTP listener is not needed to show
that nothing is fetched: the refusals happen before libxml2 sees a DOCTYPE, and the parser runs
with no_network and no DTD loading besides (checked on the parser itself).
"""

from __future__ import annotations

import socket

import pytest
from lxml import etree

from parley.formats.cap import parse_cap
from parley.formats.errors import FormatError, UnsafeXmlError, XmlLimitError
from parley.formats.xml_safety import XmlLimits, _parser, parse_xml

from .corpus import cap_bytes

ALERT = cap_bytes("real_1.2/australia_bom.cap")


def test_xxe_attack_refused() -> None:
    with pytest.raises(UnsafeXmlError, match=r"external entity declaration \(XXE attack\)"):
        parse_cap(cap_bytes("invalid_test_cases/xee.cap"))


def test_xxe_attack_in_feed_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="XXE"):
        parse_cap(cap_bytes("invalid_test_cases/xee.atom"))


def test_xxe_file_read_attack_refused() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier>'
        b"</alert>"
    )
    with pytest.raises(UnsafeXmlError, match="XXE"):
        parse_cap(data)


def test_parameter_entity_attack_refused() -> None:
    data = b'<!DOCTYPE a [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]><a/>'
    with pytest.raises(UnsafeXmlError, match="XXE"):
        parse_xml(data)


def test_billion_laughs_refused() -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]><lolz>&lol9;</lolz>'
    ).encode()
    with pytest.raises(UnsafeXmlError, match="billion laughs"):
        parse_xml(data)


def test_quadratic_blowup_refused() -> None:
    big = "A" * 50_000
    data = f'<!DOCTYPE kaboom [<!ENTITY a "{big}">]><kaboom>{"&a;" * 1000}</kaboom>'.encode()
    with pytest.raises(UnsafeXmlError, match="entity declaration"):
        parse_xml(data)


def test_external_dtd_refused() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd"><alert/>'
    with pytest.raises(UnsafeXmlError, match="external DTD"):
        parse_xml(data)


def test_internal_doctype_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="DOCTYPE declaration"):
        parse_xml(b"<!DOCTYPE alert><alert/>")


def test_undeclared_entity_refused() -> None:
    data = ALERT.replace(b"<cap:sender>", b"<cap:sender>&xxe;", 1)
    with pytest.raises(FormatError, match="not well-formed.*xxe"):
        parse_cap(data)


def test_entity_declaration_outside_doctype_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="entity declaration"):
        parse_xml(b'<a><!ENTITY x "y"></a>')


def test_oversized_input_refused() -> None:
    data = ALERT.replace(b"</cap:alert>", b"<!--" + b"x" * (1024 * 1024) + b"--></cap:alert>")
    with pytest.raises(XmlLimitError, match=r"over the limit of 1048576 bytes"):
        parse_cap(data)


def test_oversized_limit_is_configurable() -> None:
    with pytest.raises(XmlLimitError, match="over the limit of 100 bytes"):
        parse_cap(ALERT, limits=XmlLimits(max_bytes=100))


def test_deep_nesting_attack_refused() -> None:
    data = b"<a>" * 40 + b"</a>" * 40
    with pytest.raises(XmlLimitError, match="nested deeper than 32"):
        parse_xml(data)


def test_element_flood_refused() -> None:
    data = b"<a>" + b"<b/>" * 60_000 + b"</a>"
    with pytest.raises(XmlLimitError, match="60001 elements, over the limit of 50000"):
        parse_xml(data)


def test_wrong_encoding_refused() -> None:
    data = b'<?xml version="1.0" encoding="UTF-8"?><alert>caf\xe9</alert>'
    with pytest.raises(
        UnsafeXmlError, match=r"wrong encoding: byte 48 \(0xe9\) is not valid UTF-8"
    ):
        parse_xml(data)


def test_utf7_encoding_refused() -> None:
    data = b'<?xml version="1.0" encoding="UTF-7"?><alert>+ADw-script+AD4-</alert>'
    with pytest.raises(UnsafeXmlError, match="encoding 'UTF-7' is not accepted"):
        parse_xml(data)


def test_utf32_encoding_refused() -> None:
    data = "<alert/>".encode("utf-32")
    with pytest.raises(UnsafeXmlError, match="UTF-32"):
        parse_xml(data)


def test_utf16_without_byte_order_mark_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><alert/>'.encode("utf-16-le")
    with pytest.raises(UnsafeXmlError, match="without a byte order mark"):
        parse_xml(data)


def test_encoding_contradicting_byte_order_mark_refused() -> None:
    data = b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?><alert/>'
    with pytest.raises(UnsafeXmlError, match="byte order mark"):
        parse_xml(data)


def test_utf16_with_byte_order_mark_accepted() -> None:
    text = ALERT.decode("utf-8").replace("UTF-8", "UTF-16").replace("utf-8", "UTF-16")
    alerts = parse_cap(text.encode("utf-16"))
    assert alerts[0].identifier == "AusBoM-IDN21033-2019-01-16T03:15:58+00:00"


def test_iso_8859_1_message_accepted() -> None:
    alerts = parse_cap(cap_bytes("real_1.2/usgs_earthquake_iso8859-1.cap"))
    assert alerts[0].sender.startswith("http://earthquake.usgs.gov")


def test_xinclude_is_not_processed() -> None:
    data = (
        b'<a xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/passwd" parse="text"/></a>'
    )
    root = parse_xml(data)
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"
    assert "root:" not in (root[0].text or "")


def test_not_well_formed_refused_with_line() -> None:
    with pytest.raises(FormatError, match="line 2"):
        parse_xml(b"<a>\n<b></a>")


def test_empty_and_non_bytes_input_refused() -> None:
    with pytest.raises(FormatError, match="empty"):
        parse_xml(b"   ")
    with pytest.raises(FormatError, match="expected bytes"):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_parser_itself_never_fetches_an_entity_or_dtd() -> None:
    # Defence in depth: even past the DOCTYPE refusal, the libxml2 parser fetches nothing.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    data = (
        f'<!DOCTYPE a SYSTEM "http://127.0.0.1:{port}/a.dtd" '
        f'[<!ENTITY e SYSTEM "http://127.0.0.1:{port}/e">]><a>&e;</a>'
    ).encode()
    try:
        with pytest.raises(etree.XMLSyntaxError, match="Attempt to load network entity"):
            etree.fromstring(data, _parser())
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


@pytest.mark.parametrize(
    "name, reason",
    [
        ("invalid_test_cases/bushfire_invalid.edxlde", "Missing child element(s)"),
        ("invalid_test_cases/canada_errors.cap", "must reference what it answers"),
        ("invalid_test_cases/empty_weather_index.atom", "<feed> is neither"),
        ("invalid_test_cases/invalid.cap", "Expected is one of ( source, scope )"),
        ("invalid_test_cases/invalid.rss", "<rss> is neither"),
        ("invalid_test_cases/invalid_element.atom", "<feed> is neither"),
        ("invalid_test_cases/invalid_xmlns.cap", "'urn:oasis:names:tc:emergency:alerts:1.2'"),
        ("invalid_test_cases/no_id.atom", "<feed> is neither"),
        ("invalid_test_cases/no_link.atom", "<feed> is neither"),
        ("invalid_test_cases/no_optional_fields.cap", "carries at least one info block"),
        ("invalid_test_cases/no_title.atom", "<feed> is neither"),
        ("invalid_test_cases/noaa_errors.cap", "not valid CAP 1.1"),
        ("invalid_test_cases/weather_invalid.atom", "<feed> is neither"),
        ("invalid_test_cases/wmo_capvalidator_sc_invalid_schema.xml", "<schema> is neither"),
        ("invalid_test_cases/xee.atom", "XXE"),
        ("invalid_test_cases/xee.cap", "XXE"),
    ],
)
def test_hostile_fixture_is_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(FormatError) as caught:
        from parley.formats.cap import cap_to_notification

        for alert in parse_cap(cap_bytes(name)):
            cap_to_notification(alert)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "invalid_test_cases/wmo_capvalidator_sc_invalid_certificate.xml",
        "invalid_test_cases/wmo_capvalidator_sc_invalid_digest.xml",
        "invalid_test_cases/wmo_capvalidator_sc_invalid_signature.xml",
        "invalid_test_cases/wmo_capvalidator_sc_no_signature.xml",
    ],
)
def test_tampered_signature_fixtures_parse_but_keep_their_xml(name: str) -> None:
    # Schema-valid alerts whose signature is broken: parsing keeps them; verification (see
    # test_xmldsig.py) is what refuses them.
    alert = parse_cap(cap_bytes(name))[0]
    assert alert.signed == ("no_signature" not in name)
