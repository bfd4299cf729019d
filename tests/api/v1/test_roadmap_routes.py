"""``/api/v1/roadmaps``: the road map service over the officer API (docs/api.md, Road maps).

One node (JP, the only member of its network) and a road map with KP, a state outside the
network, whose steps JP verifies. Entries count from their witnessed time; with no third party
to witness, the network's quorum is 0 and an entry is witnessed by the first checkpoint that
contains it, which the node signs as it appends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from parley.node.access import Scope
from tests.api.v1.conftest import Api, make_api

DOCUMENT: dict[str, Any] = {
    "roadmap": "kp-api",
    "version": 1,
    "title": {"en": "API road map"},
    "parties": [{"code": "JP", "member": True}, {"code": "KP", "member": False}],
    "steps": [
        {
            "id": "freeze",
            "party": "KP",
            "action": {"en": "freeze"},
            "type": "request",
            "evidence": ["sha256"],
            "verifiers": ["JP"],
        },
        {
            "id": "relief",
            "party": "JP",
            "action": {"en": "relief", "ja": "救済"},
            "type": "concession",
            "requires": [{"step": "freeze"}],
            "verifiers": ["JP"],
        },
    ],
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    built = make_api(Path(tmp_path_factory.mktemp("roadmap-api")))
    yield built
    built.node.close()


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1" + path, json=body)


def test_a_document_whose_verifier_verifies_its_own_step_is_refused_naming_the_field(
    api: Api,
) -> None:
    duty = api.token("duty-officer", Scope.NOTIFY)
    answer = post(duty, "/roadmaps", {"document": DOCUMENT, "status": "Exercise"})
    assert answer.status_code == 400
    assert "step relief: JP cannot verify its own step" in answer.text


def test_a_road_map_is_drafted_signed_attested_and_its_state_read_over_the_api(
    api: Api,
) -> None:
    duty = api.token("duty-officer", Scope.NOTIFY)
    document = {**DOCUMENT, "steps": DOCUMENT["steps"][:1]}
    drafted = post(duty, "/roadmaps", {"document": document, "status": "Exercise"})
    assert drafted.status_code == 201, drafted.text
    ref = drafted.json()["ref"]
    assert post(duty, f"/roadmaps/{ref}/sign", {}).status_code == 201
    state = duty.get(f"/api/v1/roadmaps/{ref}").json()
    assert state["in_force"]["ref"] == ref and state["steps"][0]["status"] == "unlocked"
    refused = post(duty, f"/roadmaps/{ref}/attest", {"step": "freeze"})
    assert refused.status_code == 400 and "needs evidence by sha256" in refused.text
    claim = post(duty, f"/roadmaps/{ref}/attest", {"step": "freeze", "evidence": ["ab" * 32]})
    assert claim.status_code == 201, claim.text
    state = duty.get(f"/api/v1/roadmaps/{ref}").json()
    assert state["steps"][0]["status"] == "verified"  # JP, its only verifier, attested it
    again = post(duty, f"/roadmaps/{ref}/confirm", {})
    assert again.status_code == 404  # a document is not an attestation
    listed = duty.get("/api/v1/roadmaps").json()
    assert {"roadmap": ref, "id": "kp-api", "title": {"en": "API road map"}} in listed


def test_an_observer_may_read_but_not_write_road_maps(api: Api) -> None:
    observer = api.token("observer", Scope.READ)
    assert observer.get("/api/v1/roadmaps").status_code == 200
    answer = post(observer, "/roadmaps", {"document": DOCUMENT, "status": "Exercise"})
    assert answer.status_code == 403


def test_parties_and_verifiers_are_checked_against_the_network(api: Api) -> None:
    duty = api.token("duty-officer", Scope.NOTIFY)
    document = {**DOCUMENT, "steps": DOCUMENT["steps"][:1]}
    claims_kr = {**document, "parties": [*document["parties"], {"code": "KR", "member": True}]}
    answer = post(duty, "/roadmaps", {"document": claims_kr, "status": "Exercise"})
    assert answer.status_code == 400
    assert "KR is not a member of the network; set member accordingly" in answer.text
    outside = {**document["steps"][0], "verifiers": ["JP", "CN"]}
    answer = post(
        duty, "/roadmaps", {"document": {**document, "steps": [outside]}, "status": "Exercise"}
    )
    assert (
        answer.status_code == 400 and "verifiers: CN is not a member of the network" in answer.text
    )
