"""Run every benchmark of the log foundation with bounded defaults (``make bench``).

By default: proofs and full verification at 200,000 entries, peak RSS at 20,000 / 60,000 /
200,000 entries, and durable appends (5 rounds on a fresh log, then on copies of the 20,000-
and 200,000-entry logs): under ten minutes on a 2-core machine the first time (the logs are
built once and cached under bench/out/logs/), less afterwards. ``--full`` runs them at
1,000,000 entries (RSS at 100,000 / 300,000 / 1,000,000; appends at 100,000 and 1,000,000):
about half an hour the first time, when it builds 1.4 million entries. ``--rebuild`` discards
the cached logs of the run first.

Each bench runs in its own process, prints its tables and updates bench/out/results.json; this
script then prints a summary. The benches listed in ``OTHER_BENCHES`` (the formats layer's
``bench_cap_parse`` and ``bench_cap_import`` with 10,000 messages; federation catch-up,
``bench_catchup`` with 20,000 entries; delivery latency and one delivery round trip,
``bench_latency`` and ``bench_hop``; subscription matching, ``bench_subscriptions`` with
100,000 subscriptions and 2,000 alerts; notifications through the officer API, ``bench_api``
with 300; stream fan-out, ``bench_stream`` with 1,000 clients; full-text search at 50,000
notifications, ``bench_search``; the map's areas, ``bench_map`` with 10,000 notifications and
5,000 areas; the dashboard in chromium, ``bench_dashboard`` over the same 10,000 notifications;
a new notification on four open dashboards, ``bench_live`` with 50; TAXII beside medallion,
``bench_taxii``) run after them with bounded
arguments and print their own figures. Benches measure and report: nothing here fails on a
slow figure (a step that crashes makes the exit status non-zero).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.common import (
    BENCH_DIR,
    RESULTS,
    ROOT,
    command,
    log_home,
    print_table,
    record,
    result,
)

MODULE = "bench.run_all"
CATCHUP_ENTRIES = 20_000  # about two minutes, its network built included
SUBSCRIPTIONS = 100_000
DEFAULT_SIZE = 200_000
FULL_SIZE = 1_000_000
OTHER_BENCHES = {
    "cap_parse": ("bench.bench_cap_parse", []),  # bounded by its own per-mode time budget
    "cap_import": (
        "bench.bench_cap_import",
        ["--messages", "10000", "--profile", "1000"],
    ),
    "catchup": ("bench.bench_catchup", ["--entries", str(CATCHUP_ENTRIES)]),
    "latency": ("bench.bench_latency", ["--count", "200"]),  # about two minutes
    "hop": ("bench.bench_hop", ["--rounds", "300"]),  # about ten seconds
    "subscriptions": (  # under a minute, the 100,000 subscriptions made and indexed included
        "bench.bench_subscriptions",
        ["--subscriptions", str(SUBSCRIPTIONS), "--alerts", "2000"],
    ),
    "api": ("bench.bench_api", ["--count", "300"]),  # a few minutes: three runs of 300
    "stream": ("bench.bench_stream", ["--clients", "1000", "--rounds", "30"]),  # about a minute
    "search": ("bench.bench_search", ["--count", "50000", "--repeats", "20"]),  # about a minute
    "map": ("bench.bench_map", ["--count", "10000", "--repeats", "10"]),  # under a minute
    # The pages in Debian's chromium (Playwright): about a minute each on an idle machine.
    "dashboard": ("bench.bench_dashboard", ["--count", "10000", "--repeats", "10"]),
    "live": ("bench.bench_live", ["--rounds", "50"]),
    # TAXII beside medallion (.venv-medallion, which make bench builds): a few minutes, the
    # 100,000-object store built once (about five minutes) and cached under bench/out/taxii/.
    "taxii": ("bench.bench_taxii", ["--medallion", ".venv-medallion/bin/python"]),
}
"""Benches of other parts of Parley that ``run_all`` also runs, with bounded arguments."""
DEFAULT_RSS = [20_000, 60_000, 200_000]
FULL_RSS = [100_000, 300_000, 1_000_000]


def plan(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    size = FULL_SIZE if args.full else DEFAULT_SIZE
    rss = FULL_RSS if args.full else DEFAULT_RSS
    at_sizes = [FULL_RSS[0], FULL_SIZE] if args.full else [DEFAULT_RSS[0], DEFAULT_SIZE]
    steps = [
        ("proofs", "bench.bench_proofs", ["--size", str(size)]),
        (
            "verify",
            "bench.bench_verify",
            ["--size", str(size), "--rss-sizes", ",".join(str(n) for n in rss)],
        ),
        ("append", "bench.bench_append", ["--at-sizes", ",".join(str(n) for n in at_sizes)]),
    ]
    # Benches of other parts of Parley, with arguments that keep them bounded; they print their
    # own figures. A bench_*.py not listed here is not run (its defaults may be long).
    for name, (module, bench_args) in OTHER_BENCHES.items():
        if (BENCH_DIR / f"{module.removeprefix('bench.')}.py").exists():
            steps.append((name, module, bench_args))
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    return [step for step in steps if not only or step[0] in only]


def summary(size: int, rss_key: str) -> list[list[Any]]:
    try:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    rows: list[list[Any]] = []
    append = results.get("append", {}).get("figures")
    if append:
        rows += [
            ["appends, batches of 1,000 / raw", append["batched_ratio"], "aim >= 0.5"],
            ["appends, one by one / raw", append["single_ratio"], ""],
            ["appends, batches of 1,000", append["batched"], "entries/s"],
            ["raw floor (sign + hash + encode)", append["raw"], "entries/s"],
        ]
    proofs = results.get(f"proofs@{size}", {}).get("figures")
    if proofs:
        rows += [
            [
                f"inclusion proof p50 / p99 at {size:,}",
                f"{proofs['inclusion']['p50_ms']:.3f} / {proofs['inclusion']['p99_ms']:.3f}",
                "ms, aim < 1",
            ],
            [
                f"consistency proof p50 / p99 at {size:,}",
                f"{proofs['consistency_to_full']['p50_ms']:.3f} / "
                f"{proofs['consistency_to_full']['p99_ms']:.3f}",
                "ms, aim < 1",
            ],
            [f"build rate to {size:,} (batches of 10,000)", proofs["build"]["rate"], "entries/s"],
        ]
    verify = results.get(f"verify@{size}", {}).get("figures")
    if verify:
        rows += [
            [f"verify_log at {size:,}", verify["verify"]["rate"], "entries/s"],
            ["verify_log / raw Ed25519 verify", verify["ratio"], ""],
        ]
    catchup = results.get(f"catchup@{CATCHUP_ENTRIES}", {}).get("figures")
    for run in catchup["runs"] if catchup else []:
        rows.append(
            [
                f"catch-up of {CATCHUP_ENTRIES:,} entries / raw Ed25519 verify, "
                f"reader {run['reader']}{' (TLS)' if run['tls'] else ''}",
                f"{run['ratio']:.3f} (CPU time {run['ratio_cpu']:.3f})",
                "aim >= 0.5" if run["reader"] == "KR" else "",
            ]
        )
    matching = results.get(f"subscriptions@{SUBSCRIPTIONS}", {}).get("figures")
    if matching:
        rows.append(
            [
                f"subscription matching p50 / p99 at {SUBSCRIPTIONS:,} (CPU)",
                f"{matching['cpu']['p50_ms']:.3f} / {matching['cpu']['p99_ms']:.3f}",
                "ms, aim < 1 / < 5",
            ]
        )
    rss = results.get(rss_key, {}).get("figures")
    if rss:
        for row in rss["rows"]:
            rows.append(
                [
                    f"peak RSS at {row['size']:,}: build / verify",
                    f"{row['build_peak_rss_mib']:.0f} / {row['verify_peak_rss_mib']:.0f}",
                    "MiB",
                ]
            )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--full", action="store_true", help="1,000,000 entries (slow)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated steps: proofs,verify,append,cap_parse,cap_import,catchup,"
        "latency,hop,subscriptions,api,stream,search,map,dashboard,live",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached logs")
    args = parser.parse_args(argv)
    steps = plan(args)
    if args.rebuild:  # once, here: each cached log is then built by the first bench needing it
        sizes = [FULL_SIZE, *FULL_RSS] if args.full else [DEFAULT_SIZE, *DEFAULT_RSS]
        for size in sizes:
            shutil.rmtree(log_home(size), ignore_errors=True)
    done: list[dict[str, Any]] = []
    started = time.perf_counter()
    for name, module, bench_args in steps:
        line = command(module, bench_args)
        print(f"\n=== {name}: {line}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.run(
            [sys.executable, "-m", module, *bench_args], cwd=ROOT, check=False
        ).returncode
        done.append(
            {"step": name, "command": line, "seconds": time.perf_counter() - t0, "returncode": code}
        )
    total = time.perf_counter() - started
    size = FULL_SIZE if args.full else DEFAULT_SIZE
    rss = ",".join(str(n) for n in (FULL_RSS if args.full else DEFAULT_RSS))
    rows = summary(size, f"rss@{rss}")
    if rows:
        print_table(f"summary (from {RESULTS.relative_to(ROOT)})", ["figure", "value", ""], rows)
    print_table(
        "steps",
        ["step", "seconds", "exit"],
        [[d["step"], d["seconds"], d["returncode"]] for d in done],
    )
    print(f"total {total / 60:.1f} min")
    record(
        "run_all" + ("-full" if args.full else ""),
        result("run_all", MODULE, argv, vars(args), {"steps": done, "total_s": total}),
    )
    if any(d["returncode"] for d in done):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
