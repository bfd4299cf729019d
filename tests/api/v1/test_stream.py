"""The live stream over real HTTP: what each reader sees, and resuming without gap or duplicate."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from parley.api.v1 import stream_routes
from parley.core.entry import ALL
from parley.formats.notification import new_notification
from parley.node import officers
from parley.node.access import Scope
from parley.node.log import Draft
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from tests.support import OFFICER_PASSWORD, Server, init_node

READ_TIMEOUT_S = 20.0


def notify(node: Node, headline: str, tlp: str) -> str:
    """Append a notification as a CLI would: another process than the server."""
    audience = ALL if tlp == "GREEN" else ("JP",)
    outcome = lifecycle.notify(
        node,
        status="Exercise",
        audience=audience,
        tlp=tlp,
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline=headline,
        lang="en",
        areas=[],
        details={},
    )
    return outcome.written.ref


def events(
    url: str,
    token: str,
    until: Callable[[list[dict[str, Any]]], bool],
    *,
    last_id: str | None = None,
    replay: bool = False,
) -> list[dict[str, Any]]:
    """Read events of the stream (every kind) until ``until`` holds, then hang up.

    Only events already committed are awaited, so the loop ends; pytest's timeout bounds it.
    """
    headers = {"authorization": f"Bearer {token}"}
    if last_id is not None:
        headers["last-event-id"] = last_id
    found: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    params = {"from": "start"} if replay else {}
    with httpx.stream(
        "GET", f"{url}/api/v1/stream", headers=headers, params=params, timeout=READ_TIMEOUT_S
    ) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith(("id:", "event:", "data:")):
                name, _, value = line.partition(":")
                current[name] = value.strip()
            elif not line and "data" in current:
                current["data"] = orjson.loads(current["data"])
                found.append(current)
                current = {}
                if until(found):
                    break
    return found


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, Node, dict[str, str]]]:
    home = init_node(tmp_path_factory.mktemp("stream") / "jp", "JP")
    node = Node.open(home)
    officers.add_officer(node.store, "watch", "observer", OFFICER_PASSWORD, now_ms())
    tokens = {
        "admin": officers.issue_token(node.store, "admin", Scope.READ, now_ms())[0],
        "watch": officers.issue_token(node.store, "watch", Scope.READ, now_ms())[0],
    }
    server = Server(home)
    try:
        yield server, node, tokens
    finally:
        server.stop()
        node.close()


def test_a_new_notification_reaches_a_connected_reader(
    served: tuple[Server, Node, dict[str, str]],
) -> None:
    server, node, tokens = served
    got: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: got.extend(events(server.url, tokens["admin"], bool)), daemon=True
    )
    reader.start()
    deadline = now_ms() + 10_000
    ref = None
    while reader.is_alive() and now_ms() < deadline:  # until the reader has its event
        if ref is None:
            threading.Event().wait(0.5)  # let the reader connect first
            ref = notify(node, "live one", "GREEN")
        reader.join(0.2)
    assert got and got[0]["event"] == "notification"
    assert got[0]["data"]["ref"] == ref and got[0]["data"]["headline"] == "live one"


def test_an_observer_sees_an_amber_notification_withheld_and_the_duty_desk_reads_it(
    served: tuple[Server, Node, dict[str, str]],
) -> None:
    server, node, tokens = served
    ref = notify(node, "amber one", "AMBER")
    seen = {}
    for name in ("admin", "watch"):
        found = _read_until(server.url, tokens[name], ref)
        seen[name] = found[-1]["data"]
    assert seen["admin"]["headline"] == "amber one"
    assert "headline" not in seen["watch"]
    assert "above the clearance of an observer" in seen["watch"]["withheld"]


def test_last_event_id_resumes_without_a_gap_or_a_duplicate(
    served: tuple[Server, Node, dict[str, str]],
) -> None:
    server, node, tokens = served
    first = notify(node, "first", "GREEN")
    second = notify(node, "second", "GREEN")
    everything = _read_until(server.url, tokens["admin"], second)
    ids = [event["id"] for event in everything]
    at_first = next(i for i, e in enumerate(everything) if e["data"].get("ref") == first)
    resumed = _read_until(server.url, tokens["admin"], second, last_id=ids[at_first])
    assert [e["id"] for e in resumed] == ids[at_first + 1 :]
    assert resumed[-1]["data"]["ref"] == second


def _read_until(url: str, token: str, ref: str, last_id: str | None = None) -> list[dict[str, Any]]:
    """Read from the start (or after ``last_id``) up to the event of ``ref``."""
    return events(
        url,
        token,
        lambda found: found[-1]["data"].get("ref") == ref,
        last_id=last_id,
        replay=last_id is None,
    )


def test_a_bad_last_event_id_is_a_problem_naming_the_header(
    served: tuple[Server, Node, dict[str, str]],
) -> None:
    server, _node, tokens = served
    answer = httpx.get(
        f"{server.url}/api/v1/stream",
        headers={"authorization": f"Bearer {tokens['admin']}", "last-event-id": "nonsense"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "Last-Event-ID"


def test_the_stream_needs_credentials(served: tuple[Server, Node, dict[str, str]]) -> None:
    server, _node, _tokens = served
    answer = httpx.get(f"{server.url}/api/v1/stream", timeout=10)
    assert answer.status_code == 401


def _bulk(node: Node, count: int, size: int) -> None:
    """Append ``count`` notifications whose headlines are ``size`` characters, in one commit."""
    drafts = []
    for number in range(count):
        body = new_notification(
            category="geo.earthquake",
            identifier=f"JP-SLOW-{number}-{now_ms()}",
            sender="slow.parley",
            sent_ms=now_ms() // 1000 * 1000,
            status="Exercise",
            headline=f"{number} " + "x" * size,
            urgency="Immediate",
            severity="Severe",
            certainty="Observed",
            areas=[],
        )
        drafts.append(Draft("notification", "Exercise", body, ALL, None))
    node.append(drafts)


def test_slow_client_attack_is_cut_off_not_buffered(
    served: tuple[Server, Node, dict[str, str]],
) -> None:
    """A client that stops reading is disconnected after the send timeout.

    It asks for the stream with a tiny receive buffer and never reads; 2,000 events of 8 KiB
    (16 MiB, more than every socket buffer between the two) follow. A reader that kept up would
    never see the stream end; this one finds it closed by the server, with only part of the
    events delivered, and the server holds no copy of what it did not send.
    """
    server, node, tokens = served
    port = int(server.url.rsplit(":", 1)[1])
    pid = server.process.pid
    before = _rss_kib(pid)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        request = (
            f"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {tokens['admin']}\r\n\r\n"
        )
        sock.sendall(request.encode())
        threading.Event().wait(1.0)  # the stream is open; the client reads nothing from now on
        _bulk(node, 2000, 8192)
        threading.Event().wait(stream_routes.SEND_TIMEOUT_S + 8)
        during = _rss_kib(pid)
        sock.settimeout(20)
        received = 0
        while True:  # drain what the kernel buffered; the server must have hung up
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            received += len(chunk)
    assert received < 2000 * 8192 // 2, "the slow client was sent everything"
    assert during - before < 64 * 1024, f"the server grew by {during - before} KiB"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")
