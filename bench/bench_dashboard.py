"""The dashboard in a real browser: from navigation until every area is drawn on the map.

The aim (the pages issue): the dashboard with 10,000 notifications and 5,000 areas loads in
under a second in the browser, from navigation to the mark the page sets once every area is
drawn (``performance.mark("parley-areas-drawn")`` in ``static/js/dashboard.js``), measured by
Playwright.

The store is filled as ``bench_map`` fills it (``bench_map.build``: ``--count`` notifications
by five other parties, every other one with one area, a polygon of 8 to 40 points or a CAP
circle; TLP GREEN, AMBER and RED). Two duty officers with a TOTP factor are added
(``officers.add_officer``, ``officers.enrol_totp``), then the node runs as a real ``parley serve``
process on 127.0.0.1 (plain HTTP). Each officer logs in through ``POST /api/v1/session`` (httpx,
password and the current TOTP code): one session is the browser's, the other the API walk's, so
that neither spends the other's rate-limit budget (20 requests a second per officer).

Debian's chromium (headless, through Playwright, as ``tests/web/conftest.py`` launches it) opens
``/`` in a context holding the browser officer's cookie: one untimed load first (a cold cache:
its figure is printed apart), then ``--repeats`` loads, each in a new page of the same context
(static files then come from the browser's cache, as they do for an officer who keeps the
dashboard open). For each load it reads the mark's ``startTime`` (ms since navigation start),
``document.body.dataset.areasDrawn`` (areas drawn), and from the resource timing entries the
span from the first ``/notifications/areas`` request's start to the last one's end (the fetches
of the areas in the page, drawing between them included).

For the same run, the API walk alone: every page of ``/notifications/areas`` (2,000 notifications
a page, as the dashboard asks) through httpx with the other officer's cookie, ``--repeats``
times after one untimed walk. The difference between the mark and the walk is roughly the
browser's part (page, scripts, base map, drawing).

Usage: python -m bench.bench_dashboard [--count 10000] [--repeats 10] [--port 8781]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pyotp

from bench import bench_map
from bench.bench_latency import _wait_ready
from bench.common import (
    OUT,
    Interference,
    interference_line,
    latency_summary,
    machine,
    machine_line,
    print_table,
    record,
    result,
)
from parley.node import officers
from parley.node.node import Node, now_ms

MODULE = "bench.bench_dashboard"
HOME = OUT / "dashboard"
AIM_MS = 1000.0
PAGE_LIMIT = 2000  # what dashboard.js asks for a page of areas
PASSWORD = "bench-dashboard-password"  # noqa: S105 - a throwaway bench officer
BROWSER_OFFICER = "duty-browser"
API_OFFICER = "duty-api"
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
LOAD_TIMEOUT_MS = 120_000
READY_S = 120.0  # how long the server may take to answer on a loaded machine
MARK = "parley-areas-drawn"

# In the page, after the mark: its time, the areas drawn, and the span of the areas' fetches.
READ_LOAD = """(mark) => {
  const found = performance.getEntriesByName(mark)[0];
  const fetches = performance.getEntriesByType("resource")
    .filter((r) => r.name.includes("/api/v1/notifications/areas?"));
  return {
    mark_ms: found ? found.startTime : null,
    areas: Number(document.body.dataset.areasDrawn || 0),
    fetches: fetches.length,
    fetch_span_ms: fetches.length
      ? Math.max(...fetches.map((r) => r.responseEnd))
        - Math.min(...fetches.map((r) => r.startTime))
      : null,
  };
}"""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=10_000, help="stored notifications")
    parser.add_argument("--repeats", type=int, default=10, help="timed loads (and API walks)")
    parser.add_argument("--port", type=int, default=8781)
    parser.add_argument("--batch", type=int, default=5_000, help="entries per write transaction")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def enrol(home: Path, names: Sequence[str]) -> dict[str, pyotp.TOTP]:
    """Duty officers with a TOTP factor each; their factors."""
    node = Node.open(home)
    try:
        factors = {}
        for name in names:
            officers.add_officer(node.store, name, "duty-officer", PASSWORD, now_ms())
            totp = pyotp.parse_uri(officers.enrol_totp(node.store, name))
            assert isinstance(totp, pyotp.TOTP)  # noqa: S101 - an otpauth://totp URI
            factors[name] = totp
        return factors
    finally:
        node.close()


def log_in(client: httpx.Client, name: str, totp: pyotp.TOTP) -> str:
    """A session cookie for ``name`` (password and the current TOTP code)."""
    answer = client.post(
        "/api/v1/session", json={"name": name, "password": PASSWORD, "totp": totp.now()}
    )
    if answer.status_code != 201:
        raise SystemExit(f"login of {name} refused: {answer.status_code} {answer.text}")
    return answer.cookies["parley_session"]


def serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    """``parley serve`` on 127.0.0.1 (plain HTTP), once it answers."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use: stop what serves it, or pass --port")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "parley.cli", "serve", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", READY_S)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def api_walk(client: httpx.Client) -> dict[str, Any]:
    """Every page of /notifications/areas, as the dashboard asks for them."""
    started = time.perf_counter()
    cursor: str | None = None
    pages = features = 0
    while True:
        params = {"limit": str(PAGE_LIMIT), **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/v1/notifications/areas", params=params)
        answer.raise_for_status()
        page = answer.json()
        pages += 1
        features += len(page["features"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return {"seconds": time.perf_counter() - started, "pages": pages, "features": features}


def browser_loads(url: str, cookie: str, repeats: int) -> list[dict[str, Any]]:
    """One untimed load, then ``repeats`` loads of ``/``; what ``READ_LOAD`` reads of each."""
    from playwright.sync_api import sync_playwright

    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.add_cookies(
                [
                    {
                        "name": "parley_session",
                        "value": cookie,
                        "url": url,
                        "httpOnly": True,
                        "sameSite": "Strict",
                    }
                ]
            )
            for _ in range(repeats + 1):
                page = context.new_page()
                try:
                    page.goto(url + "/", timeout=LOAD_TIMEOUT_MS)
                    page.wait_for_function(
                        "(mark) => performance.getEntriesByName(mark).length > 0",
                        arg=MARK,
                        timeout=LOAD_TIMEOUT_MS,
                        polling=50,
                    )
                    loads.append(page.evaluate(READ_LOAD, MARK))
                finally:
                    page.close()
        finally:
            browser.close()
    return loads


def summary_ms(values_ms: Sequence[float]) -> dict[str, float]:
    return latency_summary([v / 1000 for v in values_ms])


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"no chromium at {CHROMIUM} (set PARLEY_CHROMIUM)")
    print(machine_line(machine()))
    print(f"filling a store with {args.count:,} notifications ...", file=sys.stderr)
    node, build_s = bench_map.build(args, HOME)
    node.close()
    factors = enrol(HOME, [BROWSER_OFFICER, API_OFFICER])
    url = f"http://127.0.0.1:{args.port}"
    noise = Interference()
    process = serve(HOME, args.port)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            browser_cookie = log_in(client, BROWSER_OFFICER, factors[BROWSER_OFFICER])
        with httpx.Client(base_url=url, timeout=60) as client:
            client.cookies.set("parley_session", log_in(client, API_OFFICER, factors[API_OFFICER]))
            api_walk(client)  # untimed
            walks = [api_walk(client) for _ in range(args.repeats)]
        cold, *loads = browser_loads(url, browser_cookie, args.repeats)
    finally:
        stop(process)
    missing = [load for load in [cold, *loads] if load["mark_ms"] is None]
    if missing:
        raise SystemExit(f"{len(missing)} loads without the {MARK} mark")
    features = walks[-1]["features"]
    drawn = {load["areas"] for load in loads}
    figures: dict[str, Any] = {
        "mark": summary_ms([load["mark_ms"] for load in loads]),
        "fetch_span": summary_ms([load["fetch_span_ms"] for load in loads]),
        "api_walk": latency_summary([w["seconds"] for w in walks]),
        "cold_mark_ms": cold["mark_ms"],
        "areas_drawn": sorted(drawn),
        "features": features,
        "pages_per_walk": walks[-1]["pages"],
        "build_s": build_s,
    }
    rows = [
        ["navigation -> areas drawn (mark)", figures["mark"]],
        ["  in the page: first areas request -> last response", figures["fetch_span"]],
        ["API walk alone (httpx, same server)", figures["api_walk"]],
    ]
    print_table(
        f"dashboard: {args.count:,} notifications, {features:,} areas in {walks[-1]['pages']} "
        f"pages of {PAGE_LIMIT}, {args.repeats} loads after one (ms; aim: mark < {AIM_MS:.0f})",
        ["measure", "p50", "p99", "max"],
        [[name, s["p50_ms"], s["p99_ms"], s["max_ms"]] for name, s in rows],
    )
    print(
        f"first (cold-cache) load: mark at {cold['mark_ms']:.0f} ms; areas drawn per load: "
        f"{', '.join(str(n) for n in sorted(drawn))} (the API's features: {features:,}); "
        f"aim {'met' if figures['mark']['p99_ms'] < AIM_MS else 'not met'} at p99"
    )
    measured = noise.report()
    print(interference_line(measured))
    figures["interference"] = measured
    record(f"dashboard@{args.count}", result("dashboard", MODULE, argv, vars(args), figures))


if __name__ == "__main__":
    main()
