"""Shared pieces of the CLI: the home option, credentials, passphrases, and error reporting.

Every ParleyError becomes one line on stderr (message, then hint) and the error's exit code;
this is the only place that does it. A file the system cannot open or write (missing, a folder,
no permission) is reported the same way, naming the path: never a traceback.

Times print in the officer's zone (``TZ``) with UTC beside them; tables fold long cells and
never cut an identifier.

Every command that writes, and every command that shows what entries say (bodies, headlines,
replies) or writes an export, names and authenticates an officer (``acting`` for writes,
``reading`` for reads) and lands in the audit trail (``parley.node.officers.Attempt``) once the
command has ended, with its true outcome: ``ok``, or ``refused`` with the reason, whether the
refusal came before authentication, at it or after it. Files the CLI writes for an officer
(exports, proofs, bundles) are 0600.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import errno
import functools
import getpass
import os
import sys
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

# Typer 0.2x carries its own copy of click, whose context stack is the one commands run in.
from typer._click.globals import get_current_context as current_context

from parley.core.canonical import JSONValue, parse_json
from parley.core.entry import STATUSES
from parley.core.errors import InvalidEntryError, ParleyError
from parley.node import members, officers
from parley.node.home import write_private
from parley.node.node import Node, now_ms

P = ParamSpec("P")
R = TypeVar("R")

# Roles that may read what entries say. Every role today: an observer reads, it does not act.
READ_ROLES = ("duty-officer", "analyst", "admin", "observer")

err_console = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path,
    typer.Option("--home", envvar="PARLEY_HOME", help="Node home folder.", show_default=False),
]
OptionalHomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="PARLEY_HOME", help="Node home folder.", show_default=False),
]
AsOption = Annotated[
    str | None,
    typer.Option("--as", envvar="PARLEY_USER", help="Officer acting (PARLEY_USER)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
StatusOption = Annotated[str | None, typer.Option(help="Actual, Exercise, Test or Draft.")]


# What the running command has opened and attempted, for its audit lines (one command a process).
_opened: contextvars.ContextVar[Node | None] = contextvars.ContextVar("opened", default=None)
_attempts: contextvars.ContextVar[list[officers.Attempt] | None] = contextvars.ContextVar(
    "attempts", default=None
)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ParleyError, and a file the system refused, into a readable message and exit code.

    It also settles the command's audit lines: ``ok`` once the command has completed, else
    ``refused`` with the message the officer was given.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        opened, attempts = _opened.set(None), _attempts.set([])
        named = "as_officer" in kwargs
        try:
            try:
                result = func(*args, **kwargs)
            except ParleyError as exc:
                _settle(func, exc.message, named, kwargs.get("as_officer"))
                _report(exc)
            except OSError as exc:
                error = file_error(exc)
                _settle(func, error.message, named, kwargs.get("as_officer"))
                _report(error)
            except typer.Exit as exc:
                ended = None if exc.exit_code == 0 else f"ended with exit code {exc.exit_code}"
                _settle(func, ended, named, kwargs.get("as_officer"))
                raise
            _settle(func, None, named, kwargs.get("as_officer"))
            return result
        finally:
            _opened.reset(opened)
            _attempts.reset(attempts)

    return wrapper


def _action(func: Callable[..., Any]) -> str:
    """The running command as an audit action: ``parley hotline send`` -> ``hotline.send``."""
    context = current_context(silent=True)
    path = context.command_path.split()[1:] if context is not None else []
    return ".".join(path) or func.__name__.removesuffix("_cmd")


def _settle(func: Callable[..., Any], reason: str | None, named: bool, officer: Any) -> None:
    """Record how the command ended for every attempt it made; a refusal before any, too."""
    attempts = _attempts.get() or []
    node = _opened.get()
    if not attempts and reason is not None and named and node is not None:
        # refused before anyone was authenticated: a bad argument, a non-member party, ...
        attempts = [officers.Attempt(node.store, _action(func), {}, officer)]
    for attempt in attempts:
        with contextlib.suppress(ParleyError, OSError):
            attempt.settle(reason, now_ms())


def _report(exc: ParleyError) -> NoReturn:
    print_error(exc)
    raise typer.Exit(exc.exit_code) from None


def print_error(exc: ParleyError) -> None:
    """Print an error on stderr: its message, then its hint if it has one."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", markup=True, highlight=False)
    if exc.hint:
        err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", markup=True, highlight=False)


_REASONS = {
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EEXIST: "already exists",
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "the file system is read-only",
}


def file_error(exc: OSError, path: Path | str | None = None) -> ParleyError:
    """What was wrong with a file the system refused, naming its path."""
    name = str(path if path is not None else exc.filename or "")
    if not name:
        return ParleyError(exc.strerror or str(exc))
    if exc.errno == errno.ENOENT:
        parent = Path(name).parent
        reason = "no such file" if parent.is_dir() else f"no such folder {parent}"
    else:
        reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return ParleyError(f"{name}: {reason}", hint=_FILE_HINTS.get(exc.errno or 0))


_FILE_HINTS = {
    errno.EISDIR: "give the path of a file in that folder",
    errno.EACCES: "check the file's owner and mode (ls -l)",
    errno.EPERM: "check the file's owner and mode (ls -l)",
}


def read_file(path: Path, what: str = "") -> bytes:
    """A file's bytes; a missing, empty or unreadable file is an error naming it."""
    label = f"{what} {path}".strip()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise file_error(exc, label) from exc
    if not data.strip():
        raise InvalidEntryError(f"{label}: the file is empty")
    return data


def json_error(label: str, exc: orjson.JSONDecodeError) -> InvalidEntryError:
    """Malformed JSON, with the line and column where it breaks."""
    return InvalidEntryError(
        f"{label}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
    )


def read_json(path: Path, what: str = "") -> JSONValue:
    """A JSON file in the signed-JSON subset; errors name the file, line and column."""
    data = read_file(path, what)
    label = f"{what} {path}".strip()
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise json_error(label, exc) from exc
    return parse_json(data, what=label)


def format_ms(ms: int | None) -> str:
    """A signed millisecond time as UTC, no zone named; "-" when there is none.

    Callers print " UTC" after it; new code shows ``format_time`` instead.
    """
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _local_zone() -> dt.tzinfo | None:
    """The officer's zone: ``TZ`` when it names an IANA zone, else the system's."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        with contextlib.suppress(ValueError, zoneinfo.ZoneInfoNotFoundError):
            return zoneinfo.ZoneInfo(name)
    return None


def format_time(ms: int | None) -> str:
    """A millisecond time in the officer's zone with UTC beside it; "-" when there is none.

    ``2026-12-04 18:02:11 JST (09:02:11Z)``; the UTC date is given too when it differs from the
    local one, and a node whose zone is UTC prints ``2026-12-04 09:02:11 UTC``.
    """
    if ms is None:
        return "-"
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    local = moment.astimezone(_local_zone())
    if local.utcoffset() == dt.timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    zone = local.tzname() or local.strftime("%z")
    utc = moment.strftime("%H:%M:%SZ" if moment.date() == local.date() else "%Y-%m-%d %H:%M:%SZ")
    return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {zone} ({utc})"


def format_duration(ms: int | None) -> str:
    """A duration in milliseconds as a person says it: ``1.4 s``, ``5 min``, ``2 h 10 min``.

    Under a minute a fraction of a second is kept (``late +1.4 s``); above, whole units.
    """
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000 and ms % 1000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value]
    return " ".join(shown[:2])


# Body fields that hold a signed time (integer ms) or a duration (ms), shown as a person reads
# them by ``readable``. A name is matched exactly, or by its suffix.
TIME_FIELDS = (
    "sent",
    "time",
    "onset",
    "expires",
    "effective",
    "claimed",
    "observed",
    "created",
    "escalated",
    "due",
    "window_start",
    "window_end",
    "origin_time",
)
DURATION_SUFFIXES = ("_within", "_ms")
_EPOCH_MS = range(946_684_800_000, 4_102_444_800_000)  # 2000..2100: nothing else is that large


def readable(value: Any, name: str = "") -> Any:
    """A decoded body for display: signed times as ``format_time``, durations as words.

    Only what the officer reads changes; ``--json`` prints the body as signed.
    """
    if isinstance(value, dict):
        return {key: readable(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item, name) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        if (name in TIME_FIELDS or name.endswith(("_time", "_at"))) and value in _EPOCH_MS:
            return format_time(value)
        if name.endswith(DURATION_SUFFIXES) and not name.endswith("_time_ms"):
            return format_duration(value)
    return value


def table(*columns: str, whole: Sequence[str] = (), title: str | None = None) -> Table:
    """A Rich table whose cells wrap or fold onto further lines, never cut with an ellipsis.

    The ``whole`` columns hold identifiers (refs, codes, hashes): they stay on one line.
    """
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=column in whole)
    return grid


def print_json(value: Any, *, indent: bool = True) -> None:
    """Write a value as JSON on stdout, indented or on one line, and flush it."""
    option = orjson.OPT_INDENT_2 if indent else 0
    sys.stdout.write(orjson.dumps(value, option=option).decode() + "\n")
    sys.stdout.flush()


def progress_bar() -> Progress:
    """A transient progress bar on stderr for long appends, imports, exports and pulls."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=err_console,
    )


def show_table(grid: Table, empty: str) -> None:
    """Print a table, or, when it has no rows, one sentence saying why it is empty."""
    if grid.row_count:
        out.print(grid)
    else:
        out.print(empty, markup=False)


def status_option(value: str | None) -> str:
    """The ``--status`` the officer gave, one of ``STATUSES``; it is required."""
    if value is None:
        raise InvalidEntryError(f"--status is required: one of {', '.join(STATUSES)}")
    if value not in STATUSES:
        raise InvalidEntryError(f"--status {value!r} is not one of {', '.join(STATUSES)}")
    return value


def member_code(node: Node, value: str, *, what: str = "party") -> str:
    """A party code the officer typed, as the policy writes it (``cn`` is ``CN``), or refused."""
    return members.member(node.context().policy.document, value, what=what)


def audience_option(node: Node, value: str | None, *, what: str = "--to") -> str | None:
    """An audience option (``ALL`` or ``cn,us``), each party a member of the network."""
    return members.audience(node.context().policy.document, value, what=what)


def ref_option(node: Node, value: str) -> str:
    """An entry reference the officer typed (``cn:15``), its party a member of the network."""
    return members.reference(node.context().policy.document, value)


def passphrase_source(path: str) -> bytes | None:
    """Key passphrase from PARLEY_PASSPHRASE, else a prompt on a terminal."""
    value = os.environ.get("PARLEY_PASSPHRASE")
    if value is not None:
        return value.encode()
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for {path}: ").encode()
    raise ParleyError(f"{path} is encrypted", hint="set PARLEY_PASSPHRASE or run on a terminal")


def open_node(home: Path) -> Node:
    """Open the node at ``home`` (asking for a passphrase if its keys need one) for this command."""
    node = Node.open(home, passphrase_source)
    _opened.set(node)
    return node


def _credentials(name: str | None) -> tuple[str | None, str | None]:
    """Password and token of the officer named by --as/PARLEY_USER (environment, or prompt)."""
    token = os.environ.get("PARLEY_TOKEN")
    password = os.environ.get("PARLEY_PASSWORD")
    if token is None and password is None and name and sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
    return password, token


def acting(
    node: Node, name: str | None, action: str, detail: dict[str, Any], *roles: str
) -> officers.Officer:
    """Authenticate and authorise an officer; the attempt is audited when the command ends.

    A refused authentication is recorded at once (``officers.authorise``); otherwise the
    command's outcome is recorded by ``reports_errors``: ``ok``, or ``refused`` with the reason.
    """
    attempt = officers.Attempt(node.store, action, detail, name)
    pending = _attempts.get()
    if pending is not None:
        pending.append(attempt)
    password, token = _credentials(name)
    officer = attempt.authorise(name, roles, password=password, token=token, now=now_ms())
    if pending is None:  # called outside a command: nothing will settle it later
        attempt.settle(None, now_ms())
    return officer


def reading(node: Node, name: str | None, action: str, detail: dict[str, Any]) -> officers.Officer:
    """Authenticate an officer who may read entries (``READ_ROLES``), audited as ``acting``."""
    return acting(node, name, action, detail, *READ_ROLES)


def write_output(path: Path, data: bytes) -> None:
    """Write an export the officer asked for, readable by this account alone."""
    write_private(path, data)


def open_output(path: Path) -> BinaryIO:
    """Open an export file for writing, readable by this account alone (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Create files readable by this account alone while the block runs (umask 077)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
