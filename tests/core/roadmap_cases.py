"""Road map documents and entries for the pure tests of ``parley.core.roadmap``.

Four parties: US, JP and KR are members of the network; KP is outside it, so its steps are
attested by the verifiers named on them. Leaf hashes are SHA-256 of the reference: the state
reads them as opaque names, and these tests need no signatures.
"""

from __future__ import annotations

import hashlib
from typing import Any

from parley.core.roadmap import RoadmapEntry

MEMBERS = ("US", "JP", "KR")
FILE = "ab" * 32


def leaf(ref: str) -> str:
    return hashlib.sha256(ref.encode()).hexdigest()


def ref_of(ref: str) -> dict[str, str]:
    return {"ref": ref, "leaf_hash": leaf(ref)}


def step(
    step_id: str,
    party: str,
    verifiers: list[str],
    *,
    requires: list[Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    return {
        "id": step_id,
        "party": party,
        "action": {"en": f"do {step_id}", "ja": f"{step_id}を行う"},
        "type": more.pop("type", "concession"),
        "requires": requires or [],
        "verifiers": verifiers,
        **more,
    }


def document(version: int = 1, replaces: str | None = None, **changes: Any) -> dict[str, Any]:
    """Reciprocal steps: KP freezes, then US relieves, then JP inspects; KR talks after phase 1."""
    doc: dict[str, Any] = {
        "v": 2,
        "type": "document",
        "roadmap": "kp-2027",
        "version": version,
        "title": {"en": "Road map for talks with KP"},
        "parties": [{"code": p, "member": True} for p in MEMBERS]
        + [{"code": "KP", "member": False}],
        "goals": [{"id": "denuclearise", "text": {"en": "A verified freeze"}}],
        "steps": [
            step("freeze", "KP", ["US", "JP"], evidence=["sha256"], due={"by": 10_000}),
            step("relief", "US", ["JP", "KR"], requires=[{"step": "freeze"}], type="request"),
            step("inspect", "JP", ["KR"], requires=[{"step": "relief", "state": "done"}]),
            step("talks", "KR", ["US"], requires=[{"milestone": "phase-1"}], due={"by": 50_000}),
        ],
        "milestones": [{"id": "phase-1", "name": {"en": "Phase 1"}, "steps": ["freeze", "relief"]}],
        "pacing": [{"mode": "parallel", "steps": ["inspect", "talks"], "after": ["freeze"]}],
    }
    if replaces is not None:
        doc["replaces"] = ref_of(replaces)
    doc.update(changes)
    return doc


def entry(ref: str, body: dict[str, Any], witnessed: int | None) -> RoadmapEntry:
    found = RoadmapEntry.read(ref, leaf(ref), witnessed, body)
    assert found is not None
    return found


def sign(ref: str, doc: str, at: int) -> RoadmapEntry:
    return entry(ref, {"v": 2, "type": "sign", "document": ref_of(doc)}, at)


def attest(ref: str, doc: str, step_id: str, at: int, **more: Any) -> RoadmapEntry:
    evidence = more.pop("evidence", [{"sha256": FILE}])
    body = {
        "v": 2,
        "type": "attest",
        "document": ref_of(doc),
        "step": step_id,
        "evidence": evidence,
    }
    return entry(ref, body | more, at)


def stance(ref: str, kind: str, attestation: str, at: int) -> RoadmapEntry:
    body: dict[str, Any] = {"v": 2, "type": kind, "attestation": ref_of(attestation)}
    if kind == "dispute":
        body["reason"] = {"en": "the seals are broken"}
    return entry(ref, body, at)


def answer(ref: str, dispute: str, at: int) -> RoadmapEntry:
    body = {"v": 2, "type": "answer", "dispute": ref_of(dispute), "text": {"en": "new seals"}}
    return entry(ref, body, at)


def adopted(at: int = 100) -> list[RoadmapEntry]:
    """US drafts US:1; all three members sign it (US:2, JP:1, KR:1)."""
    return [
        entry("US:1", document(), at),
        sign("US:2", "US:1", at + 1),
        sign("JP:1", "US:1", at + 2),
        sign("KR:1", "US:1", at + 3),
    ]


def verified_freeze(at: int = 200) -> list[RoadmapEntry]:
    """US attests KP's freeze (US:3, as a verifier); JP confirms (JP:2)."""
    return [attest("US:3", "US:1", "freeze", at), stance("JP:2", "confirm", "US:3", at + 1)]
