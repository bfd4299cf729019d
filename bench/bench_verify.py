"""Full verification of a cached log from the store, and peak RSS of building and verifying.

Verification runs in a fresh process (``--worker``) exactly as ``parley verify log --home``
does (src/parley/cli/verify_cmds.py): one read transaction, ``logs.iter_log`` (batches of 5,000
rows) into ``verify_log`` with ``logs.iter_checkpoints``, then root and size compared with
the stored log state. Its rate (entries/s) is set against the raw Ed25519 verify rate measured
in this run (``cryptography``'s ``Ed25519PublicKey.verify`` on real header signing bytes, key
object reused), measured before and after the worker (median of ``--raw-repeats`` each side).

``--rss-sizes`` (e.g. 100000,300000,1000000) adds peak RSS (``ru_maxrss``, fresh process per
measurement) of (a) building the log (``Node.create`` + ``Node.append`` in batches of 10,000:
the cached log's build process, see ``bench.common``) and (b) verifying it, for each size.
The worker also reports its RSS right after opening the node (imports, engines) and the SQLite
page-cache limit (``PRAGMA cache_size``), the two floors a flat profile sits on.

``--profile`` runs cProfile over the first ``--profile-entries`` entries (in the worker) and
``--what-if`` verifies again with the per-entry recomputations kept in-process (hypothetical;
see ``common.what_if_cached_hashes``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from bench.common import (
    NETWORK,
    OUT,
    PARTY,
    PEER,
    Clock,
    Interference,
    ensure_log,
    interference_line,
    log_home,
    machine,
    machine_line,
    median,
    peak_rss_mib,
    print_table,
    profile,
    record,
    result,
    run_worker,
    what_if_cached_hashes,
)

MODULE = "bench.bench_verify"

PROFILE_GROUPS = {
    "verify_log, all of it": "parley/core/verify.py:verify_log",
    "  LogVerifier.feed": "parley/core/verify.py:feed",
    "    policy hash, recomputed per entry": "parley/core/policy.py:hash",
    "    parse_header (orjson + canonical re-encode + checks)": "parley/core/entry.py:parse_header",
    "    Header.verify_signature": "parley/core/entry.py:verify_signature",
    "      Ed25519 verify (OpenSSL)": "<method 'verify' of 'cryptography",
    "    Header.check_body": "parley/core/entry.py:check_body",
    "  check_subset, all calls": "parley/core/canonical.py:check_subset",
    "  merkle (leaf hash, append_leaf, range_nodes)": (
        "parley/core/merkle.py:leaf_hash|parley/core/merkle.py:append_leaf"
        "|parley/core/merkle.py:range_nodes"
    ),
    "  reading rows (iter_log)": "parley/store/logs.py:iter_log",
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", type=int, default=200_000, help="log size (default 200,000)")
    parser.add_argument("--rss-sizes", default="", help="comma-separated sizes for peak RSS")
    parser.add_argument("--raw-count", type=int, default=3000, help="signatures per raw sample")
    parser.add_argument("--raw-repeats", type=int, default=3, help="raw samples before/after")
    parser.add_argument("--profile", action="store_true", help="profile a verification")
    parser.add_argument("--profile-entries", type=int, default=20_000)
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also verify with per-entry recomputations kept (hypothetical)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached logs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------------------------
# The worker: a fresh process that verifies one cached log


def verify_from_store(size: int, limit: int | None = None) -> dict[str, Any]:
    """What ``parley verify log --home`` does, timed; ``limit`` verifies only a prefix."""
    from parley.core.entry import Body
    from parley.core.errors import VerificationError
    from parley.core.verify import verify_log
    from parley.node.node import Node
    from parley.store import logs

    node = Node.open(log_home(size))
    cache_size = node.store.pragma("cache_size")
    rss_open = peak_rss_mib()
    clock = Clock()
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        notes: Iterable[str] = logs.iter_checkpoints(conn, node.party)
        items: Iterable[tuple[bytes, Body | None]] = (
            (s.leaf, None if s.body is None else Body(s.salt or b"", s.body))
            for s in logs.iter_log(conn, node.party)
        )
        if limit is not None:
            items = itertools.islice(items, limit)
            notes = (note for note in notes if note_size(note) <= limit)
        report = verify_log(items, notes)
    seconds, cpu_seconds = clock.stop()
    node.close()
    if limit is None and (state is None or report.root != state.root or report.size != state.size):
        raise VerificationError("the stored log state does not match the verified entries")
    return {
        "size": report.size,
        "seconds": seconds,
        "rate": report.size / seconds,
        "cpu_seconds": cpu_seconds,
        "cpu_rate": report.size / cpu_seconds,
        "checkpoints": report.checkpoints,
        "bodies": report.bodies,
        "rss_after_open_mib": rss_open,
        "peak_rss_mib": peak_rss_mib(),
        "sqlite_cache_size_pragma": cache_size,
    }


def note_size(note: str) -> int:
    from parley.core.checkpoint import Checkpoint

    return Checkpoint.parse_body(note[: note.index("\n\n") + 1].encode("utf-8")).size


def worker(args: argparse.Namespace) -> None:
    if args.profile:
        holder: dict[str, Any] = {}
        with contextlib.redirect_stdout(sys.stderr):  # the tables show; stdout carries JSON
            figures = profile(
                lambda: holder.update(verify_from_store(args.size, args.profile_entries)),
                OUT / "verify.prof",
                groups=PROFILE_GROUPS,
            )
        print(json.dumps({"profile": figures, **holder}), flush=True)
        return
    if args.what_if:
        with what_if_cached_hashes():
            print(json.dumps(verify_from_store(args.size)), flush=True)
        return
    print(json.dumps(verify_from_store(args.size)), flush=True)


# --------------------------------------------------------------------------------------------
# The raw floor: Ed25519 verifications of real header signing bytes


def raw_verify_rate(count: int) -> tuple[float, float]:
    """(wall, CPU-time) rates of Ed25519 verification of real header signing bytes."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from bench.common import notification_body
    from parley.core.entry import Body, resolve_sharing, sign_header
    from parley.core.keys import SigningKey

    key = SigningKey.generate()
    audience, tlp = resolve_sharing("hotline", (PEER,), "AMBER")
    messages = []
    for seq in range(count):
        body = Body.seal(notification_body(seq), bytes(32))
        header = sign_header(
            network=NETWORK,
            policy="0" * 64,
            party=PARTY,
            node=key.kid,
            seq=seq,
            time=1_750_000_000_000,
            kind="hotline",
            status="Exercise",
            audience=audience,
            tlp=tlp,
            body=body,
            log_key=key,
        )
        signature = key.sign(b"", header.signing_bytes())
        messages.append((header.signing_bytes(), signature))
    public = Ed25519PublicKey.from_public_bytes(key.public.raw)
    clock = Clock()
    for message, signature in messages:
        public.verify(signature, message)
    wall, cpu = clock.stop()
    return count / wall, count / cpu


# --------------------------------------------------------------------------------------------
# The bench


def verify_worker(size: int, *extra: str) -> dict[str, Any]:
    return run_worker(MODULE, ["--worker", "--size", str(size), *extra])


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if args.worker:
        worker(args)
        return
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(machine_line(machine()))
    rss_sizes = sorted({int(v) for v in args.rss_sizes.split(",") if v.strip()})
    builds = {n: ensure_log(n, rebuild=args.rebuild) for n in sorted({args.size, *rss_sizes})}

    noise = Interference()
    raw_before = [raw_verify_rate(args.raw_count) for _ in range(args.raw_repeats)]
    print(f"verifying the {args.size:,}-entry log in a fresh process ...", file=sys.stderr)
    run = verify_worker(args.size)
    raw_after = [raw_verify_rate(args.raw_count) for _ in range(args.raw_repeats)]
    samples = raw_before + raw_after
    raw = median([wall for wall, _cpu in samples])
    raw_cpu = median([cpu for _wall, cpu in samples])
    figures: dict[str, Any] = {
        "verify": run,
        "raw_ed25519_verify_rate": raw,
        "raw_ed25519_verify_cpu_rate": raw_cpu,
        "raw_samples": [wall for wall, _cpu in samples],
        "ratio": run["rate"] / raw,
        "ratio_cpu": run["cpu_rate"] / raw_cpu,
        "interference": noise.report(),
    }
    print_table(
        f"full verification from the store, n = {run['size']:,} (fresh process, as "
        "'parley verify log --home')",
        ["measure", "value", "per"],
        [
            ["verify_log from the store", run["rate"], "entries/s"],
            ["  elapsed", run["seconds"], "s"],
            ["raw Ed25519 verify (same run, median)", raw, "signatures/s"],
            [
                "  raw samples min - max",
                f"{min(figures['raw_samples']):,.0f} - {max(figures['raw_samples']):,.0f}",
                "",
            ],
            ["ratio verify_log / raw Ed25519 verify", figures["ratio"], ""],
            ["verify_log, CPU-time rate", run["cpu_rate"], "entries/s"],
            ["raw Ed25519 verify, CPU-time rate", raw_cpu, "signatures/s"],
            ["ratio in CPU time (robust to other load)", figures["ratio_cpu"], ""],
            ["checkpoints checked", run["checkpoints"], ""],
            ["bodies checked", run["bodies"], ""],
            ["peak RSS of the verifying process", run["peak_rss_mib"], "MiB"],
        ],
    )
    print(interference_line(figures["interference"]))

    if args.profile:
        print(f"\nprofiling verification of the first {args.profile_entries:,} entries ...")
        prof = verify_worker(args.size, "--profile", "--profile-entries", str(args.profile_entries))
        figures["profile"] = prof["profile"]
    params = dict(vars(args))
    params.pop("worker")
    diagnostics = [f for f, on in (("profile", args.profile), ("what-if", args.what_if)) if on]
    key = "+".join([f"verify@{args.size}", *diagnostics])  # diagnostic runs stay apart
    record(key, result("verify", MODULE, argv, params, figures))

    if args.what_if:
        hypo = verify_worker(args.size, "--what-if")
        hypo_figures = {
            "verify": hypo,
            "raw_ed25519_verify_rate": raw,
            "raw_ed25519_verify_cpu_rate": raw_cpu,
            "ratio": hypo["rate"] / raw,
            "ratio_cpu": hypo["cpu_rate"] / raw_cpu,
        }
        print_table(
            "HYPOTHETICAL (src unchanged; policy hash, public key, log context kept in-process)",
            ["measure", "value", "per"],
            [
                ["verify_log from the store", hypo["rate"], "entries/s"],
                ["ratio verify_log / raw Ed25519 verify", hypo_figures["ratio"], ""],
                ["verify_log, CPU-time rate", hypo["cpu_rate"], "entries/s"],
                ["ratio in CPU time", hypo_figures["ratio_cpu"], ""],
            ],
        )
        record(
            f"verify-what-if@{args.size}",
            result("verify-what-if", MODULE, argv, params, hypo_figures),
        )

    if rss_sizes:
        rss_rows = []
        for n in rss_sizes:
            if n == args.size:
                measured = run
            else:
                print(f"verifying the {n:,}-entry log in a fresh process ...", file=sys.stderr)
                measured = verify_worker(n)
            b = builds[n]
            rss_rows.append(
                {
                    "size": n,
                    "build_peak_rss_mib": b["peak_rss_mib"],
                    "build_date": b["date"],
                    "build_rate": b["rate"],
                    "build_trajectory": b["trajectory"],
                    "verify_peak_rss_mib": measured["peak_rss_mib"],
                    "verify_rss_after_open_mib": measured["rss_after_open_mib"],
                    "verify_rate": measured["rate"],
                    "checkpoints": measured["checkpoints"],
                    "sqlite_cache_size_pragma": measured["sqlite_cache_size_pragma"],
                    "db_bytes": b["db_bytes"],
                }
            )
        print_table(
            "peak RSS (ru_maxrss, fresh process per measurement; build = Node.create + "
            "Node.append in batches of 10,000)",
            [
                "entries",
                "build peak MiB",
                "verify peak MiB",
                "verify RSS after open MiB",
                "checkpoints",
                "database MiB",
                "build /s",
                "verify /s",
                "built",
            ],
            [
                [
                    r["size"],
                    r["build_peak_rss_mib"],
                    r["verify_peak_rss_mib"],
                    r["verify_rss_after_open_mib"],
                    r["checkpoints"],
                    r["db_bytes"] / 2**20,
                    r["build_rate"],
                    r["verify_rate"],
                    r["build_date"],
                ]
                for r in rss_rows
            ],
        )
        first, last = rss_rows[0], rss_rows[-1]
        growth = {
            "build_mib": last["build_peak_rss_mib"] - first["build_peak_rss_mib"],
            "verify_mib": last["verify_peak_rss_mib"] - first["verify_peak_rss_mib"],
            "from_size": first["size"],
            "to_size": last["size"],
        }
        cache = first["sqlite_cache_size_pragma"]
        print(
            f"growth from {first['size']:,} to {last['size']:,} entries: build "
            f"{growth['build_mib']:+.1f} MiB, verify {growth['verify_mib']:+.1f} MiB "
            f"(SQLite cache_size={cache}: "
            f"{-cache / 1024 if cache < 0 else cache} {'MiB' if cache < 0 else 'pages'} "
            "per connection)"
        )
        rss_params = {"sizes": rss_sizes, "rebuild": args.rebuild}
        rss_figures = {"rows": rss_rows, "growth": growth}
        key = f"rss@{','.join(str(n) for n in rss_sizes)}"
        record(key, result("rss", MODULE, argv, rss_params, rss_figures))


if __name__ == "__main__":
    main()
