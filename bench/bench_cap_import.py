"""Benchmark end-to-end CAP import through the node: parse, validate, normalise, sign, append.

Replays every accepted real CAP message of tests/data/cap (the corpus of ``bench_cap_parse``)
with its ``<identifier>`` rewritten for each replay, until ``--messages`` have been imported
into a fresh node, in batches of ``--batch`` files per ``import_sources`` call (one write
transaction and one checkpoint per batch, as ``parley import`` does). Each message goes the
whole way: hardened parse, CAP XSD validation (lxml), normalisation into a notification body,
deadlines and regime rules from the policy in force, idempotency lookup, canonical bytes, salted
body hash, Ed25519-signed header, Merkle append, SQLite WAL commit (synchronous=FULL), and its
``notification_keys`` row in the same transaction.

Reports messages per second (wall and CPU) over the whole run, then the same for messages under
``--small`` bytes only (the corpus mix is dominated by a few messages with polygons of tens of
thousands of points), then a cProfile run of ``--profile`` messages with where the time goes.
The target of the issue is 5,000 messages/s.

The scratch node (several GB at 100,000 messages: signed alerts keep their XML) is removed
afterwards unless ``--keep``. At 100,000 messages expect several minutes on a 2-core machine.

Usage: python -m bench.bench_cap_import [--messages 100000] [--batch 500] [--small 50000]
                                        [--profile 3000] [--keep]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from bench.bench_cap_parse import corpus, replayed  # noqa: E402
from parley.node.node import Node  # noqa: E402
from parley.node.notifications.importing import (  # noqa: E402
    ImportOptions,
    NotificationPolicy,
    Source,
    import_sources,
)

MODULE = "bench.bench_cap_import"
SCRATCH = ROOT / "bench" / "out" / "scratch" / "cap-import"
TARGET = 5_000
PARTS = {
    "import_sources, all of it": "parley/node/notifications.py:import_sources",
    "  parse_cap: hardened parse + XSD (lxml)": "parley/formats/cap.py:parse_cap",
    "  cap_to_notification: normalise + validate": "parley/formats/cap.py:cap_to_notification",
    "  regime rules": "parley/node/notifications.py:check",
    "  idempotency and reference lookups": "parley/node/notifications.py:add",
    "  Appender.flush: seal, sign, Merkle, SQL": "parley/node/notifications.py:flush",
    "    Body.seal (canonical bytes, body hash)": "parley/core/entry.py:seal",
    "    sign_header (Ed25519)": "parley/core/entry.py:sign_header",
    "    SQL inserts (entries, tree, checkpoint, keys)": "sqlalchemy/engine/base.py:execute",
    "  COMMIT (WAL fsync)": "<method 'commit' of 'sqlite3.Connection",
}


def _node(name: str) -> Node:
    home = SCRATCH / name
    if home.exists():
        shutil.rmtree(home)
    home.parent.mkdir(parents=True, exist_ok=True)
    return Node.create(home, party="JP", name="JP bench centre", network="parley-bench")


def run(files: list[tuple[str, bytes]], messages: int, batch: int, name: str) -> dict[str, Any]:
    """Import ``messages`` replays of ``files`` into a fresh node; return the figures."""
    node = _node(name)
    policy = NotificationPolicy.of(node)
    options = ImportOptions()
    done = refused = size = 0
    wall = cpu = 0.0
    last_report = time.monotonic()
    for start in range(0, messages, batch):
        sources = []
        for index in range(start, min(start + batch, messages)):
            source, data = files[index % len(files)]
            sources.append(Source(source, replayed(data, index)))
        size += sum(len(s.data) for s in sources)
        began, began_cpu = time.perf_counter(), time.process_time()
        results = import_sources(node, sources, options, policy=policy)
        wall += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        done += sum(1 for r in results for n in r.notifications if n.new)
        refused += sum(1 for r in results if r.error is not None)
        if time.monotonic() - last_report > 10:
            last_report = time.monotonic()
            print(
                f"  {start + len(sources):>9,} messages, {done / wall:,.0f}/s so far",
                file=sys.stderr,
                flush=True,
            )
    entries = node.size()
    db = sum(p.stat().st_size for p in node.home.path.glob("parley.db*"))
    node.close()
    return {
        "messages": done,
        "refused": refused,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "msgs_per_s": round(done / wall, 1),
        "cpu_msgs_per_s": round(done / cpu, 1),
        "mb_per_s": round(size / wall / 1e6, 2),
        "log_size": entries,
        "db_mb": round(db / 1e6, 1),
    }


def profile(files: list[tuple[str, bytes]], messages: int, batch: int) -> None:
    """Run ``messages`` replays under cProfile; print where the time goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    run(files, messages, batch, "profile")
    profiler.disable()
    path = ROOT / "bench" / "out" / "cap-import.prof"
    profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    print(f"\nprofile of {messages:,} messages ({total:.2f} s under cProfile; {path})")
    print("where the time goes (cumulative; parts nest):")
    for label, suffix in PARTS.items():
        cum = max(
            (
                ct
                for func, (_cc, _nc, _tt, ct, _c) in raw.items()
                if f"{func[0]}:{func[2]}".endswith(suffix)
                or (suffix.startswith("<") and suffix in func[2])
            ),
            default=0.0,
        )
        print(f"  {label:<48} {cum:8.2f} s  {cum / total:5.0%}")
    print("top 15 functions by own time:")
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:15]
    for (filename, line, function), (_cc, calls, own, _cum, _c) in rows:
        short = filename.split("/site-packages/")[-1].split("/src/")[-1]
        where = f"{short}:{line}({function})" if line else function
        print(f"  {own:7.2f} s {own / total:5.1%}  {calls:>9,}  {where}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="files per import_sources call")
    parser.add_argument(
        "--small",
        type=int,
        default=50_000,
        help="also run the messages under this many bytes (0: skip)",
    )
    parser.add_argument("--profile", type=int, default=3_000, help="messages to profile (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch nodes")
    args = parser.parse_args(argv)
    files = corpus()
    total = sum(len(d) for _, d in files)
    print(
        f"corpus: {len(files)} accepted CAP messages, {total / 1e6:.1f} MB, replayed to "
        f"{args.messages:,} messages with rewritten identifiers, batches of {args.batch}; "
        f"one process, SQLite WAL synchronous=FULL; target {TARGET:,}/s"
    )
    figures = {"all": run(files, args.messages, args.batch, "all")}
    if args.small:
        small = [(n, d) for n, d in files if len(d) < args.small]
        print(f"small: {len(small)} of {len(files)} messages are under {args.small:,} bytes")
        figures["small"] = run(small, args.messages, args.batch, "small")
    for label, result in figures.items():
        print(
            f"{label:<6} {result['msgs_per_s']:>8,.0f} msgs/s wall "
            f"({result['cpu_msgs_per_s']:,.0f}/s CPU, {result['mb_per_s']} MB/s, "
            f"{result['messages']:,} imported, {result['refused']} refused, "
            f"wall {result['wall_s']} s, log {result['log_size']:,} entries, "
            f"database {result['db_mb']:,} MB)"
        )
    print(json.dumps({"bench": "cap_import", "figures": figures}))
    if args.profile:
        profile(files, args.profile, args.batch)
    if not args.keep:
        shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
