"""``parley release`` and ``parley pending``: the second officer's half of two-person release.

Thin commands over ``parley.node.notifications.release``. ``parley notify`` keeps an Actual
notification of a release category as a pending release and prints its id; a second officer
releases it with their own credentials (``--as NAME`` with ``PARLEY_PASSWORD`` or the prompt,
as every command), and the node refuses the officer who prepared it. When no second officer can
be reached and the duty cannot wait, ``--break-glass REASON`` lets the preparer release alone:
every other officer is told (live stream and webhook ``release.break-glass``). Every command is
audited with its outcome; a break-glass line carries its reason.

The released reference goes to stdout (one line, as ``parley notify`` prints one); what happened
goes to stderr.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    acting,
    err_console,
    format_time,
    open_node,
    print_json,
    reading,
    reports_errors,
    show_table,
    table,
)
from parley.node.access import Action, Principal, roles_for
from parley.node.node import now_ms
from parley.node.notifications import release as releases
from parley.node.notifications.release import Pending

pending_app = typer.Typer(
    help="Notifications waiting for a second officer (two-person release).",
    no_args_is_help=True,
)
Identifier = Annotated[str, typer.Argument(help="The pending release's id (parley pending list).")]


def print_pending(item: Pending) -> None:
    """What ``parley notify`` says of a notification kept for a second officer."""
    sys.stdout.write(item.id + "\n")
    sys.stdout.flush()
    err_console.print(
        f"{item.status} {item.category} needs two officers: kept as pending release {item.id}, "
        "not signed and not sent.",
        markup=False,
        highlight=False,
    )
    err_console.print(
        f"next: another officer runs 'parley release {item.id} --as OTHER-OFFICER'",
        markup=False,
        highlight=False,
    )


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False)


@reports_errors
def release_cmd(
    identifier: Identifier,
    home: HomeOption,
    as_officer: AsOption = None,
    break_glass: Annotated[
        str | None,
        typer.Option(
            "--break-glass",
            help="Release your own pending release alone, for this reason (10 characters or "
            "more; every officer is told).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Release (sign and send) a pending release that another officer prepared."""
    node = open_node(home)
    now = now_ms()
    if break_glass is None:
        roles = roles_for(Action.RELEASE)
        officer = acting(node, as_officer, "release", {"id": identifier}, *roles)
        done = releases.release(node, identifier, officer.name, officer.role, now)
    else:
        detail = {"id": identifier, "reason": break_glass}
        roles = roles_for(Action.BREAK_GLASS)
        officer = acting(node, as_officer, "release.break-glass", detail, *roles)
        done = releases.break_glass(node, identifier, officer.name, officer.role, break_glass, now)
    for warning in done.outcome.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", markup=True, highlight=False)
    sys.stdout.write(done.ref + "\n")
    sys.stdout.flush()
    item = done.pending
    _say(
        f"released pending release {item.id} as {done.ref}: prepared by {item.prepared_by} "
        f"({item.prepared_role}), released by {officer.name} ({officer.role})"
    )
    if break_glass is not None:
        _say(
            "BREAK-GLASS: released by one officer; every officer is told (live stream and "
            "webhook release.break-glass) and the reason is in the audit trail"
        )


@pending_app.command("list")
@reports_errors
def list_cmd(
    home: HomeOption,
    as_officer: AsOption = None,
    as_json: JsonOption = False,
    every: Annotated[bool, typer.Option("--all", help="Released and withdrawn ones too.")] = False,
) -> None:
    """The pending releases waiting for a second officer, newest first."""
    node = open_node(home)
    officer = reading(node, as_officer, "pending.list", {"all": every})
    reader = Principal(officer.name, officer.role)
    shown = [item.shown_to(reader) for item in releases.pending(node, every=every)]
    if as_json:
        print_json(shown, indent=False)
        return
    grid = table("id", "prepared", "by", "notification", "state", "headline", whole=("id",))
    for item in shown:
        state = item["state"] + (f" {item['ref']}" if item["ref"] else "")
        state += " (break-glass)" if item["break_glass"] else ""
        grid.add_row(
            item["id"],
            format_time(item["created"]),
            item["prepared_by"],
            f"{item['status']} {item['category']} TLP:{item['tlp']}",
            state,
            item["headline"] if item["headline"] is not None else f"({item['withheld']})",
        )
    show_table(grid, "No pending release waits for a second officer.")


@pending_app.command("withdraw")
@reports_errors
def withdraw_cmd(identifier: Identifier, home: HomeOption, as_officer: AsOption = None) -> None:
    """Withdraw a pending release unsigned (the officer who prepared it, or an administrator)."""
    node = open_node(home)
    roles = roles_for(Action.NOTIFY)
    officer = acting(node, as_officer, "pending.withdraw", {"id": identifier}, *roles)
    item = releases.withdraw(node, identifier, officer.name, officer.role, now_ms())
    _say(f"withdrew pending release {item.id} ({item.category}); nothing was signed or sent")


def register(root: typer.Typer) -> None:
    """Add ``release`` and ``pending`` to ``parley``."""
    root.command("release")(release_cmd)
    root.add_typer(pending_app, name="pending")
