"""A network of local nodes on one machine, for the demo and for exercises.

``LocalNetwork.setup`` creates one node home per party under a folder, adds officer accounts,
and has every member draft, sign and adopt one network policy (deadlines scaled down so misses
show within minutes). Every node gets its TLS key and self-signed certificate at setup;
``start`` runs one ``parley serve --tls`` process per node on 127.0.0.1 (TLS 1.3), and
``peer`` pins every node's identity key and certificate SPKI hash at every other, as an
administrator would after comparing fingerprints out of band. ``stop`` ends every process it
started, all at once: SIGTERM to every server, one shared wait, then SIGKILL to stragglers.

A new setup never deletes a previous run without a word: ``setup`` moves an existing folder
aside to ``<folder>.prev`` (replacing an older one) and says so through ``progress``. Every
long phase reports through the optional ``progress`` callback, so an edge can show it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from parley.core.errors import ConflictError, ParleyError
from parley.core.policy import SignedPolicy
from parley.node import officers
from parley.node.federation import tlspin
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy

PARTIES = {
    "US": "United States, FEMA National Response Coordination Center",
    "JP": "Japan, Cabinet Office Crisis Management Center",
    "KR": "Republic of Korea, Central Disaster and Safety Countermeasures HQ",
    "CN": "China, Ministry of Emergency Management Command Center",
    "RU": "Russia, EMERCOM National Crisis Management Center",
}
OFFICERS = (("admin", "admin"), ("duty", "duty-officer"))
# Five servers starting at once on a small machine (each imports and builds its API first).
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 5.0  # one shared grace period for every server, then SIGKILL
PREVIOUS_SUFFIX = ".prev"

Progress = Callable[[str], None]


def _silent(_message: str) -> None:
    return None


@dataclass
class LocalNode:
    """One node of a local network: its party, home, port, and server process once started."""

    party: str
    name: str
    home: Path
    port: int
    passwords: dict[str, str] = field(default_factory=dict)
    totp: dict[str, str] = field(default_factory=dict)  # officer -> TOTP secret (base32)
    process: subprocess.Popen[bytes] | None = None
    pin: str | None = None  # SHA-256 of the TLS certificate's SubjectPublicKeyInfo, hex

    @property
    def url(self) -> str:
        """The node's own URL (TLS on loopback)."""
        return f"https://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """Whether the server answers over TLS with the pinned certificate key."""
        try:
            with httpx.Client(transport=tlspin.pinned_transport(self.pin), timeout=1) as client:
                client.get(self.url + "/fed/v1/get-sth")
        except httpx.TransportError:
            return False
        return True


class LocalNetwork:
    """Several nodes of one network under one folder, each served by its own process."""

    def __init__(
        self,
        folder: Path,
        network: str = "parley-demo",
        parties: dict[str, str] | None = None,
        base_port: int = 8701,
        progress: Progress = _silent,
    ) -> None:
        self.folder = folder.resolve()
        self.progress = progress
        self.network = network
        chosen = parties or PARTIES
        self.nodes = [
            LocalNode(party, name, self.folder / party.lower(), base_port + offset)
            for offset, (party, name) in enumerate(chosen.items())
        ]

    def setup(
        self, *, deadline_scale: float, deadline_floor_ms: int = 1, fresh: bool = True
    ) -> SignedPolicy:
        """Create the nodes, their officers and the network policy signed by every member."""
        if self.folder.exists():
            if not fresh:
                raise ConflictError(f"{self.folder} already exists")
            self.progress(f"kept the previous run as {self.keep_previous()}")
        self.folder.mkdir(mode=0o700, parents=True)
        opened: dict[str, Node] = {}
        for local in self.nodes:
            self.progress(f"creating node {local.party}: keys, officers, TLS certificate")
            node = Node.create(
                local.home,
                party=local.party,
                name=local.name,
                network=self.network,
                port=local.port,
            )
            for name, role in OFFICERS:
                password = secrets.token_urlsafe(9)
                officers.add_officer(node.store, name, role, password, now_ms())
                local.passwords[name] = password
                enrolled = urllib.parse.urlparse(officers.enrol_totp(node.store, name))
                local.totp[name] = urllib.parse.parse_qs(enrolled.query)["secret"][0]
            opened[local.party] = node
            local.pin = tlspin.ensure_certificate(local.home, f"parley {local.party}")
        self.progress(f"every member signs the network policy of {self.network}")
        document = draft_policy(
            network=self.network,
            name=f"{self.network} network policy",
            members=members_of(opened[n.party] for n in self.nodes),
            created=now_ms(),
            version=2,
            deadline_scale=deadline_scale,
            deadline_floor_ms=deadline_floor_ms,
        )
        signed = adopt_by_all(opened.values(), document)
        for node in opened.values():
            node.close()
        self._write_logins()
        return signed

    def keep_previous(self) -> Path:
        """Move the existing folder aside to ``<folder>.prev`` (replacing an older one)."""
        previous = self.folder.with_name(self.folder.name + PREVIOUS_SUFFIX)
        if previous.exists():
            shutil.rmtree(previous)
        self.folder.rename(previous)
        return previous

    def _write_logins(self) -> None:
        lines = [
            f"{n.party} {n.url} tls-spki={n.pin} home={n.home} "
            + " ".join(f"{user}:{password}" for user, password in n.passwords.items())
            + "".join(f" totp-{user}={secret}" for user, secret in n.totp.items())
            for n in self.nodes
        ]
        path = self.folder / "logins.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)

    def start(self) -> None:
        """Start every node's server (``parley serve --tls``) and wait until each answers."""
        self.progress(
            f"starting {len(self.nodes)} servers (parley serve --tls); waiting until "
            "each answers over TLS"
        )
        for local in self.nodes:
            path = self.folder / f"{local.party.lower()}-server.log"
            log = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
            local.process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [
                    sys.executable,
                    "-m",
                    "parley.cli",
                    "serve",
                    "--home",
                    str(local.home),
                    "--port",
                    str(local.port),
                    "--tls",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        for local in self.nodes:
            while True:
                if local.process is not None and local.process.poll() is not None:
                    raise ParleyError(
                        f"the {local.party} server exited; see its log in {self.folder}"
                    )
                if local.answers():
                    break
                if time.monotonic() > deadline:
                    raise ParleyError(f"the {local.party} server did not start in time")
                time.sleep(0.1)
            self.progress(f"{local.party} answers on {local.url}")

    def peer(self) -> None:
        """Pin every node as a peer of every other (keys read from their homes, out of band)."""
        from parley.node.federation.peers import pin_peer

        self.progress("pinning every node at every other (identity key and TLS SPKI hash)")
        opened = {local.party: Node.open(local.home) for local in self.nodes}
        identities = {p: n.context().statement.identity.b64 for p, n in opened.items()}
        for local in self.nodes:
            for other in self.nodes:
                if other is not local:
                    pin_peer(
                        opened[local.party],
                        other.url,
                        other.party,
                        identities[other.party],
                        other.pin,
                        now_ms(),
                    )
        for node in opened.values():
            node.close()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> list[str]:
        """Stop every server at once; return the parties whose server had to be killed.

        SIGTERM goes to every server first, then one shared wait of at most ``timeout`` s
        lets them shut down in parallel; whichever is still running then gets SIGKILL. So
        stopping takes at most ``timeout`` s, however many servers there are.
        """
        running = [
            (n.party, n.process)
            for n in self.nodes
            if n.process is not None and n.process.poll() is None
        ]
        for _party, process in running:
            process.terminate()
        deadline = time.monotonic() + timeout
        killed = []
        for party, process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                killed.append(party)
        for local in self.nodes:
            local.process = None
        return killed

    def node(self, party: str) -> LocalNode:
        """The node of ``party``."""
        for local in self.nodes:
            if local.party == party:
                return local
        raise ParleyError(f"party {party} is not in this network")
