"""The notification service on real nodes: idempotent imports, policy checks, lifecycle links."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from sqlalchemy import func, inspect, select

from parley.core.entry import Body
from parley.core.errors import InvalidEntryError, LimitExceededError, PolicyError
from parley.core.policy import PolicyDocument, SignedPolicy
from parley.formats.cap_export import notification_to_cap
from parley.formats.regime import DEFAULT_REGIME
from parley.formats.stix import notification_to_stix, parse_bundle
from parley.node.log import Draft
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from parley.node.notifications.export import export_ref
from parley.node.notifications.importing import (
    ImportOptions,
    NotificationPolicy,
    Source,
    import_sources,
    notification_drafts_from_cap,
    regime_rules,
)
from parley.node.policies import DEADLINE_CLASSES, deadline_class, draft_policy
from parley.store import logs
from parley.store.schema import notification_keys

DATA = Path(__file__).resolve().parents[2] / "data"
CAP = DATA / "cap"
STIX = DATA / "stix"
DS = "http://www.w3.org/2000/09/xmldsig#"
HOUR = 3_600_000


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    created = Node.create(tmp_path / "jp", party="JP", name="JP centre", network="parley-test")
    yield created
    created.close()


def cap_alert(
    identifier: str,
    *,
    msg_type: str = "Alert",
    references: str | None = None,
    status: str = "Actual",
    event: str = "Tsunami",
) -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>jma@example.jp</sender>
  <sent>2027-03-11T14:46:00+09:00</sent><status>{status}</status><msgType>{msg_type}</msgType>
  <scope>Public</scope>{refs}
  <info><language>en</language><category>Geo</category><event>{event}</event>
    <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
    <headline>{event} warning</headline>
    <area><areaDesc>Coast</areaDesc><circle>38.3,142.4 100</circle></area></info>
</alert>""".encode()


def imported(node: Node, *files: tuple[str, bytes], **options: Any) -> list[Any]:
    sources = [Source(name, data) for name, data in files]
    return import_sources(node, sources, ImportOptions(**options))


def body_at(node: Node, ref: str) -> dict[str, Any]:
    party, seq = ref.split(":")
    with node.store.read() as conn:
        stored = logs.get_entry(conn, party, int(seq))
    assert stored is not None and stored.body is not None and stored.salt is not None
    value: dict[str, Any] = Body(stored.salt, stored.body).value()
    return value


def adopt(node: Node, **changes: Any) -> None:
    """Adopt a new single-member policy with ``changes`` to the drafted document."""
    current = node.context().policy.document
    drafted = draft_policy(
        network=node.network,
        name="changed",
        version=current.version + 1,
        created=now_ms(),
        members=[m.model_dump() for m in current.members],
    )
    document = PolicyDocument.from_dict({**drafted.to_dict(), **changes})
    signed = SignedPolicy(document, {})
    signed.add(document.sign(node.party, node.identity()))
    node.adopt_policy(signed)


def test_deadline_classes_cover_every_category() -> None:
    from parley.formats.categories import CATEGORIES

    assert deadline_class("geo.tsunami") == "disaster"
    assert deadline_class("nuclear.facility-event") == "nuclear"
    assert deadline_class("maritime.encounter") == "encounter"
    assert deadline_class("maritime.search-rescue") == "disaster"
    assert deadline_class("general.other") == "other"
    assert deadline_class("no.such") == "other"
    assert all(deadline_class(code) in DEADLINE_CLASSES for code in CATEGORIES)


def test_reimport_gives_the_same_refs_and_appends_nothing(
    tmp_path: Path, database: str | None
) -> None:
    node = Node.create(
        tmp_path / "kr", party="KR", name="KR centre", network="parley-test", database=database
    )
    files = [(p.name, p.read_bytes()) for p in sorted((CAP / "real_1.1").iterdir())]
    reference = "jma@example.jp,T-1,2027-03-11T14:46:00+09:00"
    files += [
        ("a.xml", cap_alert("T-1")),
        ("u.xml", cap_alert("T-2", msg_type="Update", references=reference)),
    ]
    first = imported(node, *files)
    size = node.size()
    again = imported(node, *files)
    assert [n.ref for r in first for n in r.notifications] == [
        n.ref for r in again for n in r.notifications
    ]
    assert all(not n.new for r in again for n in r.notifications)
    assert node.size() == size
    with node.store.read() as conn:
        keys = conn.execute(select(func.count()).select_from(notification_keys)).scalar()
    assert keys == len({n.ref for r in first for n in r.notifications})
    assert body_at(node, first[-1].notifications[0].ref)["references"][0]["ref"] == (
        first[-2].notifications[0].ref
    )
    node.close()


def test_deadlines_come_from_the_policy_class(node: Node) -> None:
    (result,) = imported(node, ("a.xml", cap_alert("T-1")))
    body = body_at(node, result.notifications[0].ref)
    bounds = node.context().policy.document.deadline("disaster")
    assert bounds is not None
    assert body["deadlines"] == {
        "delivered_within": bounds.delivered_within.default,
        "acknowledged_within": bounds.acknowledged_within.default,
    }


def test_a_bad_file_in_a_batch_costs_only_itself(node: Node) -> None:
    good = cap_alert("T-1")
    bad = cap_alert("T-2").replace(b"<urgency>Immediate", b"<urgency>Soon")
    results = imported(node, ("good.xml", good), ("bad.xml", bad), ("good2.xml", cap_alert("T-3")))
    assert [r.error is None for r in results] == [True, False, True]
    assert results[1].error is not None and results[1].error.message.startswith("bad.xml: ")
    assert "urgency" in results[1].error.message
    assert node.size() == 2 + 2


def test_a_file_refused_at_signing_is_isolated_from_its_batch(node: Node) -> None:
    adopt(node, limits={"header_bytes": 4096, "body_bytes": 4096})
    big = (CAP / "real_1.2" / "ipaws-5e7e0fc5023f1930efcf3deb.xml").read_bytes()
    results = imported(node, ("small.xml", cap_alert("T-1")), ("big.xml", big))
    assert results[0].error is None and len(results[0].notifications) == 1
    error = results[1].error
    assert isinstance(error, LimitExceededError)
    assert error.message.startswith("big.xml: CAP alert")
    assert "over the policy's body limit of 4096 bytes" in error.message
    assert node.size() == 3 + 1


def test_a_stix_bundle_over_the_body_limit_is_split_and_exports_whole(node: Node) -> None:
    adopt(node, limits={"header_bytes": 4096, "body_bytes": 256 * 1024})
    data = (STIX / "mitre_atlas" / "stix-atlas.json").read_bytes()
    (result,) = imported(node, ("atlas.json", data), status="Test")
    assert result.error is None and len(result.notifications) > 1
    bodies = [body_at(node, n.ref) for n in result.notifications]
    assert {b["stix"]["parts"] for b in bodies} == {len(bodies)}
    exported = parse_bundle(export_ref(node, result.notifications[-1].ref, "stix"))
    original = parse_bundle(data)
    assert {o["id"] for o in original["objects"]} <= {o["id"] for o in exported["objects"]}
    assert notification_to_stix(bodies, "Test")["id"] == original["id"]
    again = imported(node, ("atlas.json", data), status="Test")
    assert [n.ref for n in again[0].notifications] == [n.ref for n in result.notifications]


def test_an_update_is_linked_to_the_alert_it_references(node: Node) -> None:
    reference = "jma@example.jp,T-1,2027-03-11T14:46:00+09:00"
    update = cap_alert("T-2", msg_type="Update", references=reference)
    (alert_result, update_result) = imported(node, ("a.xml", cap_alert("T-1")), ("u.xml", update))
    alert_ref = alert_result.notifications[0].ref
    body = body_at(node, update_result.notifications[0].ref)
    assert body["references"] == [
        {"ref": alert_ref, "leaf_hash": alert_result.notifications[0].leaf_hash}
    ]
    state, links = lifecycle.incident_state(node, update_result.notifications[0].ref)
    assert [link.ref for link in links] == [alert_ref, update_result.notifications[0].ref]
    assert state["state"] == "active" and state["updates"] == 1


def test_exercise_drafts_are_rewritten_and_lose_the_real_signed_xml(node: Node) -> None:
    data = (CAP / "real_1.2" / "eccc_canada_signed_update.cap").read_bytes()
    (draft,) = notification_drafts_from_cap(
        node, data, status="Exercise", audience=["KR"], tlp=None, category=None
    )
    assert isinstance(draft, Draft)
    assert draft.status == "Exercise" and draft.body["status"] == "Exercise"
    assert draft.audience == ("JP", "KR")
    assert "xml" not in draft.body["source"] and draft.body["source"]["xml_signature"] is False
    exported = notification_to_cap(draft.body, "Exercise")
    assert b"<status>Exercise</status>" in exported and b"Signature" not in exported
    assert b"EXERCISE" in exported
    node.append([draft])  # the runner appends the drafts itself
    (kept,) = notification_drafts_from_cap(
        node, data, status=None, audience=None, tlp=None, category="met.winter"
    )
    assert kept.status == "Actual" and "xml" in kept.body["source"]


def _certificate_key(data: bytes) -> bytes:
    cert = etree.fromstring(data).find(f".//{{{DS}}}X509Certificate")
    assert cert is not None and cert.text
    der = base64.b64decode("".join(cert.text.split()))
    return (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_signed_cap_is_verified_with_the_configured_key(node: Node) -> None:
    data = (CAP / "real_1.2" / "eccc_canada_signed_update.cap").read_bytes()
    key = _certificate_key(data)
    (ok,) = imported(node, ("signed.cap", data), cap_signer_key=key)
    assert ok.error is None and any("SHA-1" in w for w in ok.warnings)
    tampered = data.replace(b"<headline>", b"<headline>FORGED ", 1)
    unsigned = cap_alert("T-9")
    other = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    size = node.size()
    refused = imported(
        node, ("tampered.cap", tampered), ("unsigned.xml", unsigned), cap_signer_key=key
    )
    wrong = imported(node, ("signed.cap", data), cap_signer_key=other)
    assert all(r.error is not None and r.error.exit_code == 3 for r in [*refused, *wrong])
    assert "no XML-DSig signature" in str(refused[1].error)
    assert node.size() == size


def test_regime_errors_refuse_and_warnings_are_reported(node: Node) -> None:
    adopt(node, regime=DEFAULT_REGIME)
    now = now_ms()
    launch = {
        "vehicle": "space-launch-vehicle",
        "window_start": now + 2 * HOUR,
        "window_end": now + 5 * HOUR,
        "launch_area": {
            "desc": "pad",
            "circles": [{"center": ["130.9", "30.4"], "radius_km": "5"}],
        },
        "hazard_areas": [
            {"desc": "drop", "circles": [{"center": ["132", "28"], "radius_km": "50"}]}
        ],
    }
    fields: dict[str, Any] = {
        "category": "military.launch-notice",
        "severity": "Moderate",
        "urgency": "Future",
        "certainty": "Likely",
        "headline": "Launch notice",
        "details": launch,
        "areas": [launch["launch_area"]],
    }
    size = node.size()
    with pytest.raises(PolicyError, match="launch-notice-lead-time"):
        lifecycle.notify(node, status="Exercise", **fields)
    assert node.size() == size
    launch.update(window_start=now + 30 * HOUR, window_end=now + 31 * HOUR)
    assert lifecycle.notify(node, status="Exercise", **fields).warnings == []
    nuclear = dict(
        fields, category="nuclear.facility-event", details={"facility": "Unit 1", "release": "no"}
    )
    warned = lifecycle.notify(node, status="Exercise", **nuclear)
    assert any("nuclear-ines-level" in w for w in warned.warnings)


def test_an_old_policy_regime_is_read_as_the_launch_lead_time_rule(node: Node) -> None:
    rules = regime_rules(node.context().policy.document)["rules"]
    assert [(r["id"], r["severity"], r["min_ms"]) for r in rules] == [
        ("launch-notice-lead-time", "error", 24 * HOUR)
    ]
    assert NotificationPolicy.of(node).deadlines("general.other") is not None


def test_a_chain_never_forks_and_ends_once(node: Node) -> None:
    area = {"desc": "Sendai", "circles": [{"center": ["140.9", "38.3"], "radius_km": "20"}]}
    alert = lifecycle.notify(
        node,
        status="Test",
        audience="KR",
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="M6",
        areas=[area],
        details={"magnitude": "6.0"},
    ).written
    update = lifecycle.answer(
        node,
        alert.ref,
        msg_type="Update",
        changes=lambda previous: {"details": {**previous["details"], "depth_km": "10"}},
    ).written
    with pytest.raises(InvalidEntryError, match=f"superseded by {update.ref}"):
        lifecycle.answer(node, alert.ref, msg_type="Cancel")
    cancel = lifecycle.answer(node, update.ref, msg_type="Cancel").written
    with pytest.raises(InvalidEntryError, match="already ended"):
        lifecycle.answer(node, cancel.ref, msg_type="Update")
    state, links = lifecycle.incident_state(node, alert.ref)
    assert [link.ref for link in links] == [alert.ref, update.ref, cancel.ref]
    assert state["state"] == "cancelled"
    assert state["details"] == {"magnitude": "6.0", "depth_km": "10"}
    cancelled = body_at(node, cancel.ref)
    assert cancelled["references"] == [{"ref": update.ref, "leaf_hash": update.leaf_hash}]
    assert cancelled["status"] == "Test"


def test_the_migration_creates_the_key_table_as_the_schema_declares(node: Node) -> None:
    columns = {c["name"] for c in inspect(node.store.reader).get_columns("notification_keys")}
    assert columns == {c.name for c in notification_keys.columns}
    indexes = {i["name"]: i for i in inspect(node.store.reader).get_indexes("notification_keys")}
    assert indexes["notification_keys_seq"]["unique"]


def test_a_cap_alert_keeps_its_own_status_against_a_different_status_option(node: Node) -> None:
    (result,) = imported(node, ("a.xml", cap_alert("T-1")), status="Exercise")
    assert result.error is not None
    assert "a.xml: CAP alert 'T-1': its CAP status is Actual, not Exercise" in result.error.message
    (same,) = imported(node, ("e.xml", cap_alert("T-2", status="Exercise")), status="Exercise")
    assert same.error is None


def test_an_exercise_replays_a_real_alert_as_an_exercise(network, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from parley.exercise.runner import ScenarioRun
    from parley.exercise.scenario import Scenario

    nodes = network("JP", "KR")
    (tmp_path / "alert.xml").write_bytes(cap_alert("REAL-1"))
    scenario = Scenario.model_validate(
        {
            "name": "replay",
            "parties": ["JP", "KR"],
            "steps": [
                {
                    "id": "quake",
                    "party": "JP",
                    "action": "import-cap",
                    "file": "alert.xml",
                    "to": ["KR"],
                    "category": "geo.tsunami",
                }
            ],
        }
    )
    (step,) = ScenarioRun(scenario, nodes, tmp_path).run(sleep=lambda _s: None)
    assert step.error is None and len(step.refs) == 1
    body = body_at(nodes["JP"], step.refs[0])
    assert body["status"] == "Exercise" and body["category"] == "geo.tsunami"
    assert b"<status>Exercise</status>" in export_ref(nodes["JP"], step.refs[0], "cap")
    update = lifecycle.answer(nodes["JP"], step.refs[0], msg_type="Update").written
    for ref in (step.refs[0], update.ref):  # the replay has no key row: found by reference
        state, links = lifecycle.incident_state(nodes["JP"], ref)
        assert [link.ref for link in links] == [step.refs[0], update.ref]
        assert state["status"] == "Exercise" and state["updates"] == 1
