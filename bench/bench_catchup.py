"""Catch-up of a peer's log over HTTP, as a ratio to the raw Ed25519 verify rate (issue #4).

A three-party network (``JP`` the author, ``CN`` addressed by every entry, ``KR`` addressed by
none) under one policy whose quotas are raised out of the way: quotas count entries by their
signed time, and a backlog written at bench speed would be a flood (the quota window is still
kept for every entry). ``JP`` pins both peers and writes ``--entries`` hotline entries to
``CN`` (``common.hotline_draft``, 600-byte bodies) in batches of 10,000; the network is cached
under ``bench/out/catchup/n<size>/``.

Each measurement runs on a scratch copy of that network: a real ``parley serve`` process
serves the author on 127.0.0.1 (plain HTTP, or ``--tls`` with the SPKI pin), and a fresh
worker process opens a reader node, pins ``JP`` over HTTP (``peers.pin_peer``) and times
``pull.sync_peer`` from nothing to the whole log: every page fetched, every entry verified
(signature, party/node/key, seq and time order, body hash where a body came), every page
proven a prefix of the checkpoint, then stored with its subtree hashes. The readers:

* ``KR`` (outsider): headers only, as any peer outside the audience: the pure catch-up;
* ``CN`` (addressee): bodies too, each checked against its hash, and a signed ``delivered``
  receipt appended to CN's own log for every entry.

The raw rate is ``bench_verify.raw_verify_rate`` (``cryptography``'s ``Ed25519PublicKey.verify``
on real header signing bytes) in the same worker process, ``--raw-repeats`` times before and
after the catch-up (median). Wall and CPU time are the worker's; the server's CPU time is read
from ``/proc``. ``--profile`` runs one more catch-up under cProfile in the worker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    BUILD_BATCH,
    NETWORK,
    OUT,
    PARTY,
    PEER,
    ROOT,
    SCRATCH,
    Clock,
    Interference,
    hotline_draft,
    interference_line,
    machine,
    machine_line,
    median,
    now_iso,
    open_network,
    peak_rss_mib,
    pin_offline,
    print_table,
    profile,
    record,
    result,
    run_worker,
    source_fingerprint,
)

MODULE = "bench.bench_catchup"
OUTSIDER = "KR"
READERS = {OUTSIDER: "outsider (headers only)", PEER: "addressee (bodies + receipts)"}
CATCHUP_FORMAT = 1
"""Bump when the cached network's contents change, so stale caches are rebuilt."""
MARKER = "bench-catchup.json"
PROFILE_GROUPS = {
    "sync_peer, all of it": "parley/node/pull.py:sync_peer",
    "  get-entries: request, JSON, base64 (client side)": "parley/node/fedclient.py:entries",
    "    waiting for the server (httpx send)": "httpx/_client.py:send",
    "    response.json": "httpx/_models.py:json",
    "  verify_entries": "parley/node/ingest.py:verify_entries",
    "    LogVerifier.feed": "parley/core/verify.py:feed",
    "      parse_header": "parley/core/entry.py:parse_header",
    "      Header.verify_signature": "parley/core/entry.py:verify_signature",
    "        Ed25519 verify (OpenSSL)": "<method 'verify' of 'cryptography",
    "      Header.check_body": "parley/core/entry.py:check_body",
    "    merkle (leaf hash, append_leaf)": (
        "parley/core/merkle.py:leaf_hash|parley/core/merkle.py:append_leaf"
    ),
    "    quota window and deadline bounds": (
        "parley/node/quotas.py:admit|parley/node/deadlines.py:ingest_breach"
    ),
    "    LogCursor.prune": "parley/node/ingest.py:prune",
    "  _prove_prefix (consistency proof per page)": "parley/node/pull.py:_prove_prefix",
    "  commit (store a page, one transaction)": "parley/node/ingest.py:commit",
    "    _store_rows (rows, receipts to append)": "parley/node/ingest.py:_store_rows",
    "      logs.insert_entries": "parley/store/logs.py:insert_entries",
    "    logs.insert_nodes": "parley/store/logs.py:insert_nodes",
    "    LocalLog.append_in (own receipts)": "parley/node/log.py:append_in",
    "  check_subset, all calls": "parley/core/canonical.py:check_subset",
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--entries", type=int, default=100_000, help="log size (100,000)")
    parser.add_argument(
        "--readers", default=f"{OUTSIDER},{PEER}", help=f"readers to time ({OUTSIDER},{PEER})"
    )
    parser.add_argument("--tls", action="store_true", help="also time the outsider over TLS")
    parser.add_argument("--raw-count", type=int, default=3000, help="signatures per raw sample")
    parser.add_argument("--raw-repeats", type=int, default=3, help="raw samples before/after")
    parser.add_argument("--profile", action="store_true", help="profile one more catch-up")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached network")
    parser.add_argument("--worker", choices=("build", "sync"), help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--spki", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------------------------
# The cached network


def network_home(size: int) -> Path:
    return OUT / "catchup" / f"n{size}"


def build_network(size: int, home: Path) -> dict[str, Any]:
    """Create JP, CN and KR under one policy; JP pins both and writes ``size`` entries."""
    nodes = open_network(
        {p: home / p.lower() for p in (PARTY, PEER, OUTSIDER)},
        NETWORK,
        "catch-up bench network",
        "bench centre",
    )
    author = nodes[PARTY]
    for party in (PEER, OUTSIDER):  # recognised, so their requests are signed and authenticated
        pin_offline(author, nodes[party])
    clock = Clock()
    written = author.size()
    while written < size + 3:  # key, policy v1, policy v2 come first
        count = min(BUILD_BATCH, size + 3 - written)
        author.append([hotline_draft(written + k) for k in range(count)])
        written += count
    seconds, _cpu = clock.stop()
    identity_b64 = author.context().statement.identity.b64
    for node in nodes.values():
        node.close()
    return {
        "format": CATCHUP_FORMAT,
        "size": written,
        "entries": size,
        "identity": identity_b64,
        "build_s": seconds,
        "fingerprint": source_fingerprint(),
        "date": now_iso(),
    }


def ensure_network(size: int, *, rebuild: bool) -> dict[str, Any]:
    home = network_home(size)
    with contextlib.suppress(OSError, ValueError):
        info: dict[str, Any] = json.loads((home / MARKER).read_text(encoding="utf-8"))
        if not rebuild and info.get("format") == CATCHUP_FORMAT and info.get("entries") == size:
            return info
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"building the catch-up network with {size:,} entries in {home.relative_to(ROOT)} ...",
        file=sys.stderr,
        flush=True,
    )
    info = run_worker(MODULE, ["--worker", "build", "--entries", str(size)])
    (home / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


# --------------------------------------------------------------------------------------------
# The author's server


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class AuthorServer:
    """A real ``parley serve`` process for the author's home, on 127.0.0.1."""

    def __init__(self, home: Path, *, tls: bool) -> None:
        self.spki: str | None = None
        if tls:
            from parley.node.federation import tlspin

            self.spki = tlspin.ensure_certificate(home, f"parley {PARTY}")
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{_free_port()}"
        port = self.url.rsplit(":", 1)[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        env["PARLEY_HOME"] = str(home)
        command = [sys.executable, "-m", "parley.cli", "serve", "--port", port]
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            [*command, *(["--tls"] if tls else [])],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"parley serve exited with {self.process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(self.url + "/fed/v1/get-sth", verify=False, timeout=1)  # noqa: S501
                return
            time.sleep(0.2)
        self.stop()
        raise SystemExit("parley serve did not start within 60 s")

    def cpu_s(self) -> float:
        return process_cpu_s(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# The worker: a fresh process that pins the author and catches up


def catch_up(home: Path, reader: str, url: str, spki: str | None, identity: str) -> dict[str, Any]:
    """Pin the author at ``url`` from ``reader``'s node, then time one full ``sync_peer``."""
    from parley.node.federation import peers, pull
    from parley.node.node import Node, now_ms

    node = Node.open(home / reader.lower())
    peers.pin_peer(node, url, PARTY, identity, spki, now_ms())
    clock = Clock()
    report = pull.sync_peer(node, PARTY, use_mirrors=False)
    seconds, cpu_seconds = clock.stop()
    own = node.size()
    node.close()
    return {
        "reader": reader,
        "stored": report.stored,
        "receipts": report.receipts,
        "size": report.after,
        "seconds": seconds,
        "rate": report.stored / seconds,
        "cpu_seconds": cpu_seconds,
        "cpu_rate": report.stored / cpu_seconds,
        "reader_log_size": own,
        "peak_rss_mib": peak_rss_mib(),
    }


def sync_worker(args: argparse.Namespace, identity: str) -> dict[str, Any]:
    from bench.bench_verify import raw_verify_rate

    home = Path(args.home)
    before = [raw_verify_rate(args.raw_count) for _ in range(args.raw_repeats)]
    if args.profile:
        holder: dict[str, Any] = {}
        with contextlib.redirect_stdout(sys.stderr):  # the tables show; stdout carries JSON
            figures = profile(
                lambda: holder.update(catch_up(home, args.reader, args.url, args.spki, identity)),
                OUT / f"catchup-{args.reader.lower()}.prof",
                groups=PROFILE_GROUPS,
            )
        run = dict(holder, profile=figures)
    else:
        run = catch_up(home, args.reader, args.url, args.spki, identity)
    after = [raw_verify_rate(args.raw_count) for _ in range(args.raw_repeats)]
    samples = before + after
    run["raw_samples"] = [wall for wall, _cpu in samples]
    run["raw"] = median([wall for wall, _cpu in samples])
    run["raw_cpu"] = median([cpu for _wall, cpu in samples])
    run["ratio"] = run["rate"] / run["raw"]
    run["ratio_cpu"] = run["cpu_rate"] / run["raw_cpu"]
    return run


# --------------------------------------------------------------------------------------------
# The bench


def copy_of_network(size: int) -> Path:
    """A scratch copy of the cached network (a catch-up must not change the cache)."""
    source = network_home(size)
    target = SCRATCH / "catchup"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    for party in (PARTY, PEER, OUTSIDER):
        config = target / party.lower() / "parley.toml"  # names the database by absolute path
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace(str(source.resolve()), str(target.resolve())), encoding="utf-8"
        )
    return target


def measure(
    args: argparse.Namespace, info: dict[str, Any], reader: str, *, tls: bool, profiled: bool
) -> dict[str, Any]:
    """Copy the network, serve the author, and run one catch-up worker against it."""
    scratch = copy_of_network(args.entries)
    server = AuthorServer(scratch / PARTY.lower(), tls=tls)
    try:
        cpu_before = server.cpu_s()
        extra = ["--profile"] if profiled else []
        if server.spki is not None:
            extra += ["--spki", server.spki]
        label = f"{reader} over {'TLS' if tls else 'HTTP'}{' (profiled)' if profiled else ''}"
        print(f"catching up {info['size']:,} entries as {label} ...", file=sys.stderr, flush=True)
        run = run_worker(
            MODULE,
            [
                "--worker",
                "sync",
                "--entries",
                str(args.entries),
                "--home",
                str(scratch),
                "--reader",
                reader,
                "--url",
                server.url,
                "--raw-count",
                str(args.raw_count),
                "--raw-repeats",
                str(args.raw_repeats),
                *extra,
            ],
        )
        run["server_cpu_seconds"] = server.cpu_s() - cpu_before
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if run["size"] != info["size"]:
        raise SystemExit(f"caught up to {run['size']} of {info['size']} entries")
    return dict(run, tls=tls)


def rows_of(runs: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            f"{READERS.get(r['reader'], r['reader'])}{', TLS' if r['tls'] else ''}",
            r["rate"],
            r["raw"],
            r["ratio"],
            r["cpu_rate"],
            r["raw_cpu"],
            r["ratio_cpu"],
            r["seconds"],
            r["cpu_seconds"],
            r["server_cpu_seconds"],
            r["receipts"],
        ]
        for r in runs
    ]


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if args.worker == "build":
        print(json.dumps(build_network(args.entries, network_home(args.entries))), flush=True)
        return
    if args.worker == "sync":
        info = json.loads((network_home(args.entries) / MARKER).read_text(encoding="utf-8"))
        print(json.dumps(sync_worker(args, info["identity"])), flush=True)
        return
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(machine_line(machine()))
    info = ensure_network(args.entries, rebuild=args.rebuild)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    noise = Interference()
    runs = [measure(args, info, reader, tls=False, profiled=False) for reader in readers]
    if args.tls:
        runs.append(measure(args, info, OUTSIDER, tls=True, profiled=False))
    figures: dict[str, Any] = {"runs": runs, "interference": noise.report(), "network": info}
    print_table(
        f"catch-up of {info['size']:,} entries from a 'parley serve' process on 127.0.0.1 "
        "(sync_peer in a fresh process; raw = Ed25519 verify in that process, median)",
        [
            "reader",
            "stored/s",
            "raw/s",
            "ratio",
            "CPU stored/s",
            "CPU raw/s",
            "CPU ratio",
            "wall s",
            "CPU s",
            "server CPU s",
            "receipts",
        ],
        rows_of(runs),
    )
    print(interference_line(figures["interference"]))
    if args.profile:
        profiled = measure(args, info, readers[0], tls=False, profiled=True)
        figures["profile"] = profiled.pop("profile")
        figures["profiled_run"] = profiled
    params = {
        k: v for k, v in vars(args).items() if k not in ("worker", "home", "reader", "url", "spki")
    }
    key = f"catchup@{args.entries}" + ("+profile" if args.profile else "")
    record(key, result("catchup", MODULE, argv, params, figures))


if __name__ == "__main__":
    main()
