"""The map's areas: every page of ``/notifications/areas`` over ``--count`` notifications.

The dashboard's map loads every notification's areas at once; the aim is 10,000 notifications
with 5,000 areas in under a second. A read benchmark: it does not sign, verify or append. It
creates a real node (``Node.create``), appends one real notification to have a well-formed
signed header, then fills the store directly, as ``bench_search`` does, in batches of
``--batch`` in one write transaction each (``durable=False``, ``logs.insert_entries``):

* ``entries`` rows of notifications by five other parties, their headers copies of the real
  one with the party, seq, time, status, audience, TLP and body hash changed (the signature is
  then wrong, and nothing on the reading path checks it: a pull verified it before storing);
* canonical bodies (an Alert in one language, a CAP level, a headline); every other one has one
  area (``--count`` / 2 areas), alternately a polygon of 8 to 40 points and a CAP circle;
* TLP GREEN to ALL (60%), AMBER (30%) and RED (10%) to this party; the reader is a duty
  officer, who may read them all, so every area is a Feature.

Then, ``--repeats`` times (after one untimed walk), it walks every page (``--limit``
notifications each, the route's default) through ``parley.node.notifications.mapping.areas``
as the route calls it, and through the API (a ``TestClient`` of the node's app, a duty
officer's read token, the API's rate limits lifted as the tests lift them: the route is
measured, not the limiter): p50 / p99 of one page and of a whole walk, in milliseconds.

Usage: python -m bench.bench_map [--count 10000] [--repeats 10] [--limit 500]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

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
from parley.api.app import create_app
from parley.api.peer_auth import AnonymousLimiter
from parley.core.canonical import canonical_bytes
from parley.core.entry import ALL, SALT_SIZE, Header, parse_header
from parley.core.merkle import leaf_hash
from parley.node import officers
from parley.node.access import Principal, Scope
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle, mapping
from parley.store import logs

MODULE = "bench.bench_map"
HOME = OUT / "map"
PARTY = "PH"
NETWORK = "parley-bench-map"
AUTHORS = ("JP", "CN", "KR", "RU", "US")
LANGS = {"JP": "ja", "CN": "zh", "KR": "ko", "RU": "ru", "US": "en"}
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
DUTY = Principal("duty", "duty-officer")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=10_000, help="stored notifications")
    parser.add_argument("--batch", type=int, default=5_000, help="entries per write transaction")
    parser.add_argument("--repeats", type=int, default=10, help="timed walks of every page")
    parser.add_argument("--limit", type=int, default=mapping.DEFAULT_LIMIT, help="per page")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


# Building -----------------------------------------------------------------------------------


def area(i: int, rng: random.Random) -> dict[str, Any]:
    """Alternately a polygon of 8 to 40 points around a centre, and a CAP circle."""
    lon, lat = rng.uniform(100, 160), rng.uniform(-10, 55)
    if i % 4 == 0:
        return {
            "desc": f"coast {i}",
            "circles": [{"center": [f"{lon:.4f}", f"{lat:.4f}"], "radius_km": "25"}],
        }
    points = rng.randint(8, 40)
    ring = []
    for k in range(points):
        angle = 2 * math.pi * k / points
        r = rng.uniform(0.2, 1.0)
        ring.append([f"{lon + r * math.cos(angle):.4f}", f"{lat + r * math.sin(angle):.4f}"])
    ring.append(ring[0])
    return {"desc": f"district {i}", "geometry": {"type": "Polygon", "coordinates": [ring]}}


def body(i: int, author: str, status: str, rng: random.Random) -> dict[str, Any]:
    """An Alert with one info block; every other one has one area."""
    info: dict[str, Any] = {
        "lang": LANGS[author],
        "event": "Earthquake",
        "urgency": "Immediate",
        "severity": rng.choice(SEVERITIES),
        "certainty": "Observed",
        "headline": f"Earthquake {i} off the coast, magnitude {rng.randint(40, 79) / 10}",
        "areas": [area(i, rng)] if i % 2 == 0 else [],
    }
    return {
        "category": "geo.earthquake",
        "msg_type": "Alert",
        "status": status,
        "identifier": f"bench-map-{i}",
        "sender": f"{author}@parley-bench",
        "sent": 1_800_000_000_000 + i,
        "info": [info],
    }


def batches(template: Header, count: int, batch: int, first: int, seed: int) -> Iterator[list[Any]]:
    """Entry rows of ``count`` notifications, ``batch`` at a time (module docstring)."""
    rng = random.Random(seed)
    seqs = dict.fromkeys(AUTHORS, 0)
    now = now_ms()
    salt = bytes(SALT_SIZE)
    for start in range(0, count, batch):
        rows = []
        for i in range(start, min(count, start + batch)):
            author = AUTHORS[i % len(AUTHORS)]
            status = "Exercise" if i % 3 else "Actual"
            data = canonical_bytes(body(i, author, status, rng))
            roll = rng.random()
            audience, tlp = (ALL, "GREEN") if roll < 0.6 else ((PARTY,), "AMBER")
            tlp = "RED" if roll >= 0.9 else tlp
            header = dataclasses.replace(
                template,
                party=author,
                seq=seqs[author],
                time=now - (count - i) * 1000,
                status=status,
                audience=audience,
                tlp=tlp,
                body_hash=hashlib.sha256(salt + data).hexdigest(),
                body_size=len(data),
            )
            leaf = canonical_bytes(header.to_dict())
            rows.append(
                {
                    "party": author,
                    "seq": seqs[author],
                    "ingest": first + i,
                    "leaf": leaf,
                    "leaf_hash": leaf_hash(leaf),
                    "kind": "notification",
                    "status": status,
                    "time": header.time,
                    "audience": ALL if audience == ALL else ",".join(audience),
                    "tlp": tlp,
                    "body": data,
                    "salt": salt,
                    "flag": None,
                    "stored_at": now,
                }
            )
            seqs[author] += 1
        yield rows


def build(args: argparse.Namespace, home: Path = HOME) -> tuple[Node, float]:
    """A node at ``home`` with ``--count`` notifications stored; the seconds it took."""
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    node = Node.create(home, party=PARTY, name="bench", network=NETWORK)
    written = lifecycle.notify(
        node,
        status="Exercise",
        category="geo.earthquake",
        severity="Severe",
        urgency="Immediate",
        certainty="Observed",
        headline="the template",
        areas=[],
    ).written
    with node.store.read() as conn:
        party, seq = written.ref.split(":")
        stored = logs.get_entry(conn, party, int(seq))
        first = logs.next_ingest(conn)
    assert stored is not None  # noqa: S101 - just appended
    template = parse_header(stored.leaf)
    for rows in batches(template, args.count, args.batch, first, args.seed):
        with node.store.write(durable=False) as tx:
            logs.insert_entries(tx, rows)
    return node, time.perf_counter() - started


# Measuring ----------------------------------------------------------------------------------


def walk(page_of: Callable[[str | None], tuple[int, int, str | None]]) -> dict[str, Any]:
    """Every page from the first: per-page seconds, the walk's, notifications and Features."""
    pages: list[float] = []
    cursor: str | None = None
    notifications = features = 0
    t0 = time.perf_counter()
    while True:
        t1 = time.perf_counter()
        covered, found, cursor = page_of(cursor)
        pages.append(time.perf_counter() - t1)
        notifications += covered
        features += found
        if cursor is None:
            break
    return {
        "pages": pages,
        "total": time.perf_counter() - t0,
        "notifications": notifications,
        "features": features,
    }


def through_service(node: Node, limit: int) -> Callable[[str | None], tuple[int, int, str | None]]:
    def page_of(cursor: str | None) -> tuple[int, int, str | None]:
        page = mapping.areas(node, DUTY, cursor=cursor, limit=limit)
        return page.notifications, len(page.features), page.next_cursor

    return page_of


def through_api(node: Node, limit: int) -> Callable[[str | None], tuple[int, int, str | None]]:
    officers.add_officer(node.store, DUTY.officer, DUTY.role, "bench-password", now_ms())
    secret, _info = officers.issue_token(node.store, DUTY.officer, Scope.READ, now_ms())
    app = create_app(node)
    app.state.published = node.checkpoint()
    mounted = next(r for r in app.routes if getattr(r, "path", "") == "/api/v1")
    limits = mounted.app.state.api_limits  # type: ignore[attr-defined]
    limits.by_address = AnonymousLimiter(rate=1e9, burst=1e9)
    limits.by_caller = AnonymousLimiter(rate=1e9, burst=1e9)
    client = TestClient(
        app, base_url="http://127.0.0.1", headers={"authorization": f"Bearer {secret}"}
    )

    def page_of(cursor: str | None) -> tuple[int, int, str | None]:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/v1/notifications/areas", params=params)
        answer.raise_for_status()
        page = answer.json()
        return page["notifications"], len(page["features"]), page["next_cursor"]

    return page_of


def measure(page_of: Callable[[str | None], Any], repeats: int) -> dict[str, Any]:
    walk(page_of)  # warm-up, untimed
    walks = [walk(page_of) for _ in range(repeats)]
    last = walks[-1]
    return {
        "page": latency_summary([t for w in walks for t in w["pages"]]),
        "walk": latency_summary([w["total"] for w in walks]),
        "pages_per_walk": len(last["pages"]),
        "notifications": last["notifications"],
        "features": last["features"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    print(machine_line(machine()))
    print(f"filling a store with {args.count:,} notifications ...", file=sys.stderr)
    node, build_s = build(args)
    noise = Interference()
    try:
        figures: dict[str, Any] = {
            "service": measure(through_service(node, args.limit), args.repeats),
            "api": measure(through_api(node, args.limit), args.repeats),
        }
    finally:
        node.close()
    print_table(
        f"map areas: every page of {args.limit} notifications, duty officer "
        f"({args.repeats} walks, ms; store built in {build_s:.1f} s)",
        ["through", "notifications", "features", "pages", "page p50", "page p99"]
        + ["walk p50", "walk p99"],
        [
            [name, f["notifications"], f["features"], f["pages_per_walk"], f["page"]["p50_ms"]]
            + [f["page"]["p99_ms"], f["walk"]["p50_ms"], f["walk"]["p99_ms"]]
            for name, f in figures.items()
        ],
    )
    measured = noise.report()
    print(interference_line(measured))
    figures["interference"] = measured
    figures["build_s"] = build_s
    record(f"map@{args.count}", result("map", MODULE, argv, vars(args), figures))


if __name__ == "__main__":
    main()
