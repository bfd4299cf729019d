"""``parley user``: officers and their credentials."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    acting,
    open_node,
    out,
    reading,
    reports_errors,
)
from parley.core.errors import InvalidEntryError
from parley.node import officers
from parley.node.node import now_ms

app = typer.Typer(help="Officers, roles and credentials.", no_args_is_help=True)


@app.command("add")
@reports_errors
def add(
    name: str,
    home: HomeOption,
    role: Annotated[str, typer.Option(help="duty-officer, analyst, admin or observer.")],
    password: Annotated[
        str | None, typer.Option(help="Password (default: PARLEY_NEW_PASSWORD or prompt).")
    ] = None,
    as_officer: AsOption = None,
) -> None:
    """Add an officer. The first officer needs no credentials; later ones need an admin."""
    node = open_node(home)
    if officers.list_officers(node.store):
        acting(node, as_officer, "user.add", {"name": name, "role": role}, "admin")
    secret = password or os.environ.get("PARLEY_NEW_PASSWORD")
    if secret is None:
        secret = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    if secret is None:
        raise InvalidEntryError("a password is required")
    officer = officers.add_officer(node.store, name, role, secret, now_ms())
    officers.record(
        node.store, as_officer or "host", "user.added", {"name": name, "role": role}, "ok", now_ms()
    )
    out.print(f"Added officer {officer.name} ({officer.role})")


@app.command("token")
@reports_errors
def token(name: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Issue a script token (PARLEY_TOKEN) for an officer; replaces any earlier token."""
    node = open_node(home)
    acting(node, as_officer, "user.token", {"name": name}, "admin")
    out.print(officers.issue_token(node.store, name))


@app.command("list")
@reports_errors
def list_(home: HomeOption, as_officer: AsOption = None) -> None:
    """List officers and their roles (any officer may read them)."""
    node = open_node(home)
    reading(node, as_officer, "user.list", {})
    for officer in officers.list_officers(node.store):
        out.print(f"{officer.name:24} {officer.role}")
