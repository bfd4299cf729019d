"""Five nodes as real processes over TLS: delivery, audiences, outages, and refused attacks.

The tests share one fleet (set up once for the module) and run in file order; each one leaves
the fleet fully federated again. Every wait is bounded in time.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from parley.core.entry import parse_header, parse_ref
from parley.node.messaging import receipts
from parley.node.node import Node
from parley.store import logs
from parley.store.schema import entries
from tests.integration.fleet import append
from tests.support import OfficerEnv

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

OTHERS = ("JP", "KR", "CN", "RU")


def check_body(n: int) -> dict[str, Any]:
    return {"nonce": f"{n:032x}", "deadlines": {}}


def statuses(home_node: Any, ref: str) -> dict[str, str]:
    node = home_node.open()
    try:
        _header, rows = receipts.status(node, ref)
        return {row.party: row.status for row in rows}
    finally:
        node.close()


def held(fleet_node: Any, ref: str) -> logs.StoredEntry | None:
    party, seq = parse_ref(ref)
    node: Node = fleet_node.open()
    try:
        with node.store.read() as conn:
            return logs.get_entry(conn, party, seq)
    finally:
        node.close()


def test_fleet_is_pinned_and_synced(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(fleet["US"].cli("peers", "list", "--json").stdout)
    assert sorted(row["party"] for row in rows) == sorted(OTHERS)
    assert all(row["tls_spki"] and row["url"].startswith("https://") for row in rows)
    wait(
        lambda: all(
            r["lag"] == 0 and r["health"] == "ok"
            for r in json.loads(fleet["US"].cli("peers", "list", "--json").stdout)
        ),
        30,
        "US to be in sync with every peer",
    )


def test_broadcast_reaches_every_member_and_four_delivered_receipts_return(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    ref = append(fleet["US"], "check", check_body(1), "ALL")
    wait(
        lambda: set(statuses(fleet["US"], ref).values()) == {"delivered"},
        30,
        "four delivered receipts at US",
    )
    for party in OTHERS:
        stored = held(fleet[party], ref)
        assert stored is not None and stored.body is not None and stored.flag is None
    shown = json.loads(fleet["US"].cli("receipts", ref, "--json").stdout)
    assert [a["party"] for a in shown["addressees"]] == sorted(OTHERS)
    for addressee in shown["addressees"]:
        delivered = addressee["delivered"]
        assert addressee["status"] == "delivered" and delivered["matches"]
        assert delivered["claimed"] >= shown["time"] and delivered["observed"] >= shown["time"]


def test_acknowledgement_by_a_duty_officer_reaches_the_sender(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    ref = append(
        fleet["US"],
        "hotline",
        {"to": "JP", "text": "Confirm receipt", "deadlines": {"acknowledged_within": 3000}},
        "JP",
    )
    wait(lambda: held(fleet["JP"], ref), 30, "JP to hold the hotline message")
    duty: OfficerEnv = {"PARLEY_USER": "duty", "PARLEY_PASSWORD": fleet.duty_password}
    out = fleet["JP"].cli("ack", ref, "--reply", "Received, keeping clear", **duty).stdout
    assert out.startswith(f"Acknowledged {ref} as JP:")
    again = fleet["JP"].cli("ack", ref, check=False, **duty)
    assert again.returncode != 0 and "acknowledged already" in again.stderr
    wait(lambda: statuses(fleet["US"], ref) == {"JP": "acknowledged"}, 30, "the ack at US")
    shown = json.loads(fleet["US"].cli("receipts", ref, "--json").stdout)
    (jp,) = shown["addressees"]
    assert jp["acknowledged"]["officer"] == "duty"
    assert jp["acknowledged"]["reply"] == "Received, keeping clear"


MARKER = "RESTRICTED-7f3a-grid-operator-indicators"


def test_restricted_audience_reaches_no_byte_of_the_body_to_outsiders(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    body = {"type": "request", "text": MARKER, "resources": []}
    ref = append(fleet["US"], "assistance", body, "JP,KR", "AMBER")
    wait(
        lambda: statuses(fleet["US"], ref) == {"JP": "delivered", "KR": "delivered"},
        30,
        "JP and KR delivered receipts",
    )
    for party in ("CN", "RU"):
        wait(lambda party=party: held(fleet[party], ref), 30, f"{party} to hold the header")
        stored = held(fleet[party], ref)
        assert stored is not None and stored.body is None and stored.salt is None
    original = held(fleet["US"], ref)
    assert original is not None and original.body is not None and original.salt is not None
    secrets = [
        MARKER.encode(),
        original.body,
        base64.b64encode(original.body),
        base64.b64encode(original.salt),
        original.salt.hex().encode(),
    ]
    leaf_hash = base64.b64encode(original.leaf_hash).decode()
    _party, seq = parse_ref(ref)
    outsider = fleet.signer("CN")
    for node in fleet.nodes.values():
        for signer in (None, outsider):
            with node.client(signer) as client:
                for response in _every_endpoint(client, node.party, seq, leaf_hash):
                    for secret in secrets:
                        assert secret not in response.content, (node.party, response.url)


def _every_endpoint(
    client: httpx.Client, party: str, seq: int, leaf_hash: str
) -> list[httpx.Response]:
    """Every read endpoint of a node, for its own log and for its mirror of US's and peers'."""
    responses = []
    prefixes = [f"/fed/v1/mirror/{p}" for p in ("US", "JP", "KR", "CN", "RU")]
    prefixes.append("/fed/v1")
    for prefix in prefixes:
        sth = client.get(prefix + "/get-sth")
        responses.append(sth)
        if sth.status_code != 200:
            continue
        size = sth.json()["tree_size"]
        responses.append(client.get(prefix + "/get-entries", params={"start": 0, "end": size - 1}))
        responses.append(
            client.get(prefix + "/get-sth-consistency", params={"first": 1, "second": size})
        )
        if size > seq:
            responses.append(
                client.get(
                    prefix + "/get-proof-by-hash", params={"hash": leaf_hash, "tree_size": size}
                )
            )
    responses.append(client.get("/fed/v1/public-key"))
    assert all(r.status_code in (200, 404) for r in responses), [
        (r.url, r.status_code) for r in responses if r.status_code not in (200, 404)
    ]
    return responses


def test_replayed_requests_are_refused(fleet) -> None:  # type: ignore[no-untyped-def]
    us = fleet["US"]
    request = httpx.Request(
        "GET", us.url + "/fed/v1/get-entries?start=0&end=3", headers={"parley-to": "US"}
    )
    fleet.signer("CN").sign(request)
    with httpx.Client(
        transport=__import__("parley.node.federation.tlspin", fromlist=["x"]).pinned_transport(
            us.pin
        ),
        timeout=10,
    ) as client:
        first = client.send(request)
        assert first.status_code == 200
        replay = client.send(request)
        assert replay.status_code == 401 and "replayed" in replay.json()["detail"]
        moved = httpx.Request(
            "GET", us.url + "/fed/v1/get-entries?start=0&end=2", headers=dict(request.headers)
        )
        refused = client.send(moved)
        assert refused.status_code == 401


def test_forged_party_and_wrong_pins_are_refused(fleet) -> None:  # type: ignore[no-untyped-def]
    ru, jp, kr = fleet["RU"], fleet["JP"], fleet["KR"]
    ru.cli("peers", "remove", "JP")
    try:
        forged = ru.cli(
            "peers",
            "add",
            kr.url,
            "--party",
            "JP",
            "--key",
            jp.info["identity"],
            "--tls-spki",
            kr.pin,
            check=False,
        )
        # KR's server refuses a request addressed to JP before it could present itself
        assert forged.returncode != 0 and "addressed to 'JP', not to KR" in forged.stderr
        wrong_pin = ru.cli(
            "peers",
            "add",
            jp.url,
            "--party",
            "JP",
            "--key",
            jp.info["identity"],
            "--tls-spki",
            kr.pin,
            check=False,
        )
        assert wrong_pin.returncode != 0 and "pin mismatch" in wrong_pin.stderr
        stranger = ru.cli(
            "peers",
            "add",
            jp.url,
            "--party",
            "JP",
            "--key",
            kr.info["identity"],
            "--tls-spki",
            jp.pin,
            check=False,
        )
        assert stranger.returncode != 0 and "not its identity key" in stranger.stderr
    finally:
        ru.cli(
            "peers",
            "add",
            jp.url,
            "--party",
            "JP",
            "--key",
            jp.info["identity"],
            "--tls-spki",
            jp.pin,
        )


def test_tampered_entry_is_refused_and_nothing_is_stored(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    us, jp = fleet["US"], fleet["JP"]
    jp.stop()
    try:
        ref = append(
            us,
            "hotline",
            {"to": "JP", "text": "original words", "deadlines": {"acknowledged_within": 3000}},
            "JP",
        )
        party, seq = parse_ref(ref)
        original = held(us, ref)
        assert original is not None and original.body is not None
        _set_body(us, seq, original.body.replace(b"original words", b"forged words!!"))
        result = jp.cli("sync", "--peer", "US", "--no-mirrors", check=False)
        assert result.returncode != 0 and ref in result.stderr and "body" in result.stderr
        assert held(jp, ref) is None
        _set_body(us, seq, original.body)
        assert jp.cli("sync", "--peer", "US", "--no-mirrors").returncode == 0
        stored = held(jp, ref)
        assert stored is not None and stored.body == original.body
    finally:
        jp.start()
        jp.wait_ready()
    wait(lambda: statuses(us, ref) == {"JP": "delivered"}, 30, "JP's receipt at US")


def _set_body(fleet_node: Any, seq: int, body: bytes | None) -> None:
    node = fleet_node.open()
    try:
        with node.store.write() as conn:
            where = (entries.c.party == fleet_node.party) & (entries.c.seq == seq)
            values = {"body": body} if body is not None else {"body": None, "salt": None}
            conn.execute(update(entries).where(where).values(**values))
    finally:
        node.close()


def test_node_down_and_back_catches_up_from_a_mirror(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    us, kr = fleet["US"], fleet["KR"]
    kr.stop()
    ref = append(us, "check", check_body(2), "ALL")
    wait(lambda: all(held(fleet[p], ref) for p in ("JP", "CN", "RU")), 30, "the others")
    us.stop()
    try:
        kr.start()
        kr.wait_ready()
        stored = wait(lambda: held(kr, ref), 30, "KR to catch up from a mirror while US is down")
        assert stored.body is not None  # ALL + GREEN: a mirror serves it to an authenticated peer
        rows = {r["party"]: r for r in json.loads(kr.cli("peers", "list", "--json").stdout)}
        assert rows["US"]["synced"] >= parse_ref(ref)[1] + 1
    finally:
        us.start()
        us.wait_ready()
    wait(lambda: statuses(us, ref).get("KR") == "delivered", 60, "KR's receipt back at US")


def test_withheld_body_is_recorded_as_an_observation(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    us, ru = fleet["US"], fleet["RU"]
    ru.stop()
    try:
        ref = append(
            us,
            "hotline",
            {"to": "RU", "text": "for RU", "deadlines": {"acknowledged_within": 3000}},
            "RU",
        )
        _set_body(us, parse_ref(ref)[1], None)  # the author withholds it from its addressee
        ru.cli("sync", "--peer", "US", "--no-mirrors")
        stored = held(ru, ref)
        assert stored is not None and stored.body is None and stored.flag == "body-withheld"
        found = _observations(ru)
        assert any(
            o["type"] == "body-withheld" and o["party"] == "US" and o["entry"]["ref"] == ref
            for o in found
        )
        assert statuses(us, ref) == {"RU": "none"}
    finally:
        ru.start()
        ru.wait_ready()


def _observations(fleet_node: Any) -> list[dict[str, Any]]:
    node = fleet_node.open()
    try:
        with node.store.read() as conn:
            own = list(logs.iter_log(conn, fleet_node.party))
    finally:
        node.close()
    return [
        json.loads(e.body) for e in own if e.body and parse_header(e.leaf).kind == "observation"
    ]


def test_a_peer_not_yet_recognised_gets_bodies_once_pinned(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    us, ru = fleet["US"], fleet["RU"]
    us.cli("peers", "remove", "RU")  # US no longer knows RU: RU's requests are anonymous there
    try:
        ref = append(us, "check", check_body(3), "ALL")
        ru.cli("sync", "--peer", "US", "--no-mirrors")
        stored = held(ru, ref)
        assert stored is not None and stored.body is None and stored.flag == "body-pending"
        assert not any(o["entry"]["ref"] == ref for o in _observations(ru))
    finally:
        us.cli(
            "peers",
            "add",
            ru.url,
            "--party",
            "RU",
            "--key",
            ru.info["identity"],
            "--tls-spki",
            ru.pin,
        )
    ru.cli("sync", "--peer", "US", "--no-mirrors")
    stored = held(ru, ref)
    assert stored is not None and stored.body is not None and stored.flag is None
    wait(lambda: statuses(us, ref).get("RU") == "delivered", 30, "RU's receipt once filled")


def own_sizes(fleet: Any) -> dict[str, int]:
    sizes = {}
    for party, fleet_node in fleet.nodes.items():
        node = fleet_node.open()
        try:
            sizes[party] = node.size()
        finally:
            node.close()
    return sizes


def test_an_idle_network_does_not_grow(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    """Witnessing and gossip run every 3 s, yet add nothing to any log while nobody speaks."""
    settled: list[dict[str, int]] = []

    def stable() -> bool:
        time.sleep(1)
        settled.append(own_sizes(fleet))
        return len(settled) > 1 and settled[-1] == settled[-2]

    wait(stable, 60, "receipts in flight to settle")
    time.sleep(3 * 3.0 + 1)  # three witnessing intervals
    assert own_sizes(fleet) == settled[-1]


def test_flooding_peer_is_held_to_its_quota(fleet, wait) -> None:  # type: ignore[no-untyped-def]
    """Last: it leaves CN paused at its peers for a minute. The policy allows 300 addressed
    entries per minute; CN writes 320 in one go."""
    cn = fleet["CN"]
    flood = Path(cn.home.parent) / "flood.jsonl"
    flood.write_text(
        "".join(
            json.dumps(
                {"kind": "check", "status": "Exercise", "to": "ALL", "body": check_body(10_000 + n)}
            )
            + "\n"
            for n in range(320)
        )
    )
    refs = cn.cli("log", "append", "--jsonl", str(flood)).stdout.split()[::2]
    last = refs[-1]
    for party in ("US", "JP", "KR", "RU"):
        wait(lambda party=party: held(fleet[party], last), 60, f"{party} to hold the flood")
        node = fleet[party].open()
        try:
            with node.store.read() as conn:
                flags = [
                    e.flag
                    for e in logs.get_range(
                        conn, "CN", parse_ref(refs[0])[1], parse_ref(last)[1] + 1
                    )
                ]
        finally:
            node.close()
        assert flags.count("over-quota") == 20 and flags[-20:] == ["over-quota"] * 20
        found = [o for o in _observations(fleet[party]) if o["type"] == "over-quota"]
        assert len(found) == 1 and found[0]["party"] == "CN"
        assert "addressed entries per minute" in found[0]["detail"]
    counts = statuses(cn, refs[0]), statuses(cn, last)
    assert set(counts[1].values()) == {"none"}  # over-quota entries are never receipted
