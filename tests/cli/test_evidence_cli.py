"""``parley evidence export`` and ``parley verify bundle`` through the real command.

Nodes are built in-process (real ``Node.create``, replication and cosignatures); the export runs
in a CLI process on the author's home, the verification in another process with no node home.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from parley.core.checkpoint import Checkpoint, parse_note, witness_name_for
from parley.core.entry import parse_header
from parley.node import officers
from parley.node.federation import peers, witnessing
from parley.node.federation.pull import pull
from parley.node.messaging import receipts
from parley.node.node import Node, now_ms
from parley.store import logs
from parley.store import witnessing as rows
from tests.node.conftest import NETWORK, MemoryLog, hotline, make_network, pin
from tests.support import OFFICER_PASSWORD, officer_env, run_cli


def cosign_at(holder: Node, party: str, witness: Node, now: int) -> None:
    with holder.store.read() as conn:
        latest = logs.latest_checkpoint(conn, party)
    assert latest is not None
    size, note = latest
    checkpoint = Checkpoint.parse_body(parse_note(note).text.encode())
    with witness.store.write() as conn:
        line = witnessing.cosign_checkpoint(witness, conn, party, checkpoint, note, now)
    if witness is not holder:
        cosignature = rows.Cosignature(
            party, size, witness_name_for(witness.log.origin), checkpoint.root, now, line
        )
        with holder.store.write() as conn:
            rows.put_cosignatures(conn, [cosignature])


REPLY = "Roger: our second battery withdraws at dawn"


def make_author(folder: Path, reply: str | None = None) -> tuple[Path, str, str]:
    """US's home after US -> JP hotline, JP's receipts, cosignatures; (home, ref, US identity).

    With ``reply``, JP's duty officer also acknowledges the message with that reply.
    """
    nodes = make_network(folder, ("US", "JP", "KR"))
    try:
        for a in nodes.values():
            for b in nodes.values():
                if a is not b:
                    pin(a, b)
        us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
        officers.add_officer(us.store, "admin", "admin", OFFICER_PASSWORD, now_ms())
        (entry,) = us.append([hotline("JP", "Do you read us?")])
        pull(jp, peers.get_peer(jp.store, "US"), MemoryLog(us, "JP"))
        if reply is not None:
            receipts.acknowledge(jp, entry.ref, "duty", reply, now_ms())
        pull(us, peers.get_peer(us.store, "JP"), MemoryLog(jp, "US"))
        pull(us, peers.get_peer(us.store, "KR"), MemoryLog(kr, "US"))
        t = now_ms() // 1000 * 1000
        for party, witness, delay in (("US", jp, 1), ("US", kr, 2), ("JP", us, 3), ("JP", kr, 4)):
            cosign_at(us, party, witness, t + delay * 1000)
        return us.home.path, entry.ref, us.identity().public.b64
    finally:
        for node in nodes.values():
            node.close()


@pytest.fixture
def author(tmp_path: Path) -> tuple[Path, str, str]:
    return make_author(tmp_path)


@pytest.fixture
def exported(author: tuple[Path, str, str], tmp_path: Path) -> Path:
    home, ref, _identity = author
    file = tmp_path / "bundle.json"
    result = run_cli("evidence", "export", ref, "--out", str(file), home=home, **officer_env())
    assert f"Bundle of {ref}: receipts 1, key histories of JP, KR, US" in result.stdout
    return file


def verify(file: Path, tmp_path: Path, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    nowhere = tmp_path / "no-node-here"
    result = run_cli("verify", "bundle", str(file), *args, home=nowhere, check=check)
    assert not nowhere.exists()
    return result


def test_export_then_verify_in_another_process_with_no_node(
    author: tuple[Path, str, str], exported: Path, tmp_path: Path
) -> None:
    _home, ref, identity = author
    result = verify(exported, tmp_path, "--trust", identity)
    out = result.stdout
    assert f"OK evidence bundle for {ref} on network {NETWORK}" in out
    assert f"entry   {ref} hotline [Exercise] TLP:AMBER from US to JP" in out
    assert "says      Do you read us?" in out
    assert "receipt JP:" in out and f"delivered for {ref}" in out
    assert out.count("witnessed existed no later than") == 2
    assert out.count("(±1 s: cosignature times are whole seconds, so before ") == 2
    assert "pinned: identity" in out and "of US" in out
    assert "warning" not in result.stderr


def test_verifying_without_a_pin_warns(exported: Path, tmp_path: Path) -> None:
    result = verify(exported, tmp_path)
    assert "OK evidence bundle" in result.stdout
    assert "nothing pinned" in result.stderr


def test_a_tampered_bundle_fails_with_a_message(exported: Path, tmp_path: Path) -> None:
    doc = json.loads(exported.read_text())
    leaf = doc["receipts"][0]["entry"]["leaf"]
    doc["receipts"][0]["entry"]["leaf"] = leaf[:60] + ("A" if leaf[60] != "A" else "B") + leaf[61:]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    result = verify(tampered, tmp_path, check=False)
    assert result.returncode != 0
    assert "error:" in result.stderr and "receipts[0]" in result.stderr


def test_a_bundle_under_another_policy_fails(exported: Path, tmp_path: Path) -> None:
    result = verify(exported, tmp_path, "--policy-hash", "0" * 64, check=False)
    assert result.returncode == 3
    assert "not the required" in result.stderr


def test_export_writes_to_stdout(author: tuple[Path, str, str]) -> None:
    home, ref, _identity = author
    result = run_cli("evidence", "export", ref, "--without-body", home=home, **officer_env())
    doc = json.loads(result.stdout)
    assert doc["format"] == "parley-evidence-bundle" and doc["ref"] == ref
    assert "body" not in doc["entry"]["entry"]


def bodies_in(value: object) -> list[bytes]:
    """Every body a bundle carries, decoded (wherever it sits in the document)."""
    if isinstance(value, list):
        return [b for item in value for b in bodies_in(item)]
    if not isinstance(value, dict):
        return []
    found = [base64.b64decode(value["body"])] if isinstance(value.get("body"), str) else []
    return found + [b for item in value.values() for b in bodies_in(item)]


def test_evidence_without_body_leaks_reply_text_attack(tmp_path: Path) -> None:
    home, ref, identity = make_author(tmp_path / "nodes", REPLY)
    with_bodies = run_cli("evidence", "export", ref, home=home, **officer_env()).stdout
    assert any(REPLY.encode() in body for body in bodies_in(json.loads(with_bodies)))
    file = tmp_path / "bundle.json"
    run_cli(
        "evidence", "export", ref, "--without-body", "--out", str(file), home=home, **officer_env()
    )
    data = file.read_bytes()
    doc = json.loads(data)
    carried = bodies_in(doc)
    for secret in (REPLY, "Do you read us?"):
        assert secret.encode() not in data
        assert not any(secret.encode() in body for body in carried), secret
    assert {parse_header(base64.b64decode(p["entry"]["leaf"])).kind for p in doc["keys"]} == {"key"}
    assert "body" not in doc["entry"]["entry"]
    kept = [json.loads(body) for proof in doc["receipts"] for body in bodies_in(proof)]
    assert kept and all("reply" not in receipt for receipt in kept)  # delivered ones stay
    result = verify(file, tmp_path, "--trust", identity)
    assert f"OK evidence bundle for {ref}" in result.stdout
    assert "delivered for" in result.stdout
    assert REPLY not in result.stdout
