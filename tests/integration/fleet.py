"""Five real nodes (US, JP, KR, CN, RU) federating over TLS on 127.0.0.1: the ``Fleet`` helpers.

Everything goes through the real ``parley`` command in subprocesses: ``init``, officers,
``policy draft/sign/adopt``, ``serve --tls`` and ``peers add`` with each peer's identity key and
certificate pin. Tests read a node's database directly only to wait for something (bounded in
time) and to look at what was stored; they act through the CLI and HTTP.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from parley.node.federation import tlspin
from parley.node.federation.http_signatures import RequestSigner
from parley.node.federation.peers import pin_peer
from parley.node.node import Node, now_ms
from tests.support import (
    PARLEY,
    START_S,
    cli_env,
    free_port,
    init_node,
    officer_env,
    run_cli,
    stop_process,
)

PARTIES = ("US", "JP", "KR", "CN", "RU")
NETWORK = "parley-test"
DUTY_PASSWORD = "duty-officer-password"
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 30, what: str = "") -> T:
    """Poll ``check`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(0.05)


@dataclass
class FleetNode:
    party: str
    home: Path
    port: int
    info: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    server_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pin(self) -> str:
        return str(self.info["tls_spki"])

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*PARLEY, "serve", "--tls", "--port", str(self.port)],
            env=cli_env(self.home, **self.server_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.party} server exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                httpx.get(self.url + "/fed/v1/get-sth", verify=False, timeout=1)  # noqa: S501
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"{self.party} server did not start within {START_S} s")

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None

    def cli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        admin = officer_env()
        login = {"PARLEY_USER": admin["PARLEY_USER"], "PARLEY_PASSWORD": admin["PARLEY_PASSWORD"]}
        return run_cli(*args, home=self.home, check=check, **(login | env))

    def open(self) -> Node:
        return Node.open(self.home)

    def client(self, signer: RequestSigner | None = None) -> httpx.Client:
        """An HTTP client to this node over pinned TLS: anonymous, or signing as a peer."""
        return httpx.Client(
            base_url=self.url,
            transport=tlspin.pinned_transport(self.pin),
            auth=signer,
            timeout=10,
            headers={"parley-to": self.party},
        )


class Fleet:
    duty_password = DUTY_PASSWORD  # JP's duty officer "duty"

    def __init__(
        self,
        folder: Path,
        server_env: dict[str, str] | None = None,
        parties: tuple[str, ...] = PARTIES,
        policy_options: tuple[str, ...] = (),
        names: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.policy_options = policy_options  # more 'parley policy draft' options
        self.names = dict(names or {})  # a party's name as it gives it, else "XX crisis centre"
        self.nodes = {
            p: FleetNode(p, folder / p.lower(), free_port(), server_env=dict(server_env or {}))
            for p in parties
        }

    def __getitem__(self, party: str) -> FleetNode:
        return self.nodes[party]

    def each(self, work: Callable[[FleetNode], T]) -> list[T]:
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            return list(pool.map(work, self.nodes.values()))

    def setup(self) -> None:
        """Init, serve, then agree on the policy (CLI) and pin every peer (library, in parallel)."""
        self.each(
            lambda node: init_node(
                node.home, node.party, network=NETWORK, name=self.names.get(node.party)
            )
        )
        if "JP" in self.nodes:
            run_cli(
                "user",
                "add",
                "duty",
                "--role",
                "duty-officer",
                home=self["JP"].home,
                PARLEY_NEW_PASSWORD=DUTY_PASSWORD,
                **officer_env(),
            )
        for node in self.nodes.values():
            node.start()
        self.each(lambda node: node.wait_ready())
        members = []
        for node in self.nodes.values():
            node.info = json.loads(node.cli("node", "info", "--json").stdout)
            path = self.folder / f"{node.party}.json"
            path.write_text(json.dumps(node.info))
            members += ["--member", str(path)]
        draft = self.folder / "policy.json"
        run_cli(
            "policy",
            "draft",
            str(draft),
            "--network",
            NETWORK,
            "--name",
            "NEA test",
            "--deadline-scale",
            "0.01",
            *self.policy_options,
            *members,
            home=self.folder,
        )
        for node in self.nodes.values():
            node.cli("policy", "sign", str(draft))
        self.each(lambda node: node.cli("policy", "adopt", str(draft)))
        self.each(self._pin_all)

    def _pin_all(self, node: FleetNode) -> None:
        opened = node.open()
        try:
            for other in self.nodes.values():
                if other.party != node.party:
                    pin_peer(
                        opened, other.url, other.party, other.info["identity"], other.pin, now_ms()
                    )
        finally:
            opened.close()

    def synced(self, party: str, author: str, size: int) -> bool:
        node = self.nodes[party].open()
        try:
            with node.store.read() as conn:
                from parley.node.federation.peers import synced_size

                return synced_size(conn, author) >= size
        finally:
            node.close()

    def signer(self, party: str) -> RequestSigner:
        node = self.nodes[party].open()
        try:
            return RequestSigner(node.log.key("http"))
        finally:
            node.close()

    @classmethod
    @contextmanager
    def running(cls, folder: Path, **options: Any) -> Iterator[Fleet]:
        """A fleet set up in ``folder`` and stopped when the block ends, however it ends."""
        fleet = cls(folder, **options)
        try:
            fleet.setup()
            yield fleet
        finally:
            fleet.stop()

    def stop(self) -> None:
        """Stop every server at once: each gets its own grace period, not one after another."""
        self.each(lambda node: node.stop())


def append(
    node: FleetNode, kind: str, body: dict[str, Any], to: str, tlp: str | None = None
) -> str:
    """``parley log append`` of one Exercise entry at ``node``; its reference (``PARTY:SEQ``)."""
    path = node.home.parent / f"{node.party}-body.json"
    path.write_text(json.dumps(body))
    args = ["log", "append", "--kind", kind, "--status", "Exercise", "--body-file", str(path)]
    args += ["--to", to] + (["--tlp", tlp] if tlp else [])
    return str(node.cli(*args).stdout.split()[0])
