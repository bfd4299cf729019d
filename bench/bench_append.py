"""Durable appends per second, as a ratio to the raw signing rate measured in the same run.

Each round measures, back to back on the same machine state:

* raw: for ``--raw-count`` synthetic 600-byte hotline bodies, the work an append cannot avoid,
  with no database (``common.raw_sign``: salt, canonical body, body hash, canonical unsigned
  header, Ed25519 signature, canonical leaf, leaf hash);
* batched: ``--batches`` calls of ``Node.append`` with ``--batch`` drafts each (one durable
  WAL commit, synchronous=FULL, per call);
* one by one: ``--singles`` calls of ``Node.append`` with one draft each.

The reported rates are medians over ``--rounds``; each ratio is the median of the per-round
ratios (append rate / raw rate of the same round). If the batched ratio is under 0.5 (the aim),
or with ``--profile always``, a few batched appends run under cProfile and the bench reports
where the time goes (batched appends, then one-draft appends). ``--what-if`` repeats the
rounds with the recomputations the profile points at kept in-process (hypothetical, see
``common.what_if_cached_hashes``) to estimate the gain of fixing them; ``--memory-batch N``
traces what one append of N drafts holds in memory; ``--at-sizes`` appends (one by one and
one batch) to a scratch copy of each cached log of those sizes, where the per-call costs that
grow with the log show.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    BODY_BYTES,
    NETWORK,
    OUT,
    PARTY,
    SCRATCH,
    Clock,
    Interference,
    ensure_log,
    hotline_draft,
    interference_line,
    log_home,
    machine,
    machine_line,
    median,
    notification_body,
    print_table,
    profile,
    raw_sign,
    record,
    result,
    what_if_cached_hashes,
)
from parley.core.bodies import validate_body
from parley.core.keys import SigningKey
from parley.node.node import Node

MODULE = "bench.bench_append"
AIM = 0.5

PROFILE_GROUPS = {
    "Node.append, all of it": "parley/node/log.py:append",
    "  _sign_batch: seal, sign, hash, Merkle (no SQL)": "parley/node/log.py:_sign_batch",
    "    policy.hash (once per entry before cdfdb34)": "parley/core/policy.py:hash",
    "    sign_header": "parley/core/entry.py:sign_header",
    "      Ed25519 sign (OpenSSL)": "<method 'sign' of 'cryptography",
    "      SigningKey.public (for kid)": "parley/core/keys.py:public",
    "      _check_fields": "parley/core/entry.py:_check_fields",
    "    Body.seal": "parley/core/entry.py:seal",
    "    merkle.append_leaf": "parley/core/merkle.py:append_leaf",
    "  canonical_bytes, all calls (check_subset + orjson)": (
        "parley/core/canonical.py:canonical_bytes"
    ),
    "    check_subset alone": "parley/core/canonical.py:check_subset",
    "  SQL inserts (entries, nodes, checkpoint, state)": (
        "parley/store/logs.py:insert_entries|parley/store/logs.py:insert_nodes"
        "|parley/store/logs.py:insert_checkpoint|parley/store/logs.py:put_state"
    ),
    "  COMMIT (WAL fsync)": "<method 'commit' of 'sqlite3.Connection",
    "  sign_checkpoint": "parley/core/checkpoint.py:sign_checkpoint",
}


SINGLE_GROUPS = {
    "Node.append, all of it": "parley/node/log.py:append",
    "  LocalLog.context: log context re-read (size changed)": "parley/node/log.py:read_context",
    "  _sign_batch: seal, sign, hash, Merkle (no SQL)": "parley/node/log.py:_sign_batch",
    "    policy.hash": "parley/core/policy.py:hash",
    "    Ed25519 sign (entry and checkpoint)": "<method 'sign' of 'cryptography",
    "  SQL statements (SQLAlchemy + sqlite3)": "sqlalchemy/engine/base.py:execute",
    "  COMMIT (WAL fsync)": "<method 'commit' of 'sqlite3.Connection",
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--batch", type=int, default=1000, help="drafts per batched append")
    parser.add_argument("--batches", type=int, default=2, help="batched appends per round")
    parser.add_argument("--singles", type=int, default=100, help="one-draft appends per round")
    parser.add_argument("--raw-count", type=int, default=2000, help="bodies in the raw floor")
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="profile batched appends: auto = only if the ratio is under 0.5",
    )
    parser.add_argument("--profile-batches", type=int, default=3)
    parser.add_argument("--profile-singles", type=int, default=50)
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also measure with per-entry and per-append recomputations kept (hypothetical)",
    )
    parser.add_argument(
        "--at-sizes",
        default="",
        help="comma-separated sizes: also append to a copy of each cached log of that size",
    )
    parser.add_argument("--at-singles", type=int, default=10, help="one-draft appends per size")
    parser.add_argument("--at-batches", type=int, default=3, help="batched appends per size")
    parser.add_argument(
        "--memory-batch",
        type=int,
        default=0,
        help="also trace the memory one append of this many drafts holds (e.g. 10000)",
    )
    return parser.parse_args(argv)


class Rounds:
    """Runs measurement rounds against one scratch node, drafting fresh bodies every time."""

    def __init__(self, node: Node, args: argparse.Namespace) -> None:
        self.node = node
        self.args = args
        self.key = SigningKey.generate()
        self.policy_hash = node.context().policy.hash
        self.serial = 10_000_000  # body numbers, disjoint from the node's own

    def bodies(self, count: int) -> list[Any]:
        self.serial += count
        return [notification_body(self.serial - count + k) for k in range(count)]

    def drafts(self, count: int) -> list[Any]:
        self.serial += count
        return [hotline_draft(self.serial - count + k) for k in range(count)]

    def one(self) -> dict[str, float]:
        a = self.args
        bodies = self.bodies(a.raw_count)
        raw_s, raw_cpu = raw_sign(bodies, self.key, self.policy_hash)
        batches = [self.drafts(a.batch) for _ in range(a.batches)]
        clock = Clock()
        for drafts in batches:
            self.node.append(drafts)
        batched_s, batched_cpu = clock.stop()
        singles = self.drafts(a.singles)
        clock = Clock()
        for draft in singles:
            self.node.append([draft])
        single_s, single_cpu = clock.stop()
        rates = {
            "raw": a.raw_count / raw_s,
            "batched": a.batch * a.batches / batched_s,
            "single": a.singles / single_s,
            "raw_cpu": a.raw_count / raw_cpu,
            "batched_cpu": a.batch * a.batches / batched_cpu,
            "single_cpu": a.singles / single_cpu,
        }
        for suffix in ("", "_cpu"):
            rates[f"batched_ratio{suffix}"] = rates[f"batched{suffix}"] / rates[f"raw{suffix}"]
            rates[f"single_ratio{suffix}"] = rates[f"single{suffix}"] / rates[f"raw{suffix}"]
        return rates

    def run(self, label: str) -> dict[str, Any]:
        self.node.append(self.drafts(200))  # warm up: key load, frontier, caches
        raw_sign(self.bodies(200), self.key, self.policy_hash)
        rounds = []
        for number in range(1, self.args.rounds + 1):
            rounds.append(self.one())
            r = rounds[-1]
            print(
                f"  {label} round {number}: raw {r['raw']:,.0f}/s  batched {r['batched']:,.0f}/s"
                f"  one-by-one {r['single']:,.1f}/s",
                file=sys.stderr,
                flush=True,
            )
        summary = {name: median([r[name] for r in rounds]) for name in rounds[0]}
        spread = {
            f"{name}_range": [min(r[name] for r in rounds), max(r[name] for r in rounds)]
            for name in rounds[0]
        }
        return {**summary, **spread, "rounds": rounds}


def report(title: str, figures: dict[str, Any], args: argparse.Namespace) -> None:
    def rng(name: str) -> str:
        low, high = figures[f"{name}_range"]
        return f"{low:,.3f} - {high:,.3f}" if high < 10 else f"{low:,.0f} - {high:,.0f}"

    rows = [
        ["raw floor (no database)", "raw", "entries/s"],
        [f"durable append, batches of {args.batch:,}", "batched", "entries/s"],
        ["durable append, one by one", "single", "entries/s"],
        ["ratio batched / raw", "batched_ratio", f"aim >= {AIM}"],
        ["ratio one-by-one / raw", "single_ratio", ""],
    ]
    print_table(
        title,
        ["measure", "median (wall)", "range over rounds", "median (CPU time)", "per"],
        [[label, figures[k], rng(k), figures[f"{k}_cpu"], per] for label, k, per in rows],
    )
    print(
        "(wall: elapsed time, the figure that counts; CPU time: this process's CPU only, which "
        "leaves out fsync waits and time lost to other processes on a busy machine)"
    )


def should_profile(args: argparse.Namespace, figures: dict[str, Any]) -> bool:
    return bool(
        args.profile == "always" or (args.profile == "auto" and figures["batched_ratio"] < AIM)
    )


def profile_batches(
    rounds: Rounds, args: argparse.Namespace, name: str, figures: dict[str, Any]
) -> dict[str, Any]:
    batches = [rounds.drafts(args.batch) for _ in range(args.profile_batches)]

    def appends() -> None:
        for drafts in batches:
            rounds.node.append(drafts)

    ratio = figures["batched_ratio"]
    print(
        f"\nbatched ratio {ratio:.3f} {'is under' if ratio < AIM else 'meets'} the aim of "
        f"{AIM}: profiling {args.profile_batches} appends of {args.batch:,}"
    )
    return profile(appends, OUT / name, groups=PROFILE_GROUPS)


def profile_singles(rounds: Rounds, args: argparse.Namespace, name: str) -> dict[str, Any]:
    drafts = rounds.drafts(args.profile_singles)

    def appends() -> None:
        for draft in drafts:
            rounds.node.append([draft])

    print(f"\nprofiling {args.profile_singles} one-draft appends")
    return profile(appends, OUT / name, top=15, groups=SINGLE_GROUPS)


def memory_probe(rounds: Rounds, batch: int) -> dict[str, Any]:
    """What one batched append holds in memory when its rows go to SQLite (tracemalloc).

    Wraps ``logs.insert_entries`` for one call to snapshot the live Python allocations at that
    moment (every header, leaf, body and row of the batch exists then), and reports the
    process-wide tracemalloc peak of the whole append. Instrumentation only.
    """
    from parley.store import logs

    drafts = rounds.drafts(batch)
    held: dict[str, Any] = {}
    original = logs.insert_entries

    def snapshot_then_insert(conn: Any, rows: Any) -> None:
        current = tracemalloc.get_traced_memory()[0]
        stats = tracemalloc.take_snapshot().statistics("lineno")
        held["at_insert_mib"] = current / 2**20
        held["top"] = [
            {
                "site": f"{s.traceback[0].filename.split('/src/')[-1].split('/site-packages/')[-1]}"
                f":{s.traceback[0].lineno}",
                "mib": s.size / 2**20,
                "count": s.count,
                "avg_bytes": s.size / max(s.count, 1),
            }
            for s in stats[:6]
        ]
        original(conn, rows)

    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    logs.insert_entries = snapshot_then_insert
    try:
        rounds.node.append(drafts)
    finally:
        logs.insert_entries = original
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    figures = {"batch": batch, "peak_mib": peak / 2**20, "per_entry_kib": peak / batch / 1024}
    figures.update(held)
    print_table(
        f"memory of one append of {batch:,} drafts (tracemalloc; drafts themselves excluded): "
        f"peak {figures['peak_mib']:.1f} MiB = {figures['per_entry_kib']:.1f} KiB per entry; "
        f"{held.get('at_insert_mib', 0):.1f} MiB live when the rows are inserted, largest sites:",
        ["allocation site", "MiB", "objects", "bytes each"],
        [[t["site"], t["mib"], t["count"], t["avg_bytes"]] for t in held.get("top", [])],
    )
    return figures


def copy_of_log(size: int) -> Path:
    """A scratch copy of the cached ``size``-entry log (appending must not change the cache)."""
    source = log_home(size)
    target = SCRATCH / f"at-{size}-{os.getpid()}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    config = target / "parley.toml"  # the configuration names the database by absolute path
    config.write_text(
        config.read_text(encoding="utf-8").replace(str(source.resolve()), str(target.resolve())),
        encoding="utf-8",
    )
    return target


def appends_at_sizes(args: argparse.Namespace, label: str) -> list[dict[str, Any]]:
    """Appends to a copy of each cached large log: the cost that grows with the log."""
    from parley.node.log import read_context

    rows = []
    for size in sorted({int(v) for v in args.at_sizes.split(",") if v.strip()}):
        ensure_log(size)
        home = copy_of_log(size)
        node = Node.open(home)
        try:
            context_s = []
            with node.store.read() as conn:
                for _ in range(3):
                    clock = Clock()
                    read_context(conn, node.party)
                    context_s.append(clock.stop()[0])
            serial = 20_000_000 + size
            node.append([hotline_draft(serial)])  # warm: keys, frontier, context at this size
            drafts = [hotline_draft(serial + 1 + k) for k in range(args.at_singles)]
            clock = Clock()
            for draft in drafts:
                node.append([draft])
            single_s, single_cpu = clock.stop()
            batch_s, batch_cpu = [], []
            for number in range(1, args.at_batches + 1):
                batch = [hotline_draft(serial + number * 100_000 + k) for k in range(args.batch)]
                clock = Clock()
                node.append(batch)
                spent, cpu = clock.stop()
                batch_s.append(spent)
                batch_cpu.append(cpu)
        finally:
            node.close()
            shutil.rmtree(home, ignore_errors=True)
        rows.append(
            {
                "size": size,
                "context_read_ms": median(context_s) * 1000,
                "single": args.at_singles / single_s,
                "single_cpu": args.at_singles / single_cpu,
                "batched": args.batch / median(batch_s),
                "batched_cpu": args.batch / median(batch_cpu),
            }
        )
        print(f"  {label} at {size:,}: {rows[-1]}", file=sys.stderr, flush=True)
    print_table(
        f"{label}: appends to a copy of a cached log of n entries (batches: median of "
        f"{args.at_batches}; context re-read: read_context alone, which an append pays whenever "
        "its cached key statement and policy are stale)",
        [
            "entries n",
            "context re-read ms",
            "one-by-one /s",
            f"batch of {args.batch:,} /s",
            "one-by-one CPU /s",
            "batch CPU /s",
        ],
        [
            [
                r["size"],
                r["context_read_ms"],
                r["single"],
                r["batched"],
                r["single_cpu"],
                r["batched_cpu"],
            ]
            for r in rows
        ],
    )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    info = machine()
    print(machine_line(info))
    validate_body("hotline", notification_body(0))  # the body is a schema-valid hotline body
    home = SCRATCH / f"append-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    node = Node.create(home / PARTY, party=PARTY, name=f"{PARTY} bench centre", network=NETWORK)
    try:
        noise = Interference()
        rounds = Rounds(node, args)
        figures = rounds.run("append")
        figures["interference"] = noise.report()
        report(
            f"durable appends ({args.rounds} rounds, 600-byte hotline bodies, SQLite WAL "
            "synchronous=FULL)",
            figures,
            args,
        )
        print(interference_line(figures["interference"]))
        if should_profile(args, figures):
            figures["profile"] = profile_batches(rounds, args, "append.prof", figures)
            figures["profile_singles"] = profile_singles(rounds, args, "append-singles.prof")
        if args.memory_batch:
            figures["memory"] = memory_probe(rounds, args.memory_batch)
        if args.at_sizes:
            figures["at_sizes"] = appends_at_sizes(args, "durable appends")
        params = dict(vars(args), body_bytes=BODY_BYTES)
        diagnostics = [
            f
            for f, on in (
                ("what-if", args.what_if),
                ("memory", args.memory_batch),
                ("profile", args.profile == "always"),
            )
            if on
        ]
        key = "+".join(["append", *diagnostics])  # diagnostic runs never replace plain ones
        record(key, result("append", MODULE, argv, params, figures))
        if args.what_if:
            with what_if_cached_hashes():
                hypothetical = rounds.run("what-if")
                report(
                    "HYPOTHETICAL (src unchanged; policy hash, public key, log context kept "
                    "in-process)",
                    hypothetical,
                    args,
                )
                if should_profile(args, hypothetical):
                    hypothetical["profile"] = profile_batches(
                        rounds, args, "append-what-if.prof", hypothetical
                    )
                if args.at_sizes:
                    hypothetical["at_sizes"] = appends_at_sizes(args, "HYPOTHETICAL")
            record("append-what-if", result("append-what-if", MODULE, argv, params, hypothetical))
    finally:
        node.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
