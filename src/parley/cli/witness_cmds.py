"""``parley witness``: external C2SP witnesses this node submits its checkpoints to.

Peers witness each other without configuration. An administrator may add any C2SP
``tlog-witness`` (a neutral observer's, a public witness network's) by URL and verifier key;
its cosignatures count toward the quorum k only where the network policy names that witness.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from parley.cli.common import (
    AsOption,
    HomeOption,
    acting,
    open_node,
    out,
    reports_errors,
    show_table,
    table,
)
from parley.core.checkpoint import parse_cosigner_vkey
from parley.node.federation import external_witnesses
from parley.node.node import now_ms

app = typer.Typer(help="External C2SP witnesses of this node's log.", no_args_is_help=True)


@app.command("add")
@reports_errors
def add(
    url: Annotated[str, typer.Argument(help="The witness's base URL (it serves /add-checkpoint).")],
    home: HomeOption,
    vkey: Annotated[str, typer.Option("--vkey", help="The witness's verifier key (C2SP vkey).")],
    as_officer: AsOption = None,
) -> None:
    """Submit this node's checkpoints to the witness at URL, checking its cosignatures by VKEY."""
    parsed = parse_cosigner_vkey(vkey)
    node = open_node(home)
    acting(node, as_officer, "witness.add", {"url": url, "name": parsed.name}, "admin")
    added = external_witnesses.add(node, url, vkey, now_ms())
    out.print(f"Added witness {escape(added.name)} at {escape(url)}")
    if not added.counts:
        out.print(
            "The network policy does not name this witness: its cosignatures are kept "
            "but do not count toward the quorum."
        )


@app.command("list")
@reports_errors
def list_(
    home: HomeOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The external witnesses, whether the policy names them, and their last answer."""
    items = [asdict(w) for w in external_witnesses.listed(open_node(home))]
    if as_json:
        sys.stdout.write(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    grid = table("name", "url", "counts toward k", "cosigned size", "last error", whole=("name",))
    for item in items:
        grid.add_row(
            escape(str(item["name"])),
            escape(str(item["url"])),
            "yes" if item["counts"] else "no",
            str(item["cosigned_size"] or "-"),
            escape(str(item["last_error"] or "")),
        )
    show_table(grid, "No external witnesses: only peers cosign this log ('parley witness add').")


@app.command("remove")
@reports_errors
def remove(name: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Stop submitting to witness NAME (its cosignatures already kept stay)."""
    node = open_node(home)
    acting(node, as_officer, "witness.remove", {"name": name}, "admin")
    external_witnesses.remove(node, name)
    out.print(f"Removed witness {escape(name)}")
