"""``parley webhooks``: where the node's events go, and what became of each delivery."""

from __future__ import annotations

from typing import Annotated

import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    acting,
    format_time,
    open_node,
    out,
    print_json,
    reports_errors,
    show_table,
    table,
)
from parley.node import webhooks
from parley.node.node import now_ms

app = typer.Typer(help="Webhooks: signed event deliveries with retries.", no_args_is_help=True)


@app.command("add")
@reports_errors
def add(
    url: str,
    home: HomeOption,
    event: Annotated[
        list[str] | None,
        typer.Option(
            help="Event to send (repeat; default all): peer.held, peer.failing, observation, "
            "deadline.missed, deadline.late, subscription.match"
        ),
    ] = None,
    as_officer: AsOption = None,
) -> None:
    """Send events to URL (POST, JSON, signed with the node's http key)."""
    node = open_node(home)
    acting(node, as_officer, "webhooks.add", {"url": url}, "admin")
    hook = webhooks.add(node.store, url, list(event or []), now_ms())
    out.print(f"Added webhook {hook.id} -> {hook.url} for {', '.join(hook.events)}")
    out.print(f"Payloads are signed by http key {node.log.key('http').kid} ('parley node info').")


@app.command("list")
@reports_errors
def list_(home: HomeOption) -> None:
    """The webhooks and the state of their outbox."""
    node = open_node(home)
    rows = webhooks.outbox(node.store, limit=10_000)
    hooks = webhooks.listed(node.store)
    if not hooks:
        out.print("No webhooks: nothing is sent out ('parley webhooks add URL').", markup=False)
    for hook in hooks:
        mine = [r for r in rows if r["webhook"] == hook.id]
        counts = {
            s: sum(r["status"] == s for r in mine) for s in ("pending", "delivered", "failed")
        }
        out.print(
            f"{hook.id:4} {hook.url}  events={','.join(hook.events)}  "
            + "  ".join(f"{k}={v}" for k, v in counts.items())
        )


@app.command("remove")
@reports_errors
def remove(identifier: int, home: HomeOption, as_officer: AsOption = None) -> None:
    """Stop sending to a webhook (its outbox rows stay, for the record)."""
    node = open_node(home)
    acting(node, as_officer, "webhooks.remove", {"id": identifier}, "admin")
    webhooks.remove(node.store, identifier)
    out.print(f"Removed webhook {identifier}")


@app.command("outbox")
@reports_errors
def outbox(
    home: HomeOption,
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every delivery with its attempts and last error, newest first."""
    node = open_node(home)
    rows = webhooks.outbox(node.store, status)
    if as_json:
        print_json(rows)
        return
    grid = table(
        "id",
        "event",
        "url",
        "status",
        "attempts",
        "created",
        "next",
        "last error",
        whole=("id", "status"),
    )
    for r in rows:
        error = (r["last_error"] or "")[:60]
        grid.add_row(
            str(r["id"]),
            r["event"],
            r["url"],
            r["status"],
            str(r["attempts"]),
            format_time(r["created"]),
            format_time(r["next_attempt"]),
            error,
        )
    why = f" of {status} deliveries." if status else ": no webhook has had anything to send."
    show_table(grid, "The outbox is empty" + why)
