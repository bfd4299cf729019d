"""``parley serve`` refuses to run unsafely, and a background job never dies unseen.

Real ``parley serve`` processes on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from parley.node.federation import tlspin
from tests.integration.fleet import Fleet
from tests.support import PARLEY, Server, cli_env, free_port, init_node

pytestmark = pytest.mark.fleet

REFUSE_WITHIN_S = 20


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made: Path = init_node(tmp_path_factory.mktemp("guards") / "jp")
    return made


def _serve(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``parley serve`` that must exit on its own (a serve that starts fails the test)."""
    command = [*PARLEY, "serve", "--port", str(free_port()), *args]
    try:
        return subprocess.run(
            command, env=cli_env(home), capture_output=True, text=True, timeout=REFUSE_WITHIN_S
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"parley serve {' '.join(args)} started instead of refusing") from exc


def test_loose_key_file_permissions_serve_refuses(home: Path) -> None:
    tlspin.ensure_certificate(home, "parley JP")
    tls_key, _cert = tlspin.tls_paths(home)
    files = [home / "keys" / f"{name}.pem" for name in ("identity", "log", "witness", "http")]
    for path in [*files, tls_key]:
        path.chmod(0o644)
        try:
            result = _serve(home, "--tls")
        finally:
            path.chmod(0o600)
        assert result.returncode != 0, result.stdout
        assert str(path) in result.stderr and f"chmod 600 {path}" in result.stderr, result.stderr
        assert "serving on" not in result.stdout


def test_second_serve_on_one_home_is_refused(home: Path) -> None:
    first = Server(home)
    try:
        result = _serve(home)
        assert result.returncode != 0
        assert f"another 'parley serve' runs on {home} (pid {first.process.pid})" in " ".join(
            result.stderr.split()
        ), result.stderr
        lock = home / "serve.lock"
        assert lock.stat().st_mode & 0o777 == 0o600
        assert httpx.get(first.url + "/fed/v1/get-sth", timeout=5).status_code == 200
    finally:
        first.stop()
    again = Server(home)  # the lock went with the first server
    again.stop()


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, parties=("US", "JP"))
    fleet["JP"].server_env["PARLEY_WITNESS_INTERVAL_S"] = "not-a-number"  # its jobs cannot start
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


def test_background_job_death_turns_health_red(failing: Fleet) -> None:
    jp, us = failing["JP"], failing["US"]
    with jp.client() as client:
        assert client.get("/fed/v1/node/health").status_code == 401  # pinned peers only
    deadline = time.monotonic() + 10
    with jp.client(failing.signer("US")) as client:
        while True:
            health = client.get("/fed/v1/node/health", headers={"Parley-To": "JP"})
            # JP pinned US a moment ago: its cache of peers' keys may lag by UNKNOWN_KEY_RECHECK_S
            recognised = health.status_code != 401 or time.monotonic() >= deadline
            if recognised and (health.status_code != 200 or health.json()["status"] != "ok"):
                break
            assert time.monotonic() < deadline, "JP's health stayed green"
            time.sleep(0.1)
    assert health.status_code == 503, health.text
    assert health.headers["content-type"] == "application/problem+json"
    report = health.json()
    assert report["health"] == "failing" and report["status"] == 503
    assert any("not-a-number" in job["reason"] for job in report["failed_jobs"]), report
    with us.client(failing.signer("JP")) as client:
        healthy = client.get("/fed/v1/node/health", headers={"Parley-To": "US"})
    assert healthy.status_code == 200 and healthy.json() == {"status": "ok", "failed_jobs": []}
    process = jp.process
    assert process is not None and process.stdout is not None
    jp.stop()
    output = process.stdout.read()
    assert "not-a-number" in output and "background job" in output, output


def test_serve_stops_promptly_while_a_client_idles_on_a_tls_keep_alive_connection(
    home: Path,
) -> None:
    """SIGTERM with a peer's pooled TLS connection open: out in seconds, not the 10 s grace.

    Closing an idle TLS connection waits for the client's close_notify, which a pooled client
    never sends; the server drops idle connections instead (``BoundedH11Protocol.shutdown``).
    """
    pin = tlspin.ensure_certificate(home, "parley JP")
    port = free_port()
    process = subprocess.Popen(
        [*PARLEY, "serve", "--port", str(port), "--tls"],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(transport=tlspin.pinned_transport(pin), timeout=2) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert client.get(f"https://127.0.0.1:{port}/fed/v1/get-sth").is_success
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.1)
            asked = time.monotonic()
            process.terminate()  # the client keeps its connection in its pool meanwhile
            process.wait(timeout=30)
            took = time.monotonic() - asked
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert took < 4, f"parley serve took {took:.1f} s to stop"
