"""An append reported as done survives kill -9 (DESIGN.md invariant 1).

A real subprocess appends entries and prints each ``seq leaf_hash`` only after the commit has
returned; the test kills it with SIGKILL at a random moment, reopens the node, verifies the
whole log, and checks that every reported entry is there with the same leaf hash. Rounds:
PARLEY_CRASH_ROUNDS (``make chaos`` runs many more).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from parley.core.entry import Body
from parley.core.verify import verify_log
from parley.node.node import Node
from parley.store import logs

ROUNDS = int(os.environ.get("PARLEY_CRASH_ROUNDS", "6"))

WRITER = textwrap.dedent(
    """
    import sys, pathlib
    from parley.core import merkle
    from parley.node.log import Draft
    from parley.node.node import Node
    node = Node.open(pathlib.Path(sys.argv[1]))
    batch = int(sys.argv[2])
    n = 0
    while True:
        drafts = []
        for _ in range(batch):
            body = {"to": "CN", "text": f"entry {n}", "deadlines": {"acknowledged_within": 1}}
            drafts.append(Draft("hotline", "Test", body, ("CN",), "AMBER"))
            n += 1
        for header in node.append(drafts):
            sys.stdout.write(f"{header.seq} {merkle.leaf_hash(header.leaf).hex()}\\n")
        sys.stdout.flush()
    """
)


def crash_once(home: Path, rng: random.Random, batch: int) -> dict[int, str]:
    acked: dict[int, str] = {}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seq, leaf_hash = line.split()
            acked[int(seq)] = leaf_hash

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    while not acked and time.monotonic() - started < 60 and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.6))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    assert acked, f"the writer never appended: {proc.stderr.read() if proc.stderr else ''}"
    return acked


def check_survivors(home: Path, acked: dict[int, str]) -> int:
    node = Node.open(home)
    with node.store.read() as conn:
        items = [
            (s.leaf, Body(s.salt or b"", s.body) if s.body else None)
            for s in logs.iter_log(conn, node.party)
        ]
        report = verify_log(items, logs.all_checkpoints(conn, node.party))
        for seq, leaf_hash in acked.items():
            stored = logs.get_entry(conn, node.party, seq)
            assert stored is not None, f"acknowledged entry {seq} was lost"
            assert stored.leaf_hash.hex() == leaf_hash
    node.close()
    return report.size


@pytest.mark.parametrize("batch", [1, 25])
def test_acknowledged_appends_survive_kill_9_on_sqlite(tmp_path: Path, batch: int) -> None:
    home = tmp_path / "JP"
    Node.create(home, party="JP", name="JP centre", network="parley-test").close()
    rng = random.Random(batch)
    total_acked = 0
    for _ in range(ROUNDS):
        acked = crash_once(home, rng, batch)
        size = check_survivors(home, acked)
        assert size >= max(acked) + 1
        total_acked += len(acked)
    assert total_acked > ROUNDS


def test_acknowledged_appends_survive_kill_9_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "JP"
    Node.create(home, party="JP", name="JP centre", network="parley-test", database=pg_url).close()
    rng = random.Random(99)
    for _ in range(max(2, ROUNDS // 2)):
        acked = crash_once(home, rng, 10)
        check_survivors(home, acked)
