"""Attacks on the HTTP edge of a real ``parley serve --tls``: bodies, headers, TLS, JSON, reads.

Two real nodes (US, JP) federate over pinned TLS on 127.0.0.1 (``fleet.Fleet``); the attacks
are sent to JP as an anonymous caller over raw sockets (so that nothing in an HTTP client
softens them), and as US, a pinned peer, signing its requests. Every loop is bounded.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from parley.api import server
from parley.node import officers
from parley.node.federation import push, submission, tlspin
from parley.node.federation.submission import build_body as add_checkpoint_body
from tests.integration.fleet import Fleet, FleetNode

pytestmark = pytest.mark.fleet

MB = 1024 * 1024
RSS_GROWTH_LIMIT = 50 * MB


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("bounds"), parties=("US", "JP"))
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


def _tls(node: FleetNode, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLSocket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the pin is checked below
    if maximum is not None:
        context.maximum_version = maximum
    raw = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    try:
        sock = context.wrap_socket(raw)
    except (ssl.SSLError, OSError):
        raw.close()
        raise
    der = sock.getpeercert(True)
    assert der is not None and tlspin.spki_hash(der) == node.pin
    return sock


def _peak_rss(node: FleetNode) -> int:
    """The server process's peak resident memory (VmHWM): a body held a moment counts."""
    assert node.process is not None
    status = Path(f"/proc/{node.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _send_until_answered(
    sock: ssl.SSLSocket, head: bytes, chunk: bytes, budget: int, pause: float = 0.005
) -> bytes:
    """Send ``head``, then ``chunk`` again and again until the server answers, up to ``budget``.

    Returns the first bytes of the answer, if any came. The ``pause`` between chunks lets the
    answer arrive before the server closes a connection whose body it did not read.
    """
    sock.settimeout(5)
    sock.sendall(head)
    sent = 0
    while sent < budget:
        readable, _w, _x = select.select([sock], [], [], pause)
        if readable or sock.pending():  # a TLS 1.3 session ticket is readable too, but no answer
            sock.settimeout(0)
            try:
                got = sock.recv(65536)
            except ssl.SSLWantReadError:
                got = None
            except (OSError, ssl.SSLError):
                return b""
            finally:
                sock.settimeout(5)
            if got is not None:
                return got
        try:
            sock.sendall(chunk)
        except (OSError, ssl.SSLError):  # the server stopped reading: look at its answer
            return b""
        sent += len(chunk)
    return b""


def _answer(
    sock: ssl.SSLSocket, data: bytes = b"", timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 answer (0 and nothing if none came)."""
    sock.settimeout(timeout)
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            got = sock.recv(65536)
            if not got:
                break
            data += got
        head, _sep, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        want = int(headers.get("content-length", "0"))
        while len(body) < want:
            got = sock.recv(65536)
            if not got:
                break
            body += got
    except (OSError, ssl.SSLError):
        return 0, {}, b""
    if not lines[0].startswith("HTTP/1.1 "):
        return 0, {}, b""
    return int(lines[0].split()[1]), headers, body


def _is_problem(headers: dict[str, str], body: bytes, status: int) -> dict[str, object]:
    assert headers.get("content-type") == "application/problem+json", headers
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return dict(problem)


def test_unbounded_body_memory_exhaustion_attack(pair: Fleet) -> None:
    jp = pair["JP"]
    before = _peak_rss(jp)
    host = f"Host: 127.0.0.1:{jp.port}\r\n"
    declared = (
        f"POST /fed/v1/push HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
        f"Content-Length: {400 * MB}\r\n\r\n"
    ).encode()
    signed_declared = (
        f'POST /fed/v1/add-checkpoint HTTP/1.1\r\n{host}Signature-Input: sig=();keyid="x"\r\n'
        f"Signature: sig=:AAAA:\r\nContent-Length: {400 * MB}\r\n\r\n"
    ).encode()
    chunk = b"[" * 65536
    for head, route, limit in (
        (declared, "/fed/v1/push", push.PUSH_MAX_BYTES),
        (signed_declared, "/fed/v1/add-checkpoint", submission.MAX_REQUEST),
    ):
        with _tls(jp) as sock:
            early = _send_until_answered(sock, head, chunk, 100 * MB)
            status, headers, body = _answer(sock, early)
        assert status == 413
        problem = _is_problem(headers, body, 413)
        assert str(limit) in str(problem["detail"]) and route in str(problem["detail"])
    streamed = (
        f"POST /fed/v1/add-checkpoint HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with _tls(jp) as sock:
        early = _send_until_answered(
            sock, streamed, b"10000\r\n" + b"o" * 65536 + b"\r\n", 20 * MB, pause=0.02
        )
        status, headers, body = _answer(sock, early)
    assert status == 413
    assert str(submission.MAX_REQUEST) in str(_is_problem(headers, body, 413)["detail"])
    grown = _peak_rss(jp) - before
    assert grown < RSS_GROWTH_LIMIT, f"peak RSS grew by {grown // MB} MB"
    with jp.client() as client:  # the node still serves
        assert client.get("/fed/v1/get-sth").status_code == 200


def test_a_body_on_a_read_route_is_refused_unread(pair: Fleet) -> None:
    jp = pair["JP"]
    with _tls(jp) as sock:
        sock.sendall(
            f"GET /fed/v1/get-sth HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {10 * MB}\r\n\r\n".encode()
        )
        status, headers, body = _answer(sock)
    assert status == 413
    _is_problem(headers, body, 413)


def test_slow_headers_attack(pair: Fleet) -> None:
    jp = pair["JP"]
    partial = [
        b"GET /fed/v1/get-sth HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never end
        b"GET /fed/v1/get-s",
    ]  # the request line never ends
    stalled = (
        b"POST /fed/v1/add-checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 1000\r\n\r\nold 0\n"
    )  # a body that stalls
    sockets = [_tls(jp) for _ in range(40)]
    try:
        for index, sock in enumerate(sockets):
            sock.sendall(stalled if index % 4 == 3 else partial[index % 2])
        started = time.monotonic()
        bound = max(server.HEADER_TIMEOUT_S, server.BODY_IDLE_S) + 3
        open_ = set(range(len(sockets)))
        while open_ and time.monotonic() - started < bound:
            for index in list(open_):
                sock = sockets[index]
                sock.settimeout(0.05)
                try:
                    got = sock.recv(4096)
                except (TimeoutError, ssl.SSLWantReadError):
                    continue
                except (OSError, ssl.SSLError):
                    got = b""
                if not got or got.startswith(b"HTTP/1.1 4"):
                    open_.discard(index)
        assert not open_, f"{len(open_)} slow connections still open after {bound} s"
        assert time.monotonic() - started >= server.HEADER_TIMEOUT_S - 1  # not cut at once
    finally:
        for sock in sockets:
            sock.close()
    with jp.client() as client:  # a prompt client is served meanwhile and after
        assert client.get("/fed/v1/get-sth").status_code == 200


def test_tls_downgrade_to_1_2_attack(pair: Fleet) -> None:
    jp = pair["JP"]
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _tls(jp, maximum=ssl.TLSVersion.TLSv1_2).close()
    with _tls(jp) as sock:
        assert sock.version() == "TLSv1.3"


def _push(node: FleetNode, body: bytes, signer: object = None) -> httpx.Response:
    with node.client(signer) as client:  # type: ignore[arg-type]
        return client.post(
            "/fed/v1/push",
            content=body,
            headers={"Parley-To": node.party, "Content-Type": "application/json"},
        )


def test_deeply_nested_json_attack(pair: Fleet) -> None:
    jp, us = pair["JP"], pair.signer("US")
    nested = b"[" * 100_000 + b"]" * 100_000
    wrapped = b'{"submission": "old 0\\n\\n", "entries": ' + b"[" * 200 + b"]" * 200 + b"}"
    anonymous = _push(jp, nested)
    assert anonymous.status_code == 401  # refused before its body is parsed
    assert anonymous.headers["content-type"] == "application/problem+json"
    for body in (nested, wrapped):
        answer = _push(jp, body, us)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "nest" in answer.json()["detail"]


def test_lone_surrogate_json_attack(pair: Fleet) -> None:
    jp, us = pair["JP"], pair.signer("US")
    for body in (
        b'{"submission": "\\ud800", "entries": []}',
        b'{"submission": "old 0\\n\\n\\udfff", "entries": []}',
    ):
        assert _push(jp, body).status_code == 401
        answer = _push(jp, body, us)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "surrogate" in answer.json()["detail"]


def test_push_about_another_partys_log_is_refused(pair: Fleet) -> None:
    jp, us = pair["JP"], pair.signer("US")
    with jp.client() as client:
        note = client.get("/fed/v1/checkpoint").text
    body = json.dumps({"submission": add_checkpoint_body(0, [], note).decode(), "entries": []})
    answer = _push(jp, body.encode(), us)
    assert answer.status_code == 403
    assert "must come from JP" in answer.json()["detail"]


def test_anonymous_reads_worker_pids_attack(pair: Fleet) -> None:
    jp = pair["JP"]
    assert jp.process is not None
    with jp.client() as client:
        answer = client.get("/fed/v1/node/workers")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert str(jp.process.pid) not in answer.text
    with jp.client(pair.signer("US")) as client:
        seen = client.get("/fed/v1/node/workers", headers={"Parley-To": "JP"})
    assert seen.status_code == 200 and seen.json()["worker"] == jp.process.pid


def test_only_an_administrators_token_reads_worker_pids(pair: Fleet) -> None:
    jp = pair["JP"]
    admin = jp.cli("user", "token", "admin", "--scope", "admin").stdout.split()[-1]
    duty = jp.cli("user", "token", "duty", "--scope", "notify").stdout.split()[
        -1
    ]  # a duty officer, not an admin
    with jp.client() as client:
        allowed = client.get("/fed/v1/node/workers", headers={"authorization": f"Bearer {admin}"})
        refused = client.get("/fed/v1/node/workers", headers={"authorization": f"Bearer {duty}"})
        forged = client.get(
            "/fed/v1/node/workers", headers={"authorization": f"Bearer {admin[:-4]}xxxx"}
        )
    assert allowed.status_code == 200 and "workers" in allowed.json()
    assert refused.status_code == 401 and forged.status_code == 401
    opened = jp.open()
    try:
        trail = officers.audit_trail(opened.store, limit=2)
    finally:
        opened.close()
    assert [(r["officer"], r["action"], r["outcome"]) for r in trail] == [
        ("?", "api /fed/v1/node/workers", "refused"),
        ("duty", "api /fed/v1/node/workers", "refused"),
    ]
    assert trail[0]["detail"]["reason"] == "unknown token"
    assert "it needs admin" in trail[1]["detail"]["reason"]


def test_openapi_flood_bypasses_rate_limit_attack(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, parties=("KR",))  # a node of its own: the flood spends its bucket
    node = fleet["KR"]
    from tests.support import init_node

    init_node(node.home, "KR", network="parley-test")
    node.start()
    try:
        node.wait_ready()
        node.info = {"tls_spki": tlspin.certificate_pin(node.home)}
        statuses = []
        with node.client() as client:
            for path in ("/docs", "/redoc"):
                assert client.get(path).status_code in (404, 429)
            for _ in range(260):
                statuses.append(client.get("/openapi.json").status_code)
        assert 429 in statuses, "260 anonymous /openapi.json requests were never rate-limited"
        assert statuses[0] == 200
    finally:
        node.stop()
