"""The network policy: the signed agreement that sets a Parley network up (DESIGN.md, policy).

A policy document names the network, its members and their identity keys, deadline defaults
and bounds per category, which categories need a human acknowledgement, quotas, size limits,
the witness quorum k and regime rules. Its hash ``SHA-256(DOMAIN_POLICY || JCS(document))`` is
in every header, so traffic of one network can never be replayed into another, and every node
judges by the same rules. It takes effect only when every member has signed it with its
identity key; a change is a new document signed by all.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parley.core.canonical import canonical_bytes
from parley.core.entry import NETWORK_RE, PARTY_RE
from parley.core.errors import PolicyError, VerificationError
from parley.core.keys import DOMAIN_POLICY, PublicKey, SigningKey, b64, unb64

MS = int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Member(_Strict):
    """A party of the network and the identity key it signs policies with."""

    party: str = Field(pattern=PARTY_RE.pattern)
    name: str = Field(min_length=1, max_length=200)
    identity: str = Field(min_length=44, max_length=44)

    @property
    def identity_key(self) -> PublicKey:
        """The member's identity key, decoded from the document."""
        return PublicKey.from_b64(self.identity, what=f"member {self.party} identity")


class Bound(_Strict):
    """Bounds of one deadline in ms: the default a sender uses and the range a receiver accepts."""

    default: MS = Field(ge=0)
    min: MS = Field(ge=0)
    max: MS = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if not self.min <= self.default <= self.max:
            raise ValueError("bounds must satisfy min <= default <= max")
        return self


class Deadline(_Strict):
    """The delivered and acknowledged bounds of one deadline class (protocol §5, §11)."""

    delivered_within: Bound
    acknowledged_within: Bound


class Quotas(_Strict):
    """Per-peer rate limits a node enforces on what it ingests, per minute."""

    entries_per_minute: int = Field(ge=1)
    bytes_per_minute: int = Field(ge=1)
    addressed_per_minute: int = Field(ge=1)


class Limits(_Strict):
    """Size limits of a header and of a body, in bytes."""

    header_bytes: int = Field(ge=512, le=65536)
    body_bytes: int = Field(ge=1024, le=1024**3)


class ExternalWitness(_Strict):
    """An external C2SP witness whose cosignatures count toward the quorum: name and vkey."""

    name: str = Field(min_length=1, max_length=200)
    vkey: str = Field(min_length=1, max_length=400)


class PolicyDocument(_Strict):
    """The unsigned policy document; its canonical bytes are what members sign."""

    v: int = Field(ge=1, le=1)
    network: str = Field(pattern=NETWORK_RE.pattern)
    name: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    created: MS = Field(ge=0)
    members: list[Member] = Field(min_length=1, max_length=64)
    deadlines: dict[str, Deadline]
    human_ack: list[str]
    quotas: Quotas
    limits: Limits
    witness_quorum: int = Field(ge=0, le=64)
    witnesses: list[ExternalWitness]
    skew_tolerance_ms: MS = Field(ge=0)
    check_interval_ms: MS = Field(ge=1000)
    regime: dict[str, Any]
    checkpoint_time_line: bool | None = None
    """False: the network's logs sign extension-free C2SP checkpoints (protocol s6). Absent
    (policies written before that form) means true: the legacy ``time <ms>`` line."""

    @model_validator(mode="after")
    def _coherent(self) -> PolicyDocument:
        parties = [m.party for m in self.members]
        if parties != sorted(set(parties)):
            raise ValueError("members must be sorted by party code, each party once")
        if self.witness_quorum > len(self.members) - 1 + len(self.witnesses):
            raise ValueError("witness_quorum exceeds the number of possible third-party witnesses")
        return self

    @classmethod
    def from_dict(cls, doc: Any) -> PolicyDocument:
        """Validate a policy document, raising ``PolicyError`` naming the first bad field."""
        if isinstance(doc, dict) and doc.get("checkpoint_time_line", False) is None:
            raise PolicyError("policy checkpoint_time_line: true or false, or left out")
        try:
            policy = cls.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "document"
            raise PolicyError(f"policy {where}: {first['msg']}") from exc
        canonical_bytes(doc)
        return policy

    def to_dict(self) -> dict[str, Any]:
        """The document as JSON, ``checkpoint_time_line`` left out when absent (protocol §5)."""
        doc = self.model_dump(mode="python")
        if doc["checkpoint_time_line"] is None:
            del doc["checkpoint_time_line"]  # absent in every policy signed before the field
        return _listify(doc)  # type: ignore[no-any-return]

    def canonical(self) -> bytes:
        """JCS of the document: the bytes members sign and the policy hash covers."""
        return canonical_bytes(self.to_dict())

    @property
    def hash(self) -> str:
        """``hex(SHA-256(DOMAIN_POLICY || JCS(document)))``, the ``policy`` of every header."""
        return hashlib.sha256(DOMAIN_POLICY + self.canonical()).hexdigest()

    @property
    def time_line(self) -> bool:
        """Whether logs under this policy write the legacy ``time`` line in their checkpoints."""
        return self.checkpoint_time_line is not False

    def has_member(self, party: str) -> bool:
        """Whether ``party`` is a member of the network."""
        return any(member.party == party for member in self.members)

    def member(self, party: str) -> Member:
        """The member entry of ``party``; ``PolicyError`` if it is not a member."""
        for member in self.members:
            if member.party == party:
                return member
        raise PolicyError(f"party {party} is not a member of network {self.network}")

    def deadline(self, category: str) -> Deadline | None:
        """The bounds of deadline class ``category``; None if the policy lacks that class."""
        return self.deadlines.get(category)

    def sign(self, party: str, identity: SigningKey) -> dict[str, str]:
        """Sign the document as member ``party``: one ``{party, sig}`` of the policy body."""
        member = self.member(party)
        if member.identity != identity.public.b64:
            raise PolicyError(f"the identity key does not match member {party} in the policy")
        return {"party": party, "sig": b64(identity.sign(DOMAIN_POLICY, self.canonical()))}


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_listify(v) for v in value]
    return value


class SignedPolicy:
    """A policy document with member signatures: the body of a ``policy`` entry."""

    def __init__(self, document: PolicyDocument, signatures: dict[str, str]) -> None:
        self.document = document
        self.signatures = dict(sorted(signatures.items()))
        self._hash = document.hash  # computed once: verifiers ask for it on every entry

    @property
    def hash(self) -> str:
        """The hash of the signed document (see ``PolicyDocument.hash``)."""
        return self._hash

    def to_body(self) -> dict[str, Any]:
        """The ``policy`` entry's body: the document and the signatures sorted by party."""
        return {
            "document": self.document.to_dict(),
            "signatures": [{"party": p, "sig": s} for p, s in self.signatures.items()],
        }

    @classmethod
    def from_body(cls, body: Any) -> SignedPolicy:
        """Read a ``policy`` entry's body, refusing extra fields; signatures are verified later."""
        if not isinstance(body, dict) or set(body) != {"document", "signatures"}:
            raise PolicyError("policy body must have exactly 'document' and 'signatures'")
        document = PolicyDocument.from_dict(body["document"])
        if document.to_dict() != body["document"]:
            raise PolicyError("policy document carries defaults or fields it should not")
        if not isinstance(body["signatures"], list):
            raise PolicyError("policy signatures must be a list of {party, sig}")
        signatures: dict[str, str] = {}
        for item in body["signatures"]:
            if not isinstance(item, dict) or set(item) != {"party", "sig"}:
                raise PolicyError("policy signature must be {party, sig}")
            if str(item["party"]) in signatures:
                raise PolicyError(f"policy signatures name {item['party']} twice")
            signatures[str(item["party"])] = str(item["sig"])
        return cls(document, signatures)

    def add(self, signature: dict[str, str]) -> None:
        """Verify one member's ``{party, sig}`` and add it to the signatures."""
        self.verify_one(signature["party"], signature["sig"])
        self.signatures[signature["party"]] = signature["sig"]
        self.signatures = dict(sorted(self.signatures.items()))

    def verify_one(self, party: str, sig: str) -> None:
        """Raise ``VerificationError`` unless ``sig`` is ``party``'s identity signature on it."""
        key = self.document.member(party).identity_key
        key.verify(
            DOMAIN_POLICY,
            self.document.canonical(),
            unb64(sig, what=f"policy signature of {party}", size=64),
            what=f"policy signature of {party}",
        )

    def missing(self) -> list[str]:
        """The members whose signature is still missing, in party order."""
        return [m.party for m in self.document.members if m.party not in self.signatures]

    def verify_complete(self) -> None:
        """Every member has signed, and every signature verifies; nothing else is signed."""
        for party, sig in self.signatures.items():
            self.verify_one(party, sig)
        missing = self.missing()
        if missing:
            raise VerificationError(
                f"policy {self.hash[:16]} lacks the signatures of {', '.join(missing)}",
                hint="every member must run 'parley policy sign' on the same draft",
            )
