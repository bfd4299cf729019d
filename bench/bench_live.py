"""A new notification on open dashboards: from its commit at the sender to its row in the list.

The aim (the pages issue): a new notification appears on an open dashboard within 1 s of its
commit at the sender, across the five demo nodes.

Five nodes (US, JP, KR, CN, RU) run as real ``parley serve`` processes on 127.0.0.1, pinned to
each other, as ``bench_latency`` runs them (its ``Network``; TLS with pinned SPKI by default,
``--plain`` for HTTP). Each of the four receivers has a duty officer with a TOTP factor, logged
in through ``POST /api/v1/session``; Debian's chromium (headless, through Playwright) keeps one
page per receiver open on its dashboard (``/``), in a context holding that officer's cookie. An
init script (``page.add_init_script``: Playwright injects it, the page's CSP does not apply to
it) installs a MutationObserver that records ``Date.now()`` when an ``li[data-ref]`` first
appears in ``#notifications``, keyed by its reference.

This process then appends ``--rounds`` notifications at US, one at a time, each addressed to
ALL, as ``bench_latency`` does (a durable append by another process than the server: what an
officer's CLI command does). For each notification and receiver, the latency is the time the
row appeared in that receiver's page minus the time the append returned (one machine, one
clock); the next notification is sent once all four pages show it (or after ``TIMEOUT_S``,
which fails the run). What the figure includes: the push to the peer and its verification and
storage, the peer's live-stream event, the page's wait before it asks (``dashboard.js`` gathers
events for 150 ms), and its two API requests.

Usage: python -m bench.bench_live [--rounds 50] [--warmup 3] [--plain] [--base-port 8771]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pyotp

from bench.bench_latency import PARTIES, SENDER, Network, notification
from bench.common import (
    SCRATCH,
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
from parley.node.federation import tlspin
from parley.node.node import Node, now_ms

MODULE = "bench.bench_live"
AIM_MS = 1000.0
TIMEOUT_S = 30.0
READY_S = 120.0  # a loaded machine starts five servers slowly
OFFICER = "duty-live"
PASSWORD = "bench-live-password"  # noqa: S105 - a throwaway bench officer
RECEIVERS = tuple(p for p in PARTIES if p != SENDER)
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]

# Injected before the page's own scripts: the first time each li[data-ref] enters #notifications.
OBSERVE = """(() => {
  const seen = (window.__parleySeen = {});
  new MutationObserver((mutations) => {
    const now = Date.now();
    for (const mutation of mutations) {
      if (mutation.target.id !== "notifications") continue;
      for (const node of mutation.addedNodes) {
        if (node.nodeType === 1 && node.matches("li[data-ref]") && !(node.dataset.ref in seen)) {
          seen[node.dataset.ref] = now;
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
})();"""
SHOWN = "(ref) => (window.__parleySeen || {})[ref] || null"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=50, help="timed notifications")
    parser.add_argument("--warmup", type=int, default=3, help="untimed notifications first")
    parser.add_argument("--plain", action="store_true", help="HTTP instead of pinned TLS")
    parser.add_argument("--base-port", type=int, default=8771)
    return parser.parse_args(argv)


def enrol(home: Path) -> pyotp.TOTP:
    """A duty officer with a TOTP factor at ``home``; the factor."""
    node = Node.open(home)
    try:
        officers.add_officer(node.store, OFFICER, "duty-officer", PASSWORD, now_ms())
        totp = pyotp.parse_uri(officers.enrol_totp(node.store, OFFICER))
        assert isinstance(totp, pyotp.TOTP)  # noqa: S101 - an otpauth://totp URI
        return totp
    finally:
        node.close()


def log_in(network: Network, party: str, totp: pyotp.TOTP) -> str:
    """The officer's session cookie at ``party`` (password and the current TOTP code)."""
    pin = network.pins[party]
    transport = tlspin.pinned_transport(pin) if pin else None
    with httpx.Client(base_url=network.url(party), transport=transport, timeout=30) as client:
        answer = client.post(
            "/api/v1/session", json={"name": OFFICER, "password": PASSWORD, "totp": totp.now()}
        )
    if answer.status_code != 201:
        raise SystemExit(f"login at {party} refused: {answer.status_code} {answer.text}")
    return answer.cookies["parley_session"]


def wait_shown(pages: dict[str, Any], ref: str) -> dict[str, int]:
    """When each page showed ``ref`` (ms since the epoch), once all of them do."""
    deadline = time.monotonic() + TIMEOUT_S
    shown: dict[str, int] = {}
    for party, page in pages.items():
        left_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            page.wait_for_function(SHOWN, arg=ref, timeout=left_ms, polling=50)
        except Exception as exc:  # noqa: BLE001 - Playwright's TimeoutError, named below
            raise SystemExit(f"{ref} not shown at {party} within {TIMEOUT_S:.0f} s: {exc}") from exc
        shown[party] = int(page.evaluate(SHOWN, ref))
    return shown


def run(network: Network, cookies: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Open the four dashboards, send the notifications; per receiver, latencies in seconds."""
    from playwright.sync_api import expect, sync_playwright

    latencies: dict[str, list[float]] = {party: [] for party in RECEIVERS}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            pages = {}
            for party in RECEIVERS:
                context = browser.new_context(
                    ignore_https_errors=True, viewport={"width": 1366, "height": 768}
                )
                context.add_cookies(
                    [
                        {
                            "name": "parley_session",
                            "value": cookies[party],
                            "url": network.url(party),
                            "httpOnly": True,
                            "secure": network.tls,
                            "sameSite": "Strict",
                        }
                    ]
                )
                page = context.new_page()
                page.add_init_script(OBSERVE)
                page.goto(network.url(party) + "/")
                expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=60_000)
                pages[party] = page
            us = Node.open(network.home(SENDER))
            try:
                for i in range(-args.warmup, args.rounds):
                    (header,) = us.append([notification(i)])
                    appended_ms = time.time() * 1000
                    shown = wait_shown(pages, header.ref)
                    if i >= 0:
                        for party, at in shown.items():
                            latencies[party].append((at - appended_ms) / 1000)
            finally:
                us.close()
        finally:
            browser.close()
    return latencies


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"no chromium at {CHROMIUM} (set PARLEY_CHROMIUM)")
    folder = SCRATCH / "live"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    network = Network(folder, not args.plain, args.base_port, READY_S)
    print(machine_line(machine()))
    network.create()
    factors = {party: enrol(network.home(party)) for party in RECEIVERS}
    noise = Interference()
    try:
        network.start()
        network.pin_all()
        cookies = {party: log_in(network, party, factors[party]) for party in RECEIVERS}
        latencies = run(network, cookies, args)
    finally:
        network.stop()
    by_receiver = {party: latency_summary(seconds) for party, seconds in latencies.items()}
    overall = latency_summary([s for seconds in latencies.values() for s in seconds])
    print_table(
        f"new notification on open dashboards: append at {SENDER} -> row in the page, "
        f"{args.rounds} notifications, 5 nodes, {'HTTP' if args.plain else 'TLS'} "
        f"(ms; aim < {AIM_MS:.0f})",
        ["receiver", "p50", "p90", "p99", "max"],
        [
            [name, s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]]
            for name, s in [*by_receiver.items(), ("all four", overall)]
        ],
    )
    print(f"aim {'met' if overall['p99_ms'] < AIM_MS else 'not met'} at p99 over all four")
    measured = noise.report()
    print(interference_line(measured))
    record(
        f"live/{'plain' if args.plain else 'tls'}",
        result(
            "live",
            MODULE,
            argv,
            vars(args),
            {"by_receiver": by_receiver, "all": overall, "interference": measured},
        ),
    )


if __name__ == "__main__":
    main()
