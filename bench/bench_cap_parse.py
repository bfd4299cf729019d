"""Benchmark the CAP import path of parley.formats over the real corpus.

Replays every accepted real CAP message of tests/data/cap (the corpus of tests/formats) in turn,
with its <identifier> rewritten for each replay, until --messages have gone through, and
reports messages per second for:

* import: hardened parse + CAP XSD validation (lxml) + normalisation into a notification body
  (cap_to_notification, which validates the body): the work of parley.formats;
* import + canonical: the same, plus the canonical bytes the node signs
  (parley.core.canonical.canonical_bytes);
* lxml only: parse + XSD validation of the same stream, as a reference;
* optionally, side by side, capparser from a separate virtual environment
  (--capparser-python /tmp/capvenv/bin/python): how many corpus messages it parses, how fast.

Rates are messages over CPU-busy time of the worker processes (so a loaded machine shows less
distortion than wall time would), times the number of processes. Each mode stops at its time
budget (BUDGET_S) so that a run stays under two minutes; the output says so when it does.

Usage: python -m bench.bench_cap_parse [--messages 100000] [--processes N]
                                      [--capparser-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lxml import etree  # noqa: E402

from parley.core.canonical import canonical_bytes  # noqa: E402
from parley.formats.cap import cap_to_notification, parse_cap  # noqa: E402
from parley.formats.cap_schema import CAP11_NS, CAP12_NS, schema_bytes  # noqa: E402
from parley.formats.errors import FormatError  # noqa: E402

CAP_DATA = ROOT / "tests" / "data" / "cap"
FOLDERS = ("real_1.2", "real_1.1", "extracted", "oasis_spec_examples")
IDENTIFIER = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?identifier>)\s*([^<]*?)\s*(</)")
# Seconds of wall time per mode, so that a run stays under two minutes on a loaded machine.
BUDGET_S = {"import": 80.0, "canonical": 12.0, "lxml": 8.0}
LABELS = {
    "import": "parse+validate+normalise (formats)",
    "canonical": "  + canonical bytes (to sign)",
    "lxml": "lxml parse+XSD only (reference)",
}


def corpus() -> list[tuple[str, bytes]]:
    """Every single-message file of the corpus that the importer accepts."""
    found = []
    for folder in FOLDERS:
        for path in sorted(p for p in (CAP_DATA / folder).rglob("*") if p.is_file()):
            data = path.read_bytes()
            try:
                for alert in parse_cap(data):
                    cap_to_notification(alert)
            except FormatError:
                continue
            found.append((str(path.relative_to(CAP_DATA)), data))
    return found


def replayed(data: bytes, index: int) -> bytes:
    """The message with its identifier made unique for replay ``index``."""
    return IDENTIFIER.sub(
        lambda m: m.group(1) + m.group(2) + b"-r%d" % index + m.group(3), data, count=1
    )


def _work(task: tuple[int, int, str]) -> tuple[int, float, int]:
    """Run ``count`` replays starting at ``start``; return (messages, seconds, bytes)."""
    start, count, mode = task
    files = corpus()
    schemas = {
        ns: etree.XMLSchema(etree.fromstring(schema_bytes(v)))
        for v, ns in (("1.2", CAP12_NS), ("1.1", CAP11_NS))
    }
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    busy, done, size = 0.0, 0, 0
    deadline = time.monotonic() + BUDGET_S[mode]
    for index in range(start, start + count):
        data = replayed(files[index % len(files)][1], index)
        began = time.process_time()
        if mode == "import":
            for alert in parse_cap(data):
                cap_to_notification(alert)
        elif mode == "canonical":
            for alert in parse_cap(data):
                canonical_bytes(cap_to_notification(alert))
        else:
            root = etree.fromstring(data, parser)
            for element in root.iter(f"{{{CAP12_NS}}}alert", f"{{{CAP11_NS}}}alert"):
                schemas[etree.QName(element).namespace or ""].validate(element)
        busy += time.process_time() - began
        done += 1
        size += len(data)
        if done % 200 == 0 and time.monotonic() > deadline:
            break
    return done, busy, size


def run(mode: str, messages: int, processes: int) -> dict[str, float]:
    share = -(-messages // processes)
    tasks = [(i * share, min(share, messages - i * share), mode) for i in range(processes)]
    began = time.perf_counter()
    if processes == 1:
        results = [_work(tasks[0])]
    else:
        with ProcessPoolExecutor(processes) as pool:
            results = list(pool.map(_work, tasks))
    wall = time.perf_counter() - began
    done = sum(r[0] for r in results)
    busy = sum(r[1] for r in results)
    return {
        "messages": done,
        "wall_s": round(wall, 2),
        "per_process_msgs_per_s": round(done / busy, 1),
        "msgs_per_s": round(done / busy * processes, 1),
        "mb_per_s": round(sum(r[2] for r in results) / busy * processes / 1e6, 2),
    }


CAPPARSER = r"""
import json, sys, time
import capparser
from capparser import element, enums
# capparser 2.0.4 appends to a mutable default argument (Info(category=[...])), so every parse
# after the first one with a <category> fails; give it a fresh default before each message.
rest = element.Info.__init__.__defaults__[1:]
def parse(text):
    element.Info.__init__.__defaults__ = ([enums.Category.Other],) + rest
    return capparser.parse(stringXML=text)
paths, count = json.loads(sys.stdin.read())
texts = [open(p, encoding="utf-8", errors="replace").read() for p in paths]
as_is = 0
for text in texts:
    try:
        capparser.parse(stringXML=text)
        as_is += 1
    except Exception:
        pass
ok = []
for text in texts:
    try:
        parse(text)
        ok.append(text)
    except Exception:
        pass
began, done, failed = time.perf_counter(), 0, 0
while done < count and ok and time.perf_counter() - began < 10:
    try:
        parse(ok[done % len(ok)])
    except Exception:
        failed += 1
    done += 1
seconds = time.perf_counter() - began
print(json.dumps({"as_is": as_is, "parsed": len(ok), "of": len(texts), "messages": done,
                  "failed": failed,
                  "msgs_per_s": round(done / seconds, 1) if done else 0.0}))
"""


def run_capparser(python: str, files: list[str], count: int) -> dict[str, float]:
    result = subprocess.run(
        [python, "-c", CAPPARSER],
        input=json.dumps([[str(CAP_DATA / f) for f in files], count]),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    parsed: dict[str, float] = json.loads(result.stdout)
    return parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--capparser-python", default=None)
    args = parser.parse_args()
    files = corpus()
    total = sum(len(d) for _, d in files)
    print(
        f"corpus: {len(files)} accepted CAP messages, {total / 1e6:.1f} MB, replayed to "
        f"{args.messages} messages with rewritten identifiers; {args.processes} process(es)"
    )
    for mode in ("import", "canonical", "lxml"):
        result = run(mode, args.messages, args.processes)
        print(
            f"{LABELS[mode]:<36} {result['msgs_per_s']:>9,.0f} msgs/s "
            f"({result['per_process_msgs_per_s']:,.0f}/s per process, "
            f"{result['mb_per_s']} MB/s, {result['messages']} messages, "
            f"wall {result['wall_s']} s)"
        )
        if result["messages"] < args.messages:
            print(f"  note: stopped at the {BUDGET_S[mode]:.0f} s budget of this mode")
    if args.capparser_python:
        names = [name for name, _ in files]
        result = run_capparser(args.capparser_python, names, 20_000)
        print(
            f"{'capparser (side by side)':<36} {result['msgs_per_s']:>9,.0f} msgs/s "
            f"(one process; parses {result['parsed']} of {result['of']} corpus messages with "
            f"its mutable-default bug worked around, {result['as_is']} as it is; "
            f"{result['messages']} replayed, {result['failed']} failed)"
        )


if __name__ == "__main__":
    main()
