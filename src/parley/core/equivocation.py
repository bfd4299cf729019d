"""Equivocation evidence: two checkpoints of one log, both signed by it, that cannot both be true.

A log equivocates when it shows two histories (DESIGN.md, Witnessing). The evidence stands on
its own, checkable by anyone who holds the log's public key and nothing else:

* two signed checkpoints ``first`` and ``second`` of the same origin with
  ``first.size <= second.size``;
* at equal sizes, their roots differ;
* otherwise ``old_root`` and ``proof``: an RFC 9162 s2.1.4.2 consistency proof that
  ``second``'s tree extends a tree of ``first.size`` with root ``old_root``, and
  ``old_root != first.root``. A consistency proof binds the larger root to exactly one root at
  the smaller size (SHA-256 collision resistance), so ``second``'s history holds a different
  prefix than ``first`` claims.

The body of an ``evidence`` entry is ``Evidence.to_dict()`` plus a human ``detail``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from parley.core import merkle
from parley.core.checkpoint import Checkpoint, open_checkpoint
from parley.core.errors import VerificationError

TYPE = "equivocation"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise VerificationError(f"evidence {what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"evidence {what} is not base64") from exc


@dataclass(frozen=True)
class Evidence:
    """Two checkpoint notes of ``party``'s log and, if their sizes differ, the proof of the fork."""

    party: str
    log_key: bytes
    first: str
    second: str
    old_root: bytes | None = None
    proof: tuple[bytes, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The body of an ``evidence`` entry (protocol §6.2, §7)."""
        doc: dict[str, Any] = {
            "type": TYPE,
            "party": self.party,
            "log_key": _b64(self.log_key),
            "checkpoints": [self.first, self.second],
            "proof": [_b64(h) for h in self.proof],
        }
        if self.old_root is not None:
            doc["old_root"] = _b64(self.old_root)
        return doc

    @classmethod
    def from_dict(cls, doc: Any) -> Evidence:
        """Read an ``evidence`` body, refusing another shape; ``verify`` checks what it proves."""
        if not isinstance(doc, dict) or doc.get("type") != TYPE:
            raise VerificationError(f"not equivocation evidence: 'type' must be {TYPE!r}")
        checkpoints = doc.get("checkpoints")
        if not isinstance(checkpoints, list) or len(checkpoints) != 2:
            raise VerificationError("evidence 'checkpoints' must hold exactly two notes")
        if not all(isinstance(note, str) for note in checkpoints):
            raise VerificationError("evidence checkpoints must be note texts")
        proof = doc.get("proof", [])
        if not isinstance(proof, list):
            raise VerificationError("evidence 'proof' must be a list of base64 hashes")
        old_root = doc.get("old_root")
        party = doc.get("party")
        if not isinstance(party, str):
            raise VerificationError("evidence 'party' must name the log's party")
        return cls(
            party=party,
            log_key=_unb64(doc.get("log_key"), "log_key"),
            first=checkpoints[0],
            second=checkpoints[1],
            old_root=None if old_root is None else _unb64(old_root, "old_root"),
            proof=tuple(_unb64(h, f"proof[{i}]") for i, h in enumerate(proof)),
        )


def _open(note: str, origin: str, log_key: bytes, which: str) -> Checkpoint:
    try:
        return open_checkpoint(note, origin, log_key)
    except VerificationError as exc:
        raise VerificationError(f"the {which} checkpoint: {exc.message}") from exc


def origin_of(note: str) -> str:
    """The origin line of a note (unverified), to know which key name to check it under."""
    return note.split("\n", 1)[0]


def verify(evidence: Evidence) -> tuple[Checkpoint, Checkpoint]:
    """Check that the evidence proves a fork of one log; return its two checkpoints.

    Raises ``VerificationError`` naming what fails: a signature, a mismatch of origins, or a
    pair of checkpoints that are in fact consistent.
    """
    origin = origin_of(evidence.first)
    if origin.rsplit("/", 1)[-1] != evidence.party:
        raise VerificationError(f"checkpoint origin {origin!r} is not a log of {evidence.party}")
    if origin_of(evidence.second) != origin:
        raise VerificationError("the two checkpoints are of different logs")
    first = _open(evidence.first, origin, evidence.log_key, "first")
    second = _open(evidence.second, origin, evidence.log_key, "second")
    if first.size > second.size:
        raise VerificationError("the first checkpoint must not be larger than the second")
    if first.size == second.size:
        if first.root == second.root:
            raise VerificationError(
                f"both checkpoints have size {first.size} and the same root: no fork"
            )
        return first, second
    if evidence.old_root is None:
        raise VerificationError("checkpoints of different sizes need 'old_root' and 'proof'")
    if evidence.old_root == first.root:
        raise VerificationError(
            f"the second tree extends the first at size {first.size}: the checkpoints agree"
        )
    try:
        merkle.verify_consistency(
            first.size, second.size, evidence.old_root, second.root, evidence.proof
        )
    except VerificationError as exc:
        raise VerificationError(f"the proof of the fork does not verify: {exc.message}") from exc
    return first, second


def describe(first: Checkpoint, second: Checkpoint) -> str:
    """One sentence for people: what the two checkpoints show."""
    if first.size == second.size:
        return (
            f"{first.origin} signed two different roots for tree size {first.size}: "
            f"{_b64(first.root)} and {_b64(second.root)}"
        )
    return (
        f"{first.origin} signed a tree of size {second.size} whose first {first.size} entries "
        f"differ from the tree of size {first.size} it also signed"
    )
