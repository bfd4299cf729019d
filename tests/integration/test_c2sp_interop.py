"""Independent C2SP code against live Parley nodes: aics-witness cosigns, aics-tlog verifies.

``aics-witness`` (a C2SP tlog-witness) and ``aics-tlog`` (a C2SP checkpoint, cosignature and
RFC 6962 proof verifier), from PyPI and unmodified, run from their own Python 3.12 virtual
environment (``make .venv-witness/.installed``, pinned with hashes in
``requirements-witness.lock``). The witness runs in its default configuration: it refuses
checkpoints with extension lines, and learns the log's origin and vkey from ``parley node
info`` as its operator would. Two real ``parley serve`` processes (plain HTTP on 127.0.0.1, as
the witness protocol allows), US and JP, federate; JP witnesses US's log and the external
witness does too. Without Python 3.12 this test fails: it
never skips.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.core.entry import Body
from parley.node import officers
from parley.node.federation import peers
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy
from parley.store import logs
from parley.store import witnessing as witness_rows
from tests.integration.fleet import eventually
from tests.support import (
    OFFICER_PASSWORD,
    PARLEY,
    cli_env,
    free_port,
    officer_env,
    run_cli,
    stop_process,
)

pytestmark = [pytest.mark.slow, pytest.mark.fleet]

REPO = Path(__file__).resolve().parents[2]
WITNESS_BIN = REPO / ".venv-witness" / "bin"
WITNESS_NAME = "witness.interop.invalid/w1"
NETWORK = "parley-test"


def tool(name: str) -> str:
    path = WITNESS_BIN / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing: run 'make .venv-witness/.installed' (it needs Python 3.12, "
            "found under pyenv or as python3.12 on PATH)"
        )
    return str(path)


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise AssertionError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")
    return result


def tlog(*args: str) -> dict[str, Any]:
    """Run ``aics-tlog``; it prints one JSON report and exits 0 only when the check passed."""
    result = run(tool("aics-tlog"), *args, check=False)
    report: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], report
    return report


@dataclass
class LiveNode:
    """A real ``parley serve`` process (plain HTTP on 127.0.0.1, as the witness protocol allows)."""

    party: str
    home: Path
    port: int
    info: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, home=self.home, **officer_env())

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_s=3)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveNode]]:
    """US and JP: made by the library (fast), agreed on a policy, pinned, served for real."""
    folder = tmp_path_factory.mktemp("interop")
    live = {p: LiveNode(p, folder / p.lower(), free_port()) for p in ("US", "JP")}
    nodes = {
        p: Node.create(
            n.home, party=p, name=f"{p} centre", network=NETWORK, port=n.port, urls=[n.url]
        )
        for p, n in live.items()
    }
    try:
        for node in nodes.values():
            officers.add_officer(node.store, "admin", "admin", OFFICER_PASSWORD, now_ms())
        document = draft_policy(
            network=NETWORK,
            name="interop",
            members=members_of(nodes.values()),
            created=now_ms(),
            version=2,
        )
        adopt_by_all(nodes.values(), document)
        for reader in nodes.values():
            for author in nodes.values():
                if author is not reader:
                    _pin(reader, author, live[author.party].url)
    finally:
        for node in nodes.values():
            node.close()
    try:
        for server in live.values():
            server.info = json.loads(server.cli("node", "info", "--json").stdout)
            server.process = subprocess.Popen(  # noqa: S603
                [*PARLEY, "serve", "--port", str(server.port)],
                env=cli_env(server.home),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        for server in live.values():
            eventually(partial(_answers, server.url + "/fed/v1/get-sth"), 30, "the servers")
        yield live
    finally:
        for server in live.values():
            server.stop()


def _pin(reader: Node, author: Node, url: str) -> None:
    with author.store.read() as conn:
        first = logs.get_entry(conn, author.party, 0)
    assert first is not None and first.body is not None and first.salt is not None
    statement = Body(first.salt, first.body).value()
    identity = author.context().statement.identity
    peers.store_pin(reader.store, author.party, url, identity, None, statement, now_ms())


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def witness(
    pair: dict[str, LiveNode], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """aics-witness in its default configuration, trusting US's log as `node info` shows it."""
    folder = tmp_path_factory.mktemp("aics-witness")
    config = str(folder / "witness.json")
    vkey = run(tool("aics-witness"), "init", "--config", config, "--name", WITNESS_NAME)
    us = pair["US"].info
    run(
        tool("aics-witness"),
        "add-log",
        "--config",
        config,
        "--origin",
        us["origin"],
        "--vkey",
        us["log_vkey"],
    )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [tool("aics-witness"), "serve", "--config", config, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(url + "/healthz"), 20, "aics-witness to serve")
        yield {"url": url, "vkey": vkey.stdout.strip().splitlines()[-1], "config": config}
    finally:
        process.terminate()
        process.wait(timeout=10)


def cosigned_note(pair: dict[str, LiveNode], names: tuple[str, ...]) -> str | None:
    """US's latest checkpoint, once it carries a cosignature by every one of ``names``."""
    note = pair["US"].get("/fed/v1/checkpoint").text
    signers = {line.split(" ")[1] for line in note.splitlines() if line.startswith("\u2014 ")}
    return note if set(names) <= signers else None


def test_default_aics_witness_cosigns_a_parley_checkpoint_and_aics_tlog_verifies_it(
    pair: dict[str, LiveNode], witness: dict[str, str], tmp_path: Path
) -> None:
    us, jp = pair["US"].info, pair["JP"].info
    jp_witness = jp["witness_vkey"].split("+")[0]
    assert base64.b64decode(jp["witness_vkey"].split("+", 2)[2])[0] == 0x04
    pair["US"].cli("witness", "add", witness["url"], "--vkey", witness["vkey"])
    old = pair["US"].get("/fed/v1/get-sth").json()
    pair["US"].cli(
        "log",
        "append",
        "--kind",
        "check",
        "--status",
        "Test",
        "--body-file",
        str(_check_body(tmp_path)),
        "--to",
        "JP",
    )
    note = eventually(
        lambda: cosigned_note(pair, (WITNESS_NAME, jp_witness)),
        30,
        "US's checkpoint cosigned by aics-witness and by JP",
    )
    body = note[: note.index("\n\n") + 1]
    assert len(body.splitlines()) == 3, "no extension line: what a default witness cosigns"
    listed = json.loads(pair["US"].cli("witness", "list", "--json").stdout)
    assert listed[0]["last_error"] is None and listed[0]["cosigned_size"] > old["tree_size"]

    (tmp_path / "cp.note").write_text(note)
    report = tlog(
        "verify-checkpoint",
        "--note",
        str(tmp_path / "cp.note"),
        "--origin",
        us["origin"],
        "--log-key",
        us["log_vkey"],
        "--witness-key",
        witness["vkey"],
        "--witness-key",
        jp["witness_vkey"],
        "--quorum",
        "2",
        "--max-age",
        "600",
    )
    assert sorted(report["witnesses"]) == sorted([WITNESS_NAME, jp_witness])

    size = int(body.splitlines()[1])
    us_node = pair["US"]
    item = us_node.get("/fed/v1/get-entries", start=2, end=2).json()["entries"][0]
    leaf = base64.b64decode(item["leaf_input"])
    digest = base64.b64encode(hashlib.sha256(b"\x00" + leaf).digest()).decode()
    inclusion = us_node.get("/fed/v1/get-proof-by-hash", hash=digest, tree_size=size).json()
    consistency = us_node.get(
        "/fed/v1/get-sth-consistency", first=old["tree_size"], second=size
    ).json()
    (tmp_path / "leaf").write_bytes(leaf)
    (tmp_path / "inclusion").write_text("\n".join(inclusion["audit_path"]) + "\n")
    tlog(
        "verify-inclusion",
        "--leaf",
        str(tmp_path / "leaf"),
        "--index",
        "2",
        "--proof",
        str(tmp_path / "inclusion"),
        "--checkpoint",
        str(tmp_path / "cp.note"),
        "--log-key",
        us["log_vkey"],
    )
    (tmp_path / "old.note").write_text(old["checkpoint"])
    tlog(
        "verify-checkpoint",
        "--note",
        str(tmp_path / "old.note"),
        "--origin",
        us["origin"],
        "--log-key",
        us["log_vkey"],
    )
    (tmp_path / "consistency").write_text("\n".join(consistency["consistency"]) + "\n")
    tlog(
        "verify-consistency",
        "--old-size",
        str(old["tree_size"]),
        "--new-size",
        str(size),
        "--old-root",
        old["sha256_root_hash"],
        "--new-root",
        body.splitlines()[2],
        "--proof",
        str(tmp_path / "consistency"),
    )


def test_parley_witness_monitoring_endpoint_serves_what_aics_tlog_verifies(
    pair: dict[str, LiveNode], witness: dict[str, str], tmp_path: Path
) -> None:
    us, jp = pair["US"].info, pair["JP"].info
    origin_hash = hashlib.sha256(us["origin"].encode()).hexdigest()

    def monitored() -> str | None:
        answer = pair["JP"].get(f"/{origin_hash}/checkpoint")
        return answer.text if answer.status_code == 200 else None

    note = eventually(monitored, 30, "JP to serve what it cosigned for US's origin")
    (tmp_path / "jp.note").write_text(note)
    tlog(
        "verify-checkpoint",
        "--note",
        str(tmp_path / "jp.note"),
        "--origin",
        us["origin"],
        "--log-key",
        us["log_vkey"],
        "--witness-key",
        jp["witness_vkey"],
        "--quorum",
        "1",
        "--max-age",
        "600",
    )


def test_a_witness_refusal_backs_off_and_shows_its_reason(
    pair: dict[str, LiveNode], witness: dict[str, str], tmp_path: Path
) -> None:
    """A witness that does not know the log answers 404; Parley retries later, not every 3 s."""
    stranger = tmp_path / "stranger.json"
    vkey = (
        run(
            tool("aics-witness"),
            "init",
            "--config",
            str(stranger),
            "--name",
            "stranger.interop.invalid/w2",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [tool("aics-witness"), "serve", "--config", str(stranger), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        eventually(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 20, "the second witness")
        pair["US"].cli("witness", "add", f"http://127.0.0.1:{port}", "--vkey", vkey)

        def refused() -> str | None:  # what 'parley witness list' shows, read without a CLI
            node = Node.open(pair["US"].home)
            try:
                with node.store.read() as conn:
                    rows = witness_rows.list_external(conn)
            finally:
                node.close()
            return next(r.last_error for r in rows if r.name == "stranger.interop.invalid/w2")

        first = eventually(refused, 30, "the refusal to be recorded")
        assert "404 unknown log origin" in first

        def later() -> str | None:
            error = refused() or first
            return error if _failures(error) > _failures(first) else None

        error = eventually(later, 30, "a later attempt")
        base = _delay(first) / 2 ** (_failures(first) - 1)  # the witness interval
        assert _delay(error) == base * 2 ** (_failures(error) - 1)  # doubles with each refusal
        listed = json.loads(pair["US"].cli("witness", "list", "--json").stdout)
        row = next(r for r in listed if r["name"] == "stranger.interop.invalid/w2")
        assert (
            "404 unknown log origin" in row["last_error"] and "next attempt in" in row["last_error"]
        )
        assert "404" in pair["US"].cli("witness", "list").stdout
    finally:
        pair["US"].cli("witness", "remove", "stranger.interop.invalid/w2")
        process.terminate()
        process.wait(timeout=10)


def _failures(error: str) -> int:
    return int(re.search(r"failed (\d+) times in a row", error).group(1))  # type: ignore[union-attr]


def _delay(error: str) -> int:
    return int(re.search(r"next attempt in (\d+) s", error).group(1))  # type: ignore[union-attr]


def _check_body(folder: Path) -> Path:
    path = folder / "check.json"
    path.write_text(json.dumps({"nonce": f"{time.time_ns():032x}"[-32:], "deadlines": {}}))
    return path
