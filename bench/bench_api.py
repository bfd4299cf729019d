"""Sustained notifications through ``POST /api/v1/notifications`` (issue 18, Performance).

The five nodes of ``bench_latency`` (US, JP, KR, CN, RU) run as real ``parley serve`` processes
on 127.0.0.1 over pinned TLS, every node pinned to every other. A tool holding a duty officer's
``notify`` token posts ``--count`` notifications addressed to ALL to US's API (over TLS), from
``--concurrency`` threads; the four peers pull each one and send their ``delivered`` receipts
back while the posting goes on. Reported: notifications per second over the whole run, p50 and
p99 of one request, and the time until the last of the 4 x count receipts was stored at US.

The API is posted to from one thread, then from ``--concurrency`` threads. The ratio: the same
number of the same notifications appended in this process, one after another, through the node
service the API calls (``lifecycle.notify``: no HTTP, no authentication), measured in the same
run on the same node after the API runs, with the receipts flowing the same way. Ratio = API
rate / service rate; the one-thread API run is the like-for-like comparison. Aim (issue 18): at
least 0.5.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.bench_latency import SENDER, Network
from bench.common import (
    SCRATCH,
    latency_summary,
    machine,
    machine_line,
    print_table,
    record,
    result,
)
from parley.core.entry import ALL
from parley.formats.areas import circle_area
from parley.node import officers
from parley.node.access import Scope
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from parley.node.notifications.input import parse_details
from parley.store.schema import receipts

MODULE = "bench.bench_api"
FIELDS: dict[str, Any] = {
    "category": "geo.earthquake",
    "severity": "Moderate",
    "urgency": "Expected",
    "certainty": "Likely",
    "lang": "en",
}
AREA = {"desc": "Off Miyagi", "circle": {"center": ["142.4", "38.3"], "radius_km": "150"}}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--count", type=int, default=300, help="notifications (default 300)")
    parser.add_argument("--concurrency", type=int, default=4, help="posting threads")
    parser.add_argument("--base-port", type=int, default=8771)
    return parser.parse_args(argv)


def receipts_stored(node: Node) -> int:
    with node.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(receipts)).scalar_one())


def wait_receipts(node: Node, want: int, timeout_s: float = 600) -> float:
    """Wait until ``want`` receipts are stored; the monotonic time they were."""
    deadline = time.monotonic() + timeout_s
    while receipts_stored(node) < want:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {receipts_stored(node)} of {want} receipts within {timeout_s} s"
            )
        time.sleep(0.02)
    return time.monotonic()


def post_all(url: str, token: str, count: int, threads: int) -> tuple[float, list[float]]:
    """POST ``count`` notifications from ``threads`` threads; wall seconds and each latency."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    numbers = iter(range(count))

    def worker() -> None:
        headers = {"authorization": f"Bearer {token}"}
        insecure = False  # the bench's own self-signed node: no CA to check it against
        with httpx.Client(base_url=url, verify=insecure, headers=headers, timeout=60) as client:
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                body = {
                    **FIELDS,
                    "status": "Exercise",
                    "headline": f"api {number}",
                    "areas": [AREA],
                    "details": {"magnitude": "7.1", "epicenter": "38.3,142.4"},
                }
                started = time.monotonic()
                answer = client.post("/api/v1/notifications", json=body)
                took = time.monotonic() - started
                if answer.status_code != 201:
                    failures.append(f"POST refused: {answer.status_code} {answer.text}")
                    return
                with lock:
                    latencies.append(took)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise SystemExit(failures[0])
    return time.monotonic() - started, latencies


def append_all(node: Node, count: int) -> tuple[float, list[float]]:
    """The same notifications through the node service, in this process."""
    latencies = []
    started = time.monotonic()
    for number in range(count):
        at = time.monotonic()
        lifecycle.notify(
            node,
            status="Exercise",
            audience=ALL,
            headline=f"service {number}",
            areas=[circle_area("38.3", "142.4", "150", "Off Miyagi")],
            details=parse_details(
                "geo.earthquake", ["magnitude=7.1", "epicenter=38.3,142.4"], now_ms()
            ),
            **FIELDS,
        )
        latencies.append(time.monotonic() - at)
    return time.monotonic() - started, latencies


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    folder = SCRATCH / "api"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    network = Network(folder, True, args.base_port)
    print(machine_line(machine()))
    network.create()
    network.start()
    try:
        network.pin_all()
        us = Node.open(network.home(SENDER))
        officers.add_officer(us.store, "desk", "duty-officer", "bench-password", now_ms())
        token, _info = officers.issue_token(us.store, "desk", Scope.NOTIFY, now_ms())
        runs: dict[str, tuple[float, list[float], float]] = {}
        for threads in sorted({1, args.concurrency}):
            base = receipts_stored(us)
            took, latencies = post_all(network.url(SENDER), token, args.count, threads)
            posted = time.monotonic()
            drained = wait_receipts(us, base + 4 * args.count) - posted
            runs[f"api x{threads}"] = (took, latencies, drained)
        base = receipts_stored(us)
        took, latencies = append_all(us, args.count)
        posted = time.monotonic()
        runs["service"] = (took, latencies, wait_receipts(us, base + 4 * args.count) - posted)
        us.close()
    finally:
        network.stop()
    figures: dict[str, Any] = {
        name: {
            "per_s": args.count / took,
            **latency_summary(latencies),
            "receipts_drained_after_s": drained,
        }
        for name, (took, latencies, drained) in runs.items()
    }
    service_rate = figures["service"]["per_s"]
    for name in runs:
        figures[name]["ratio_to_service"] = figures[name]["per_s"] / service_rate
    print_table(
        f"Notifications through the API, {args.count} each, 5 nodes, TLS, 4 peers receipting",
        ["path", "per s", "p50 ms", "p99 ms", "ratio", "receipts done after s"],
        [
            [
                name,
                f["per_s"],
                f["p50_ms"],
                f["p99_ms"],
                f["ratio_to_service"],
                f["receipts_drained_after_s"],
            ]
            for name, f in figures.items()
        ],
    )
    params = {"count": args.count, "concurrency": args.concurrency}
    record("api_notifications", result("api_notifications", MODULE, argv or [], params, figures))


if __name__ == "__main__":
    main()
