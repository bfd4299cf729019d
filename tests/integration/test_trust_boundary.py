"""The trust boundary between real nodes over TLS: relayed requests, framing mirrors, floods.

Three real ``parley serve --tls`` processes (US, JP, CN) share one fleet for the module; the
tests run in file order. A hostile CN is played by a TLS proxy in front of the real CN node:
it forwards every request, except that it corrupts the consistency proofs it serves as a mirror
of JP's log. Every wait is bounded in time.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.core.entry import Body, parse_header
from parley.node.federation import tlspin
from parley.node.federation.http_signatures import RECIPIENT
from parley.store import logs
from tests.integration.fleet import Fleet, FleetNode, append, eventually
from tests.support import free_port

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

MARKER = "AMBER-ONLY-FOR-JP-relay-probe"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.running(tmp_path_factory.mktemp("boundary"), parties=("US", "JP", "CN")) as fleet:
        yield fleet


def size_of(node: FleetNode, party: str) -> int:
    opened = node.open()
    try:
        with opened.store.read() as conn:
            state = logs.get_state(conn, party)
            return 0 if state is None else state.size
    finally:
        opened.close()


def signed_request(fleet: Fleet, signer_party: str, to: FleetNode, path: str) -> httpx.Request:
    """A request as ``signer_party``'s node signs it for ``to`` (its URL, its party)."""
    request = httpx.Request("GET", to.url + path, headers={RECIPIENT: to.party})
    fleet.signer(signer_party).sign(request)
    return request


def send_to(node: FleetNode, request: httpx.Request, host: str) -> httpx.Response:
    """Send ``request``'s method, path and signed headers to ``node``, with a chosen Host."""
    headers = dict(request.headers) | {"host": host}
    with httpx.Client(transport=tlspin.pinned_transport(node.pin), timeout=10) as client:
        return client.request(
            request.method, node.url + request.url.raw_path.decode(), headers=headers
        )


def reveals(answer: httpx.Response) -> bool:
    """Whether an answer carries the AMBER body (entries' bodies travel base64-encoded)."""
    if MARKER in answer.text:
        return True
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return False
    entries = answer.json().get("entries", []) if isinstance(answer.json(), dict) else []
    return any(MARKER.encode() in base64.b64decode(item.get("body") or "") for item in entries)


def test_relayed_signed_request_attack(fleet: Fleet) -> None:
    """CN replays JP's genuine pull (signed for CN) at US: US must not serve JP's bodies."""
    us, cn = fleet["US"], fleet["CN"]
    ref = append(us, "hotline", {"to": "JP", "text": MARKER, "deadlines": {}}, "JP", "AMBER")
    seq = int(ref.split(":")[1])
    eventually(lambda: size_of(fleet["JP"], "US") > seq, 30, "JP to hold the AMBER entry")
    path = f"/fed/v1/get-entries?start=0&end={seq}"
    authority = us.url.removeprefix("https://")
    genuine = send_to(us, signed_request(fleet, "JP", us, path), authority)
    assert genuine.status_code == 200 and reveals(genuine)  # the probe can see a leak
    signed_for = cn.url.removeprefix("https://")  # the authority JP's signature covers
    for host in (signed_for, authority, "evil.example:1"):
        relayed = send_to(us, signed_request(fleet, "JP", cn, path), host)  # JP -> CN, at US
        assert relayed.status_code == 401, (host, relayed.status_code)
        assert relayed.headers["content-type"].startswith("application/problem+json")
        assert "addressed to CN, not to US" in relayed.json()["detail"]
        assert not reveals(relayed) and "parley-peer" not in relayed.headers
    # the same request once more: refused by its binding, not by a nonce US never saw
    again = signed_request(fleet, "JP", cn, path)
    assert send_to(us, again, authority).status_code == 401


def test_request_signed_the_old_way_is_refused_naming_the_version(fleet: Fleet) -> None:
    from http_message_signatures import HTTPMessageSigner, algorithms

    from parley.node.federation.http_signatures import _Keys

    us = fleet["US"]
    jp = fleet["JP"].open()
    try:
        key = jp.log.key("http")
    finally:
        jp.close()
    request = httpx.Request("GET", us.url + "/fed/v1/get-sth")
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys({key.kid: key.private}, {})
    ).sign(
        request,
        key_id=key.kid,
        label="parley",
        tag="parley-fed/v1",
        nonce=secrets.token_hex(8),
        created=__import__("datetime").datetime.now(__import__("datetime").UTC),
        covered_component_ids=("@method", "@target-uri"),
    )
    answer = send_to(us, request, us.url.removeprefix("https://"))
    assert answer.status_code == 401
    assert "parley-fed/v1" in answer.json()["detail"] and "parley-fed/v2" in answer.json()["detail"]


class FramingMirror:
    """A TLS proxy in front of the real CN node that corrupts JP's mirrored consistency proofs."""

    def __init__(self, folder: Path, cn: FleetNode) -> None:
        self.cn = cn
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.pin = tlspin.ensure_certificate(folder, "hostile mirror")
        self.corrupted = 0
        key, cert = tlspin.tls_paths(folder)
        app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ssl_keyfile=str(key),
            ssl_certfile=str(cert),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FramingMirror:
        self.thread.start()
        eventually(lambda: self.server.started, 10, "the hostile mirror to listen")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    async def forward(self, request: Request) -> Response:
        # forwarded anonymously: the real CN would refuse a signature addressed to this proxy
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        async with httpx.AsyncClient(
            transport=tlspin.async_pinned_transport(self.cn.pin), timeout=10
        ) as client:
            answer = await client.request(
                request.method, self.cn.url + target, content=await request.body()
            )
        content = answer.content
        if request.url.path == "/fed/v1/mirror/JP/get-sth-consistency" and answer.is_success:
            hashes = answer.json()["consistency"]
            forged = [base64.b64encode(secrets.token_bytes(32)).decode() for _ in hashes]
            content = json.dumps({"consistency": forged}).encode()
            self.corrupted += 1
        media = answer.headers.get("content-type", "application/json")
        return Response(content, status_code=answer.status_code, media_type=media)


def bad_mirror_observations(node: FleetNode) -> list[dict[str, Any]]:
    opened = node.open()
    try:
        with opened.store.read() as conn:
            found = []
            for stored in logs.iter_log(conn, opened.party):
                header = parse_header(stored.leaf)
                if header.kind != "observation" or stored.body is None or stored.salt is None:
                    continue
                body = Body(stored.salt, stored.body).value()
                if body.get("type") == "bad-mirror":
                    found.append(body)
            return found
    finally:
        opened.close()


def peer_row(node: FleetNode, party: str) -> dict[str, Any]:
    rows = json.loads(node.cli("peers", "list", "--json").stdout)
    return next(row for row in rows if row["party"] == party)


def test_mirror_framing_attack(fleet: Fleet, tmp_path: Path) -> None:
    """With JP down, CN serves JP's genuine checkpoint with a forged proof: CN is condemned."""
    us, jp, cn = fleet["US"], fleet["JP"], fleet["CN"]
    # US holds JP's log before it goes down, so what it misses needs a non-empty consistency
    # proof: the one the mirror forges (from an empty tree there is nothing to forge)
    append(jp, "check", {"nonce": secrets.token_hex(16), "deadlines": {}}, "ALL", "GREEN")
    eventually(lambda: size_of(us, "JP") == size_of(jp, "JP"), 30, "US to hold JP's log")
    us.stop()
    ref = append(jp, "check", {"nonce": secrets.token_hex(16), "deadlines": {}}, "ALL", "GREEN")
    jp_size = int(ref.split(":")[1]) + 1
    eventually(lambda: size_of(cn, "JP") >= jp_size, 30, "CN to mirror JP's new entry")
    jp.stop()
    with FramingMirror(tmp_path, cn) as mirror:
        us.cli("peers", "remove", "CN")
        us.cli(
            "peers",
            "add",
            mirror.url,
            "--party",
            "CN",
            "--key",
            cn.info["identity"],
            "--tls-spki",
            mirror.pin,
        )
        us.start()
        us.wait_ready()
        observed = eventually(
            lambda: bad_mirror_observations(us), 60, "a bad-mirror observation about CN"
        )
        assert mirror.corrupted >= 1
        assert observed[0]["party"] == "CN" and observed[0]["log"] == "JP"
        assert "does not verify" in observed[0]["detail"]
        assert peer_row(us, "JP")["held"] is None  # the honest author is not held
        assert size_of(us, "JP") < jp_size
        time.sleep(1.0)  # more pull rounds through the mirror: observed once, not per round
        assert len(bad_mirror_observations(us)) == 1
        jp.start()
        jp.wait_ready()
        eventually(lambda: size_of(us, "JP") >= jp_size, 60, "US to take JP's entries from JP")
        assert peer_row(us, "JP")["held"] is None
        us.cli("peers", "remove", "CN")
        us.cli(
            "peers",
            "add",
            cn.url,
            "--party",
            "CN",
            "--key",
            cn.info["identity"],
            "--tls-spki",
            cn.pin,
        )


def test_forged_signature_flood_is_rate_limited(fleet: Fleet) -> None:
    """Requests with invalid signatures under a real key id count against the anonymous limit."""
    us = fleet["US"]
    answers: dict[int, int] = {}
    with httpx.Client(transport=tlspin.pinned_transport(us.pin), timeout=10) as client:
        for _ in range(400):  # the anonymous burst is 200, refilled at 20 per second
            request = signed_request(fleet, "JP", us, "/fed/v1/get-sth")
            signature = request.headers["signature"]
            request.headers["signature"] = signature[:-6] + (
                "AAAAA=" if signature[-6] != "A" else "BBBBB="
            )
            status = client.send(request).status_code
            answers[status] = answers.get(status, 0) + 1
            if status == 429:
                break
    assert answers.get(429) == 1 and answers.get(401, 0) >= 150, answers
    genuine = send_to(
        us, signed_request(fleet, "JP", us, "/fed/v1/get-sth"), us.url.removeprefix("https://")
    )
    assert genuine.status_code == 200  # a peer whose signature verifies is never limited
