"""The assistance lifecycle across five real nodes (US, JP, KR, CN, RU), through the CLI.

JP has an earthquake and requests three heavy USAR teams; US and KR offer two each and commit
before JP has taken anything up (pending). JP's own requisitions decide which commitments
count: KR's two, then one of US's two; a third requisition that would exceed the request is
refused. US and KR report deployment, JP releases, US reports the team returned. CN and RU,
who only watch, compute the same board; ``parley assistance verify`` recomputes it offline
from the three log exports. Illegal steps and bad input get clear errors and change nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.core.entry import parse_ref
from parley.store import logs
from tests.integration.fleet import Fleet, FleetNode, eventually

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

EX = ("--status", "Exercise")
QUAKE = [
    "notify",
    "--category",
    "geo.earthquake",
    "--severity",
    "Severe",
    "--urgency",
    "Immediate",
    "--certainty",
    "Observed",
    "--headline",
    "M7.3 Tokyo",
    "--circle",
    "35.7,139.7,50",
    *EX,
]


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.running(tmp_path_factory.mktemp("assistance")) as fleet:
        yield fleet


def ref_of(node: FleetNode, *args: str) -> str:
    return node.cli(*args).stdout.split()[0]


def holds(node: FleetNode, *refs: str) -> bool:
    opened = node.open()
    try:
        with opened.store.read() as conn:
            for ref in refs:
                party, seq = parse_ref(ref)
                row = logs.get_entry(conn, party, seq)
                if row is None or row.body is None:
                    return False
        return True
    finally:
        opened.close()


def wait_all(fleet: Fleet, *refs: str) -> None:
    for node in fleet.nodes.values():
        eventually(functools.partial(_holds_or_none, node, refs), 60, f"{node.party} holds {refs}")


def _holds_or_none(node: FleetNode, refs: tuple[str, ...]) -> bool | None:
    return holds(node, *refs) or None


def board(node: FleetNode) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(node.cli("assistance", "board", "--json").stdout)
    return answer


def refused(node: FleetNode, *args: str) -> str:
    result = node.cli(*args, check=False)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def test_full_assistance_lifecycle_across_five_nodes(five: Fleet, tmp_path: Path) -> None:
    jp, us, kr, cn, ru = (five[p] for p in ("JP", "US", "KR", "CN", "RU"))
    quake = ref_of(jp, *QUAKE)
    request = ref_of(
        jp,
        "assistance",
        "request",
        "--incident",
        quake,
        "--type",
        "usar.heavy",
        "--quantity",
        "3",
        "--at",
        "Tokyo@35.68,139.69",
        *EX,
    )
    wait_all(five, request)
    us_offer = ref_of(
        us,
        "assistance",
        "offer",
        request,
        "--type",
        "usar.heavy",
        "--quantity",
        "2",
        "--from",
        "Los Angeles@34.05,-118.24",
        "--self-sufficient",
        *EX,
    )
    kr_offer = ref_of(
        kr,
        "assistance",
        "offer",
        request,
        "--type",
        "usar.heavy",
        "--quantity",
        "2",
        "--from",
        "Seoul@37.57,126.98",
        "--customs",
        "waived",
        *EX,
    )
    wait_all(five, us_offer, kr_offer)
    us_commit = ref_of(us, "assistance", "commit", us_offer, *EX)
    kr_commit = ref_of(kr, "assistance", "commit", kr_offer, *EX)
    wait_all(five, us_commit, kr_commit)

    (item,) = board(jp)["requests"]
    assert {o["ref"]: o["phase"] for o in item["offers"]} == {
        us_offer: "commitment-pending",
        kr_offer: "commitment-pending",
    }
    (line,) = item["lines"]
    assert line["still_needed"] == "3"
    assert [c["party"] for c in line["candidates"]] == ["KR", "US"]  # Seoul is nearer Tokyo
    assert [c["allotted"] for c in line["candidates"]] == ["2", "1"]

    # Illegal steps, refused with the state and the step named; nothing is signed.
    size = jp.open().size()
    message = refused(kr, "assistance", "accept", us_offer, *EX)
    assert "RequisitionResource refused (only JP, the requesting party, may)" in message
    message = refused(jp, "assistance", "commit", kr_offer, *EX)
    assert f"offer {kr_offer} is commitment-pending: CommitResource refused" in message

    first = ref_of(jp, "assistance", "accept", kr_offer, *EX)
    second = ref_of(jp, "assistance", "accept", us_offer, *EX)  # takes the 1 still needed
    message = refused(jp, "assistance", "accept", us_offer, "--quantity", "1", *EX)
    assert f"request {request} is filled: RequisitionResource refused" in message
    assert jp.open().size() == size + 2

    ref_of(us, "assistance", "status", us_offer, "--report", "deployed", *EX)
    ref_of(kr, "assistance", "status", kr_offer, "--report", "deployed", *EX)
    message = refused(us, "assistance", "return", us_offer, *EX)
    assert f"offer {us_offer} is deployed: ReportResourceDeploymentStatus refused" in message
    released = ref_of(jp, "assistance", "release", us_offer, *EX)
    wait_all(five, first, second, released)
    returned = ref_of(us, "assistance", "return", us_offer, *EX)
    wait_all(five, returned)
    eventually(
        lambda: holds(jp, parse_ref(returned)[0] + ":" + str(parse_ref(returned)[1])) or None, 30
    )

    seen = board(jp)
    (item,) = seen["requests"]
    assert item["phase"] == "filled"
    phases = {o["ref"]: o["phase"] for o in item["offers"]}
    assert phases == {us_offer: "returned", kr_offer: "deployed"}
    counted = {o["ref"]: o["lines"][0]["counted"] for o in item["offers"]}
    assert counted == {us_offer: "1", kr_offer: "2"}
    us_pending = [o for o in item["offers"] if o["ref"] == us_offer][0]["lines"][0]["pending"]
    assert us_pending == "1"  # US committed two; JP took up one
    for watcher in (cn, ru, us, kr):
        eventually(functools.partial(_board_is, watcher, seen), 60, f"{watcher.party} board")

    exports = []
    for node in (jp, us, kr):
        path = tmp_path / f"{node.party}.jsonl"
        node.cli("log", "export", str(path))
        exports.append(str(path))
    offline = json.loads(cn.cli("assistance", "verify", *exports, "--json").stdout)
    assert offline["requests"] == seen["requests"]


def test_bad_assistance_input_gets_a_clear_error_and_signs_nothing(five: Fleet) -> None:
    jp = five["JP"]
    quake = ref_of(jp, *QUAKE)
    size = jp.open().size()
    base = ("assistance", "request", "--incident", quake, "--quantity", "1", *EX)
    assert "l1.type: 'usar.giant' is not in the resource catalogue" in refused(
        jp, *base, "--type", "usar.giant"
    )
    assert "l1.unit: 'kg' is not a unit of usar.heavy" in refused(
        jp, *base, "--type", "usar.heavy", "--unit", "kg"
    )
    assert "quantity" in refused(
        jp,
        "assistance",
        "request",
        "--incident",
        quake,
        "--type",
        "usar.heavy",
        "--quantity",
        "three",
        *EX,
    )
    assert "product" in refused(jp, *base, "--type", "health.vaccine")
    assert "no such entry" in refused(
        jp, *base[:2], "--incident", "JP:9999", "--type", "usar.heavy", "--quantity", "1", *EX
    )
    assert jp.open().size() == size


def test_verify_refuses_an_export_whose_assistance_body_was_rewritten_attack(
    five: Fleet, tmp_path: Path
) -> None:
    """A forged body (more teams requested) in an export is caught before any state is shown."""
    import base64

    jp = five["JP"]
    quake = ref_of(jp, *QUAKE)
    request = ref_of(
        jp,
        "assistance",
        "request",
        "--incident",
        quake,
        "--type",
        "usar.medium",
        "--quantity",
        "1",
        *EX,
    )
    path = tmp_path / "jp.jsonl"
    jp.cli("log", "export", str(path))
    lines = path.read_text().splitlines()
    seq = parse_ref(request)[1]
    forged = []
    for line in lines:
        record = json.loads(line)
        if record.get("type") == "entry" and record.get("seq") == seq:
            body = json.loads(base64.b64decode(record["body"]))
            body["resources"][0]["quantity"] = "9"
            record["body"] = base64.b64encode(json.dumps(body).encode()).decode()
        forged.append(json.dumps(record))
    path.write_text("\n".join(forged) + "\n")
    result = jp.cli("assistance", "verify", str(path), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "body" in result.stderr.lower()
    assert "usar.medium" not in result.stdout


def _board_is(node: FleetNode, seen: dict[str, Any]) -> bool | None:
    return board(node) == seen or None
