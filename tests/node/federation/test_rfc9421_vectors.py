"""RFC 9421 Appendix B vectors: the Ed25519 test key (B.1.4) and the signed request (B.2.6).

Source: RFC 9421, HTTP Message Signatures, Appendix B.1.4 "Example Ed25519 Test Key" and B.2.6
"Signing a Request Using ed25519", copied here (see tests/SOURCES.md). Parley signs and checks
its federation requests with the same algorithm through the same library
(``parley.node.federation.http_signatures``): Ed25519 is deterministic (RFC 8032), so the published signature must
come out byte for byte, and the verifier Parley uses must accept the published message.
"""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from parley.node.federation.http_signatures import IncomingRequest, _Keys

B14_PRIVATE = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    b"-----END PRIVATE KEY-----\n"
)
B14_PUBLIC = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
    b"-----END PUBLIC KEY-----\n"
)
B26_PARAMS = (
    '("date" "@method" "@path" "@authority" "content-type" "content-length");'
    'created=1618884473;keyid="test-key-ed25519"'
)
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    f'"@signature-params": {B26_PARAMS}'
)
B26_SIGNATURE = (
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)


def b26_request(signature: str = B26_SIGNATURE) -> IncomingRequest:
    return IncomingRequest(
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        {
            "host": "example.com",
            "date": "Tue, 20 Apr 2021 02:07:55 GMT",
            "content-type": "application/json",
            "content-length": "18",
            "signature-input": f"sig-b26={B26_PARAMS}",
            "signature": f"sig-b26=:{signature}:",
        },
    )


def verifier() -> HTTPMessageVerifier:
    public = load_pem_public_key(B14_PUBLIC)
    assert isinstance(public, Ed25519PublicKey)
    return HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys({}, {"test-key-ed25519": public})
    )


def test_the_b14_key_signs_the_b26_signature_base_into_the_published_signature() -> None:
    private = load_pem_private_key(B14_PRIVATE, password=None)
    assert base64.b64encode(private.sign(B26_BASE.encode())).decode() == B26_SIGNATURE  # type: ignore[union-attr, call-arg]


def test_the_verifier_parley_uses_accepts_the_published_b26_request() -> None:
    # B.2.6 covers no Content-Digest, so only the covered components are checked (Parley's own
    # requests cover content-digest whenever there is a body, protocol s8.1).
    (result,) = verifier().verify(b26_request(), max_age=dt.timedelta(days=365 * 100))
    assert result.parameters["keyid"] == "test-key-ed25519"


def test_the_b26_request_with_one_signature_bit_flipped_is_refused() -> None:
    raw = bytearray(base64.b64decode(B26_SIGNATURE))
    raw[0] ^= 1
    with pytest.raises(HTTPMessageSignaturesException):
        verifier().verify(
            b26_request(base64.b64encode(bytes(raw)).decode()), max_age=dt.timedelta(days=365 * 100)
        )
