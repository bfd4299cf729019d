"""Key rotation across real nodes: JP rotates its identity and log key while serving; US follows.

Five real ``parley serve --tls`` processes (the fleet of ``fleet.py``). JP's administrator runs
``parley key rotate`` and ``parley key rotate --purpose log`` on the running node and appends
more entries; US pulls, verifies and stores them, and its pin of JP moves to the new keys. An
entry proof made before the rotation still verifies offline, and an entry signed after the
rotation by JP's retired log key is refused by US's verifying ingest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parley.core.entry import SALT_SIZE, Body, resolve_sharing, sign_header
from parley.core.errors import VerificationError
from parley.core.keys import PublicKey
from parley.core.verify import verify_log
from parley.node.federation import ingest, peers
from parley.node.federation.peer_client import Fetched
from parley.node.home import no_passphrase, read_key_file
from parley.store import logs
from tests.integration.fleet import append

pytestmark = [pytest.mark.slow, pytest.mark.fleet]


def check_body(n: int) -> dict[str, Any]:
    return {"nonce": f"{n:032x}", "deadlines": {}}


def size_of(fleet_node: Any) -> int:
    return int(json.loads(fleet_node.cli("node", "info", "--json").stdout)["size"])


def test_jp_rotates_identity_and_log_key_and_us_follows(  # type: ignore[no-untyped-def]
    fleet, wait: Callable[..., Any], tmp_path: Path
) -> None:
    jp, us = fleet["JP"], fleet["US"]
    old_identity = str(jp.info["identity"])
    retired_log_key = read_key_file(jp.home / "keys" / "log.pem", no_passphrase)
    before = append(jp, "check", check_body(501), "ALL")
    old_proof = tmp_path / "before.json"
    jp.cli("log", "proof", before, "--out", str(old_proof))

    committed = read_key_file(jp.home / "offline" / "next-identity.pem", no_passphrase).public
    rotated = jp.cli("key", "rotate").stdout
    assert "Rotated the identity key" in rotated
    assert "Rotated the log key" in jp.cli("key", "rotate", "--purpose", "log").stdout
    new_log_key = read_key_file(jp.home / "keys" / "log.pem", no_passphrase).public
    hotline = append(
        jp, "hotline", {"to": "US", "text": "New keys, same centre", "deadlines": {}}, "US"
    )
    after = append(jp, "check", check_body(502), "ALL")
    size = size_of(jp)

    us.cli("sync", "--peer", "JP")
    wait(lambda: fleet.synced("US", "JP", size), 30, "US to hold JP's rotated log")

    node = us.open()
    try:
        with node.store.read() as conn:
            stored = {
                ref: logs.get_entry(conn, "JP", int(ref.split(":")[1])) for ref in (hotline, after)
            }
            items = [
                (s.leaf, None if s.body is None else Body(s.salt or b"", s.body))
                for s in logs.iter_log(conn, "JP")
            ]
            notes = logs.all_checkpoints(conn, "JP")
            pin = peers.find_peer(conn, "JP")
        assert all(entry is not None and entry.body is not None for entry in stored.values())
        # What US holds of JP verifies from JP's first identity across both rotations.
        report = verify_log(items, notes, pinned_identity=PublicKey.from_b64(old_identity))
        assert report.size == size
        # US's pin followed the rotation: identity, log key (wake-ups), http key (requests).
        assert pin is not None
        assert pin.identity == committed and pin.statement.identity == committed
        assert pin.log_key == new_log_key
        listed = json.loads(us.cli("peers", "list", "--json").stdout)
        assert {row["party"]: row["identity"] for row in listed}["JP"] == committed.b64
        refuse_entry_by_retired_key(node, retired_log_key)
    finally:
        node.close()

    # The proof made before the rotation still verifies offline against JP's first identity,
    # and so does a proof of the same entry made now, under a checkpoint signed by the new key.
    shown = us.cli("verify", "proof", str(old_proof), "--identity", old_identity).stdout
    assert before in shown
    new_proof = tmp_path / "after.json"
    jp.cli("log", "proof", before, "--out", str(new_proof))
    assert before in us.cli("verify", "proof", str(new_proof), "--identity", old_identity).stdout


def refuse_entry_by_retired_key(node: Any, retired: Any) -> None:
    """JP's retired log key signs the next entry of JP's log: US's ingest refuses it."""
    with node.store.read() as conn:
        pin = peers.find_peer(conn, "JP")
        assert pin is not None
        cursor = ingest.restore(conn, "JP", node.network, pin.identity)
    policy = cursor.verifier.policy_hash()
    assert policy is not None
    audience, tlp = resolve_sharing("check", "ALL", None)
    body = Body.seal(check_body(666), os.urandom(SALT_SIZE))
    forged = sign_header(
        network=node.network,
        policy=policy,
        party="JP",
        node=pin.identity.kid,
        seq=cursor.size,
        time=cursor.last_time + 1,
        kind="check",
        status="Exercise",
        audience=audience,
        tlp=tlp,
        body=body,
        log_key=retired,
    )
    held_before = cursor.size
    with pytest.raises(VerificationError, match=f"signed by key {retired.kid}"):
        ingest.verify_entries(cursor, [Fetched(forged.leaf, body)], forged.time + 1)
    with node.store.read() as conn:
        state = logs.get_state(conn, "JP")
    assert state is not None and state.size == held_before  # nothing stored
