"""Shared pieces of the CLI: the home option, credentials, passphrases, and error reporting.

Every ParleyError becomes one line on stderr (message, then hint) and the error's exit code;
this is the only place that does it. A file the system cannot open or write (missing, a folder,
no permission) is reported the same way, naming the path: never a traceback.

Times print in the officer's zone (``TZ``) with UTC beside them; tables fold long cells and
never cut an identifier.

Every command that writes, and every command that shows what entries say (bodies, headlines,
replies) or writes an export, names and authenticates an officer (``acting`` for writes,
``reading`` for reads) and lands in the audit trail, refused attempts too. Files the CLI writes
for an officer (exports, proofs, bundles) are 0600.
"""

from __future__ import annotations

import contextlib
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
from rich.table import Table

from parley.core.canonical import JSONValue, parse_json
from parley.core.errors import InvalidEntryError, NotAuthorizedError, ParleyError
from parley.node import officers
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
AsOption = Annotated[
    str | None,
    typer.Option("--as", envvar="PARLEY_USER", help="Officer acting (PARLEY_USER)."),
]


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ParleyError, and a file the system refused, into a readable message and exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ParleyError as exc:
            _report(exc)
        except OSError as exc:
            _report(file_error(exc))

    return wrapper


def _report(exc: ParleyError) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", markup=True, highlight=False)
    if exc.hint:
        err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", markup=True, highlight=False)
    raise typer.Exit(exc.exit_code) from None


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
    """A duration in milliseconds as a person says it: ``12 s``, ``5 min``, ``2 h 10 min``."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value]
    return " ".join(shown[:2])


def table(*columns: str, whole: Sequence[str] = (), title: str | None = None) -> Table:
    """A Rich table whose cells wrap or fold onto further lines, never cut with an ellipsis.

    The ``whole`` columns hold identifiers (refs, codes, hashes): they stay on one line.
    """
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=column in whole)
    return grid


def party_code(value: str, *, what: str = "party", members: Sequence[str] | None = None) -> str:
    """A party code as written in the policy (upper case), refused when it is not a member."""
    code = value.strip().upper()
    if members is not None and code not in members:
        raise InvalidEntryError(f"{what} {value!r} is not a member of the network",
                                hint=f"members: {', '.join(members)}")  # fmt: skip
    return code


def passphrase_source(path: str) -> bytes | None:
    """Key passphrase from PARLEY_PASSPHRASE, else a prompt on a terminal."""
    value = os.environ.get("PARLEY_PASSPHRASE")
    if value is not None:
        return value.encode()
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for {path}: ").encode()
    raise ParleyError(f"{path} is encrypted", hint="set PARLEY_PASSPHRASE or run on a terminal")


def open_node(home: Path) -> Node:
    return Node.open(home, passphrase_source)


def authenticate(node: Node, name: str | None) -> officers.Officer:
    """Authenticate the officer named by --as/PARLEY_USER (token, password, or prompt)."""
    token = os.environ.get("PARLEY_TOKEN")
    password = os.environ.get("PARLEY_PASSWORD")
    if token is None and password is None and name and sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
    return officers.authenticate(node.store, name, password=password, token=token)


def acting(
    node: Node, name: str | None, action: str, detail: dict[str, Any], *roles: str
) -> officers.Officer:
    """Authenticate and authorise an officer, recording the attempt in the audit trail."""
    try:
        officer = authenticate(node, name)
        if roles:
            officer.require(*roles)
    except NotAuthorizedError as exc:
        officers.record(node.store, name or "?", action, detail | {"error": exc.message},
                        "refused", now_ms())  # fmt: skip
        raise
    officers.record(node.store, officer.name, action, detail, "ok", now_ms())
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
