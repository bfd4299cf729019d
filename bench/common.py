"""Shared helpers of the benchmarks: machine facts, realistic entries, cached logs, results.

Every bench prints a table and updates ``bench/out/results.json`` (one record per bench and
size, each with the exact command, the date and the machine). Large logs are built once, by
``Node.create`` then ``Node.append`` in batches of 10,000, in a fresh subprocess that also reports
its peak RSS, and cached under ``bench/out/logs/n<size>/`` so re-runs reuse them.

Run ``python -m bench.common build --size N`` to build (or rebuild) one cached log by hand.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import datetime as dt
import hashlib
import json
import math
import os
import platform
import pstats
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from parley.core.canonical import canonical_bytes
from parley.core.entry import SALT_SIZE, Body
from parley.core.keys import DOMAIN_HEADER, SigningKey
from parley.core.policy import PolicyDocument
from parley.node.federation import peers
from parley.node.log import Draft
from parley.node.node import Node, adopt_by_all, members_of, now_ms
from parley.node.policies import draft_policy
from parley.store import logs

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
RESULTS = OUT / "results.json"
LOGS = OUT / "logs"
SCRATCH = OUT / "scratch"
# Quotas out of the way of a bench: they count entries per minute by signed time, and a bench
# writes faster than the default policy lets one party (300 addressed entries a minute).
OPEN_QUOTAS = {
    "entries_per_minute": 10**9,
    "bytes_per_minute": 10**15,
    "addressed_per_minute": 10**9,
}


def open_network(
    homes: dict[str, Path], network: str, name: str = "bench", centre: str = "centre"
) -> dict[str, Node]:
    """New nodes (party -> home) under one policy with ``OPEN_QUOTAS``, signed by every one."""
    nodes = {
        p: Node.create(home, party=p, name=f"{p} {centre}", network=network)
        for p, home in homes.items()
    }
    drafted = draft_policy(
        network=network, name=name, members=members_of(nodes.values()), created=now_ms(), version=2
    )
    document = PolicyDocument.from_dict({**drafted.to_dict(), "quotas": OPEN_QUOTAS})
    adopt_by_all(nodes.values(), document)
    return nodes


def pin_offline(receiver: Node, author: Node, url: str = "http://127.0.0.1:9") -> None:
    """Pin ``author`` at ``receiver`` from its first key statement, with no request."""
    with author.store.read() as conn:
        first = logs.get_entry(conn, author.party, 0)
    assert first is not None and first.body is not None and first.salt is not None  # noqa: S101
    identity = author.context().statement.identity
    statement = Body(first.salt, first.body).value()
    peers.store_pin(receiver.store, author.party, url, identity, None, statement, now_ms())


PARTY = "JP"
PEER = "CN"
NETWORK = "parley-bench"
BODY_BYTES = 600
BUILD_BATCH = 10_000
BUILD_FORMAT = 1
"""Bump when the contents of the cached logs change, so stale caches are rebuilt."""
FORMAT_SOURCES = (
    "src/parley/core/canonical.py",
    "src/parley/core/entry.py",
    "src/parley/core/keys.py",
    "src/parley/core/policy.py",
    "src/parley/core/checkpoint.py",
    "src/parley/core/merkle.py",
    "src/parley/node/log.py",
    "src/parley/node/node.py",
    "src/parley/node/policies.py",
    "src/parley/store/schema.py",
    "src/parley/store/logs.py",
    "src/parley/store/migrations",
)
"""The sources that decide what a cached log holds: a change to any of them rebuilds it."""
BUILD_MARKER = "bench-build.json"

# --------------------------------------------------------------------------------------------
# Machine and command


def machine() -> dict[str, Any]:
    """The facts docs/benchmarks.md quotes with every figure."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="utf-8") as f:
        mem_kib = int(f.readline().split()[1])
    packages = {}
    for name in ("cryptography", "orjson", "sqlalchemy", "pydantic"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "mem_total_gib": round(mem_kib / 2**20, 1),
        "packages": packages,
    }


def source_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) over the sources that decide a cached log's contents."""
    digest = hashlib.sha256()
    for name in FORMAT_SOURCES:
        path = ROOT / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0")
            with contextlib.suppress(OSError):
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def git_state() -> dict[str, Any]:
    """The commit the benches ran on, and whether src/ had uncommitted changes."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=20
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
        "format_fingerprint": source_fingerprint(),
    }


def command(module: str, argv: Sequence[str]) -> str:
    """The exact command line that reproduces a bench run, relative to the project root."""
    return shlex.join([".venv/bin/python", "-m", module, *argv])


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def machine_line(info: dict[str, Any]) -> str:
    source = git_state()
    return (
        f"machine: nproc={info['nproc']}, CPU {info['cpu_model']}, Python {info['python']}, "
        f"SQLite {info['sqlite']}, {info['mem_total_gib']} GiB RAM; source: commit "
        f"{source['commit']}{' + uncommitted src changes' if source['src_dirty'] else ''}, "
        f"log-format fingerprint {source['format_fingerprint']}"
    )


# --------------------------------------------------------------------------------------------
# Realistic entries

_TEXT = (
    "Exercise ALPHA message {i:09d}: M6.8 earthquake near the northern border at 03:12 UTC. "
    "Two rail bridges closed, power out for about 40,000 households in district 4. Requesting "
    "confirmation of cross-border medical evacuation corridor B and the status of the shared "
    "reservoir dam."
)
_PARAMS = {"incident": "EQ-2025-0317", "severity": "Severe", "urgency": "Immediate"}
_DEADLINES = {"delivered_within": 60_000, "acknowledged_within": 300_000}


def _padding() -> str:
    probe = {"to": PEER, "text": _TEXT.format(i=0), "params": _PARAMS, "deadlines": _DEADLINES}
    short = BODY_BYTES - len(canonical_bytes(probe))
    filler = " Next update in 30 minutes; duty officer on secure line 3." * 8
    return filler[: max(short, 0)]


_PAD = _padding()


def notification_body(i: int) -> dict[str, Any]:
    """A schema-valid ``hotline`` body of exactly ``BODY_BYTES`` canonical bytes (for i < 1e9)."""
    return {
        "to": PEER,
        "text": _TEXT.format(i=i) + _PAD,
        "params": dict(_PARAMS),
        "deadlines": dict(_DEADLINES),
    }


def hotline_draft(i: int) -> Draft:
    return Draft("hotline", "Exercise", notification_body(i), (PEER,), "AMBER")


# --------------------------------------------------------------------------------------------
# The raw floor: what an append must do at the very least, with no database


class Clock:
    """Wall time and this process's CPU time (which excludes time spent descheduled)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def raw_sign(bodies: Sequence[Any], key: SigningKey, policy_hash: str) -> tuple[float, float]:
    """(wall, CPU) seconds of the raw work of appending ``bodies``: no database, no Parley types.

    Per body: a fresh salt, ``canonical_bytes(body)``, ``sha256(salt || body)``; then the work
    of ``sign_header``: the canonical encoding of the unsigned header, an Ed25519 signature over
    ``DOMAIN_HEADER || it``, the canonical encoding of the signed header (the leaf) and
    ``sha256(0x00 || leaf)``.
    """
    kid = key.kid
    private = key.private
    clock = Clock()
    for seq, body in enumerate(bodies):
        salt = os.urandom(SALT_SIZE)
        data = canonical_bytes(body)
        digest = hashlib.sha256(salt + data).hexdigest()
        header: dict[str, Any] = {
            "v": 1,
            "network": NETWORK,
            "policy": policy_hash,
            "party": PARTY,
            "node": kid,
            "seq": seq,
            "time": 1_750_000_000_000,
            "kind": "hotline",
            "status": "Exercise",
            "audience": [PEER],
            "tlp": "AMBER",
            "body_hash": digest,
            "body_size": len(data),
            "kid": kid,
        }
        signature = private.sign(DOMAIN_HEADER + canonical_bytes(header))
        header["sig"] = base64.b64encode(signature).decode("ascii")
        leaf = canonical_bytes(header)
        hashlib.sha256(b"\x00" + leaf).digest()
    return clock.stop()


# --------------------------------------------------------------------------------------------
# Statistics and output


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (p in [0, 100])."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return (
        percentile(ordered, 50)
        if len(ordered) % 2
        else ((ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2)
    )


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds."""
    ordered = sorted(seconds)
    ms = 1000.0
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50) * ms,
        "p90_ms": percentile(ordered, 90) * ms,
        "p99_ms": percentile(ordered, 99) * ms,
        "max_ms": ordered[-1] * ms,
        "mean_ms": sum(ordered) / len(ordered) * ms,
    }


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(
            "  ".join(
                v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)
            )
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] == "-")


def record(key: str, entry: dict[str, Any]) -> None:
    """Add or replace one record of ``bench/out/results.json`` (written atomically)."""
    OUT.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"results": {}}
    if RESULTS.exists():
        with contextlib.suppress(ValueError):
            data = json.loads(RESULTS.read_text(encoding="utf-8"))
    data.setdefault("results", {})[key] = entry
    tmp = RESULTS.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)
    print(f"\nrecorded {key!r} in {RESULTS.relative_to(ROOT)}")


def result(
    bench: str, module: str, argv: Sequence[str], params: dict[str, Any], figures: dict[str, Any]
) -> dict[str, Any]:
    return {
        "bench": bench,
        "command": command(module, argv),
        "date": now_iso(),
        "machine": machine(),
        "source": git_state(),
        "params": params,
        "figures": figures,
    }


# --------------------------------------------------------------------------------------------
# Interference: this is a shared 2-core machine, so say how busy it was


def _machine_busy_s() -> tuple[float, float]:
    """(busy, steal) CPU-seconds of the whole machine since boot, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="utf-8") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return math.nan, math.nan
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / tick, steal / tick


def _own_cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Interference:
    """CPU used by *other* processes (and stolen by the hypervisor) while a bench ran."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.busy, self.steal = _machine_busy_s()
        self.own = _own_cpu_s()
        self.load_at_start = os.getloadavg()[0]

    def report(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        busy, steal = _machine_busy_s()
        others = max(busy - self.busy - (_own_cpu_s() - self.own), 0.0)
        return {
            "wall_s": wall,
            "other_processes_cores": others / wall if wall else math.nan,
            "steal_cores": (steal - self.steal) / wall if wall else math.nan,
            "loadavg_1min_at_start": self.load_at_start,
        }


def interference_line(noise: dict[str, float]) -> str:
    return (
        f"interference: other processes used {noise['other_processes_cores']:.2f} of "
        f"{len(os.sched_getaffinity(0))} cores on average (steal "
        f"{noise['steal_cores']:.2f}); load average at start {noise['loadavg_1min_at_start']:.2f}"
    )


# --------------------------------------------------------------------------------------------
# Memory, subprocess workers and profiles


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(module: str, args: Sequence[str]) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh process; return the JSON of its last stdout line.

    The worker's stderr (progress) passes through to ours.
    """
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"worker {module} {' '.join(args)} failed ({completed.returncode})")
    value: dict[str, Any] = json.loads(lines[-1])
    return value


def profile(
    call: Callable[[], Any], path: Path, *, top: int = 25, groups: dict[str, str] | None = None
) -> dict[str, Any]:
    """cProfile ``call``; save the stats to ``path``; print and return where the time went.

    ``groups`` maps a label to ``file:function`` suffixes (``|``-separated; a built-in is named
    by a ``<method ...`` substring) whose *cumulative* times, summed, are reported as a share of
    the total. Groups may nest, so the shares need not add up to 100%.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(float(stats.total_tt), 1e-9)  # type: ignore[attr-defined]

    def name(func: tuple[str, int, str]) -> str:
        filename, line, function = func
        short = filename.split("/site-packages/")[-1].split("/src/")[-1]
        return f"{short}:{line}({function})" if line else function

    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    table = [
        {
            "function": name(func),
            "ncalls": nc,
            "tottime_s": tt,
            "cumtime_s": ct,
            "tottime_share": tt / total,
        }
        for func, (_cc, nc, tt, ct, _callers) in rows
    ]
    shares: dict[str, dict[str, float]] = {}
    for label, suffixes in (groups or {}).items():
        cum = 0.0
        for suffix in suffixes.split("|"):
            cum += max(
                (
                    ct
                    for func, (_cc, _nc, _tt, ct, _callers) in raw.items()
                    if f"{func[0]}:{func[2]}".endswith(suffix)
                    or (suffix.startswith("<") and suffix in func[2])
                ),
                default=0.0,
            )
        shares[label] = {"cumtime_s": cum, "share": cum / total}
    print(f"\nprofile ({total:.2f} s under cProfile, saved to {path.relative_to(ROOT)})")
    if shares:
        print_table(
            "where the time goes (cumulative time of each part; parts may nest)",
            ["part", "cum s", "share"],
            [[label, v["cumtime_s"], f"{v['share']:.0%}"] for label, v in shares.items()],
        )
    print_table(
        f"top {top} functions by own time",
        ["function", "calls", "own s", "own share", "cum s"],
        [
            [
                r["function"],
                r["ncalls"],
                r["tottime_s"],
                f"{r['tottime_share']:.1%}",
                r["cumtime_s"],
            ]
            for r in table
        ],
    )
    return {"total_s": total, "parts": shares, "top": table, "file": str(path.relative_to(ROOT))}


@contextlib.contextmanager
def what_if_cached_hashes() -> Iterator[None]:
    """HYPOTHETICAL, for the bench only: keep what src/ recomputes per entry or per append.

    * ``PolicyDocument.hash``: re-encodes the whole policy (pydantic dump, subset check, JCS)
      each time it is read; the verifier reads it for every entry.
    * ``SigningKey.public``: re-derives and re-serialises the public key for every ``kid``.
    * ``LocalLog.context``: the key statement and policy in force are cached by log size, so
      every append call re-reads and re-verifies them from the store. Here they are kept across
      the node's own appends; right only while no key or policy entry is appended, which holds
      in the benches (hotline entries only); a real fix would update the cache after an append.

    The objects are frozen, so the first two are safe as they stand. This patches classes in
    this process only; nothing in src/ changes. It estimates the gain of doing it for real.
    """
    from parley.core.keys import SigningKey as Key
    from parley.core.policy import PolicyDocument
    from parley.node.log import LocalLog

    policy_prop: Any = PolicyDocument.__dict__["hash"]
    public_prop: Any = Key.__dict__["public"]
    context_fn: Any = LocalLog.__dict__["context"]
    policy_cache: dict[int, tuple[Any, Any]] = {}
    public_cache: dict[int, tuple[Any, Any]] = {}

    def memo(fget: Callable[[Any], Any], cache: dict[int, tuple[Any, Any]]) -> property:
        def get(self: Any) -> Any:
            hit = cache.get(id(self))
            if hit is None or hit[0] is not self:
                hit = (self, fget(self))
                cache[id(self)] = hit
            return hit[1]

        return property(get)

    def kept_context(self: Any, conn: Any, size: int) -> Any:
        known = self._context[1]
        return known if known is not None else context_fn(self, conn, size)

    PolicyDocument.hash = memo(policy_prop.fget, policy_cache)  # type: ignore[method-assign,assignment]
    Key.public = memo(public_prop.fget, public_cache)  # type: ignore[method-assign,assignment]
    LocalLog.context = kept_context  # type: ignore[method-assign]
    try:
        yield
    finally:
        PolicyDocument.hash = policy_prop  # type: ignore[method-assign]
        Key.public = public_prop  # type: ignore[method-assign]
        LocalLog.context = context_fn  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# Cached large logs


def log_home(size: int) -> Path:
    return LOGS / f"n{size}"


CHECK_ENTRIES = 200
"""How many leading entries of a cached log the current code must verify before it is reused."""


def cached_build(size: int) -> dict[str, Any] | None:
    """The build record of the cached log, if the current code can still use it as it is.

    A cache is reused when its marker matches, its schema is at (or is migrated to) the current
    Alembic head, and the current ``LogVerifier`` accepts its first entries (key statement,
    policy, headers). Otherwise the log format changed since it was built, and it is rebuilt.
    """
    marker = log_home(size) / BUILD_MARKER
    try:
        info: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("format") != BUILD_FORMAT or info.get("size") != size:
        return None
    problem = cache_problem(size)
    if problem is not None:
        print(
            f"the cached {size:,}-entry log no longer suits the current code ({problem}): "
            "rebuilding it",
            file=sys.stderr,
            flush=True,
        )
        return None
    if info.get("fingerprint") != source_fingerprint():
        info["note"] = "built by an earlier version of the sources; still verifies"
    return info


def cache_problem(size: int) -> str | None:
    """Why the current code cannot use the cached log, or None (migrates the schema if due)."""
    from parley.core.errors import ParleyError
    from parley.core.verify import LogVerifier

    try:
        node = Node.open(log_home(size))
    except ParleyError as exc:
        return f"cannot open it: {exc}"
    try:
        node.store.migrate()  # a no-op at head; new tables otherwise, entries untouched
        verifier = LogVerifier()
        with node.store.read() as conn:
            if node.size() != size:
                return f"it holds {node.size()} entries"
            for stored in logs.get_range(conn, node.party, 0, min(CHECK_ENTRIES, size)):
                body = None if stored.body is None else Body(stored.salt or b"", stored.body)
                verifier.feed(stored.leaf, body)
    except ParleyError as exc:
        return f"its first entries do not verify: {exc}"
    except Exception as exc:  # noqa: BLE001 - any failure means "rebuild"
        return f"{type(exc).__name__}: {exc}"
    finally:
        node.close()
    return None


def ensure_log(size: int, *, rebuild: bool = False) -> dict[str, Any]:
    """The build record of the cached ``size``-entry log, building it first if needed."""
    info = None if rebuild else cached_build(size)
    if info is not None:
        return dict(info, cached=True)
    home = log_home(size)
    if home.exists():
        shutil.rmtree(home)
    LOGS.mkdir(parents=True, exist_ok=True)
    print(
        f"building a {size:,}-entry log in {home.relative_to(ROOT)} "
        f"(Node.create, then Node.append in batches of {BUILD_BATCH:,}) ...",
        file=sys.stderr,
        flush=True,
    )
    info = run_worker("bench.common", ["build", "--size", str(size)])
    return dict(info, cached=False)


def db_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("parley.db*"))


def build_log(size: int, home: Path, batch: int = BUILD_BATCH) -> dict[str, Any]:
    """Build a log of exactly ``size`` entries; runs in the fresh process ``ensure_log`` starts."""
    fingerprint = source_fingerprint()
    started = time.perf_counter()
    noise = Interference()
    node = Node.create(home, party=PARTY, name=f"{PARTY} bench centre", network=NETWORK)
    created = node.size()
    current = created
    append_s = append_cpu_s = 0.0
    step = max(batch, size // 10)
    mark = created + step
    trajectory: list[dict[str, Any]] = []
    while current < size:
        count = min(batch, size - current)
        drafts = [hotline_draft(current + k) for k in range(count)]
        clock = Clock()
        node.append(drafts)
        spent, cpu = clock.stop()
        append_s += spent
        append_cpu_s += cpu
        current += count
        if current >= mark or current == size:
            point = {
                "size": current,
                "batch_rate": count / spent,
                "rate_so_far": (current - created) / append_s,
                "peak_rss_mib": peak_rss_mib(),
            }
            trajectory.append(point)
            print(
                f"  {current:>10,} entries  batch {point['batch_rate']:,.0f}/s  "
                f"overall {point['rate_so_far']:,.0f}/s  peak RSS {point['peak_rss_mib']:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
            mark += step
    final = node.size()
    node.close()
    return {
        "format": BUILD_FORMAT,
        "fingerprint": fingerprint,
        "source": git_state(),
        "size": final,
        "batch": batch,
        "appended": final - created,
        "append_s": append_s,
        "wall_s": time.perf_counter() - started,
        "rate": (final - created) / append_s if append_s else math.nan,
        "append_cpu_s": append_cpu_s,
        "cpu_rate": (final - created) / append_cpu_s if append_cpu_s else math.nan,
        "peak_rss_mib": peak_rss_mib(),
        "db_bytes": db_bytes(home),
        "trajectory": trajectory,
        "interference": noise.report(),
        "date": now_iso(),
        "command": command("bench.common", ["build", "--size", str(size)]),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.common", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="build one cached log (in this process)")
    build.add_argument("--size", type=int, required=True)
    build.add_argument("--batch", type=int, default=BUILD_BATCH)
    args = parser.parse_args(argv)
    if args.action == "build":
        home = log_home(args.size)
        if home.exists():
            shutil.rmtree(home)
        home.parent.mkdir(parents=True, exist_ok=True)
        info = build_log(args.size, home, args.batch)
        (home / BUILD_MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(info))


if __name__ == "__main__":
    main()
