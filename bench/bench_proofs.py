"""Inclusion and consistency proof generation from the SQLite store, at ``--size`` entries.

The log is built once (``Node.create`` then ``Node.append`` in batches of 10,000, in a fresh
process; its build rate is reported) and cached under ``bench/out/logs/n<size>/``. Proofs use
``merkle.inclusion_proof`` / ``merkle.consistency_proof`` with ``logs.get_nodes`` as the
callback, exactly as the log API does, for ``--count`` random indices per case (after
``--warmup`` untimed proofs). Cases:

* inclusion, in one open read transaction (the proof itself);
* inclusion per request: ``Store.read()`` opened and closed around each proof (get-proof path);
* inclusion by leaf hash per request: ``find_by_leaf_hash`` + proof in its own read
  transaction, which is what ``/fed/v1/get-proof-by-hash`` does;
* consistency from a random size to the full size, and between two random sizes.

Every proof is then checked (untimed) against the root it must lead to, so the bench times real
proofs. Latencies are p50/p90/p99/max in milliseconds; the aim is under 1 ms.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from math import nan
from typing import Any

from sqlalchemy import Connection

from bench.common import (
    OUT,
    Interference,
    ensure_log,
    interference_line,
    latency_summary,
    log_home,
    machine,
    machine_line,
    print_table,
    profile,
    record,
    result,
)
from parley.core import merkle
from parley.node.node import Node
from parley.store import logs
from parley.store.schema import node_key

MODULE = "bench.bench_proofs"
PROFILE_GROUPS = {
    "inclusion_proof, all of it": "parley/core/merkle.py:inclusion_proof",
    "  logs.get_nodes (the store callback)": "parley/store/logs.py:get_nodes",
    "    building the SELECT (select/where/in_)": (
        "sqlalchemy/sql/_selectable_constructors.py:select|sqlalchemy/sql/selectable.py:where"
        "|sqlalchemy/sql/operators.py:in_"
    ),
    "    Connection.execute (SQLAlchemy, all)": "sqlalchemy/engine/base.py:execute",
    "      cache key + compiled lookup": "sqlalchemy/sql/cache_key.py:_generate_cache_key",
    "      sqlite3 execute (SQLite itself)": "<method 'execute' of 'sqlite3.Cursor",
    "    fetching rows one by one (fetchone)": "<method 'fetchone' of 'sqlite3.Cursor",
    "  merkle: ranges + hash_of_nodes": (
        "parley/core/merkle.py:_inclusion_ranges|parley/core/merkle.py:hash_of_nodes"
    ),
}
AIM_MS = 1.0


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", type=int, default=200_000, help="log size (default 200,000)")
    parser.add_argument("--count", type=int, default=1000, help="timed proofs per case")
    parser.add_argument("--warmup", type=int, default=100, help="untimed proofs per case first")
    parser.add_argument("--seed", type=int, default=9162)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached log")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile --count inclusion proofs"
    )
    return parser.parse_args(argv)


def getter(conn: Connection, party: str) -> merkle.GetNodes:
    return lambda ids: logs.get_nodes(conn, party, ids)


class Cases:
    """Draws random inputs and times proofs, noting which ones a full (gen-2) GC pass hit."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.rng = rng
        self.full_gcs = 0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info.get("generation") == 2:
            self.full_gcs += 1

    def timed(
        self, count: int, draw: Callable[[], Any], run: Callable[[Any], Any], warmup: int
    ) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
        for _ in range(warmup):
            run(draw())
        inputs = [draw() for _ in range(count)]
        seconds: list[float] = []
        cpu: list[float] = []
        clean: list[float] = []
        outputs: list[tuple[Any, Any]] = []
        for item in inputs:
            gcs = self.full_gcs
            cpu_started = time.thread_time()
            started = time.perf_counter()
            output = run(item)
            spent = time.perf_counter() - started
            cpu.append(time.thread_time() - cpu_started)
            seconds.append(spent)
            if self.full_gcs == gcs:
                clean.append(spent)
            outputs.append((item, output))
        summary: dict[str, Any] = latency_summary(seconds)
        summary["cpu"] = latency_summary(cpu)
        summary["full_gc_hits"] = count - len(clean)
        summary["p99_ms_without_full_gc"] = latency_summary(clean)["p99_ms"] if clean else nan
        return summary, outputs

    def index(self) -> int:
        return self.rng.randrange(self.size)

    def first(self) -> int:
        return self.rng.randrange(1, self.size)

    def pair(self) -> tuple[int, int]:
        a, b = sorted(self.rng.sample(range(1, self.size + 1), 2))
        return a, b


def raw_getter(db: sqlite3.Connection, party: str) -> merkle.GetNodes:
    """``logs.get_nodes`` without SQLAlchemy: the same SELECT on a plain sqlite3 connection."""

    def get(ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        by_key = {node_key(*nid): nid for nid in ids}
        marks = ",".join("?" * len(by_key))
        rows = db.execute(
            f"SELECT node_id, hash FROM tree_nodes WHERE party = ? AND node_id IN ({marks})",  # noqa: S608
            [party, *by_key],
        )
        return {by_key[key]: value for key, value in rows}

    return get


def check_inclusions(conn: Connection, party: str, size: int, done: list[Any]) -> None:
    state = logs.get_state(conn, party)
    assert state is not None and state.size == size
    for index, proof in done:
        stored = logs.get_entry(conn, party, index)
        assert stored is not None
        merkle.verify_inclusion(stored.leaf_hash, index, size, proof, state.root)


def check_consistency(conn: Connection, party: str, done: list[Any]) -> None:
    get = getter(conn, party)
    for (first, second), proof in done:
        merkle.verify_consistency(
            first, second, merkle.root_hash(first, get), merkle.root_hash(second, get), proof
        )


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    info = machine()
    print(machine_line(info))
    build = ensure_log(args.size, rebuild=args.rebuild)
    node = Node.open(log_home(args.size))
    party, size = node.party, node.size()
    cases = Cases(size, random.Random(args.seed))
    figures: dict[str, Any] = {}
    done: dict[str, list[Any]] = {}
    count, warm = args.count, args.warmup
    noise = Interference()

    def consistency(get: merkle.GetNodes) -> Callable[[tuple[int, int]], list[bytes]]:
        return lambda pair: merkle.consistency_proof(pair[0], pair[1], get)

    with node.store.read() as conn:
        get = getter(conn, party)
        figures["inclusion"], done["inclusion"] = cases.timed(
            count, cases.index, lambda i: merkle.inclusion_proof(i, size, get), warm
        )
        figures["consistency_to_full"], done["consistency_to_full"] = cases.timed(
            count, lambda: (cases.first(), size), consistency(get), warm
        )
        figures["consistency_random_pair"], done["consistency_random_pair"] = cases.timed(
            count, cases.pair, consistency(get), warm
        )

    def per_request(index: int) -> list[bytes]:
        with node.store.read() as conn:
            return merkle.inclusion_proof(index, size, getter(conn, party))

    figures["inclusion_per_request"], done["inclusion_per_request"] = cases.timed(
        count, cases.index, per_request, warm
    )

    def by_hash(leaf_hash: bytes) -> tuple[int, list[bytes]]:
        with node.store.read() as conn:
            stored = logs.find_by_leaf_hash(conn, party, leaf_hash)
            assert stored is not None
            return stored.seq, merkle.inclusion_proof(stored.seq, size, getter(conn, party))

    with node.store.read() as conn:

        def draw_leaf() -> bytes:
            stored = logs.get_entry(conn, party, cases.index())
            assert stored is not None
            return stored.leaf_hash

        figures["inclusion_by_hash"], by_hash_done = cases.timed(count, draw_leaf, by_hash, warm)
        done["inclusion_by_hash"] = [out for _leaf, out in by_hash_done]

    db = sqlite3.connect(f"file:{log_home(args.size) / 'parley.db'}?mode=ro", uri=True)
    try:
        db.execute("BEGIN")
        raw = raw_getter(db, party)
        figures["inclusion_raw_sqlite3"], done["inclusion_raw_sqlite3"] = cases.timed(
            count, cases.index, lambda i: merkle.inclusion_proof(i, size, raw), warm
        )
        db.execute("COMMIT")
    finally:
        db.close()
    figures["interference"] = noise.report()
    if args.profile:
        indices = [cases.index() for _ in range(count)]
        with node.store.read() as conn:
            get = getter(conn, party)

            def proofs() -> None:
                for index in indices:
                    merkle.inclusion_proof(index, size, get)

            figures["profile"] = profile(proofs, OUT / "proofs.prof", top=15, groups=PROFILE_GROUPS)

    with node.store.read() as conn:  # untimed: every proof must verify against its root
        for name, pairs in done.items():
            if name.startswith("consistency"):
                check_consistency(conn, party, pairs)
            else:
                check_inclusions(conn, party, size, pairs)
            figures[name]["mean_hashes"] = sum(len(p) for _i, p in pairs) / len(pairs)
            figures[name]["verified"] = len(pairs)
    node.close()

    keep = (
        "rate",
        "cpu_rate",
        "append_s",
        "append_cpu_s",
        "wall_s",
        "peak_rss_mib",
        "db_bytes",
        "date",
        "command",
        "cached",
        "interference",
        "trajectory",
    )
    figures["build"] = {k: build[k] for k in keep if k in build}
    labels = {
        "inclusion": "inclusion, in an open read txn",
        "consistency_to_full": "consistency, random m -> n",
        "consistency_random_pair": "consistency, random m -> random n'",
        "inclusion_per_request": "inclusion, own read txn each",
        "inclusion_by_hash": "get-proof-by-hash path, own txn",
        "inclusion_raw_sqlite3": "floor: inclusion via plain sqlite3",
    }
    print_table(
        f"proof generation from the SQLite store, n = {size:,} ({args.count:,} random proofs "
        f"per case, all verified; aim < {AIM_MS} ms)",
        [
            "case",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "CPU p50",
            "CPU p99",
            "full GCs",
            "hashes",
        ],
        [
            [
                label,
                f["p50_ms"],
                f["p90_ms"],
                f["p99_ms"],
                f["max_ms"],
                f["cpu"]["p50_ms"],
                f["cpu"]["p99_ms"],
                f["full_gc_hits"],
                f["mean_hashes"],
            ]
            for key, label in labels.items()
            for f in [figures[key]]
        ],
    )
    print(
        "(p50-max: wall time per proof; CPU p50/p99: this thread's CPU time per proof, which "
        "leaves out time lost to other processes; full GCs: proofs during which a gen-2 "
        "collection ran)"
    )
    print(interference_line(figures["interference"]))
    b = figures["build"]
    print_table(
        f"build of the cached log (Node.create + Node.append in batches of 10,000, "
        f"{'cached from ' + b['date'] if b['cached'] else 'built now'})",
        [
            "entries",
            "append rate /s",
            "CPU-time rate /s",
            "append s",
            "wall s",
            "peak RSS MiB",
            "database MiB",
        ],
        [
            [
                size,
                b["rate"],
                b.get("cpu_rate", nan),
                b["append_s"],
                b["wall_s"],
                b["peak_rss_mib"],
                b["db_bytes"] / 2**20,
            ]
        ],
    )
    params = dict(vars(args))
    key = f"proofs@{size}" + ("+profile" if args.profile else "")
    record(key, result("proofs", MODULE, argv, params, figures))


if __name__ == "__main__":
    main()
