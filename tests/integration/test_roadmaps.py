"""Road maps between three real nodes (US, JP, KR over TLS, real processes), through the CLI.

US and JP are the member parties of a road map with KP, a state outside the network; KR is a
verifier of KP's freeze without being a party. Everything is done with ``parley roadmap``;
the state every node shows is compared with ``parley roadmap verify`` over the three log
exports. Every wait is bounded in time; a road map entry is used only once it is witnessed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.core.entry import parse_ref
from parley.core.roadmap import RoadmapEntry
from parley.node import roadmaps
from parley.node.node import now_ms
from tests.integration.fleet import Fleet, FleetNode, eventually

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

PARTIES = ("US", "JP", "KR")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.running(tmp_path_factory.mktemp("roadmaps"), parties=PARTIES) as fleet:
        yield fleet


def document(review_by: int) -> dict[str, Any]:
    def step(step_id: str, party: str, verifiers: list[str], **more: Any) -> dict[str, Any]:
        return {
            "id": step_id,
            "party": party,
            "action": {"en": f"{step_id} by {party}", "ko": f"{party}의 {step_id}"},
            "type": more.pop("type", "concession"),
            "verifiers": verifiers,
            **more,
        }

    return {
        "roadmap": "kp-talks",
        "version": 1,
        "title": {"en": "Talks with KP"},
        "parties": [
            {"code": "US", "member": True},
            {"code": "JP", "member": True},
            {"code": "KP", "member": False},
        ],
        "steps": [
            step("freeze", "KP", ["US", "KR"], evidence=["sha256"]),
            step("relief", "US", ["JP"], requires=[{"step": "freeze"}], type="request"),
            step("review", "JP", ["US"], due={"by": review_by}, type="verification"),
        ],
        "milestones": [{"id": "phase-1", "name": {"en": "Phase 1"}, "steps": ["freeze", "relief"]}],
    }


def held_at(node: FleetNode) -> list[RoadmapEntry]:
    opened = node.open()
    try:
        with opened.store.read() as conn:
            return roadmaps.held(opened, conn).entries
    finally:
        opened.close()


def witnessed_at(node: FleetNode, ref: str) -> bool:
    return any(e.ref == ref and e.witnessed is not None for e in held_at(node))


def everywhere(fleet: Fleet, ref: str) -> str:
    for node in fleet.nodes.values():
        eventually(functools.partial(witnessed_at, node, ref), 60, f"{ref} at {node.party}")
    return ref


def run(node: FleetNode, *args: str) -> str:
    return node.cli("roadmap", *args).stdout.strip()


def refused(node: FleetNode, *args: str) -> str:
    result = node.cli("roadmap", *args, check=False)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def state(node: FleetNode, ref: str, *more: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(run(node, "show", ref, "--json", *more))
    return doc


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["status"] for s in doc["steps"]}


@pytest.fixture(scope="module")
def adopted(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """US drafts the road map; US and JP sign it; KR, a verifier only, cannot."""
    us, jp, kr = fleet["US"], fleet["JP"], fleet["KR"]
    path = tmp_path_factory.mktemp("doc") / "roadmap.json"
    path.write_text(json.dumps(document(now_ms() + 20_000)))
    root = everywhere(fleet, run(us, "draft", str(path), "--status", "Exercise"))
    everywhere(fleet, run(us, "sign", root))
    refs = {"root": root, "kr_sign": refused(kr, "sign", root)}
    refs["half"] = json.dumps(state(jp, root)["in_force"])
    everywhere(fleet, run(jp, "sign", root))
    return refs


def test_adoption_needs_every_member_partys_signature(
    fleet: Fleet, adopted: dict[str, str]
) -> None:
    assert json.loads(adopted["half"]) is None  # US alone had signed
    for node in fleet.nodes.values():
        doc = state(node, adopted["root"])
        assert doc["in_force"]["ref"] == adopted["root"]
        assert doc["in_force"]["signed"] == ["JP", "US"]
    assert "KR is not a member party of version 1" in adopted["kr_sign"]


def test_a_party_cannot_attest_another_partys_step(fleet: Fleet, adopted: dict[str, str]) -> None:
    jp = fleet["JP"]
    message = refused(jp, "attest", adopted["root"], "freeze", "--evidence", "ab" * 32)
    assert "JP cannot attest step freeze, which is KP's (attested by KR, US)" in message
    message = refused(jp, "attest", adopted["root"], "relief")
    assert "JP cannot attest step relief, which is US's" in message


def test_illegal_transitions_are_refused_and_a_verified_step_unlocks_the_next(
    fleet: Fleet, adopted: dict[str, str], tmp_path: Path
) -> None:
    us, jp, kr = fleet["US"], fleet["JP"], fleet["KR"]
    root = adopted["root"]
    assert "step relief is locked: it waits for freeze" in refused(us, "attest", root, "relief")
    assert "needs evidence by sha256" in refused(us, "attest", root, "freeze")
    seals = tmp_path / "seals.jpg"
    seals.write_bytes(b"photograph of the seals")
    claim = everywhere(fleet, run(us, "attest", root, "freeze", "--evidence", str(seals)))
    assert "JP is not a verifier of step freeze" in refused(jp, "confirm", claim)
    everywhere(fleet, run(kr, "confirm", claim))
    assert "step freeze is verified" in refused(kr, "dispute", claim, "--reason", "late")
    relief = everywhere(fleet, run(us, "attest", root, "relief", "--text", "funds released"))
    everywhere(fleet, run(jp, "confirm", relief))
    for node in fleet.nodes.values():
        doc = state(node, root)
        assert statuses(doc)["freeze"] == statuses(doc)["relief"] == "verified"
        assert doc["milestones"] == {"phase-1": True}
    (attested,) = [e for e in held_at(kr) if e.ref == claim]
    digest = hashlib.sha256(b"photograph of the seals").hexdigest()
    assert [item.sha256 for item in attested.body.evidence] == [digest]  # type: ignore[union-attr]


def test_an_amendment_without_every_signature_has_no_effect(
    fleet: Fleet, adopted: dict[str, str], tmp_path: Path
) -> None:
    us, jp = fleet["US"], fleet["JP"]
    changed = document(now_ms() + 20_000)
    changed["steps"].append(
        {
            "id": "summit",
            "party": "US",
            "action": {"en": "hold a summit"},
            "type": "concession",
            "verifiers": ["JP"],
        }
    )
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(changed))
    amended = everywhere(
        fleet, run(jp, "draft", str(path), "--replaces", adopted["root"], "--status", "Exercise")
    )
    everywhere(fleet, run(jp, "sign", amended))
    for node in fleet.nodes.values():
        doc = state(node, adopted["root"])
        assert doc["in_force"]["ref"] == adopted["root"]
        assert "summit" not in statuses(doc)
    assert "step summit" in refused(us, "attest", adopted["root"], "summit")
    everywhere(fleet, run(us, "sign", amended))
    for node in fleet.nodes.values():
        doc = state(node, adopted["root"])
        assert doc["in_force"]["ref"] == amended and doc["in_force"]["version"] == 2
        assert statuses(doc)["summit"] == "unlocked"


def test_a_verifier_who_is_not_a_party_reads_the_state_as_the_audience_allows(
    fleet: Fleet, adopted: dict[str, str], tmp_path: Path
) -> None:
    us, kr = fleet["US"], fleet["KR"]
    assert statuses(state(kr, adopted["root"])) == statuses(state(us, adopted["root"]))
    path = tmp_path / "private.json"
    private = document(now_ms() + 60_000)
    private["roadmap"] = "private"
    private["steps"] = [s for s in private["steps"] if s["id"] == "review"]
    private["milestones"] = []
    path.write_text(json.dumps(private))
    secret = run(us, "draft", str(path), "--status", "Exercise", "--to", "US,JP")
    eventually(lambda: witnessed_at(us, secret), 60, "the private road map witnessed")
    result = kr.cli("roadmap", "show", secret, check=False)
    assert result.returncode != 0 and "not a road map document" in result.stderr
    assert "Traceback" not in result.stderr


def test_overdue_and_verify_over_exports_equals_what_every_node_shows(
    fleet: Fleet, adopted: dict[str, str], tmp_path: Path
) -> None:
    eventually(
        lambda: statuses(state(fleet["US"], adopted["root"]))["review"] == "overdue", 60, "overdue"
    )
    exports = []
    for node in fleet.nodes.values():
        path = tmp_path / f"{node.party}.jsonl"
        node.cli("log", "export", str(path))
        exports.append(str(path))
    offline = json.loads(
        fleet["US"]
        .cli("roadmap", "verify", *exports, "--roadmap", adopted["root"], "--json")
        .stdout
    )
    at = str(offline["at"])
    assert statuses(offline)["review"] == "overdue"
    for node in fleet.nodes.values():
        shown = state(node, adopted["root"], "--at", at)
        assert statuses(shown) == statuses(offline)
        assert shown["in_force"]["ref"] == offline["in_force"]["ref"]
        assert shown["milestones"] == offline["milestones"]


def test_a_tampered_export_fails_verification(
    fleet: Fleet, adopted: dict[str, str], tmp_path: Path
) -> None:
    us = fleet["US"]
    path = tmp_path / "us.jsonl"
    us.cli("log", "export", str(path))
    lines = path.read_text().splitlines()
    _, seq = parse_ref(adopted["root"])
    for number, line in enumerate(lines):
        record = json.loads(line)
        if record.get("type") == "entry" and record["seq"] == seq:
            record["salt"] = base64.b64encode(bytes(32)).decode()  # the body no longer hashes
            lines[number] = json.dumps(record)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    result = us.cli("roadmap", "verify", str(tampered), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert str(tampered.name) in message and "does not verify" in message
