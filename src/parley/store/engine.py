"""Opening a node's database: SQLite (embedded default) or PostgreSQL (scale-out).

Durability and the single-writer rule live here:

* SQLite runs in WAL mode with ``synchronous=FULL``: a committed append has reached the disk
  before the commit returns, so it survives kill -9 and power loss. Writers open their
  transaction with ``BEGIN IMMEDIATE``, which takes SQLite's one write lock across processes.
  Within one process, writers first queue on a thread lock: SQLite's own busy handler sleeps
  1, 2, 5, 10 ms and longer between retries, a thread lock hands over at once.
* A SQLite database file is created 0600 before SQLite first opens it (``_create_private``);
  SQLite gives its -wal and -shm files the mode of the database file, so they are 0600 too.
* PostgreSQL writers take a transaction-scoped advisory lock (``pg_advisory_xact_lock``), so
  exactly one process (server worker or CLI command) appends at a time.
* State the worker processes share that is no part of any log (rate-limit buckets, the worker
  table) is written in ``shared`` transactions, outside the writer lock and without a flush.
* A server learns of commits made by other processes (a CLI append) at once: on PostgreSQL by
  NOTIFY, on SQLite by a datagram that every durable commit of a process that does not listen
  sends to an abstract Unix socket named after the database file (``commit_listener``; Linux).
  Nothing depends on it arriving: the server also polls.
* On PostgreSQL, a ``WorkerSession`` is one worker's dedicated connection outside the pool: it
  holds the session-level leader lock (``LEADER_LOCK_KEY``, never the writer's key) and listens
  for notifications. When the process dies the session ends, and with it both.

Readers never take the write lock.

Who owns a transaction is written in the signature, never in a name. A function that takes a
``Writing`` runs inside a write transaction its caller opened and commits (so several such calls
land in one commit); a function that takes the ``Store`` opens and commits its own; a function
that takes a plain ``Connection`` only reads, and any connection serves. ``Store.write`` is the
only source of a ``Writing``, so mypy refuses a read connection where a write is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NewType

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError

if TYPE_CHECKING:  # psycopg is imported by the PostgreSQL paths only, not by every command
    import psycopg

from parley.core.errors import StoreError

WRITER_LOCK_KEY = 0x7061726C6579  # "parley": the advisory-lock key on PostgreSQL
LEADER_LOCK_KEY = 0x70726C6A6F6273  # "prljobs": held by the worker that runs background jobs
LOG_CHANNEL = "parley_log"  # NOTIFY payload: the party whose checkpoint was stored (0007 trigger)
WAKE_CHANNEL = "parley_wake"  # NOTIFY payload: the party whose verified wake-up a worker received
SESSION_TIMEOUT_S = 5.0  # a worker session that does not answer within this is treated as lost
SQLITE_BUSY_TIMEOUT_S = 60

Writing = NewType("Writing", Connection)
"""A connection inside a write transaction owned by the caller (``Store.write``, ``shared``)."""


def _sqlite_pragma(conn: Connection, pragma: str) -> None:
    """Set a pragma on the driver connection, outside any transaction."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # noqa: S101 - an open connection has its driver connection
    dbapi.execute(f"PRAGMA {pragma}")


def _commit_address(database: str) -> bytes | None:
    """The abstract Unix socket address of a SQLite database's commit datagrams (Linux)."""
    if not database or database.startswith(":") or not sys.platform.startswith("linux"):
        return None
    digest = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:40]
    return b"\0parley-commits-" + digest.encode("ascii")


def _create_private(path: Path) -> None:
    """Create an empty SQLite file readable by this account alone, unless it exists.

    An empty file is an empty database to SQLite; its journal files take this file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create the database file {path}: {exc.strerror}") from exc
    os.close(fd)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite database file at ``path`` (pysqlite driver)."""
    return f"sqlite+pysqlite:///{path}"


class Store:
    """A node database with separate writer and reader engines."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._queue = threading.RLock()  # SQLite writers of this process wait here, in turn
        self._commit_address: bytes | None = None  # SQLite: see commit_listener
        self._listening = False  # this store's process listens: its own commits say nothing
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and not database.startswith(":") and not Path(database).parent.is_dir():
                raise StoreError(f"database folder {Path(database).parent} does not exist")
            if database and not database.startswith((":", "file:")):
                _create_private(Path(database))
            self.writer = self._sqlite_engine(url, immediate=True)
            self.reader = self._sqlite_engine(url, immediate=False)
            self._commit_address = _commit_address(database)
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
    def write(self, *, durable: bool = True) -> Iterator[Writing]:
        """A write transaction under the single-writer lock; commits durably on exit.

        ``durable=False`` is for bookkeeping that may be lost to a power cut but never to a
        crash of the process (the replay cache of signed requests, a peer's sync status): the
        commit skips its own flush to disk (SQLite ``synchronous=NORMAL`` in WAL mode,
        PostgreSQL ``synchronous_commit=off``), and the next durable commit flushes it with
        everything before it. Nothing a node answers for is written this way.
        """
        sqlite = self.dialect == "sqlite"
        queue: contextlib.AbstractContextManager[Any] = (
            self._queue if sqlite else contextlib.nullcontext()
        )
        with queue, self._errors(), self.writer.connect() as conn:
            lax_sqlite = not durable and self.dialect == "sqlite"
            if lax_sqlite:
                _sqlite_pragma(conn, "synchronous=NORMAL")
            try:
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.execute(select(text(f"pg_advisory_xact_lock({WRITER_LOCK_KEY})")))
                        if not durable:
                            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield Writing(conn)
            finally:
                if lax_sqlite:
                    _sqlite_pragma(conn, "synchronous=FULL")
        if sqlite and durable:
            self._signal_commit()

    def _signal_commit(self) -> None:
        """Tell a server listening on this database that a commit landed (best effort)."""
        address = self._commit_address
        if address is None or self._listening:
            return
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as tell:
            tell.setblocking(False)
            tell.sendto(b"c", address)

    def commit_listener(self) -> socket.socket | None:
        """SQLite: a socket that receives a datagram after each durable commit of another process.

        None on PostgreSQL (NOTIFY does this), where abstract sockets do not exist, or when
        another process listens already (a second server of one database): poll instead.
        """
        address = self._commit_address
        if address is None:
            return None
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            listener.bind(address)
        except OSError:
            listener.close()
            return None
        listener.setblocking(False)
        self._listening = True  # the listening process pokes itself after its own appends
        return listener

    @contextlib.contextmanager
    def shared(self) -> Iterator[Writing]:
        """A short transaction for state the workers share that is no part of any log.

        On PostgreSQL it takes no writer lock and skips the flush (``synchronous_commit=off``):
        rate-limit buckets and worker heartbeats may be lost to a power cut. SQLite has one
        write lock for everything, so this is ``write(durable=False)`` there.
        """
        if self.dialect == "sqlite":
            with self.write(durable=False) as conn:
                yield conn
            return
        with self._errors(), self.writer.begin() as conn:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield Writing(conn)

    def notify(self, channel: str, payload: str) -> None:
        """Send a notification to every worker listening on ``channel`` (PostgreSQL only)."""
        if self.dialect != "postgresql":
            return
        with self._errors(), self.writer.begin() as conn:
            conn.execute(select(func.pg_notify(channel, payload)))

    def commit_probe(self) -> Callable[[], int | None]:
        """A cheap probe whose value changes whenever a commit landed since its last call.

        SQLite: ``PRAGMA data_version`` on a connection of its own that never writes, so a
        commit by any other connection (any thread, any process) changes it; reading it costs
        microseconds, so a watcher may call it on its event loop. PostgreSQL: always ``None``
        (unknown: the caller reads; its workers learn of commits by notification).
        """
        if self.dialect != "sqlite":
            return lambda: None
        database = make_url(self.url).database or ""
        probe = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        lock = threading.Lock()

        def data_version() -> int | None:
            with lock:
                row = probe.execute("PRAGMA data_version").fetchone()
            return int(row[0])

        return data_version

    def conninfo(self) -> str:
        """The database URL for libpq (psycopg without SQLAlchemy), password included."""
        url = make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

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
        """Close the pooled connections of the writer and reader engines."""
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


class WorkerSession:
    """One worker's dedicated PostgreSQL connection: the leader lock and notifications.

    The lock is session-level (``pg_try_advisory_lock``): it stays until this connection ends,
    whether the worker closes it, the process dies, or the connection breaks. Every method
    raises ``StoreError`` when the connection is lost; the worker then no longer leads.
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, store: Store, channels: tuple[str, ...]) -> WorkerSession:
        """Connect to ``store``'s PostgreSQL database and LISTEN on ``channels``."""
        import psycopg

        async with _session_errors():
            conn = await psycopg.AsyncConnection.connect(
                store.conninfo(),
                autocommit=True,
                connect_timeout=int(SESSION_TIMEOUT_S),
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
            )
            for channel in channels:
                await conn.execute(f"LISTEN {channel}")
        return cls(conn)

    async def try_lead(self) -> bool:
        """Take the leader lock if no other session holds it (never waits)."""
        async with _session_errors():
            cursor = await asyncio.wait_for(
                self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)),
                SESSION_TIMEOUT_S,
            )
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def check(self) -> None:
        """Raise ``StoreError`` unless the session still answers (so the lock is still held)."""
        async with _session_errors():
            await asyncio.wait_for(self.conn.execute("SELECT 1"), SESSION_TIMEOUT_S)

    async def notifications(self, timeout_s: float) -> AsyncIterator[tuple[str, str]]:
        """The notifications that arrive within ``timeout_s``: (channel, payload) pairs."""
        async with _session_errors():
            async for note in self.conn.notifies(timeout=timeout_s):
                yield note.channel, note.payload

    async def close(self) -> None:
        """Close the connection, which releases the leader lock; a lost connection is no error."""
        import psycopg

        with contextlib.suppress(psycopg.Error):
            await self.conn.close()


@contextlib.asynccontextmanager
async def _session_errors() -> AsyncIterator[None]:
    import psycopg

    try:
        yield
    except (psycopg.Error, TimeoutError) as exc:
        raise StoreError(f"the worker's database session was lost: {exc}") from exc
