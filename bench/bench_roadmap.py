"""The state of a large road map, recomputed from its entries (issue 20, Benchmark).

A road map of ``--steps`` steps (1,000) among ten member parties, in chains of ten (each step
waits for the one before it, verified) plus one milestone per chain; every member signs it;
every step is attested by its party and confirmed by the nine others: 10 entries a step, so
1,000 steps give 10,000 attestation entries (attest + confirm), all verified, each with its own
witnessed time. Measured:

* ``state``: ``parley.core.roadmap.roadmap_state`` over all 10,011 parsed entries, as of a time
  after the last (median and p99 of ``--repeats`` runs), which is what ``parley roadmap show``
  and ``verify`` compute after reading; aim (issue 20): under 100 ms;
* ``parse``: reading the 10,011 bodies into typed entries (``RoadmapEntry.read``, Pydantic);
* ``signatures``: checking the Ed25519 signature of each entry's header
  (``Header.verify_signature``), the work a verifier does once per entry when it stores it,
  measured separately as the issue asks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bench.common import machine, machine_line, percentile, record, result
from parley.core.entry import Body, sign_header
from parley.core.keys import SigningKey
from parley.core.roadmap import RoadmapEntry, roadmap_state

MODULE = "bench.bench_roadmap"
MEMBERS = [f"M{i}" for i in range(10)]
CHAIN = 10
POLICY = "00" * 32


def document(steps: int) -> dict[str, Any]:
    """A version 1 document of ``steps`` steps in chains of ``CHAIN``."""
    rows = []
    for i in range(steps):
        party = MEMBERS[i % len(MEMBERS)]
        rows.append(
            {
                "id": f"s{i}",
                "party": party,
                "action": {"en": f"step {i}", "ja": f"手順{i}"},
                "type": ("concession", "request", "verification")[i % 3],
                "requires": [{"step": f"s{i - 1}"}] if i % CHAIN else [],
                "due": {"by": 10**13},
                "verifiers": [m for m in MEMBERS if m != party],
            }
        )
    milestones = [
        {"id": f"m{c}", "name": {"en": f"chain {c}"}, "steps": [f"s{c * CHAIN + CHAIN - 1}"]}
        for c in range(steps // CHAIN)
    ]
    return {
        "v": 2,
        "type": "document",
        "roadmap": "bench",
        "version": 1,
        "title": {"en": "Benchmark road map"},
        "parties": [{"code": m, "member": True} for m in MEMBERS],
        "steps": rows,
        "milestones": milestones,
    }


def bodies(steps: int) -> list[tuple[str, dict[str, Any]]]:
    """(author, body) of every entry, in an order that respects every dependency."""
    doc = {"ref": "M0:0", "leaf_hash": "11" * 32}
    out: list[tuple[str, dict[str, Any]]] = [("M0", document(steps))]
    out += [(m, {"v": 2, "type": "sign", "document": doc}) for m in MEMBERS]
    for i in range(steps):
        party = MEMBERS[i % len(MEMBERS)]
        out.append((party, {"v": 2, "type": "attest", "document": doc, "step": f"s{i}"}))
        out.append((party, {"marker": "attestation"}))  # replaced below by its reference
    return out


def entries(steps: int) -> tuple[list[tuple[str, int, dict[str, Any]]], int]:
    """(author, seq, body) of every entry with confirmations filled in; the entry count."""
    seqs = dict.fromkeys(MEMBERS, 0)
    made: list[tuple[str, int, dict[str, Any]]] = []
    last_attestation: dict[str, str] = {}
    for party, body in bodies(steps):
        if body.get("marker"):
            attestation = {"ref": last_attestation["ref"], "leaf_hash": "22" * 32}
            for verifier in (m for m in MEMBERS if m != party):
                made.append((verifier, seqs[verifier], confirm(attestation)))
                seqs[verifier] += 1
            continue
        made.append((party, seqs[party], body))
        if body["type"] == "attest":
            last_attestation["ref"] = f"{party}:{seqs[party]}"
        seqs[party] += 1
    return made, len(made)


def confirm(attestation: dict[str, str]) -> dict[str, Any]:
    return {"v": 2, "type": "confirm", "attestation": attestation}


def typed(made: list[tuple[str, int, dict[str, Any]]]) -> list[RoadmapEntry]:
    """The entries as the state reads them: leaf hashes as the bodies name them, times ascending."""
    result_entries = []
    for position, (party, seq, body) in enumerate(made):
        ref = f"{party}:{seq}"
        leaf = "11" * 32 if ref == "M0:0" else "22" * 32
        found = RoadmapEntry.read(ref, leaf, 1_000_000 + position, body)
        assert found is not None  # noqa: S101
        result_entries.append(found)
    return result_entries


def signatures(made: list[tuple[str, int, dict[str, Any]]]) -> float:
    """Seconds to check the header signature of every entry (headers signed beforehand)."""
    key = SigningKey.generate()
    headers = [
        sign_header(
            network="bench",
            policy=POLICY,
            party=party,
            node=key.kid,
            seq=seq,
            time=1_750_000_000_000,
            kind="roadmap",
            status="Exercise",
            audience="ALL",
            tlp="GREEN",
            body=Body.seal(body, os.urandom(32)),
            log_key=key,
        )
        for party, seq, body in made
    ]
    start = time.perf_counter()
    for header in headers:
        header.verify_signature(key.public)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    made, count = entries(args.steps)
    start = time.perf_counter()
    parsed = typed(made)
    parse_s = time.perf_counter() - start
    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        state = roadmap_state(parsed, "M0:0", 10**13)
        runs.append(time.perf_counter() - start)
    verified = sum(s.status == "verified" for s in state.steps.values())
    assert verified == args.steps and not state.refused, state.refused[:3]  # noqa: S101
    sig_s = signatures(made)
    ordered = sorted(runs)
    figures = {
        "entries": count,
        "attestation_entries": count - 1 - len(MEMBERS),
        "state_ms_min": round(ordered[0] * 1000, 1),
        "state_ms_median": round(statistics.median(runs) * 1000, 1),
        "state_ms_p99": round(percentile(ordered, 99) * 1000, 1),
        "parse_ms": round(parse_s * 1000, 1),
        "signatures_ms": round(sig_s * 1000, 1),
        "signatures_per_s": round(count / sig_s),
    }
    print(machine_line(machine()))
    for name, value in figures.items():
        print(f"{name:>22}: {value}")
    argv_list = list(argv) if argv is not None else []
    record("roadmap", result("roadmap", MODULE, argv_list, vars(args), figures))


if __name__ == "__main__":
    main()
