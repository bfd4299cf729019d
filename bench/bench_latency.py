"""Delivery latency across five local nodes (issue #4, Performance).

Five nodes (US, JP, KR, CN, RU) under one policy run as real ``parley serve`` processes on
127.0.0.1 (TLS with pinned SPKI by default, ``--plain`` for HTTP), every node pinned to every
other. This process appends notifications at US, one at a time, each addressed to ALL, exactly
as an officer's CLI command would (a durable append by another process than the server). The
latency of one notification runs from the return of its durable append until the fourth
``delivered`` receipt is verified and stored at US (its ``observed`` time in US's receipts
index). The policy's quotas are raised out of the way (``bench.common.OPEN_QUOTAS``): at these
rates US sends more addressed entries a minute than the default policy allows. Afterwards the
stages are read back from the five databases: when each peer stored the notification, when it
signed its receipt, when US stored that receipt. The CPU time each server
process used during the timed notifications (``/proc/<pid>/stat``) is reported per notification:
on a machine where five servers share two cores, it is what bounds the latency.

Aim (issue #4): p50 under 100 ms, p99 under 250 ms over 1,000 notifications.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import (
    SCRATCH,
    latency_summary,
    machine,
    machine_line,
    open_network,
    print_table,
    record,
    result,
)
from parley.formats.areas import circle_area
from parley.formats.notification import new_notification
from parley.node.federation import tlspin
from parley.node.federation.peers import pin_peer
from parley.node.log import Draft
from parley.node.node import Node, now_ms
from parley.store.schema import entries, receipts

MODULE = "bench.bench_latency"
PARTIES = ("US", "JP", "KR", "CN", "RU")
NETWORK = "parley-bench-fed"
SENDER = "US"
TIMEOUT_S = 30.0
POLL_S = 0.002


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=200, help="notifications (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed notifications first")
    parser.add_argument("--plain", action="store_true", help="HTTP instead of pinned TLS")
    parser.add_argument("--base-port", type=int, default=8761)
    return parser.parse_args(argv)


def _free_ports(base: int) -> list[int]:
    return [base + i for i in range(len(PARTIES))]


class Network:
    """Five node homes, their servers and their pins."""

    def __init__(self, folder: Path, tls: bool, base_port: int, ready_s: float = 30.0) -> None:
        self.folder = folder
        self.tls = tls
        self.ready_s = ready_s  # how long each server may take to answer after it is started
        self.ports = dict(zip(PARTIES, _free_ports(base_port), strict=True))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.pins: dict[str, str | None] = {}

    def url(self, party: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.ports[party]}"

    def home(self, party: str) -> Path:
        return self.folder / party.lower()

    def create(self) -> None:
        nodes = open_network({p: self.home(p) for p in PARTIES}, NETWORK)
        for party, node in nodes.items():
            self.pins[party] = (
                tlspin.ensure_certificate(self.home(party), f"parley {party}") if self.tls else None
            )
            node.close()

    def start(self) -> None:
        for party, port in self.ports.items():
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise SystemExit(f"port {port} for {party} is in use: stop what serves it")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        for party in PARTIES:
            args = [sys.executable, "-m", "parley.cli", "serve", "--port", str(self.ports[party])]
            self.processes.append(
                subprocess.Popen(
                    args + (["--tls"] if self.tls else []),
                    env=env | {"PARLEY_HOME": str(self.home(party))},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for party in PARTIES:
            _wait_ready(self.url(party), self.ready_s)

    def pin_all(self) -> None:
        for party in PARTIES:
            node = Node.open(self.home(party))
            try:
                for other in PARTIES:
                    if other != party:
                        identity = _identity(self.home(other))
                        pin_peer(node, self.url(other), other, identity, self.pins[other], now_ms())
            finally:
                node.close()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _identity(home: Path) -> str:
    node = Node.open(home)
    try:
        return node.context().statement.identity.b64
    finally:
        node.close()


def _wait_ready(url: str, within_s: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/fed/v1/get-sth", verify=False, timeout=1)  # noqa: S501 - readiness
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start within {within_s:.0f} s")


def notification(i: int) -> Draft:
    body = new_notification(
        category="geo.earthquake",
        identifier=f"US-BENCH-{i}",
        sender="bench.parley",
        sent_ms=now_ms(),
        status="Exercise",
        headline=f"M6.{i % 10} earthquake, bench {i}",
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        areas=[circle_area("38.30", "142.37", "100", "Off Miyagi")],
    )
    return Draft("notification", "Exercise", body, "ALL", None)


def delivered(node: Node, seq: int) -> list[int]:
    with node.store.read() as conn:
        rows = conn.execute(
            select(receipts.c.observed).where(
                receipts.c.entry_party == SENDER,
                receipts.c.entry_seq == seq,
                receipts.c.type == "delivered",
            )
        )
        return [int(row.observed) for row in rows]


def send_and_wait(node: Node, i: int, probe: Callable[[], int | None]) -> tuple[int, int, float]:
    """Append notification ``i``; return (seq, append-returned ms, latency seconds).

    The receipts index is read only when ``probe`` (SQLite's ``data_version``) says another
    connection committed, so that waiting costs the shared cores next to nothing.
    """
    (header,) = node.append([notification(i)])
    appended = time.time()
    deadline = time.monotonic() + TIMEOUT_S
    version: int | None = -1
    while True:
        moved = probe()
        if moved != version or moved is None:
            version = moved
            seen = delivered(node, header.seq)
            if len(seen) >= len(PARTIES) - 1:
                return header.seq, int(appended * 1000), max(seen) / 1000 - appended
        if time.monotonic() > deadline:
            raise SystemExit(f"notification {header.ref}: not 4 receipts in {TIMEOUT_S} s")
        time.sleep(POLL_S)


def stages(network: Network, sent: list[tuple[int, int]]) -> dict[str, dict[str, float]]:
    """Per stage, latency summaries (ms) over every (notification, peer) pair."""
    stored: list[float] = []
    back: list[float] = []
    seqs = {seq: at for seq, at in sent}
    for party in PARTIES[1:]:
        node = Node.open(network.home(party))
        try:
            with node.store.read() as conn:
                rows = conn.execute(
                    select(entries.c.seq, entries.c.stored_at).where(
                        entries.c.party == SENDER, entries.c.seq.in_(list(seqs))
                    )
                )
                stored += [(row.stored_at - seqs[row.seq]) / 1000 for row in rows]
        finally:
            node.close()
    us = Node.open(network.home(SENDER))
    try:
        with us.store.read() as conn:
            rows = conn.execute(
                select(receipts.c.entry_seq, receipts.c.observed, receipts.c.claimed).where(
                    receipts.c.entry_party == SENDER,
                    receipts.c.entry_seq.in_(list(seqs)),
                    receipts.c.type == "delivered",
                )
            )
            back = [(row.observed - row.claimed) / 1000 for row in rows]
    finally:
        us.close()
    return {
        "append -> stored at a peer": latency_summary(stored),
        "receipt signed at peer -> stored at US": latency_summary(back),
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    folder = SCRATCH / "latency"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    network = Network(folder, not args.plain, args.base_port)
    print(machine_line(machine()))
    network.create()
    try:
        network.start()  # inside: servers that started are stopped if another one does not
        network.pin_all()
        us = Node.open(network.home(SENDER))
        probe = us.store.commit_probe()
        for i in range(args.warmup):
            send_and_wait(us, -1 - i, probe)
        sent: list[tuple[int, int]] = []
        seconds: list[float] = []
        before = [cpu_seconds(process.pid) for process in network.processes]
        for i in range(args.count):
            seq, at, latency = send_and_wait(us, i, probe)
            sent.append((seq, at))
            seconds.append(latency)
        after = [cpu_seconds(process.pid) for process in network.processes]
        us.close()
    finally:
        network.stop()
    summary = latency_summary(seconds)
    by_stage = stages(network, sent)
    rows: list[Sequence[Any]] = [
        (
            "append -> 4th delivered receipt at US",
            summary["p50_ms"],
            summary["p90_ms"],
            summary["p99_ms"],
            summary["max_ms"],
        )
    ]
    rows += [
        (name, s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]) for name, s in by_stage.items()
    ]
    print_table(
        f"Delivery latency, {args.count} notifications, 5 nodes, "
        f"{'HTTP' if args.plain else 'TLS'} (ms)",
        ["stage", "p50", "p90", "p99", "max"],
        rows,
    )
    cpu_ms = {
        party: round((end - start) * 1000 / args.count, 1)
        for party, start, end in zip(PARTIES, before, after, strict=True)
    }
    print(f"server CPU per notification (ms): {cpu_ms}, total {sum(cpu_ms.values()):.0f}")
    record(
        f"latency/{'plain' if args.plain else 'tls'}",
        result(
            "latency",
            MODULE,
            sys.argv[1:] if argv is None else list(argv),
            {"count": args.count, "tls": not args.plain},
            {"end_to_end": summary, **by_stage, "server_cpu_ms_per_notification": cpu_ms},
        ),
    )


if __name__ == "__main__":
    main()
