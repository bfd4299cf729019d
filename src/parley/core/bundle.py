"""Evidence bundles: an entry, its receipts and their witnessed times, verified offline.

An evidence bundle (docs/protocol.md, Evidence bundles) is one JSON document::

    {"format": "parley-evidence-bundle", "v": 1, "ref": "US:4",
     "entry": proof, "receipts": [proof, ...], "keys": [proof, ...]}

where every ``proof`` is an entry proof (docs/protocol.md, Exports and entry proofs; verified by
``parley.core.proof``) whose checkpoint note also carries the C2SP ``cosignature/v1`` lines the
exporting node holds for it. ``entry`` proves the entry, ``receipts`` every receipt about it,
``keys`` the latest key statement of each member log (for the members' ``witness`` keys).

A bundle *without the body* (``parley.node.evidence.build_bundle``) carries the entry's header
only and leaves out every acknowledgement whose body holds a reply: a receipt's link to the
entry is in its body, so a receipt travels whole or not at all (step 5 refuses one without).
Delivered receipts and acknowledgements without a reply stay. The key and policy entries of the
histories keep their bodies: verification needs them, and they say nothing of the entry.

A verifier that holds nothing but the bundle (and optionally pinned identity keys or the policy
hash it expects) checks, in this order:

1. the document has exactly the fields above, every proof and record exactly its own;
2. every proof verifies by itself: its key chain from seq 0, the checkpoint signed by the log
   key in force at its size, the header by the log key in force at its seq, the inclusion
   proofs, and a present body against ``body_hash``;
3. the policy in force at the entry (from the entry proof's history) is the one its header
   names, for its network, and signed by every member; it is the *anchor*: every log in the
   bundle belongs to one of its members and that log's identity chain holds the identity key
   the policy names for it, so no log can be swapped for another one under a made-up key;
4. every pinned identity key is a member's identity in the anchor or in a verified chain, and a
   required policy hash equals the anchor's;
5. every receipt is by an addressee of the entry and names it by ``PARTY:SEQ`` and leaf hash;
6. witnessed time (DESIGN.md, Deadlines, time and compliance): on the checkpoint that includes
   an entry, the k-th earliest cosignature time over distinct witnesses other than the log's own
   party, k being the anchor's ``witness_quorum``. Witnesses are the other members, under the
   witness name of their log's origin (protocol s6.1) with any ``witness`` key their verified chain
   certifies, and the anchor's external witnesses. It is an upper bound: the entry existed no
   later than that. Cosignature times are whole seconds (the witness's clock rounded down), so
   the bound has a precision of one second: the entry existed before ``bound + 1 s``
   (``Witnessing.latest``), and a claimed time within that second is no skew. One colluding
   witness cannot move it earlier when k >= 2. With k = 0 the log's own claim stands, in ms:
   the checkpoint's time line, or without one the entry's header time. Lines by other keys are
   reported and
   never counted; a line by a known witness key that does not verify rejects the bundle.

Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from parley.core import merkle
from parley.core.bodies import Receipt
from parley.core.canonical import parse_json
from parley.core.checkpoint import (
    SIGNATURE_COSIGNATURE_V1,
    SIGNATURE_ED25519,
    cosignatures_in,
    key_hash,
    parse_note,
    parse_vkey,
    witness_name,
    witness_name_for,
)
from parley.core.entry import ALL, Body, Header, parse_header
from parley.core.errors import ParleyError, VerificationError
from parley.core.keys import KeyStatement, PublicKey, unb64
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.core.proof import ProofReport, verify_entry_proof

BUNDLE_FORMAT = "parley-evidence-bundle"
BUNDLE_FIELDS = frozenset({"format", "v", "ref", "entry", "receipts", "keys"})
PROOF_FIELDS = frozenset({"format", "v", "ref", "checkpoint", "entry", "history"})
RECORD_FIELDS = frozenset({"seq", "leaf", "inclusion"})
BODY_FIELDS = frozenset({"body", "salt"})
MS_PER_S = 1000


@dataclass(frozen=True)
class Witnessing:
    """What the cosignatures on the checkpoint that includes an entry say about its time."""

    k: int
    checkpoint_size: int
    checkpoint_time: int  # ms, the log's own time: its time line, else the entry's header time
    cosigners: tuple[tuple[str, int], ...]  # (witness name, ms) counted, earliest first
    uncounted: tuple[str, ...]  # other signature lines, each with why it does not count
    bound: int | None  # ms: existed no later than; None while under quorum
    precision_ms: int = 1  # the bound's resolution: MS_PER_S for cosignature times (whole s)

    @property
    def latest(self) -> int | None:
        """The last millisecond the bound allows (``bound`` read at its precision)."""
        return None if self.bound is None else self.bound + self.precision_ms - 1


@dataclass(frozen=True)
class Said:
    """One verified entry of the bundle: who said what, to whom, when, and when witnessed."""

    header: Header
    body: Any | None
    leaf_hash: bytes
    witnessing: Witnessing
    skew: int | None  # claimed time minus the bound's last ms (``latest``), beyond the tolerance


@dataclass(frozen=True)
class BundleReport:
    """What a verified evidence bundle establishes."""

    entry: Said
    receipts: tuple[Said, ...]
    keys: tuple[Said, ...]  # each member's latest key entry: how witnessed its history is
    policy: PolicyDocument
    policy_hash: str
    pinned: tuple[str, ...]  # how the anchor policy is tied to what the verifier trusts
    histories: tuple[str, ...]  # members whose key history the bundle holds


@dataclass(frozen=True)
class _Proven:
    """One entry proof, verified by itself, with what its history says."""

    report: ProofReport
    note: str
    leaf_hash: bytes
    chain: tuple[KeyStatement, ...]
    policies: tuple[tuple[int, SignedPolicy], ...]

    @property
    def party(self) -> str:
        return self.report.header.party


def load_bundle(data: bytes) -> Any:
    """Decode a bundle file's bytes (JSON in the signed-JSON subset of docs/protocol.md §1)."""
    try:
        return parse_json(data, what="evidence bundle")
    except ParleyError as exc:
        raise VerificationError(exc.message, hint="is this file an evidence bundle?") from exc


def verify_bundle(
    doc: Any, *, trusted: Sequence[PublicKey] = (), policy_hash: str | None = None
) -> BundleReport:
    """Verify an evidence bundle; raise ``VerificationError`` naming the part that fails."""
    try:
        return _verify(doc, trusted, policy_hash)
    except VerificationError:
        raise
    except ParleyError as exc:
        raise VerificationError(f"evidence bundle: {exc.message}", hint=exc.hint) from exc


def _verify(doc: Any, trusted: Sequence[PublicKey], policy_hash: str | None) -> BundleReport:
    _check_fields(doc, BUNDLE_FIELDS, "evidence bundle")
    if doc["format"] != BUNDLE_FORMAT or doc["v"] != 1:
        raise VerificationError("not a Parley evidence bundle of version 1")
    for name in ("receipts", "keys"):
        if not isinstance(doc[name], list):
            raise VerificationError(f"evidence bundle: {name} must be a list of entry proofs")
    entry = _prove(doc["entry"], "entry")
    if doc["ref"] != entry.report.header.ref:
        raise VerificationError(
            f"evidence bundle names {doc['ref']!r}, proves {entry.report.header.ref}"
        )
    receipts = [_prove(p, f"receipts[{i}]") for i, p in enumerate(doc["receipts"])]
    keys = [_prove(p, f"keys[{i}]") for i, p in enumerate(doc["keys"])]
    signed = _anchor(entry)
    policy = signed.document
    for proven in (entry, *receipts, *keys):
        _check_member(proven, policy)
    for index, proven in enumerate(keys):
        if proven.report.header.kind != "key":
            raise VerificationError(f"keys[{index}]: {proven.report.header.ref} is not a key entry")
    pinned = _check_pins(signed, [entry, *receipts, *keys], trusted, policy_hash)
    _check_receipts(entry, receipts)
    witnesses = _witness_keys(policy, [entry, *receipts, *keys])
    return BundleReport(
        entry=_said(entry, policy, witnesses),
        receipts=tuple(_said(r, policy, witnesses) for r in receipts),
        keys=tuple(_said(k, policy, witnesses) for k in keys),
        policy=policy,
        policy_hash=signed.hash,
        pinned=pinned,
        histories=tuple(sorted({p.party for p in (entry, *receipts, *keys)})),
    )


# Shape ----------------------------------------------------------------------------------------


def _check_fields(
    value: Any, required: Iterable[str], what: str, optional: Iterable[str] = ()
) -> None:
    if not isinstance(value, dict):
        raise VerificationError(f"{what}: expected a JSON object")
    missing = sorted(set(required) - set(value))
    unknown = sorted(set(value) - set(required) - set(optional))
    if missing or unknown:
        raise VerificationError(f"{what}: missing fields {missing}, unknown fields {unknown}")


def _check_record(record: Any, what: str) -> Header:
    """Exact fields of one entry record (body and salt together or not at all); its header."""
    _check_fields(record, RECORD_FIELDS, what, BODY_FIELDS)
    if BODY_FIELDS & set(record) and not BODY_FIELDS <= set(record):
        raise VerificationError(f"{what}: body and salt go together")
    header = parse_header(unb64(record["leaf"], what=f"{what} leaf"))
    if type(record["seq"]) is not int or record["seq"] != header.seq:
        raise VerificationError(f"{what}: seq {record['seq']!r} is not its header's {header.seq}")
    return header


def _prove(proof: Any, what: str) -> _Proven:
    """Check one entry proof's shape, verify it (``parley.core.proof``), read its history."""
    _check_fields(proof, PROOF_FIELDS, what)
    if not isinstance(proof["history"], list):
        raise VerificationError(f"{what}: history must be a list")
    try:
        report = verify_entry_proof(proof)
    except VerificationError as exc:
        raise VerificationError(f"{what}: {exc.message}", hint=exc.hint) from exc
    header = _check_record(proof["entry"], f"{what}.entry")
    if proof["ref"] != header.ref:
        raise VerificationError(f"{what}: names {proof['ref']!r} but proves {header.ref}")
    chain: list[KeyStatement] = []
    policies: list[tuple[int, SignedPolicy]] = []
    last = -1
    for index, record in enumerate(proof["history"]):
        item = _check_record(record, f"{what}.history[{index}]")
        if item.seq <= last:
            raise VerificationError(f"{what}: history is not in ascending seq order")
        last = item.seq
        if item.kind not in ("key", "policy") or "body" not in record:
            continue  # a key entry without body already failed verify_entry_proof
        body = Body(unb64(record["salt"], what="salt"), unb64(record["body"], what="body"))
        if item.kind == "key":
            chain.append(KeyStatement.from_body(body.value()))
        else:
            policies.append((item.seq, SignedPolicy.from_body(body.value())))
    leaf_hash = merkle.leaf_hash(header.leaf)
    return _Proven(report, proof["checkpoint"], leaf_hash, tuple(chain), tuple(policies))


# The anchor policy and the members' logs ------------------------------------------------------


def _anchor(entry: _Proven) -> SignedPolicy:
    """The policy in force at the entry: the last policy entry of its history at or before it.

    At seq 0 (a key statement) that is the policy seq 1 carries, as the header names it.
    """
    header = entry.report.header
    before = [signed for seq, signed in entry.policies if seq <= max(header.seq, 1)]
    if not before or before[-1].hash != header.policy:
        raise VerificationError(
            f"{header.ref}: the policy it names ({header.policy[:16]}) is not in its history",
            hint="export the bundle again from a node that holds the author's whole log",
        )
    signed = before[-1]
    signed.verify_complete()
    if signed.document.network != header.network:
        raise VerificationError(
            f"policy {signed.hash[:16]} is for network {signed.document.network}"
        )
    return signed


def _check_member(proven: _Proven, policy: PolicyDocument) -> None:
    """The log belongs to a member, on the network, under the identity the policy names."""
    header = proven.report.header
    if header.network != policy.network:
        raise VerificationError(f"{header.ref}: belongs to network {header.network}")
    named = policy.member(header.party).identity_key
    if all(statement.identity != named for statement in proven.chain):
        raise VerificationError(
            f"{header.ref}: the key history of {header.party} never holds the identity "
            f"{named.kid} that the policy names for it",
            hint="this log is not the member's log, or its key history is cut short",
        )


def _check_pins(
    signed: SignedPolicy,
    proofs: Sequence[_Proven],
    trusted: Sequence[PublicKey],
    policy_hash: str | None,
) -> tuple[str, ...]:
    pinned = []
    if policy_hash is not None:
        if policy_hash != signed.hash:
            raise VerificationError(
                f"the entry is under policy {signed.hash}, not the required {policy_hash}"
            )
        pinned.append(f"policy {signed.hash[:16]}")
    identities = {m.identity_key: m.party for m in signed.document.members}
    for proven in proofs:
        identities.update({s.identity: proven.party for s in proven.chain})
    for key in trusted:
        if key not in identities:
            raise VerificationError(
                f"the trusted identity key {key.kid} is not a member's identity in this bundle",
                hint="the bundle comes from another network, or the pinned key is wrong",
            )
        pinned.append(f"identity {key.kid} of {identities[key]}")
    return tuple(pinned)


# Receipts -------------------------------------------------------------------------------------


def _check_receipts(entry: _Proven, receipts: Sequence[_Proven]) -> None:
    original = entry.report.header
    seen: set[str] = set()
    for proven in receipts:
        header, body = proven.report.header, proven.report.body
        if header.ref in seen:
            raise VerificationError(f"receipt {header.ref} appears twice")
        seen.add(header.ref)
        if header.kind != "receipt":
            raise VerificationError(f"{header.ref} is a {header.kind} entry, not a receipt")
        if body is None:
            raise VerificationError(f"receipt {header.ref} comes without its body")
        try:
            receipt = Receipt.model_validate(body)
        except ValidationError as exc:
            raise VerificationError(f"receipt {header.ref}: malformed body") from exc
        if (receipt.entry.ref, receipt.entry.leaf_hash) != (original.ref, entry.leaf_hash.hex()):
            raise VerificationError(
                f"receipt {header.ref} answers {receipt.entry.ref} with leaf hash "
                f"{receipt.entry.leaf_hash[:16]}, not {original.ref} ({entry.leaf_hash.hex()[:16]})"
            )
        addressed = original.audience == ALL or header.party in original.audience
        if header.party == original.party or not addressed:
            raise VerificationError(f"receipt {header.ref}: {header.party} is not an addressee")


# Witnessed time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Witness:
    name: str
    keys: tuple[bytes, ...]
    party: str | None  # None for an external witness


def _witness_keys(policy: PolicyDocument, proofs: Sequence[_Proven]) -> dict[str, _Witness]:
    """Every witness the anchor policy recognises, with the keys the bundle certifies for it."""
    keys: dict[str, set[bytes]] = {m.party: set() for m in policy.members}
    names = {m.party: witness_name(policy.network, m.party) for m in policy.members}
    for proven in proofs:
        keys[proven.party].update(s.purposes["witness"].raw for s in proven.chain)
        names[proven.party] = witness_name_for(proven.report.checkpoint.origin)  # s6.1 rule
    witnesses = {
        names[party]: _Witness(names[party], tuple(sorted(raw)), party)
        for party, raw in keys.items()
    }
    for external in policy.witnesses:
        parsed = parse_vkey(external.vkey)
        witnesses[parsed.name] = _Witness(parsed.name, (parsed.public_key,), None)
    return witnesses


def _said(proven: _Proven, policy: PolicyDocument, witnesses: Mapping[str, _Witness]) -> Said:
    witnessing = _witnessing(proven, policy.witness_quorum, witnesses)
    header = proven.report.header
    latest = witnessing.latest
    skew = None if latest is None else header.time - latest
    if skew is not None and skew <= policy.skew_tolerance_ms:
        skew = None
    return Said(header, proven.report.body, proven.leaf_hash, witnessing, skew)


def _witnessing(proven: _Proven, k: int, witnesses: Mapping[str, _Witness]) -> Witnessing:
    checkpoint, party = proven.report.checkpoint, proven.party
    times: dict[str, int] = {}
    known: set[tuple[str, bytes]] = set()
    for witness in witnesses.values():
        for raw in witness.keys:
            known.add((witness.name, key_hash(witness.name, SIGNATURE_COSIGNATURE_V1, raw)))
            found = cosignatures_in(proven.note, {witness.name: raw}).get(witness.name)
            if found is not None and witness.party != party:
                earliest = min(found * MS_PER_S, times.get(witness.name, found * MS_PER_S))
                times[witness.name] = earliest
    cosigners = tuple(sorted(times.items(), key=lambda item: (item[1], item[0])))
    own_time = proven.report.header.time if checkpoint.time_ms is None else checkpoint.time_ms
    if k == 0:
        bound: int | None = own_time
    else:
        bound = cosigners[k - 1][1] if len(cosigners) >= k else None
    return Witnessing(
        k,
        checkpoint.size,
        own_time,
        cosigners,
        _uncounted(proven, witnesses, known),
        bound,
        1 if k == 0 else MS_PER_S,
    )


def _uncounted(
    proven: _Proven, witnesses: Mapping[str, _Witness], known: set[tuple[str, bytes]]
) -> tuple[str, ...]:
    """The note's signature lines that count for nothing, each with the reason."""
    checkpoint, party = proven.report.checkpoint, proven.party
    log_key = _key_at(proven.chain, checkpoint.size - 1).purposes["log"].raw
    log_line = (checkpoint.origin, key_hash(checkpoint.origin, SIGNATURE_ED25519, log_key))
    reasons = []
    for signature in parse_note(proven.note).signatures:
        line = (signature.name, signature.key_hash)
        if line == log_line:
            continue
        witness = witnesses.get(signature.name)
        if witness is not None and witness.party == party and line in known:
            reasons.append(f"{signature.name} (the log's own party)")
        elif witness is not None and not witness.keys:
            reasons.append(f"{signature.name} (the bundle holds no key history of {witness.party})")
        elif witness is not None and line not in known:
            reasons.append(f"{signature.name} (a key the bundle does not certify)")
        elif witness is None:
            reasons.append(f"{signature.name} (not a witness of the policy)")
    return tuple(reasons)


def _key_at(chain: Sequence[KeyStatement], seq: int) -> KeyStatement:
    found = [statement for statement in chain if statement.seq <= seq]
    if not found:
        raise VerificationError(f"no key statement in force at seq {seq}")
    return found[-1]
