"""Ed25519 keys, key ids, domain-separated signatures and key statements (DESIGN.md, Keys).

A node has one identity key and three purpose keys certified by it: ``log`` (entry headers and
checkpoints), ``witness`` (cosignatures) and ``http`` (RFC 9421 requests). Parley's own signed
objects are signed over ``DOMAIN || message`` with a distinct domain per object type, so a
signature made for one purpose can never be replayed as another. Formats fixed by others (C2SP
notes, RFC 9421) cannot take a prefix; separate keys keep them apart.

A key statement is the body of a ``key`` entry. It names the identity key, the purpose keys,
and commits to SHA-256 of the *next* identity key (pre-rotation). It is signed by the identity
key, and on an identity rotation also by the previous identity key; the new identity key must
hash to the commitment of the statement before it. It names the seq at which it stands in its
log, so an old statement cannot be replayed later to bring a retired key back.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from parley.core.canonical import canonical_bytes
from parley.core.errors import InvalidEntryError, VerificationError

PURPOSES = ("log", "witness", "http")
_HEX64 = re.compile(r"[0-9a-f]{64}")

DOMAIN_HEADER = b"parley/v1/header\x00"
DOMAIN_KEY_STATEMENT = b"parley/v1/key-statement\x00"
DOMAIN_POLICY = b"parley/v1/policy\x00"
DOMAIN_WEBHOOK = b"parley/v1/webhook\x00"
DOMAIN_EXPORT = b"parley/v1/export\x00"


def b64(data: bytes) -> str:
    """Standard padded base64, the encoding of keys and signatures in Parley's JSON."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, *, what: str, size: int | None = None) -> bytes:
    """Decode strict, canonical standard base64, optionally insisting on a byte length.

    Canonical: unused trailing bits must be zero, so the same bytes have one text form (a
    signature re-encoded with other spare bits would otherwise give a header a new leaf hash).
    """
    if not isinstance(text, str):
        raise InvalidEntryError(f"{what}: not valid base64")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidEntryError(f"{what}: not valid base64") from exc
    if b64(data) != text:
        raise InvalidEntryError(f"{what}: not canonical base64")
    if size is not None and len(data) != size:
        raise InvalidEntryError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def kid_of(public_raw: bytes) -> str:
    """Key id: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def fingerprint(public_raw: bytes) -> str:
    """Full SHA-256 of a public key in groups of four, for comparison out of band."""
    digest = hashlib.sha256(public_raw).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 64, 4))


def commitment(public_raw: bytes) -> str:
    """The pre-rotation commitment to a future identity key: hex SHA-256 of its raw bytes."""
    return hashlib.sha256(public_raw).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its key id."""

    raw: bytes

    @property
    def kid(self) -> str:
        """Key id: the first 16 hex digits of SHA-256 of the raw key."""
        return kid_of(self.raw)

    @property
    def b64(self) -> str:
        """The raw key in standard base64, as key statements and policies carry it."""
        return b64(self.raw)

    @classmethod
    def from_b64(cls, text: str, *, what: str = "public key") -> PublicKey:
        """Read a base64 Ed25519 public key (32 bytes), naming ``what`` if it is malformed."""
        return cls(unb64(text, what=what, size=32))

    def verify(self, domain: bytes, message: bytes, signature: bytes, *, what: str) -> None:
        """Raise ``VerificationError`` unless ``signature`` is valid over ``domain||message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, domain + message)
        except (InvalidSignature, ValueError) as exc:
            raise VerificationError(f"{what}: signature does not verify (key {self.kid})") from exc


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key held in memory; files are the node layer's business."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random Ed25519 key."""
        return cls(Ed25519PrivateKey.generate())

    @functools.cached_property
    def public(self) -> PublicKey:
        """The public half (derived once: every signed header names its key id)."""
        from cryptography.hazmat.primitives import serialization

        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PublicKey(raw)

    @functools.cached_property
    def kid(self) -> str:
        """Key id of the public half, as headers name it."""
        return self.public.kid

    def sign(self, domain: bytes, message: bytes) -> bytes:
        """Sign ``domain || message``, so the signature serves only that purpose."""
        return self.private.sign(domain + message)

    def sign_raw(self, message: bytes) -> bytes:
        """Sign without a Parley domain: only for formats fixed elsewhere (C2SP, RFC 9421)."""
        return self.private.sign(message)


@dataclass(frozen=True)
class KeyStatement:
    """The identity and purpose keys of a node from a given log position on."""

    party: str
    seq: int
    identity: PublicKey
    purposes: dict[str, PublicKey]
    next_identity: str
    previous_identity: PublicKey | None = None

    def unsigned_dict(self) -> dict[str, Any]:
        """The statement without signatures: the JSON object whose canonical form is signed."""
        doc: dict[str, Any] = {
            "party": self.party,
            "seq": self.seq,
            "identity": self.identity.b64,
            "keys": {name: key.b64 for name, key in sorted(self.purposes.items())},
            "next_identity": self.next_identity,
        }
        if self.previous_identity is not None:
            doc["previous_identity"] = self.previous_identity.b64
        return doc

    def signed_body(
        self, identity_key: SigningKey, previous_key: SigningKey | None = None
    ) -> dict[str, Any]:
        """Return the ``key`` entry body, signed by the identity (and previous identity) key."""
        unsigned = self.unsigned_dict()
        message = canonical_bytes(unsigned)
        body = dict(unsigned)
        body["identity_sig"] = b64(identity_key.sign(DOMAIN_KEY_STATEMENT, message))
        if self.previous_identity is not None:
            if previous_key is None or previous_key.public != self.previous_identity:
                raise InvalidEntryError("an identity rotation must be signed by the previous key")
            body["previous_sig"] = b64(previous_key.sign(DOMAIN_KEY_STATEMENT, message))
        return body

    @classmethod
    def from_body(cls, body: Any) -> KeyStatement:
        """Parse a key statement and check its own signatures (not its place in a log)."""
        if not isinstance(body, dict):
            raise InvalidEntryError("key statement: body must be an object")
        allowed = {"party", "seq", "identity", "keys", "next_identity", "previous_identity"}
        allowed |= {"identity_sig", "previous_sig"}
        unknown = set(body) - allowed
        if unknown:
            raise InvalidEntryError(f"key statement: unknown fields {sorted(unknown)}")
        try:
            party, identity_text, seq = body["party"], body["identity"], body["seq"]
            keys, next_identity = body["keys"], body["next_identity"]
            identity_sig = body["identity_sig"]
        except KeyError as exc:
            raise InvalidEntryError(f"key statement: missing field {exc.args[0]}") from exc
        if not isinstance(keys, dict) or sorted(keys) != sorted(PURPOSES):
            raise InvalidEntryError(f"key statement: keys must name exactly {list(PURPOSES)}")
        if not isinstance(next_identity, str) or not _HEX64.fullmatch(next_identity):
            raise InvalidEntryError("key statement: next_identity must be 64 hex digits")
        if type(seq) is not int or seq < 0:
            raise InvalidEntryError("key statement: seq must be a non-negative integer")
        previous = body.get("previous_identity")
        statement = cls(
            party=str(party),
            seq=seq,
            identity=PublicKey.from_b64(identity_text, what="key statement identity"),
            purposes={
                name: PublicKey.from_b64(text, what=f"key statement {name} key")
                for name, text in keys.items()
            },
            next_identity=next_identity,
            previous_identity=(
                None if previous is None else PublicKey.from_b64(previous, what="previous identity")
            ),
        )
        message = canonical_bytes(statement.unsigned_dict())
        statement.identity.verify(
            DOMAIN_KEY_STATEMENT,
            message,
            unb64(identity_sig, what="identity_sig", size=64),
            what="key statement identity signature",
        )
        if statement.previous_identity is not None:
            previous_sig = body.get("previous_sig")
            if not isinstance(previous_sig, str):
                raise InvalidEntryError("key statement: rotation lacks previous_sig")
            statement.previous_identity.verify(
                DOMAIN_KEY_STATEMENT,
                message,
                unb64(previous_sig, what="previous_sig", size=64),
                what="key statement previous-identity signature",
            )
        return statement

    def identity_rotation(
        self, seq: int, new_identity: PublicKey, next_identity: str
    ) -> KeyStatement:
        """The statement at ``seq`` that hands this identity over to ``new_identity``.

        Purpose keys stay as they are; the statement commits to ``next_identity`` (hex SHA-256 of
        a fresh next key) and must be signed by both identity keys (``signed_body``). Refused
        unless ``new_identity`` is the key this statement committed to.
        """
        successor = replace(
            self,
            seq=seq,
            identity=new_identity,
            next_identity=next_identity,
            previous_identity=self.identity,
        )
        successor.check_follows(self)
        return successor

    def purpose_rotation(self, seq: int, purpose: str, key: PublicKey) -> KeyStatement:
        """The statement at ``seq`` that certifies ``key`` as this identity's ``purpose`` key."""
        if purpose not in PURPOSES:
            raise InvalidEntryError(
                f"unknown key purpose {purpose!r}", hint=f"one of {', '.join(PURPOSES)}"
            )
        successor = replace(
            self, seq=seq, purposes={**self.purposes, purpose: key}, previous_identity=None
        )
        successor.check_follows(self)
        return successor

    def check_follows(self, previous: KeyStatement) -> None:
        """Check that this statement may follow ``previous`` in the same log."""
        if self.party != previous.party:
            raise VerificationError("key statement: party changed within a log")
        if self.identity == previous.identity:
            if self.previous_identity is not None:
                raise VerificationError("key statement: previous_identity without a rotation")
            if self.next_identity != previous.next_identity:
                raise VerificationError(
                    "key statement: only an identity rotation may change the next-key commitment"
                )
            return
        if self.previous_identity != previous.identity:
            raise VerificationError("key statement: rotation not signed by the current identity")
        if commitment(self.identity.raw) != previous.next_identity:
            raise VerificationError(
                "key statement: new identity key does not match the committed next-key hash",
                hint="use the next identity key written by 'parley init' or the last rotation",
            )
