"""Verify the enveloped XML-DSig signature of a signed CAP alert (CAP 1.2 s3.3.2.1).

XML Signature Syntax and Processing (W3C, second edition) core validation, for the profile CAP
uses: one ``<Reference URI="">`` over the whole document with the ``enveloped-signature``
transform, then an optional canonicalization transform; ``<SignedInfo>`` canonicalized by its
``CanonicalizationMethod`` and signed with RSA (PKCS#1 v1.5), ECDSA or Ed25519.

Canonicalization comes from lxml (libxml2): exclusive C14N 1.0 directly; inclusive C14N 1.0 on a
rebuilt copy of the subtree carrying every namespace and ``xml:`` attribute in scope (libxml2's
own subtree mode emits stray ``xmlns=""``, seen on Environment Canada's NAADS signatures);
C14N 1.1 only where its output equals 1.0's, that is where no ``xml:id`` or ``xml:base``
attribute occurs. Anything else (XPath or XSLT transforms, other references) is refused as
unsupported, never skipped.

Trust comes from the key the caller configured (``public_key_pem``); ``<KeyInfo>`` is ignored.
SHA-1 signatures still verify (agencies use them) but are reported as ``weak``.
When several enveloped signatures sit side by side (NAADS adds its own to the agency's), each was
computed over the alert without any of them; such a signature verifies as ``parallel``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from lxml import etree

from parley.formats.cap_schema import DSIG_NS
from parley.formats.errors import FormatError, UnsupportedXmlSignatureError, XmlSignatureError
from parley.formats.xml_safety import XmlLimits, parse_xml

_DS = "{" + DSIG_NS + "}"
XML_NS = "http://www.w3.org/XML/1998/namespace"
C14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
WITH_COMMENTS = {C14N10 + "#WithComments", C14N11 + "#WithComments", EXC_C14N + "WithComments"}
C14N_METHODS = {C14N10, C14N11, EXC_C14N} | WITH_COMMENTS
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashlib.sha1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashlib.sha256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashlib.sha384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashlib.sha512,
}
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
SIGNATURE_METHODS: dict[str, tuple[str, hashes.HashAlgorithm | None]] = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("rsa", hashes.SHA1()),  # noqa: S303 - weak
    _MORE + "rsa-sha256": ("rsa", hashes.SHA256()),
    _MORE + "rsa-sha384": ("rsa", hashes.SHA384()),
    _MORE + "rsa-sha512": ("rsa", hashes.SHA512()),
    _MORE + "ecdsa-sha1": ("ecdsa", hashes.SHA1()),  # noqa: S303 - reported as weak
    _MORE + "ecdsa-sha256": ("ecdsa", hashes.SHA256()),
    _MORE + "ecdsa-sha384": ("ecdsa", hashes.SHA384()),
    _MORE + "ecdsa-sha512": ("ecdsa", hashes.SHA512()),
    "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519": ("ed25519", None),
}
WEAK = {
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    _MORE + "ecdsa-sha1",
}
_LIMITS = XmlLimits(max_bytes=4 * 1024 * 1024)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class XmlSignature:
    """An XML-DSig signature that verified with the configured key."""

    signature_method: str
    digest_method: str
    canonicalization: str
    signature_id: str | None
    weak: bool
    parallel: bool
    relaxed: bool = False


def load_public_key(pem: bytes | str) -> PublicKey:
    """A public key from PEM: a SubjectPublicKeyInfo or an X.509 certificate."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        if b"CERTIFICATE" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise XmlSignatureError(f"public key: not a PEM public key or certificate ({exc})") from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise XmlSignatureError(f"public key: {type(key).__name__} keys are not supported")
    return key


def verify_xml_signature(
    alert: Any, public_key_pem: bytes | str, *, ignore_blank_text: bool = False
) -> XmlSignature:
    """Verify a signed CAP alert (a ``CapAlert``, or the signed XML as bytes or text).

    Returns the signature that verified with the key; raises ``XmlSignatureError`` naming, for
    every signature present, why it did not.

    ``ignore_blank_text`` verifies the alert as the WMO ``capvalidator`` does: without the
    whitespace-only text between elements and without anything outside the ``<alert>`` (an
    alert signed compact and indented afterwards). Only layout is ignored, never content; the
    result says ``relaxed``.
    """
    document = _document_of(alert)
    key = load_public_key(public_key_pem)
    root = _parse(document)
    if ignore_blank_text:
        document = _without_blank_text(root)
        root = _parse(document)
    signatures = root.findall(_DS + "Signature")
    if not signatures:
        raise XmlSignatureError("the alert carries no enveloped XML-DSig <Signature>")
    reasons = []
    for index, signature in enumerate(signatures):
        label = signature.get("Id") or f"signature {index + 1}"
        try:
            result = _verify(document, index, len(signatures), signature, key)
            return replace(result, relaxed=ignore_blank_text)
        except UnsupportedXmlSignatureError as exc:
            reasons.append(f"{label}: unsupported: {exc}")
        except XmlSignatureError as exc:
            reasons.append(f"{label}: {exc.message}")
    raise XmlSignatureError("XML-DSig does not verify: " + "; ".join(reasons))


def _without_blank_text(root: etree._Element) -> bytes:
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    return bytes(etree.tostring(root, encoding="UTF-8"))


def _document_of(alert: Any) -> bytes:
    if isinstance(alert, str):
        return alert.encode("utf-8")
    if isinstance(alert, bytes):
        return alert
    document = getattr(alert, "document", None)
    if not isinstance(document, bytes):
        raise XmlSignatureError("the alert carries no XML-DSig signature")
    return document


def _parse(document: bytes) -> etree._Element:
    try:
        return parse_xml(document, limits=_LIMITS, what="signed CAP")
    except FormatError as exc:
        raise XmlSignatureError(exc.message) from exc


def _algorithm(parent: etree._Element | None, name: str) -> str:
    element = parent.find(_DS + name) if parent is not None else None
    if element is None or not element.get("Algorithm"):
        raise XmlSignatureError(f"<{name}> with an Algorithm is missing")
    return str(element.get("Algorithm"))


def _b64(element: etree._Element | None, name: str) -> bytes:
    if element is None or not (element.text or "").strip():
        raise XmlSignatureError(f"<{name}> is missing")
    text = "".join((element.text or "").split())
    try:
        value = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise XmlSignatureError(f"<{name}> is not base64") from exc
    if base64.b64encode(value).decode("ascii") != text:
        # Unused bits in the last character let two texts decode to the same octets.
        raise XmlSignatureError(f"<{name}> is not canonical base64 (non-zero padding bits)")
    return value


def _verify(
    document: bytes, index: int, count: int, signature: etree._Element, key: PublicKey
) -> XmlSignature:
    signed_info = signature.find(_DS + "SignedInfo")
    if signed_info is None:
        raise XmlSignatureError("<SignedInfo> is missing")
    c14n_method = _algorithm(signed_info, "CanonicalizationMethod")
    signature_method = _algorithm(signed_info, "SignatureMethod")
    references = signed_info.findall(_DS + "Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        raise UnsupportedXmlSignatureError(
            'only one Reference with URI="" (the whole alert) is supported'
        )
    reference = references[0]
    transforms = reference.find(_DS + "Transforms")
    algorithms = [str(t.get("Algorithm")) for t in (transforms if transforms is not None else [])]
    if not algorithms or algorithms[0] != ENVELOPED:
        raise UnsupportedXmlSignatureError("the first transform must be enveloped-signature")
    if len(algorithms) > 2 or any(a not in C14N_METHODS for a in algorithms[1:]):
        raise UnsupportedXmlSignatureError(
            f"transforms {algorithms[1:]} (only one canonicalization may follow)"
        )
    digest_method = _algorithm(reference, "DigestMethod")
    if digest_method not in DIGESTS:
        raise UnsupportedXmlSignatureError(f"digest method {digest_method}")
    if c14n_method not in C14N_METHODS:
        raise UnsupportedXmlSignatureError(f"canonicalization {c14n_method}")
    if signature_method not in SIGNATURE_METHODS:
        raise UnsupportedXmlSignatureError(f"signature method {signature_method}")
    expected = _b64(reference.find(_DS + "DigestValue"), "DigestValue")
    transform = algorithms[1] if len(algorithms) == 2 else C14N10
    parallel = False
    if _digest(document, index, transform, digest_method, only=True) != expected:
        if count == 1 or _digest(document, index, transform, digest_method, only=False) != expected:
            raise XmlSignatureError("digest mismatch: the alert was changed after signing")
        parallel = True
    value = _b64(signature.find(_DS + "SignatureValue"), "SignatureValue")
    _check_value(key, signature_method, value, _canonical_subtree(signed_info, c14n_method))
    return XmlSignature(
        signature_method=signature_method,
        digest_method=digest_method,
        canonicalization=c14n_method,
        signature_id=signature.get("Id"),
        weak=bool({signature_method, digest_method} & WEAK),
        parallel=parallel,
    )


def _digest(document: bytes, index: int, transform: str, method: str, *, only: bool) -> bytes:
    """Digest of the document without this enveloped signature (``only``) or without all."""
    root = _parse(document)
    signatures = root.findall(_DS + "Signature")
    for position, signature in enumerate(signatures):
        if only and position != index:
            continue
        _remove_keeping_tail(signature)
    tree = root.getroottree()
    _check_c14n11(root, transform)
    exclusive = transform.startswith(EXC_C14N)
    # URI="" selects the document without comments (XML-DSig s4.4.3.2), whatever follows.
    data = etree.tostring(tree, method="c14n", exclusive=exclusive, with_comments=False)
    digest: bytes = DIGESTS[method](data).digest()
    return digest


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:  # pragma: no cover - a Signature child always has its alert
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _check_c14n11(root: etree._Element, method: str) -> None:
    if method.startswith(C14N11) and root.xpath("boolean(//@xml:id | //@xml:base)"):
        raise UnsupportedXmlSignatureError("C14N 1.1 with xml:id or xml:base attributes")


def _canonical_subtree(element: etree._Element, method: str) -> bytes:
    comments = method in WITH_COMMENTS
    if method.startswith(EXC_C14N):
        prefixes = None
        method_element = element.find(_DS + "CanonicalizationMethod")
        for child in method_element if method_element is not None else []:
            if str(child.tag).endswith("}InclusiveNamespaces"):
                prefixes = (child.get("PrefixList") or "").split()
        canonical = etree.tostring(
            element,
            method="c14n",
            exclusive=True,
            with_comments=comments,
            inclusive_ns_prefixes=prefixes,
        )
        return bytes(canonical)
    _check_c14n11(element.getroottree().getroot(), method)
    # Inclusive C14N of a document subset: the apex carries every namespace in scope and the
    # xml: attributes it inherits (C14N 1.0 s2.4). Rebuild it as a document of its own.
    attributes: dict[str, str] = {str(k): str(v) for k, v in element.attrib.items()}
    for ancestor in element.iterancestors():
        for name, value in ancestor.attrib.items():
            if str(name).startswith("{" + XML_NS + "}") and str(name) not in attributes:
                attributes[str(name)] = str(value)
    apex = etree.Element(element.tag, attrib=attributes, nsmap=element.nsmap)  # type: ignore[arg-type]
    apex.text = element.text
    for child in element:
        apex.append(copy.deepcopy(child))
    return bytes(etree.tostring(etree.ElementTree(apex), method="c14n", with_comments=comments))


def _check_value(key: PublicKey, method: str, value: bytes, data: bytes) -> None:
    family, algorithm = SIGNATURE_METHODS[method]
    try:
        if family == "rsa" and isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(value, data, padding.PKCS1v15(), algorithm)
        elif family == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey) and algorithm:
            half = len(value) // 2
            if len(value) % 2 or half == 0:
                raise XmlSignatureError("SignatureValue is not an ECDSA r||s pair")
            der = utils.encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            key.verify(der, data, ec.ECDSA(algorithm))
        elif family == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(value, data)
        else:
            raise XmlSignatureError(
                f"the configured {type(key).__name__} does not fit signature method {method}"
            )
    except InvalidSignature as exc:
        raise XmlSignatureError("signature value does not verify with the configured key") from exc
