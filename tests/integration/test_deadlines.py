"""Deadlines between three real nodes: escalation, lateness, an inquiry, a communication check.

US, JP and KR run ``parley serve --tls`` under a policy with deadlines of seconds
(``--deadline-scale 0.01``) and a communication check every 5 s. A local HTTP receiver takes
US's webhooks. Everything goes through the CLI; every wait is bounded in time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from parley.core.entry import parse_ref
from parley.node.messaging import checks, deadlines
from parley.node.node import Node, now_ms
from parley.store import logs
from tests.integration.fleet import Fleet, FleetNode, append, eventually

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

PARTIES = ("US", "JP", "KR")
NETWORK = "parley-test"
CHECK_INTERVAL_MS = 5000
QUICK = {"delivered_within": 3000, "acknowledged_within": 3600}  # the check class minimums
T = TypeVar("T")


class ThreeNodes(Fleet):
    """Three nodes under a policy with short deadlines and a 5 s check interval."""

    def __init__(self, folder: Path) -> None:
        super().__init__(
            folder, parties=PARTIES, policy_options=("--check-interval", str(CHECK_INTERVAL_MS))
        )


class Receiver:
    """A local webhook receiver that keeps every JSON payload POSTed to it."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        received = self.payloads

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, event: str, entry: str) -> list[dict[str, Any]]:
        return [
            p["data"]
            for p in list(self.payloads)
            if p["event"] == event and p["data"]["entry"] == entry
        ]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    fleet = ThreeNodes(tmp_path_factory.mktemp("deadlines"))
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="module")
def receiver(three: ThreeNodes) -> Iterator[Receiver]:
    hook = Receiver()
    three["US"].cli(
        "webhooks", "add", hook.url, "--event", "deadline.missed", "--event", "deadline.late"
    )
    yield hook
    hook.stop()


def shown(node: FleetNode, *args: str) -> Any:
    return json.loads(node.cli(*args, "--json").stdout)


def read(node: FleetNode, work: Callable[[Node], T]) -> T:
    """Read a node's database directly (to wait, cheaply, without a CLI process per poll)."""
    opened = node.open()
    try:
        return work(opened)
    finally:
        opened.close()


def held(node: FleetNode, ref: str) -> bool:
    party, seq = parse_ref(ref)

    def get(opened: Node) -> bool:
        with opened.store.read() as conn:
            stored = logs.get_entry(conn, party, seq)
        return stored is not None and stored.body is not None

    return read(node, get)


def clock(node: FleetNode, ref: str, party: str, name: str) -> dict[str, Any] | None:
    judged = read(node, lambda opened: deadlines.entry_clocks(opened, ref, now_ms()))
    found = [c for c in judged.clocks if c.party == party and c.clock == name]
    return found[0].to_dict() if found else None


def test_a_missed_acknowledgement_escalates_and_a_late_one_shows_late(three, receiver) -> None:  # type: ignore[no-untyped-def]
    us, jp = three["US"], three["JP"]
    ref = append(us, "check", {"nonce": "5e" * 16, "deadlines": QUICK}, "JP")
    missed = eventually(
        lambda: [
            e for e in receiver.events("deadline.missed", ref) if e["clock"] == "acknowledged"
        ],
        20,
        "deadline.missed webhook",
    )
    assert missed[0]["addressee"] == "JP" and missed[0]["within"] == QUICK["acknowledged_within"]
    status = shown(us, "status")
    escalated = [r for r in status["missed"] if r["entry"] == ref and r["clock"] == "acknowledged"]
    assert escalated and escalated[0]["state"] == "missed" and escalated[0]["escalated"]
    assert {p["party"] for p in status["peers"]} == {"JP", "KR"} and status["alerts"] == []
    jp.cli("ack", ref)
    late = eventually(
        lambda: (c := clock(us, ref, "JP", "acknowledged")) and c["state"] == "late" and c,
        20,
        "the late acknowledgement at US",
    )
    assert late["late_by"] > 0 and late["answer"]["ref"].startswith("JP:")
    assert eventually(lambda: receiver.events("deadline.late", ref), 10, "deadline.late webhook")
    assert "late +" in us.cli("receipts", ref).stdout


def test_an_inquiry_is_answered_by_a_reply(three) -> None:  # type: ignore[no-untyped-def]
    us, jp = three["US"], three["JP"]
    about = append(jp, "check", {"nonce": "a1" * 16, "deadlines": QUICK}, "US")
    eventually(lambda: held(us, about), 20, "US to hold JP's entry")
    out = us.cli("inquire", about, "--question", "Is this a drill?", "--reply-within", "3m")
    inquiry = out.stdout.split()[1]
    assert out.stdout.startswith(f"Inquiry {inquiry} about {about}")
    eventually(lambda: held(jp, inquiry), 20, "JP to hold the inquiry")
    jp.cli("reply", inquiry, "--text", "Yes, an exercise.")
    answered = eventually(
        lambda: (c := clock(us, inquiry, "JP", "acknowledged")) and c["answer"] and c,
        20,
        "the reply at US",
    )
    assert answered["state"] == "met" and answered["within"] == 180_000


def test_a_scheduled_check_is_acknowledged_by_an_officer(three) -> None:  # type: ignore[no-untyped-def]
    us, jp = three["US"], three["JP"]
    sent = eventually(
        lambda: [r for r in read(us, lambda n: checks.listed(n, now_ms())) if r["peer"] == "JP"],
        20,
        "a scheduled check to JP",
    )
    ref = sent[0]["ref"]  # the newest
    eventually(lambda: held(jp, ref), 20, "JP to hold the check")
    jp.cli("ack", ref)
    eventually(
        lambda: (c := clock(us, ref, "JP", "acknowledged")) and c["answer"],
        20,
        "the check's acknowledgement at US",
    )
    (done,) = [r for r in shown(us, "checks") if r["ref"] == ref]
    assert done["acknowledged"]["state"] == "met" and done["delivered"]["answer"] is not None
