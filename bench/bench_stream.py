"""Live-stream fan-out: many SSE clients on one node (issue 18, Performance).

One node runs as a real ``parley serve`` process on 127.0.0.1 (plain HTTP: the clients' TLS
would cost this process more than the server's fan-out). ``--clients`` connections, opened by
this process with asyncio, each read ``GET /api/v1/stream`` with a read token. They come as
``--rooms`` watch rooms, each its own loopback address (127.0.0.2, 127.0.0.3, ...) and its own
token, so that no room exceeds the API's rate limits per address and per caller (a burst of 300
and of 120 requests), which the node keeps as it would in service. Then, ``--rounds``
times, this process appends one notification (a durable append by another process than the
server, as an officer's CLI command) and waits until every client has its event. The latency of
a round runs from the return of the append (the commit) to the moment the last client received
the event. The server's resident memory is read from ``/proc`` before the clients connect and
once they all have their first event; the difference divided by the clients is the memory per
client.

Aim (issue 18): 1,000 clients, p99 under 500 ms from commit to the last client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.bench_latency import _wait_ready
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
from parley.core.entry import ALL
from parley.node import officers
from parley.node.access import Scope
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle

MODULE = "bench.bench_stream"
NETWORK = "parley-bench-stream"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--clients", type=int, default=1000, help="stream clients (default 1000)")
    parser.add_argument("--rounds", type=int, default=30, help="notifications (default 30)")
    parser.add_argument(
        "--rooms", type=int, default=20, help="client addresses and tokens (default 20)"
    )
    parser.add_argument("--port", type=int, default=8791)
    return parser.parse_args(argv)


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Client:
    """One stream reader: when it received each marked notification."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.connected = asyncio.Event()

    async def run(self, port: int, token: str, address: str) -> None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, limit=1 << 20, local_addr=(address, 0)
        )
        writer.write(
            (
                "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        self.connected.set()
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data:") and b"bench-round-" in line:
                at = line.index(b"bench-round-")
                marker = line[at : at + 20].split(b'"')[0].decode()
                self.received.setdefault(marker, time.monotonic())


def append(node: Node, marker: str) -> float:
    """Append one notification; the monotonic time its commit returned."""
    lifecycle.notify(
        node,
        status="Exercise",
        audience=ALL,
        tlp="GREEN",
        category="geo.earthquake",
        severity="Moderate",
        urgency="Expected",
        certainty="Likely",
        headline=marker,
        lang="en",
        areas=[],
        details={},
    )
    return time.monotonic()


async def connected(clients: list[Client], tasks: list[asyncio.Task[None]]) -> None:
    """Wait until every client reads its stream; a refused or failed client stops the run."""
    deadline = time.monotonic() + 120
    while not all(c.connected.is_set() for c in clients):
        failed = [t for t in tasks if t.done()]
        if failed:
            raise SystemExit(f"{len(failed)} stream clients failed, first: {failed[0].exception()}")
        if time.monotonic() > deadline:
            waiting = sum(not c.connected.is_set() for c in clients)
            raise SystemExit(f"{waiting} stream clients not connected within 120 s")
        await asyncio.sleep(0.05)


async def fan_out(
    args: argparse.Namespace, node: Node, tokens: list[str], pid: int
) -> dict[str, float]:
    clients = [Client() for _ in range(args.clients)]
    before = rss_kib(pid)
    tasks = [
        asyncio.create_task(
            c.run(args.port, tokens[n % len(tokens)], f"127.0.0.{2 + n % len(tokens)}")
        )
        for n, c in enumerate(clients)
    ]
    await connected(clients, tasks)
    rounds: list[float] = []
    for number in range(args.rounds + 1):
        marker = f"bench-round-{number:06d}"
        committed = await asyncio.to_thread(append, node, marker)
        deadline = time.monotonic() + 30
        while any(marker not in c.received for c in clients):
            if time.monotonic() > deadline:
                missing = sum(marker not in c.received for c in clients)
                raise SystemExit(f"{missing} clients did not get {marker} within 30 s")
            await asyncio.sleep(0.002)
        last = max(c.received[marker] for c in clients)
        if number == 0:
            after = rss_kib(pid)  # every client connected and served once
        else:
            rounds.append(last - committed)
    for task in tasks:
        task.cancel()
    summary = latency_summary(rounds)
    summary["rss_before_mib"] = before / 1024
    summary["rss_after_mib"] = after / 1024
    summary["kib_per_client"] = (after - before) / len(clients)
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    folder = SCRATCH / "stream"
    subprocess.run(["rm", "-rf", str(folder)], check=True)  # noqa: S603,S607 - our scratch
    folder.mkdir(parents=True)
    node = open_network({"JP": folder / "jp"}, NETWORK)["JP"]
    officers.add_officer(node.store, "watch", "observer", "bench-password", now_ms())
    tokens = [
        officers.issue_token(node.store, "watch", Scope.READ, now_ms())[0]
        for _room in range(args.rooms)
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    server = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "parley.cli", "serve", "--port", str(args.port)],
        env=env | {"PARLEY_HOME": str(folder / "jp")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{args.port}")
        figures = asyncio.run(fan_out(args, node, tokens, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)
        node.close()
    info = machine()
    print(machine_line(info))
    print_table(
        f"Stream fan-out: {args.clients} clients, {args.rounds} notifications",
        ["p50 ms", "p99 ms", "max ms", "server RSS before MiB", "after MiB", "KiB per client"],
        [
            [
                figures["p50_ms"],
                figures["p99_ms"],
                figures["max_ms"],
                figures["rss_before_mib"],
                figures["rss_after_mib"],
                figures["kib_per_client"],
            ]
        ],
    )
    params = {"clients": args.clients, "rounds": args.rounds, "rooms": args.rooms}
    record("stream_fan_out", result("stream_fan_out", MODULE, argv or [], params, figures))


if __name__ == "__main__":
    main()
