"""TAXII 2.1: Parley's server beside medallion, the OASIS reference server (issue 22, Performance).

Both run as real processes on 127.0.0.1, in one run, and both are driven by the same OASIS
``taxii2-client`` on the same bundle, MITRE ATT&CK for ICS 18.1 (1,826 objects,
``tests/data/stix/mitre_attack``):

* **writes**: ``Collection.add_objects`` in envelopes of ``--envelope`` (50) objects, one after
  another, each answered by its status. Parley's writes are durable (SQLite ``synchronous=FULL``)
  and signed: every envelope is one cyber notification in the node's Merkle log. medallion keeps
  them in memory (its memory backend);
* **paged reads**: ``as_pages(get_objects, per_request=--page)`` over the whole collection, as a
  client polls, counting every object once;
* **last page vs first page** (Parley only, as the aim is): with ``--stored`` (100,000) objects
  in one collection, the first page and the last page of ``--page`` objects, each fetched
  ``--repeat`` times in turn (median), of objects and of the manifest. The manifest is the fair
  comparison: its records are the same size on every page, while ATT&CK's objects are not
  (attack patterns with long descriptions come first, short relationships last). The store is
  built once through the node's TAXII write service (the ATT&CK bundle again and again under
  fresh ids, as real signed notifications) and cached
  under ``bench/out/taxii/``.

medallion runs in its own virtualenv (``make .venv-medallion/.installed``, pinned by
``requirements-medallion.lock``): pass its python with ``--medallion``. Aims (issue 22): writes
and paged reads at least 10 times medallion's, reads at least 20,000 objects/s, last page at
most 1.5 times the first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from taxii2client.v21 import ApiRoot, Collection, as_pages
from tests.support import PARLEY, cli_env, free_port, stop_process

from bench.common import (
    OUT,
    SCRATCH,
    Interference,
    interference_line,
    machine,
    machine_line,
    print_table,
    record,
    result,
)
from parley.node import officers
from parley.node.access import Principal, Scope
from parley.node.node import Node, now_ms
from parley.node.taxii import reading, writing

MODULE = "bench.bench_taxii"
ROOT = Path(__file__).resolve().parents[1]
ICS = ROOT / "tests" / "data" / "stix" / "mitre_attack" / "ics-attack-18.1.json"
TAXII = "application/taxii+json;version=2.1"
USER, PASSWORD = "bench", "bench-password"
START_S = 90


def ics_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = json.loads(ICS.read_text())["objects"]
    return objects


def chunks(objects: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(objects), size):
        yield objects[start : start + size]


def renamed(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same objects under fresh ids (references follow), so a copy is new to a server."""
    text = orjson.dumps(objects).decode()
    for obj in objects:
        kind, _, _ = obj["id"].partition("--")
        if kind not in ("marking-definition", "identity"):
            text = text.replace(obj["id"], f"{kind}--{uuid.uuid4()}")
    fresh: list[dict[str, Any]] = orjson.loads(text)
    return fresh


# --------------------------------------------------------------------------------------------
# The two servers


def wait_until_up(url: str, process: subprocess.Popen[bytes], auth: tuple[str, str]) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server at {url} exited")
        try:
            httpx.get(url, auth=auth, headers={"accept": TAXII}, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start within {START_S} s")


def parley_home(folder: Path) -> tuple[Path, str]:
    """A fresh node (one member, the default policy) with an analyst's token."""
    if folder.exists():
        shutil.rmtree(folder)
    node = Node.create(folder, party="JP", name="JP bench centre", network="bench-taxii")
    officers.add_officer(node.store, "analyst", "analyst", "bench-password-1", now_ms())
    token = officers.issue_token(node.store, "analyst", Scope.ANALYST, now_ms())[0]
    node.close()
    return folder, token


def start_parley(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [*PARLEY, "serve", "--port", str(port)],
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}/taxii2/cyber/"


def start_medallion(python: str, folder: Path, page: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    root = f"http://127.0.0.1:{port}/bench/"
    data = {
        "/discovery": {"title": "medallion", "default": root, "api_roots": [root]},
        "bench": {
            "information": {
                "title": "bench",
                "versions": [TAXII],
                "max_content_length": 16 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": str(uuid.uuid4()),
                    "title": "bench",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(folder / "data.json"),
        },
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": page},
    }
    (folder / "config.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [python, "-m", "medallion.scripts.run", "--port", str(port), str(folder / "config.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, root


def collection_of(root_url: str, auth: tuple[str, str], title: str) -> Collection:
    root = ApiRoot(root_url, user=auth[0], password=auth[1])
    for found in root.collections:
        if found.title == title:
            return found
    raise SystemExit(f"no collection {title!r} at {root_url}")


# --------------------------------------------------------------------------------------------
# Measurements


def measure_writes(collection: Collection, objects: list[dict[str, Any]], size: int) -> float:
    """Objects per second written in envelopes of ``size``, each status checked."""
    started = time.perf_counter()
    for envelope in chunks(objects, size):
        status = collection.add_objects({"objects": envelope})
        if status.success_count != len(envelope):
            raise SystemExit(f"a write failed: {status.failures[:2]}")
    return len(objects) / (time.perf_counter() - started)


def measure_reads(collection: Collection, page: int, expected: int) -> float:
    """Objects per second read with ``as_pages``; every object must come exactly once."""
    started = time.perf_counter()
    seen = [
        obj["id"]
        for envelope in as_pages(collection.get_objects, per_request=page)
        for obj in envelope.get("objects", [])
    ]
    elapsed = time.perf_counter() - started
    if len(seen) != expected or len(set(seen)) != expected:
        raise SystemExit(f"read {len(seen)} objects ({len(set(seen))} distinct), not {expected}")
    return expected / elapsed


def side_by_side(args: argparse.Namespace, objects: list[dict[str, Any]]) -> dict[str, Any]:
    home, token = parley_home(SCRATCH / "taxii" / "jp")
    parley, parley_url = start_parley(home)
    medallion, medallion_url = start_medallion(args.medallion, SCRATCH / "medallion", args.page)
    figures: dict[str, Any] = {}
    try:
        wait_until_up(parley_url, parley, ("bench", token))
        wait_until_up(medallion_url, medallion, (USER, PASSWORD))
        ours = collection_of(parley_url, ("bench", token), "shared with all")
        theirs = collection_of(medallion_url, (USER, PASSWORD), "bench")
        figures["parley_write_objects_s"] = measure_writes(ours, objects, args.envelope)
        figures["medallion_write_objects_s"] = measure_writes(theirs, objects, args.envelope)
        ours = collection_of(parley_url, ("bench", token), "shared with all")
        for page in (args.page, 1000):
            figures[f"parley_read_objects_s_page{page}"] = measure_reads(ours, page, len(objects))
        figures[f"medallion_read_objects_s_page{args.page}"] = measure_reads(
            theirs, args.page, len(objects)
        )
    finally:
        stop_process(parley)  # type: ignore[arg-type]
        stop_process(medallion)  # type: ignore[arg-type]
    return figures


def stored_home(stored: int, objects: list[dict[str, Any]]) -> tuple[Path, str]:
    """A node holding ``stored`` objects in one collection, built once and cached."""
    folder = OUT / "taxii" / f"n{stored}"
    marker = folder / "built.json"
    if marker.exists():
        return folder / "jp", json.loads(marker.read_text())["token"]
    home, token = parley_home(folder / "jp")
    node = Node.open(home)
    principal = Principal("analyst", "analyst", Scope.ANALYST, "bench")
    collection = reading.collections_for(node, principal)[0]
    written = 0
    while written < stored:
        batch = renamed(objects)[: stored - written]
        writing.add_envelope(
            node, principal, collection, orjson.dumps({"objects": batch}), now_ms()
        )
        written += len(batch)
        print(f"  stored {written:,} of {stored:,} objects", file=sys.stderr)
    node.close()
    marker.write_text(json.dumps({"token": token, "objects": written}))
    return home, token


def page_times(args: argparse.Namespace, objects: list[dict[str, Any]]) -> dict[str, Any]:
    home, token = stored_home(args.stored, objects)
    process, url = start_parley(home)
    try:
        wait_until_up(url, process, ("bench", token))
        collection = collection_of(url, ("bench", token), "shared with all")
        pages = [
            (envelope.get("next"), len(envelope.get("objects", [])))
            for envelope in as_pages(collection.get_objects, per_request=1000)
        ]
        stored = sum(count for _, count in pages)
        cursor = pages[-2][0]  # the token that leads to the last page of 1000
        last_next = str(int(cursor) + pages[-1][1] - args.page)  # its last --page objects

        def timed(read: Any, **params: Any) -> float:
            started = time.perf_counter()
            envelope = read(limit=args.page, **params)
            elapsed = time.perf_counter() - started
            if len(envelope.get("objects", [])) != args.page:
                raise SystemExit("a page came back short")
            return elapsed

        def first_and_last(read: Any) -> tuple[float, float]:
            """Medians, the two pages fetched in turn so that a busy moment slows both."""
            firsts, lasts = [], []
            for _ in range(args.repeat):
                firsts.append(timed(read))
                lasts.append(timed(read, next=last_next))
            return statistics.median(firsts), statistics.median(lasts)

        first, last = first_and_last(collection.get_objects)
        manifest_first, manifest_last = first_and_last(collection.get_manifest)
    finally:
        stop_process(process)  # type: ignore[arg-type]
    return {
        "stored_objects": stored,
        "first_page_ms": first * 1000,
        "last_page_ms": last * 1000,
        "last_over_first": last / first,
        "manifest_first_page_ms": manifest_first * 1000,
        "manifest_last_page_ms": manifest_last * 1000,
        "manifest_last_over_first": manifest_last / manifest_first,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medallion", default=".venv-medallion/bin/python")
    parser.add_argument("--envelope", type=int, default=50)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=51)
    args = parser.parse_args(argv)
    objects = ics_objects()
    info = machine()
    noise = Interference()
    figures = side_by_side(args, objects)
    figures.update(page_times(args, objects))
    figures["interference"] = noise.report()
    figures["write_ratio"] = (
        figures["parley_write_objects_s"] / figures["medallion_write_objects_s"]
    )
    page = f"page{args.page}"
    figures["read_ratio"] = (
        figures[f"parley_read_objects_s_{page}"] / figures[f"medallion_read_objects_s_{page}"]
    )
    print_table(
        f"TAXII 2.1, ATT&CK for ICS ({len(objects)} objects), taxii2-client, envelopes of "
        f"{args.envelope}, pages of {args.page}",
        ["figure", "value"],
        [(k, v) for k, v in figures.items() if k != "interference"],
    )
    print(machine_line(info))
    print(interference_line(figures["interference"]))
    params = vars(args) | {"objects": len(objects)}
    record(
        "taxii", result("taxii", MODULE, sys.argv[1:] if argv is None else argv, params, figures)
    )


if __name__ == "__main__":
    main()
