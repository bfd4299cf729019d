"""Shared pieces of the CLI: the home option, credentials, passphrases, and error reporting.

Every ParleyError becomes one line on stderr (message, then hint) and the error's exit code;
this is the only place that does it.

Every command that writes, and every command that shows what entries say (bodies, headlines,
replies) or writes an export, names and authenticates an officer (``acting`` for writes,
``reading`` for reads) and lands in the audit trail, refused attempts too. Files the CLI writes
for an officer (exports, proofs, bundles) are 0600.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from parley.core.errors import NotAuthorizedError, ParleyError
from parley.node import officers
from parley.node.home import write_private
from parley.node.node import Node, now_ms

P = ParamSpec("P")
R = TypeVar("R")

# Roles that may read what entries say. Every role today: an observer reads, it does not act.
READ_ROLES = ("duty-officer", "analyst", "admin", "observer")

err_console = Console(stderr=True)
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
    """Turn ParleyError into a readable message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ParleyError as exc:
            message = escape(exc.message)
            err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
            if exc.hint:
                hint = escape(exc.hint)
                err_console.print(f"[yellow]hint:[/] {hint}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def format_ms(ms: int | None) -> str:
    """A signed millisecond time as UTC for tables; "-" when there is none."""
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


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
