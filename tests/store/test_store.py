"""The store keeps the log durable and consistent, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from parley.core import merkle
from parley.core.entry import Body
from parley.core.errors import StoreError
from parley.core.verify import verify_log
from parley.node.log import Draft
from parley.node.node import Node
from parley.store import logs


def hotline(n: int) -> Draft:
    body = {"to": "CN", "text": f"message {n}", "deadlines": {"acknowledged_within": 300000}}
    return Draft("hotline", "Exercise", body, ("CN",), "AMBER")


def make(tmp_path: Path, database: str | None, party: str = "JP") -> Node:
    return Node.create(
        tmp_path / party,
        party=party,
        name=f"{party} centre",
        network="parley-test",
        database=database,
    )


def verify_store(node: Node) -> int:
    with node.store.read() as conn:
        items = [
            (s.leaf, Body(s.salt or b"", s.body) if s.body else None)
            for s in logs.iter_log(conn, node.party)
        ]
        report = verify_log(items, logs.all_checkpoints(conn, node.party))
        state = logs.get_state(conn, node.party)
    assert state is not None and state.root == report.root and state.size == report.size
    return report.size


def test_sqlite_log_commits_use_wal_with_synchronous_full(tmp_path: Path) -> None:
    node = make(tmp_path, None)
    assert node.store.pragma("journal_mode") == "wal"
    assert node.store.pragma("synchronous") == 2  # FULL


def test_bookkeeping_writes_skip_the_flush_and_leave_log_commits_synchronous_full(
    tmp_path: Path, database: str | None
) -> None:
    from sqlalchemy import insert, select

    from parley.store.schema import nonces

    node = make(tmp_path, database)
    with node.store.write(durable=False) as conn:
        if node.store.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        conn.execute(insert(nonces).values(nonce="n-1", party="CN", expires=1))
    node.append([hotline(1)])
    with node.store.read() as conn:
        assert conn.execute(select(nonces.c.party)).scalar() == "CN"
    if node.store.dialect == "sqlite":
        assert node.store.pragma("synchronous") == 2  # FULL again for every later commit
    with node.store.write() as conn:
        if node.store.dialect == "postgresql":
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        else:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_append_stores_entries_nodes_and_checkpoint_that_verify(
    tmp_path: Path, database: str | None
) -> None:
    node = make(tmp_path, database)
    for start in range(0, 60, 7):
        node.append([hotline(i) for i in range(start, start + 7)])
    assert verify_store(node) == 2 + 63
    node.close()


def test_proofs_from_stored_subtrees_match_the_checkpoint_root(
    tmp_path: Path, database: str | None
) -> None:
    node = make(tmp_path, database)
    node.append([hotline(i) for i in range(37)])
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        assert state is not None

        def get_nodes(ids):  # type: ignore[no-untyped-def]
            return logs.get_nodes(conn, node.party, ids)

        for index in random.Random(7).sample(range(state.size), 10):
            stored = logs.get_entry(conn, node.party, index)
            assert stored is not None
            proof = merkle.inclusion_proof(index, state.size, get_nodes)
            merkle.verify_inclusion(stored.leaf_hash, index, state.size, proof, state.root)
        old_size = 20
        old_root = merkle.root_hash(old_size, get_nodes)
        proof = merkle.consistency_proof(old_size, state.size, get_nodes)
        merkle.verify_consistency(old_size, state.size, old_root, state.root, proof)
    node.close()


def test_failed_append_changes_nothing(
    tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = make(tmp_path, database)
    node.append([hotline(0)])
    before = verify_store(node)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(logs, "insert_checkpoint", broken)
    with pytest.raises(RuntimeError):
        node.append([hotline(i) for i in range(5)])
    monkeypatch.undo()
    with node.store.read() as conn:
        assert len(logs.get_range(conn, node.party, 0, 100)) == before
    node.append([hotline(9)])
    assert verify_store(node) == before + 1
    node.close()


def test_corrupted_database_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    node = make(tmp_path, None)
    node.close()
    db = tmp_path / "JP" / "parley.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[0:100] = os.urandom(100)
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupted or not a Parley database"):
        Node.open(tmp_path / "JP")


def test_database_that_is_not_parley_is_refused(tmp_path: Path) -> None:
    node = make(tmp_path, None)
    node.close()
    db = tmp_path / "JP" / "parley.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    import sqlite3

    sqlite3.connect(db).execute("CREATE TABLE other (x)").connection.close()
    db.chmod(0o600)  # private, as a node's database must be: the check is about its contents
    with pytest.raises(StoreError, match="not a Parley database"):
        Node.open(tmp_path / "JP")


APPENDER = textwrap.dedent(
    """
    import sys
    from parley.node.log import Draft
    from parley.node.node import Node
    node = Node.open(__import__("pathlib").Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        body = {"to": "CN", "text": f"{sys.argv[3]} {i}",
                "deadlines": {"acknowledged_within": 300000}}
        node.append([Draft("hotline", "Exercise", body, ("CN",), "AMBER")])
    """
)


def test_concurrent_appenders_in_separate_processes_share_one_consistent_log(
    tmp_path: Path, database: str | None
) -> None:
    node = make(tmp_path, database)
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(node.home.path), "40", name])
        for name in ("first", "second", "third")
    ]
    for proc in procs:
        assert proc.wait(timeout=180) == 0
    assert verify_store(node) == 2 + 120
    with node.store.read() as conn:
        ingests = [s.ingest for s in logs.iter_log(conn, node.party)]
    assert ingests == list(range(122))
    node.close()


def test_a_durable_commit_by_another_process_and_only_that_reaches_the_commit_listener(
    tmp_path: Path,
) -> None:
    node = make(tmp_path, None)
    listener = node.store.commit_listener()
    assert listener is not None
    try:
        assert node.store.commit_listener() is None  # one listener per database
        listener.settimeout(10)
        script = "import sys, pathlib; from parley.node.node import Node; " + (
            "from test_store import hotline; Node.open(pathlib.Path(sys.argv[1])).append([hotline(1)])"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(node.home.path)],
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        )
        assert listener.recv(64) == b"c"
        listener.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while listener.recv(64):
                pass  # the child's other commits, if any
        with node.store.write(durable=False):
            pass  # bookkeeping says nothing: no log grows that way
        node.append([hotline(2)])  # the listening process's own commits: it pokes itself
        with pytest.raises(BlockingIOError):
            listener.recv(64)
    finally:
        listener.close()
    again = node.store.commit_listener()  # free again once the listener is closed
    assert again is not None
    again.close()
