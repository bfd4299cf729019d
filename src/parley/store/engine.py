"""Opening a node's database: SQLite (embedded default) or PostgreSQL (scale-out).

Durability and the single-writer rule live here:

* SQLite runs in WAL mode with ``synchronous=FULL``: a committed append has reached the disk
  before the commit returns, so it survives kill -9 and power loss. Writers open their
  transaction with ``BEGIN IMMEDIATE``, which takes SQLite's one write lock across processes.
* PostgreSQL writers take a transaction-scoped advisory lock (``pg_advisory_xact_lock``), so
  exactly one process (server worker or CLI command) appends at a time.

Readers never take the write lock.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from parley.core.errors import StoreError

WRITER_LOCK_KEY = 0x7061726C6579  # "parley": the advisory-lock key on PostgreSQL
SQLITE_BUSY_TIMEOUT_S = 60


def _sqlite_pragma(conn: Connection, pragma: str) -> None:
    """Set a pragma on the driver connection, outside any transaction."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # noqa: S101 - an open connection has its driver connection
    dbapi.execute(f"PRAGMA {pragma}")


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


class Store:
    """A node database with separate writer and reader engines."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and not database.startswith(":") and not Path(database).parent.is_dir():
                raise StoreError(f"database folder {Path(database).parent} does not exist")
            self.writer = self._sqlite_engine(url, immediate=True)
            self.reader = self._sqlite_engine(url, immediate=False)
        elif self.dialect == "postgresql":
            self.writer = create_engine(url, pool_pre_ping=True)
            self.reader = self.writer
        else:
            raise StoreError(f"unsupported database {self.dialect!r}; use sqlite or postgresql")

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextlib.contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction under the single-writer lock; commits durably on exit.

        ``durable=False`` is for bookkeeping that may be lost to a power cut but never to a
        crash of the process (the replay cache of signed requests, a peer's sync status): the
        commit skips its own flush to disk (SQLite ``synchronous=NORMAL`` in WAL mode,
        PostgreSQL ``synchronous_commit=off``), and the next durable commit flushes it with
        everything before it. Nothing a node answers for is written this way.
        """
        with self._errors(), self.writer.connect() as conn:
            lax_sqlite = not durable and self.dialect == "sqlite"
            if lax_sqlite:
                _sqlite_pragma(conn, "synchronous=NORMAL")
            try:
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.execute(select(text(f"pg_advisory_xact_lock({WRITER_LOCK_KEY})")))
                        if not durable:
                            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield conn
            finally:
                if lax_sqlite:
                    _sqlite_pragma(conn, "synchronous=FULL")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (one transaction)."""
        with self._errors(), self.reader.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            if "database is locked" in str(exc):
                raise StoreError("the database stayed locked by another writer too long") from exc
            raise StoreError(f"database error: {exc.orig}") from exc
        except DatabaseError as exc:
            raise StoreError(
                f"the database at {self.url} is corrupted or not a Parley database ({exc.orig})",
                hint="restore it from a backup, or recover the log from a peer's mirror",
            ) from exc

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", "parley.store:migrations")
        with self._errors(), self.writer.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def check(self) -> None:
        """Fail with a clear error unless this is a readable Parley database at its revision."""
        with self._errors(), self.reader.connect() as conn:
            try:
                revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            except DatabaseError as exc:
                raise StoreError(
                    f"{self.url} is not a Parley database (no schema version)",
                    hint="create a node with 'parley init'",
                ) from exc
        if revision is None:
            raise StoreError(f"{self.url} has no schema revision")

    def pragma(self, name: str) -> Any:
        """Read a SQLite pragma on a writer connection (tests assert durability settings)."""
        with self.writer.connect() as conn:
            return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
