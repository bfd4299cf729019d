"""How ``parley serve`` runs uvicorn: timeouts, connection bounds, TLS 1.3, one server per home.

Invariants:

* **Slow clients are cut off.** A connection must complete its request line and headers within
  ``HEADER_TIMEOUT_S`` of connecting (or of the first byte of its next request on a kept-alive
  connection), and a request body must not pause for more than ``BODY_IDLE_S`` while the node
  waits for it; otherwise the connection is closed (``BoundedH11Protocol``). Uvicorn itself
  times out only idle kept-alive connections (``KEEP_ALIVE_S``).
* **Refused bodies are not drained for long.** When the node answered before the body ended (a
  413 of ``parley.api.limits``, a 401), what the client still sends is discarded for
  ``LINGER_S``, then the connection is closed: long enough for the client to read the answer
  (closing at once would reset the connection and lose it), not long enough to matter.
* **Bounded connections.** At most ``MAX_CONNECTIONS`` connections or requests at once per
  process (more are answered 503), headers of at most ``MAX_HEADER_BYTES``; bodies are bounded
  per route by ``parley.api.limits``. The bound leaves room for a thousand open pages, each
  holding one live stream, beside the requests of those pages and of the peers; the process
  raises its own limit on open files to match (``ensure_file_limit``).
* **TLS 1.3 only** (``tlspin.server_context``), as the client side already insists.
* **One server per home.** ``hold_serve_lock`` takes an exclusive ``flock`` on
  ``HOME/serve.lock`` for the life of the process; a second ``parley serve`` on the same home
  is refused and names the pid that holds it. The lock is not inherited by ``--workers``
  processes, which uvicorn spawns afresh; the parent holds it for them.
* **Metrics of every worker.** With ``--workers``, ``metrics_directory`` empties
  ``HOME/metrics`` and names it in ``PROMETHEUS_MULTIPROC_DIR`` before the workers start, so
  each worker writes its per-process metrics there and any worker's ``/metrics`` sums them all
  (``parley.api.metrics_api``).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import resource
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

from parley.core.errors import ParleyError
from parley.node.federation import tlspin

HEADER_TIMEOUT_S = 10.0
BODY_IDLE_S = 10.0
LINGER_S = 2.0
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 2048
FILE_HEADROOM = 256  # the database, the logs and keys, connections out to peers and webhooks
MAX_HEADER_BYTES = 16 * 1024  # h11's limit on an incomplete request line and headers
GRACEFUL_SHUTDOWN_S = 10
LOCK_NAME = "serve.lock"
METRICS_DIR = "metrics"

log = logging.getLogger("parley.server")


class BoundedH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol with a deadline on request headers and on stalled bodies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: object = None  # h11.IDLE (headers) or h11.SEND_BODY (body)
        self._linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """A new connection: its request headers are due within ``HEADER_TIMEOUT_S``."""
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Bytes came: a stalled body's deadline starts anew; headers keep theirs."""
        super().data_received(data)
        self._arm(progress=True)

    def on_response_complete(self) -> None:
        """Answered: stop the deadline; what remains of a body unread is discarded a while."""
        super().on_response_complete()
        self._cancel()  # idle now: uvicorn's keep-alive timeout, until the next byte
        if self.conn.their_state is h11.SEND_BODY and self._linger is None:
            self._linger = self.loop.call_later(LINGER_S, self._close_lingering)

    def shutdown(self) -> None:
        """The server stops: drop an idle keep-alive connection at once.

        Uvicorn closes it, and over TLS a close waits for the client's close_notify (asyncio's
        SSL shutdown timeout, 30 s), which a client idling in its pool never sends, so every
        stop sat out the graceful-shutdown timeout (10 s) with nothing in flight. A request in
        flight is still answered first.
        """
        if self.cycle is None or self.cycle.response_complete:
            self._cancel()
            self.transport.abort()
        else:
            super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection ended: cancel its timers."""
        self._cancel()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def _arm(self, *, progress: bool = False) -> None:
        """Start, keep or stop the deadline for what the connection now waits for."""
        theirs, ours = self.conn.their_state, self.conn.our_state
        if theirs is h11.SEND_BODY and ours is h11.SEND_RESPONSE:  # the node awaits the body
            if progress or self._waiting_for is not h11.SEND_BODY:  # a stall is counted anew
                self._start(h11.SEND_BODY, BODY_IDLE_S)
        elif theirs is h11.IDLE and ours is h11.IDLE:
            if self._waiting_for is not h11.IDLE:  # headers get one deadline, not one per byte
                self._start(h11.IDLE, HEADER_TIMEOUT_S)
        else:
            self._cancel()

    def _close_lingering(self) -> None:
        self._linger = None
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self.transport.close()  # the rest of a body the node answered without reading

    def _start(self, waiting_for: object, seconds: float) -> None:
        self._cancel()
        self._waiting_for = waiting_for
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, None

    def _expired(self) -> None:
        waiting_for, self._deadline, self._waiting_for = self._waiting_for, None, None
        if self.transport.is_closing() or self.conn.their_state is not waiting_for:
            return
        if waiting_for is h11.SEND_BODY and self.flow.read_paused:
            self._start(h11.SEND_BODY, BODY_IDLE_S)  # the node is not reading, not the client
            return
        what = "request headers" if waiting_for is h11.IDLE else "request body"
        log.info("closing a connection from %s: its %s are too slow", self.client, what)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


def tls_context_factory(config: Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """Uvicorn's ``ssl_context_factory``: the node's certificate, TLS 1.3 only."""
    assert config.ssl_keyfile is not None and config.ssl_certfile is not None  # noqa: S101
    return tlspin.server_context(Path(config.ssl_keyfile), Path(config.ssl_certfile))


def ensure_file_limit() -> int:
    """Raise this process's soft limit on open files to what ``MAX_CONNECTIONS`` needs.

    Within the hard limit, which only the system's administrator can raise; returns the soft
    limit now in force (inherited by ``--workers`` processes).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_CONNECTIONS + FILE_HEADROOM
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if raised > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        log.info("raised the limit on open files from %d to %d", soft, raised)
    if raised < wanted:
        log.warning(
            "this process may open %d files (hard limit), fewer than the %d that %d connections "
            "need: raise it (ulimit -Hn, or LimitNOFILE in a systemd unit)",
            raised,
            wanted,
            MAX_CONNECTIONS,
        )
    return raised


def uvicorn_options(home: Path, *, tls: bool) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound what a client can hold."""
    options: dict[str, Any] = {
        "http": BoundedH11Protocol,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "log_level": "warning",
        "log_config": None,  # every logger goes through parley.api.logs, as JSON
    }
    if tls:
        key_file, cert_file = tlspin.tls_paths(home)
        options.update(
            ssl_keyfile=str(key_file),
            ssl_certfile=str(cert_file),
            ssl_context_factory=tls_context_factory,
        )
    return options


def hold_serve_lock(home: Path) -> int:
    """Lock ``HOME/serve.lock`` for this process (returns its descriptor; keep it open).

    Raises ``ParleyError`` naming the pid of the ``parley serve`` that holds it.
    """
    path = home / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise ParleyError(
            f"another 'parley serve' runs on {home} (pid {holder})",
            hint="stop it first; one server per node home (use --workers for more processes)",
        ) from None
    os.fchmod(fd, 0o600)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    return fd


def metrics_directory(home: Path) -> Path:
    """Empty ``HOME/metrics`` and name it for prometheus-client's multiprocess mode."""
    folder = home / METRICS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    for stale in folder.glob("*.db"):  # the files of a previous run's workers
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder
