"""The assistance board recomputed from 100,000 already-verified entries (issue 21, Must show).

Builds ``--entries`` version 2 assistance entries in memory: requests by JP (three lines each:
heavy USAR teams, vaccine doses, tents), and for each request offers from US, KR, CN and RU,
each offer committed and requisitioned by JP, deployment reports, releases and returns. Four
teams are offered for three needed: JP's fourth requisition exceeds the request, so the
requester's order decides, and it and the steps that follow it are refused. Figures, each the
median of ``--rounds`` (wall time, and this process's CPU time beside it):

* ``board``: ``parley.core.assistance_state.board`` over the parsed entries, the work every
  board view and ``assistance verify`` does once entries are verified (aim: < 1 s for 100,000);
* ``board + matching``: the same with the matching of every open request
  (``parley.node.assistance.board_of``);
* ``schema``: parsing the bodies into ``AssistanceV2`` (done once per entry when it is read);
* ``signatures``: Ed25519 verification of one signature per entry over a header-sized message,
  measured apart because a node verifies each entry once, on ingest, never per board view.

Run: ``PYTHONPATH=$PWD/src:$PWD .venv/bin/python -m bench.bench_assistance``
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import machine, machine_line, print_table, record, result
from parley.core.assistance import AssistanceV2
from parley.core.assistance_state import Signed, board
from parley.core.keys import PublicKey, SigningKey
from parley.node.assistance import Held, board_of

MODULE = "bench.bench_assistance"
OFFERERS = ("US", "KR", "CN", "RU")
PER_REQUEST = 1 + 4 * 6  # the request, 4 x (offer, commit, requisition, report, release, return)


def _leaf(party: str, seq: int) -> str:
    return hashlib.sha256(f"{party}:{seq}".encode()).hexdigest()


class Builder:
    """Bodies of a realistic lifecycle, with exact references between them."""

    def __init__(self) -> None:
        self.seqs = {p: 0 for p in ("JP", *OFFERERS)}
        self.rows: list[tuple[str, int, str, dict[str, Any]]] = []

    def add(self, party: str, body: dict[str, Any]) -> dict[str, str]:
        seq = self.seqs[party]
        self.seqs[party] += 1
        self.rows.append((party, seq, _leaf(party, seq), {"v": 2, **body}))
        return {"ref": f"{party}:{seq}", "leaf_hash": _leaf(party, seq)}

    def lifecycle(self, i: int) -> None:
        lines = [
            {
                "id": "l1",
                "type": "usar.heavy",
                "quantity": "3",
                "unit": "{team}",
                "needed_at": {"name": "Sendai", "lat": "38.27", "lon": "140.87"},
            },
            {
                "id": "l2",
                "type": "health.vaccine",
                "quantity": "200000",
                "unit": "{dose}",
                "product": "H5N1 vaccine",
            },
            {"id": "l3", "type": "shelter.tent", "quantity": "5000", "unit": "{tent}"},
        ]
        request = self.add(
            "JP",
            {
                "type": "RequestResource",
                "resources": lines,
                "incident": {"ref": f"JP:{i}", "leaf_hash": "a" * 64},
            },
        )
        for n, party in enumerate(OFFERERS):
            offer = self.add(
                party,
                {
                    "type": "ResponseToRequestResource",
                    "answer": "accept",
                    "request": request,
                    "resources": [
                        {
                            "id": "o1",
                            "type": "usar.heavy",
                            "quantity": "1",
                            "unit": "{team}",
                            "fills": "l1",
                            "origin": {"name": party, "lat": "37.5", "lon": str(100 + n)},
                        }
                    ],
                },
            )
            on = {"request": request, "refers_to": offer}
            take = [{"line": "o1", "quantity": "1"}]
            self.add(party, {"type": "CommitResource", **on, "takes": take})
            self.add("JP", {"type": "RequisitionResource", **on, "takes": take})
            self.add(
                party, {"type": "ReportResourceDeploymentStatus", **on, "deployment": "deployed"}
            )
            self.add("JP", {"type": "ReleaseResource", **on})
            self.add(
                party, {"type": "ReportResourceDeploymentStatus", **on, "deployment": "returned"}
            )


def _median(work: Callable[[], object], rounds: int) -> float:
    """Median wall time of ``rounds`` runs (the CPU time is recorded beside it in ``CPU``)."""
    times, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU.append(statistics.median(cpu))
    return statistics.median(times)


CPU: list[float] = []


def _verify_all(public: PublicKey, message: bytes, signature: bytes, count: int) -> None:
    """Verify one header-sized signature ``count`` times, as ingest does once per entry."""
    for _ in range(count):
        public.verify(b"parley-bench\0", message, signature, what="bench")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    builder = Builder()
    for i in range(max(1, -(-args.entries // PER_REQUEST))):
        builder.lifecycle(i)
    rows = builder.rows
    parsed = [Signed(p, s, h, AssistanceV2.model_validate(b)) for p, s, h, b in rows]

    def held() -> Held:
        found = Held()
        found.signed = parsed
        return found

    states = board(parsed)
    assert all(len(s.refused) == 4 and s.still_needed("l1") == 0 for s in states)
    key = SigningKey.generate()
    message = b"x" * 600  # a signed header is about this size
    signature = key.sign(b"parley-bench\0", message)
    public = key.public
    figures: dict[str, Any] = {
        "entries": len(rows),
        "requests": len(states),
        "refused": sum(len(s.refused) for s in states),
        "board_s": _median(lambda: board(parsed), args.rounds),
        "board_and_matching_s": _median(lambda: board_of(held()), args.rounds),
        "schema_s": _median(
            lambda: [AssistanceV2.model_validate(b) for _, _, _, b in rows], args.rounds
        ),
        "signatures_s": _median(
            lambda: _verify_all(public, message, signature, len(rows)), max(1, args.rounds // 2)
        ),
    }
    figures["cpu_s"] = dict(
        zip(("board", "board_and_matching", "schema", "signatures"), CPU, strict=True)
    )
    print(machine_line(machine()))
    print_table(
        f"assistance board, {figures['entries']:,} entries, {figures['requests']:,} requests "
        f"(median of {args.rounds})",
        ["step", "wall s", "CPU s"],
        [
            [name, f"{figures[key + '_s']:.3f}", f"{figures['cpu_s'][key]:.3f}"]
            for name, key in (
                ("board (lifecycle state)", "board"),
                ("board + matching", "board_and_matching"),
                ("schema (parse bodies)", "schema"),
                ("signatures (Ed25519, one per entry)", "signatures"),
            )
        ],
    )
    record("assistance", result("assistance", MODULE, list(argv or []), vars(args), figures))


if __name__ == "__main__":
    main()
