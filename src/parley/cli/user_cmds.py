"""``parley user``: officers and their credentials (passwords, TOTP, scoped tokens)."""

from __future__ import annotations

import io
import os
from typing import Annotated

import segno
import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    acting,
    format_time,
    open_node,
    out,
    print_json,
    reading,
    reports_errors,
    table,
)
from parley.core.deadlines import parse_duration
from parley.core.errors import InvalidEntryError
from parley.node import officers
from parley.node.access import Action, roles_for, scope_named
from parley.node.node import Node, now_ms

app = typer.Typer(help="Officers, roles and credentials.", no_args_is_help=True)
ADMINS = roles_for(Action.ADMINISTER)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


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
        acting(node, as_officer, "user.add", {"name": name, "role": role}, *ADMINS)
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


def _self_or_admin(node: Node, as_officer: str | None, action: str, name: str) -> None:
    """An officer manages its own credentials; an administrator manages anyone's."""
    roles = ("duty-officer", "analyst", "admin", "observer") if as_officer == name else ADMINS
    acting(node, as_officer, action, {"name": name}, *roles)


@app.command("token")
@reports_errors
def token(
    name: str,
    home: HomeOption,
    scope: Annotated[
        str, typer.Option(help="read, ack, analyst, notify, admin or scrape (metrics only).")
    ],
    expires: Annotated[
        str | None, typer.Option(help="Lifetime, e.g. 30d or 12h (default: until revoked).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    as_officer: AsOption = None,
) -> None:
    """Issue a scoped API token for an officer; the secret is shown once.

    An officer may hold several tokens; a token's scope never exceeds the officer's role.
    """
    node = open_node(home)
    wanted = scope_named(scope)
    lifetime = None if expires is None else parse_duration(expires, "--expires")
    _self_or_admin(node, as_officer, "user.token", name)
    now = now_ms()
    secret, info = officers.issue_token(
        node.store,
        name,
        wanted,
        now,
        expires=None if lifetime is None else now + lifetime,
        label=label,
    )
    out.print(secret)
    until = "until revoked" if info.expires is None else f"until {format_time(info.expires)}"
    typer.echo(f"token {info.id} of {name}, scope {info.scope}, {until}", err=True)


@app.command("tokens")
@reports_errors
def tokens(
    name: str, home: HomeOption, as_officer: AsOption = None, json: JsonOption = False
) -> None:
    """List an officer's tokens (never their secrets)."""
    node = open_node(home)
    _self_or_admin(node, as_officer, "user.tokens", name)
    now = now_ms()
    found = officers.tokens_of(node.store, name)
    if json:
        print_json([info.to_dict(now) for info in found])
        return
    if not found:
        out.print(f"officer {name} holds no token")
        return
    grid = table("id", "scope", "state", "created", "expires", "last used", "label", whole=("id",))
    for info in found:
        grid.add_row(
            info.id,
            info.scope,
            info.state(now),
            format_time(info.created),
            "-" if info.expires is None else format_time(info.expires),
            "-" if info.last_used is None else format_time(info.last_used),
            info.label or "",
        )
    out.print(grid)


@app.command("revoke")
@reports_errors
def revoke(name: str, token_id: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Revoke one of an officer's tokens at once."""
    node = open_node(home)
    _self_or_admin(node, as_officer, "user.revoke", name)
    officers.revoke_token(node.store, name, token_id, now_ms())
    out.print(f"Revoked token {token_id} of {name}")


@app.command("totp")
@reports_errors
def totp(name: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Enrol a TOTP second factor: shows its otpauth URI and a QR code to scan."""
    node = open_node(home)
    _self_or_admin(node, as_officer, "user.totp", name)
    uri = officers.enrol_totp(node.store, name)
    code = io.StringIO()
    segno.make(uri, error="m").terminal(out=code, compact=True)
    out.print(code.getvalue(), markup=False, highlight=False)
    out.print(uri, markup=False)
    out.print("Scan the code (or type the URI) into an authenticator; the old factor is gone.")


@app.command("deactivate")
@reports_errors
def deactivate(name: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Deactivate an officer: its sessions end and its tokens are revoked at once."""
    node = open_node(home)
    acting(node, as_officer, "user.deactivate", {"name": name}, *ADMINS)
    ended, revoked = officers.deactivate(node.store, name, now_ms())
    out.print(f"Deactivated {name}: {ended} session(s) ended, {revoked} token(s) revoked")


@app.command("reactivate")
@reports_errors
def reactivate(name: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Let a deactivated officer log in again; its old tokens stay revoked."""
    node = open_node(home)
    acting(node, as_officer, "user.reactivate", {"name": name}, *ADMINS)
    officers.reactivate(node.store, name)
    out.print(f"Reactivated {name}")


@app.command("list")
@reports_errors
def list_(home: HomeOption, as_officer: AsOption = None) -> None:
    """List officers, their roles, whether active and whether they have a second factor."""
    node = open_node(home)
    reading(node, as_officer, "user.list", {})
    for officer in officers.list_officers(node.store):
        state = "active" if officer.active else "deactivated"
        factor = "totp" if officer.totp else "no second factor"
        out.print(f"{officer.name:24} {officer.role:14} {state:12} {factor}")


@app.command("audit")
@reports_errors
def audit(
    home: HomeOption,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many lines.")] = 50,
    as_officer: AsOption = None,
    json: JsonOption = False,
) -> None:
    """Show the newest lines of the audit trail (administrators only), refusals included."""
    node = open_node(home)
    acting(node, as_officer, "user.audit", {"limit": limit}, *ADMINS)
    lines = officers.audit_trail(node.store, limit)
    if json:
        print_json(lines)
        return
    grid = table("time", "officer", "action", "outcome", "detail", whole=("officer",))
    for line in lines:
        grid.add_row(
            format_time(line["time"]),
            line["officer"],
            line["action"],
            line["outcome"],
            ", ".join(f"{k}={v}" for k, v in line["detail"].items()),
        )
    out.print(grid)
