"""The public CAP Atom feed of ``--count`` public alerts, served cold, warm and conditionally.

The aim (issue 22): the public feed of 10,000 items served in under 200 ms with a warm cache. A
read benchmark, filled as ``bench_map`` fills its store (``bench_map.build``'s way: one real
notification for a well-formed signed header, then rows written directly): ``--count`` alerts
of five parties that are public (audience ALL, TLP:CLEAR, status Actual), and ``--restricted``
more (TLP:AMBER to this party, or Exercise) that the public feed must skip.

Measured through the node's app (a ``TestClient``; the API's rate limits lifted as the tests
lift them: the route is measured, not the limiter), an anonymous caller, p50 / p99 in ms:

* **cold**: the per-process answer cache emptied before each request: the feed built (the
  newest 500 items read, judged and written as Atom);
* **warm**: the same request again, the answer from the cache (the store's state read, the
  ETag computed, the bytes sent);
* **304**: a conditional request with the ETag of the last answer;
* **walk**: every page by ``next`` (cache emptied first: each page built), the whole walk.

Usage: python -m bench.bench_feed [--count 10000] [--restricted 2000] [--repeats 50]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree
from starlette.testclient import TestClient

from bench.bench_map import AUTHORS, body
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
from parley.formats.atom import ATOM_NS
from parley.node import feeds
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from parley.store import logs

MODULE = "bench.bench_feed"
HOME = OUT / "feed"
PARTY = "PH"
NETWORK = "parley-bench-feed"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=10_000, help="public alerts stored")
    parser.add_argument("--restricted", type=int, default=2_000, help="non-public ones beside")
    parser.add_argument("--batch", type=int, default=5_000, help="entries per write transaction")
    parser.add_argument("--repeats", type=int, default=50, help="timed requests of each kind")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def _marking(i: int, public: bool) -> tuple[str, Any, str]:
    """Status, audience and TLP: public, else alternately AMBER to this party or an exercise."""
    if public:
        return "Actual", ALL, "CLEAR"
    return ("Actual", (PARTY,), "AMBER") if i % 2 else ("Exercise", ALL, "CLEAR")


def batches(template: Header, args: argparse.Namespace, first: int) -> Iterator[list[Any]]:
    """Entry rows: every ``total / restricted``-th is restricted, the rest public."""
    rng = random.Random(args.seed)
    total = args.count + args.restricted
    every = total // args.restricted if args.restricted else total + 1
    seqs = dict.fromkeys(AUTHORS, 0)
    now, salt = now_ms(), bytes(SALT_SIZE)
    rows: list[dict[str, Any]] = []
    for i in range(total):
        author = AUTHORS[i % len(AUTHORS)]
        status, audience, tlp = _marking(i, public=i % every != every - 1)
        data = canonical_bytes(body(i, author, status, rng))
        header = dataclasses.replace(
            template,
            party=author,
            seq=seqs[author],
            time=now - (total - i) * 1000,
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
        if len(rows) == args.batch:
            yield rows
            rows = []
    if rows:
        yield rows


def build(args: argparse.Namespace, home: Path = HOME) -> tuple[Node, float]:
    """A node at ``home`` with the alerts stored; the seconds it took."""
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
    for rows in batches(template, args, first):
        with node.store.write(durable=False) as tx:
            logs.insert_entries(tx, rows)
    return node, time.perf_counter() - started


def client_of(node: Node) -> tuple[TestClient, Any]:
    """An anonymous client of the node's app, and the app."""
    app = create_app(node)
    app.state.published = node.checkpoint()
    app.state.api_limits.by_address = AnonymousLimiter(rate=1e9, burst=1e9)
    app.state.api_limits.by_caller = AnonymousLimiter(rate=1e9, burst=1e9)
    return TestClient(app, base_url="http://127.0.0.1"), app


def timed(request: Any, repeats: int, before: Any = None) -> tuple[list[float], Any]:
    """``repeats`` timings of ``request()`` (``before()`` untimed before each); the last answer."""
    seconds, answer = [], None
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        answer = request()
        seconds.append(time.perf_counter() - t0)
    return seconds, answer


def walk(client: TestClient) -> tuple[int, int]:
    """Every page by ``next`` (read with lxml: the node is measured, not a feed parser)."""
    url: str | None = "/feeds/cap.atom"
    pages = items = 0
    while url is not None:
        feed = etree.fromstring(client.get(url).content)
        pages += 1
        items += len(feed.findall(f"{{{ATOM_NS}}}entry"))
        links = feed.findall(f"{{{ATOM_NS}}}link")
        nexts = [link.get("href") for link in links if link.get("rel") == "next"]
        url = nexts[0] if nexts else None
    return pages, items


def measure(node: Node, repeats: int) -> dict[str, Any]:
    client, app = client_of(node)

    def forget() -> None:
        app.state.feed_cache = feeds.FeedCache()

    first = client.get("/feeds/cap.atom")
    first.raise_for_status()
    items = len(feedparser.parse(first.content).entries)
    cold, _ = timed(lambda: client.get("/feeds/cap.atom"), max(repeats // 5, 3), forget)
    warm, answer = timed(lambda: client.get("/feeds/cap.atom"), repeats)
    etag = {"if-none-match": answer.headers["etag"]}
    conditional, last = timed(lambda: client.get("/feeds/cap.atom", headers=etag), repeats)
    assert last.status_code == 304  # noqa: S101 - the bench measures what it claims
    forget()
    t0 = time.perf_counter()
    pages, walked = walk(client)
    return {
        "items_per_page": items,
        "bytes": len(answer.content),
        "cold": latency_summary(cold),
        "warm": latency_summary(warm),
        "not_modified": latency_summary(conditional),
        "walk_s": time.perf_counter() - t0,
        "walk_pages": pages,
        "walk_items": walked,
    }


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    print(machine_line(machine()))
    print(
        f"filling a store with {args.count + args.restricted:,} notifications ...", file=sys.stderr
    )
    node, build_s = build(args)
    noise = Interference()
    try:
        figures = measure(node, args.repeats)
    finally:
        node.close()
    print_table(
        f"public CAP feed over {args.count:,} public + {args.restricted:,} restricted alerts "
        f"({figures['items_per_page']} items, {figures['bytes']:,} bytes a page; ms)",
        ["request", "p50", "p99", "max"],
        [
            [name, figures[name]["p50_ms"], figures[name]["p99_ms"], figures[name]["max_ms"]]
            for name in ("cold", "warm", "not_modified")
        ],
    )
    print(
        f"walk by next: {figures['walk_pages']} pages, {figures['walk_items']:,} items in "
        f"{figures['walk_s']:.2f} s (store built in {build_s:.1f} s)"
    )
    measured = noise.report()
    print(interference_line(measured))
    figures["interference"] = measured
    figures["build_s"] = build_s
    record(f"feed@{args.count}", result("feed", MODULE, argv, vars(args), figures))


if __name__ == "__main__":
    main()
