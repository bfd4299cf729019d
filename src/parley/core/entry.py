"""The entry: a signed header (the Merkle leaf) and a salted body (DESIGN.md, The entry).

The header is a JSON object canonicalised by RFC 8785. It is signed by the author's ``log`` key
over ``DOMAIN_HEADER || JCS(header without sig)``; the leaf of the log is ``JCS(header with sig)``.
The body travels separately, only to the audience; ``body_hash = SHA-256(salt || JCS(body))``
with a fresh 32-byte salt, so nobody outside the audience can confirm a guessed body, and a body
can later be erased while the log still verifies.

Invariants kept here: a header that parses is well-formed, coherent (audience against TLP, system
kinds ALL+CLEAR), within the size limit, and in canonical form; a signature that verifies binds
every field including network, policy and status.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from parley.core.canonical import MAX_SAFE_INTEGER, canonical_bytes, parse_canonical
from parley.core.errors import InvalidEntryError, LimitExceededError, VerificationError
from parley.core.keys import DOMAIN_HEADER, PublicKey, SigningKey, b64, kid_of, unb64

PROTOCOL_VERSION = 1
SALT_SIZE = 32
HEADER_MAX_BYTES = 4096
BODY_MAX_BYTES = 16 * 1024 * 1024

KINDS = (
    "notification",
    "receipt",
    "hotline",
    "inquiry",
    "reply",
    "check",
    "assistance",
    "roadmap",
    "key",
    "policy",
    "evidence",
    "observation",
)
SYSTEM_KINDS = frozenset({"receipt", "key", "policy", "evidence", "observation"})
PUBLIC_KINDS = frozenset({"key", "policy", "evidence"})
ADDRESSED_KINDS = frozenset(
    {"notification", "hotline", "inquiry", "reply", "check", "assistance", "roadmap"}
)
STATUSES = ("Actual", "Exercise", "Test", "Draft")
TLP_LABELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
ALL = "ALL"

PARTY_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
NETWORK_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
KID_RE = re.compile(r"^[0-9a-f]{16}$")
REF_RE = re.compile(r"^([A-Z][A-Z0-9]{1,7}):(0|[1-9][0-9]{0,15})$")
KIND_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")

HEADER_FIELDS = (
    "v",
    "network",
    "policy",
    "party",
    "node",
    "seq",
    "time",
    "kind",
    "status",
    "audience",
    "tlp",
    "body_hash",
    "body_size",
    "kid",
    "sig",
)

Audience = str | tuple[str, ...]


def check_party(code: str, *, what: str = "party") -> str:
    """Return ``code`` if it is a party code (not ``ALL``), else raise naming ``what``."""
    # fullmatch: with match, "$" would also accept a trailing newline ("JP\n").
    if not isinstance(code, str) or not PARTY_RE.fullmatch(code) or code == ALL:
        raise InvalidEntryError(
            f"{what}: {code!r} is not a party code",
            hint="2-8 capital letters and digits, starting with a letter (e.g. JP); not ALL",
        )
    return code


def check_network(network: str) -> str:
    """Return ``network`` if it is a network id as headers carry it, else raise."""
    if not isinstance(network, str) or not NETWORK_RE.fullmatch(network):
        raise InvalidEntryError(
            f"network: {network!r} is not a network id",
            hint="lower-case letters, digits, '.' and '-', at most 63 characters",
        )
    return network


def format_ref(party: str, seq: int) -> str:
    """The ``PARTY:SEQ`` name of the entry at ``seq`` in ``party``'s log."""
    return f"{party}:{seq}"


def parse_ref(text: str) -> tuple[str, int]:
    """Parse ``PARTY:SEQ``, the name of an entry everywhere in Parley."""
    match = REF_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidEntryError(f"reference {text!r} is not of the form PARTY:SEQ (e.g. JP:42)")
    return match.group(1), int(match.group(2))


def resolve_sharing(kind: str, audience: Audience | None, tlp: str | None) -> tuple[Audience, str]:
    """Apply the audience/TLP defaults of DESIGN.md and refuse incoherent pairs.

    System kinds key, policy and evidence are always ALL + CLEAR. Without a TLP: GREEN for ALL,
    AMBER for a named audience; never CLEAR by default.
    """
    if kind in PUBLIC_KINDS:
        if audience not in (None, ALL) or tlp not in (None, "CLEAR"):
            raise InvalidEntryError(f"{kind} entries are always audience ALL with TLP:CLEAR")
        return ALL, "CLEAR"
    resolved = normalise_audience(ALL if audience is None else audience)
    if tlp is None:
        tlp = "GREEN" if resolved == ALL else "AMBER"
    if tlp not in TLP_LABELS:
        raise InvalidEntryError(f"tlp: {tlp!r} is not a TLP 2.0 label {list(TLP_LABELS)}")
    if tlp == "CLEAR" and resolved != ALL:
        raise InvalidEntryError("tlp: TLP:CLEAR cannot go to a named audience; use ALL")
    if tlp == "RED" and resolved == ALL:
        raise InvalidEntryError("tlp: TLP:RED needs a named audience, not ALL")
    return resolved, tlp


def normalise_audience(audience: Audience | list[str]) -> Audience:
    """``ALL``, or the sorted tuple of distinct party codes a comma list or sequence names."""
    if audience == ALL:
        return ALL
    if isinstance(audience, str):
        audience = tuple(part.strip() for part in audience.split(",") if part.strip())
    parties = tuple(sorted({check_party(p, what="audience") for p in audience}))
    if not parties:
        raise InvalidEntryError("audience: empty; name at least one party or ALL")
    return parties


def readable_by(reader: str | None, *, author: str, audience: Audience, tlp: str) -> bool:
    """Whether ``reader`` may read the body of an entry by ``author`` (DESIGN.md invariant 4).

    ``reader`` is an authenticated party, or None for an unauthenticated caller. Anyone reads
    ALL + CLEAR; otherwise only a party: the author, or any party for ALL, or one named in the
    audience. The one rule for a parsed header (``Header.readable_by``) and a stored row
    (``parley.node.federation.items.readable``).
    """
    if audience == ALL and tlp == "CLEAR":
        return True
    if reader is None:
        return False
    return reader == author or audience == ALL or reader in audience


def body_hash(salt: bytes, body_bytes: bytes) -> bytes:
    """``SHA-256(salt || body_bytes)``, the ``body_hash`` a header commits to (protocol §4.1)."""
    return hashlib.sha256(salt + body_bytes).digest()


@dataclass(frozen=True)
class Body:
    """A body in canonical bytes with its salt."""

    salt: bytes
    data: bytes

    @classmethod
    def seal(cls, value: Any, salt: bytes, *, limit: int = BODY_MAX_BYTES) -> Body:
        """Canonicalise ``value`` (RFC 8785) with ``salt``, refusing a body over ``limit`` bytes."""
        if len(salt) != SALT_SIZE:
            raise InvalidEntryError(f"salt must be {SALT_SIZE} bytes")
        data = canonical_bytes(value)
        if len(data) > limit:
            raise LimitExceededError(f"body is {len(data)} bytes, over the limit of {limit}")
        return cls(salt, data)

    @property
    def digest(self) -> bytes:
        """The salted hash of this body, to compare with a header's ``body_hash``."""
        return body_hash(self.salt, self.data)

    def value(self) -> Any:
        """The body's JSON value, parsed back from its canonical bytes."""
        return parse_canonical(self.data, what="body")


@dataclass(frozen=True)
class Header:
    """A signed entry header. ``leaf`` holds its exact canonical bytes (the Merkle leaf input)."""

    network: str
    policy: str
    party: str
    node: str
    seq: int
    time: int
    kind: str
    status: str
    audience: Audience
    tlp: str
    body_hash: str
    body_size: int
    kid: str
    sig: str
    v: int = PROTOCOL_VERSION
    leaf: bytes = field(default=b"", compare=False, repr=False)

    @property
    def ref(self) -> str:
        """``PARTY:SEQ``, the name of this entry."""
        return format_ref(self.party, self.seq)

    def unsigned_dict(self) -> dict[str, Any]:
        """The header's fields without ``sig``: the JSON object whose canonical form is signed."""
        audience: Any = self.audience if self.audience == ALL else list(self.audience)
        return {
            "v": self.v,
            "network": self.network,
            "policy": self.policy,
            "party": self.party,
            "node": self.node,
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "status": self.status,
            "audience": audience,
            "tlp": self.tlp,
            "body_hash": self.body_hash,
            "body_size": self.body_size,
            "kid": self.kid,
        }

    def to_dict(self) -> dict[str, Any]:
        """The header as JSON, signature included: the object whose canonical form is the leaf."""
        doc = self.unsigned_dict()
        doc["sig"] = self.sig
        return doc

    def signing_bytes(self) -> bytes:
        """``DOMAIN_HEADER || JCS(header without sig)``, the bytes the ``log`` key signs."""
        # parse_header keeps the unsigned form it read from the leaf (an instance attribute, so
        # dataclasses.replace never carries it over to changed fields).
        unsigned = self.__dict__.get("_unsigned")
        if unsigned is None:
            unsigned = canonical_bytes(self.unsigned_dict())
        return DOMAIN_HEADER + unsigned

    def readable_by(self, party: str | None) -> bool:
        """Whether ``party`` (None: an unauthenticated caller) may read this entry's body."""
        return readable_by(party, author=self.party, audience=self.audience, tlp=self.tlp)

    def verify_signature(self, log_key: PublicKey) -> None:
        """As ``log_key.verify``, with the key's id and OpenSSL object made once per key."""
        kid, public = _log_key(log_key.raw)
        if kid != self.kid:
            raise InvalidEntryError(f"{self.ref}: signed by key {self.kid}, expected {kid}")
        signature = unb64(self.sig, what="sig", size=64)
        try:
            public.verify(signature, self.signing_bytes())
        except (InvalidSignature, ValueError) as exc:
            raise VerificationError(f"{self.ref}: signature does not verify (key {kid})") from exc

    def check_body(self, body: Body) -> None:
        """Raise ``VerificationError`` unless ``body`` has this header's ``body_size`` and hash."""
        if len(body.data) != self.body_size:
            raise VerificationError(
                f"{self.ref}: body is {len(body.data)} bytes, header says {self.body_size}"
            )
        if body.digest.hex() != self.body_hash:
            raise VerificationError(f"{self.ref}: body does not match its body_hash")


def sign_header(
    *,
    network: str,
    policy: str,
    party: str,
    node: str,
    seq: int,
    time: int,
    kind: str,
    status: str,
    audience: Audience,
    tlp: str,
    body: Body,
    log_key: SigningKey,
    header_limit: int = HEADER_MAX_BYTES,
) -> Header:
    """Build, check and sign a header. The caller resolves sharing and assigns seq and time."""
    fields: dict[str, Any] = {
        "network": network,
        "policy": policy,
        "party": party,
        "node": node,
        "seq": seq,
        "time": time,
        "kind": kind,
        "status": status,
        "audience": audience,
        "tlp": tlp,
        "body_hash": body.digest.hex(),
        "body_size": len(body.data),
        "kid": log_key.kid,
    }
    unsigned = Header(**fields, sig="")
    _check_fields(unsigned)
    for name in ("seq", "time", "body_size"):
        if fields[name] > MAX_SAFE_INTEGER:
            raise InvalidEntryError(f"header {party}:{seq}: {name} is over 2^53 - 1")
    # Every field is now an ASCII string of its pattern, a known label, a party list or an
    # integer within +/-(2^53-1): in the subset, where the sorted-key encoder is RFC 8785.
    unsigned_bytes = orjson.dumps(unsigned.unsigned_dict(), option=orjson.OPT_SORT_KEYS)
    sig = b64(log_key.sign(DOMAIN_HEADER, unsigned_bytes))
    header = Header(**fields, sig=sig)
    leaf = orjson.dumps(header.to_dict(), option=orjson.OPT_SORT_KEYS)
    if len(leaf) > header_limit:
        raise LimitExceededError(f"header is {len(leaf)} bytes, over the limit of {header_limit}")
    object.__setattr__(header, "leaf", leaf)
    object.__setattr__(header, "_unsigned", unsigned_bytes)
    return header


def parse_header(leaf: bytes, *, header_limit: int = HEADER_MAX_BYTES) -> Header:
    """Parse a leaf's exact bytes into a well-formed header (signature not yet checked)."""
    if len(leaf) > header_limit:
        raise LimitExceededError(f"header is {len(leaf)} bytes, over the limit of {header_limit}")
    doc = parse_canonical(leaf, what="header")
    if not isinstance(doc, dict):
        raise InvalidEntryError("header: must be a JSON object")
    if len(doc) != len(HEADER_FIELDS) or not _FIELD_SET.issuperset(doc):
        missing = [name for name in HEADER_FIELDS if name not in doc]
        extra = sorted(set(doc) - _FIELD_SET)
        raise InvalidEntryError(f"header: missing fields {missing}, unknown fields {extra}")
    values = dict(doc)
    if isinstance(values["audience"], list):
        values["audience"] = tuple(values["audience"])
    header = Header(**values)
    object.__setattr__(header, "leaf", leaf)
    _check_fields(header)
    # The leaf is canonical and in the subset, so the encoder alone gives the unsigned form.
    del doc["sig"]
    object.__setattr__(header, "_unsigned", orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
    return header


_FIELD_SET = frozenset(HEADER_FIELDS)


@functools.lru_cache(maxsize=64)
def _log_key(raw: bytes) -> tuple[str, Ed25519PublicKey]:
    """A log key's id and OpenSSL key object: the same few keys sign every header of a log."""
    return kid_of(raw), Ed25519PublicKey.from_public_bytes(raw)


def _check_fields(h: Header) -> None:
    where = f"header {h.party}:{h.seq}" if isinstance(h.seq, int) else "header"
    if type(h.v) is not int or h.v != PROTOCOL_VERSION:
        raise InvalidEntryError(f"{where}: protocol version {h.v!r} is not supported")
    check_network(h.network)
    check_party(h.party)
    for name, value, pattern in (
        ("policy", h.policy, HEX64_RE),
        ("body_hash", h.body_hash, HEX64_RE),
        ("node", h.node, KID_RE),
        ("kid", h.kid, KID_RE),
    ):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise InvalidEntryError(f"{where}: {name} is malformed")
    for name, number in (("seq", h.seq), ("time", h.time), ("body_size", h.body_size)):
        if type(number) is not int or number < 0:
            raise InvalidEntryError(f"{where}: {name} must be a non-negative integer")
    if not isinstance(h.kind, str) or not KIND_RE.fullmatch(h.kind):
        raise InvalidEntryError(f"{where}: kind {h.kind!r} is malformed")
    if h.status not in STATUSES:
        raise InvalidEntryError(f"{where}: status {h.status!r} is not one of {list(STATUSES)}")
    if h.audience != ALL:
        if (
            not isinstance(h.audience, tuple)
            or not all(isinstance(party, str) for party in h.audience)
            or list(h.audience) != sorted(set(h.audience))
        ):
            raise InvalidEntryError(f"{where}: audience must be ALL or a sorted list of parties")
        if not h.audience:
            raise InvalidEntryError(f"{where}: audience is empty")
        _check_audience(h.audience)
    # Check the label first: resolve_sharing would fill in a default for a missing (null) tlp.
    # Coherence rules hold for every kind, unknown (future) kinds included.
    if h.tlp not in TLP_LABELS:
        raise InvalidEntryError(f"{where}: tlp {h.tlp!r} is not a TLP 2.0 label")
    _check_sharing(h.kind, h.audience, h.tlp)
    if not isinstance(h.sig, str):
        raise InvalidEntryError(f"{where}: sig is malformed")


# A log repeats a few audiences and (kind, audience, tlp) combinations: remember those that
# passed (a failure raises, and is never cached).
@functools.lru_cache(maxsize=1024)
def _check_audience(audience: tuple[str, ...]) -> None:
    for party in audience:
        check_party(party, what="audience")


@functools.lru_cache(maxsize=1024)
def _check_sharing(kind: str, audience: Audience, tlp: str) -> None:
    resolve_sharing(kind, audience, tlp)
