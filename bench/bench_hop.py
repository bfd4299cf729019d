"""CPU time and SQL statements of one delivery round trip, in one process (issue #4).

Where ``bench_latency`` measures five servers sharing two cores, this bench takes the work of
one notification's delivery apart, with no HTTP and no other process, so that a change to the
per-hop code shows in figures that hardly move with the load of others: CPU time of this
process and the number of SQL statements each step runs. Two nodes (US, JP) under one policy,
each pinning the other; for every round:

1. US appends a notification to ALL (``Node.append``, one durable commit);
2. US reads what its runtime pushes (``submissions.growth_push``: proof and entries);
3. JP takes the push (``push.receive``: verify, store, cosign, append its ``delivered``
   receipt, one durable commit);
4. US keeps JP's cosignature (``witnessing.keep_answer``);
5. JP reads the push of its receipt, US takes it (``push.receive``), and JP keeps US's
   cosignature (steps 5 to 7 of the table).

Each step's CPU time (``time.process_time``) and statement count (SQLAlchemy's
``before_cursor_execute``) are summed over the rounds and given per round.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.bench_latency import notification
from bench.common import (
    SCRATCH,
    machine,
    machine_line,
    open_network,
    pin_offline,
    print_table,
    record,
    result,
)
from parley.core.checkpoint import witness_name_for
from parley.node.federation import push, witnessing
from parley.node.federation.ingest import CursorCache
from parley.node.node import Node, now_ms
from parley.node.runtime.submissions import growth_push

MODULE = "bench.bench_hop"
NETWORK = "parley-bench-hop"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=300, help="round trips (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed round trips first")
    return parser.parse_args(argv)


def pair(folder: Path) -> tuple[Node, Node]:
    nodes = open_network({p: folder / p.lower() for p in ("US", "JP")}, NETWORK)
    pin_offline(nodes["US"], nodes["JP"])
    pin_offline(nodes["JP"], nodes["US"])
    return nodes["US"], nodes["JP"]


class Cache(CursorCache):
    """A server's cursor cache, and the size its peer last recorded of its log."""

    recorded = 0


class Meter:
    """CPU time and SQL statements per named step."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)  # seconds
        self.statements: Counter[str] = Counter()
        self.step = ""
        for node in nodes:
            for engine in {node.store.writer, node.store.reader}:
                event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.statements[self.step] += 1

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        self.step = step
        start = time.process_time()
        try:
            yield
        finally:
            self.cpu[step] += time.process_time() - start
            self.step = ""


def round_trip(us: Node, jp: Node, caches: dict[str, Cache], meter: Meter, i: int) -> None:
    """One round; each node's cache also holds the size the other recorded of its log."""
    us_old, jp_old = caches["JP"].recorded, caches["US"].recorded
    with meter("1 US appends a notification"):
        us.append([notification(i)])
    with meter("2 US reads the push (proof, entries)"):
        body = growth_push(us, us_old, "JP")
    with meter("3 JP takes the push, receipts it"):
        pushed = push.receive(jp, "US", body, now_ms(), caches["JP"])
    assert pushed.stored is not None and pushed.stored.receipts, "JP did not store the push"
    with meter("4 US keeps JP's cosignature"):
        witnessing.keep_answer(us, latest_checkpoint(us)[1], pushed.line, witness(jp))
    with meter("5 JP reads the receipt's push"):
        back = growth_push(jp, jp_old, "US")
    with meter("6 US takes the receipt"):
        answered = push.receive(us, "JP", back, now_ms(), caches["US"])
    assert answered.stored is not None, "US did not store the receipt"
    caches["JP"].recorded = latest_checkpoint(us)[0]
    caches["US"].recorded = latest_checkpoint(jp)[0]
    with meter("7 JP keeps US's cosignature"):
        witnessing.keep_answer(jp, latest_checkpoint(jp)[1], answered.line, witness(us))


def latest_checkpoint(node: Node) -> tuple[int, str]:
    """The node's newest checkpoint, (size, note): each has one once it has appended."""
    held = node.checkpoint()
    assert held is not None, f"{node.party} has no checkpoint"
    return held


def witness(node: Node) -> str:
    return witness_name_for(node.log.origin)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    folder = SCRATCH / "hop"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(machine_line(machine()))
    us, jp = pair(folder)
    caches = {"US": Cache(), "JP": Cache()}
    warm = Meter([])
    for i in range(args.warmup):
        round_trip(us, jp, caches, warm, -1 - i)
    meter = Meter([us, jp])
    wall = time.perf_counter()
    for i in range(args.rounds):
        round_trip(us, jp, caches, meter, i)
    wall = time.perf_counter() - wall
    us.close()
    jp.close()
    steps = sorted(meter.cpu)
    rows: list[Sequence[Any]] = [
        (
            step,
            round(meter.cpu[step] * 1000 / args.rounds, 2),
            round(meter.statements[step] / args.rounds, 1),
        )
        for step in steps
    ]
    total_cpu = sum(meter.cpu.values()) * 1000 / args.rounds
    total_sql = sum(meter.statements.values()) / args.rounds
    rows.append(("all of a round trip", round(total_cpu, 2), round(total_sql, 1)))
    print_table(
        f"One delivery round trip, {args.rounds} rounds (per round)",
        ["step", "CPU ms", "SQL statements"],
        rows,
    )
    print(f"wall {wall * 1000 / args.rounds:.2f} ms per round")
    record(
        "hop",
        result(
            "hop",
            MODULE,
            sys.argv[1:] if argv is None else list(argv),
            {"rounds": args.rounds},
            {
                "steps": {
                    s: {
                        "cpu_ms": meter.cpu[s] * 1000 / args.rounds,
                        "statements": meter.statements[s] / args.rounds,
                    }
                    for s in steps
                },
                "cpu_ms": total_cpu,
                "statements": total_sql,
            },
        ),
    )


if __name__ == "__main__":
    main()
