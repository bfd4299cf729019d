r"""``parley inbox`` and ``parley show``: find what arrived, and read one entry whole.

Thin commands over ``parley.node.messaging.inbox``; both show what entries say, so they name and
authenticate an officer who may read (``reading``, audited). What a peer wrote (summaries,
bodies) is printed as plain text, never as Rich markup, with control and bidirectional-format
characters shown as escapes, as ``hotline log`` does.

``inbox --follow`` prints the page, then polls for what arrives after its cursor every 0.5 s
until Ctrl-C (or, for scripts and tests, for ``--follow-for SECONDS``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
import typer
from rich.text import Text

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    format_time,
    member_code,
    open_node,
    out,
    print_json,
    readable,
    reading,
    ref_option,
    reports_errors,
)
from parley.cli.common import table as grid
from parley.cli.deadline_cmds import clock_text
from parley.cli.hotline_cmds import visible
from parley.node.access import CLEARANCE
from parley.node.messaging import inbox
from parley.node.node import Node, now_ms

POLL_S = 0.5


def clocks_text(clocks: list[dict[str, Any]]) -> str:
    """The running clocks of an item: ``acknowledged 2.0s left``; "-" when none runs."""
    return ", ".join(f"{c['clock']} {clock_text(c)}" for c in clocks) or "-"


def _table(items: list[inbox.Item]) -> Any:
    table = grid(
        "ref",
        "time",
        "kind",
        "from",
        "status",
        "tlp",
        "receipt",
        "clocks",
        "summary",
        whole=("ref", "kind", "from", "receipt"),
    )
    for item in items:
        table.add_row(
            item.ref,
            format_time(item.time),
            item.kind,
            item.author,
            item.status,
            item.tlp,
            item.receipt,
            clocks_text(item.clocks),
            Text(visible(item.summary)),
        )
    return table


def _print_page(page: inbox.Page, as_json: bool) -> None:
    if as_json:
        print_json(page.to_dict())
    elif page.items:
        out.print(_table(page.items))
    else:
        out.print(page.empty or "nothing", markup=False)


def _follow(
    node: Node,
    filters: inbox.Filters,
    cursor: int,
    as_json: bool,
    seconds: float | None,
    clearance: frozenset[str],
) -> None:
    """Print new items as they arrive, oldest first, until Ctrl-C or ``seconds`` pass."""
    stop = None if seconds is None else time.monotonic() + seconds
    try:
        while stop is None or time.monotonic() < stop:
            page = inbox.listing(
                node, now_ms(), filters, after=cursor, limit=inbox.MAX_LIMIT, clearance=clearance
            )
            cursor = page.cursor
            for item in reversed(page.items):
                if as_json:
                    print_json(item.to_dict(), indent=False)
                else:
                    out.print(_table([item]))
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        return


def inbox_cmd(
    home: HomeOption,
    as_officer: AsOption = None,
    party: Annotated[str | None, typer.Option("--party", help="Only from this party.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. hotline.")] = None,
    category: Annotated[
        str | None, typer.Option(help="Only notifications of this category, e.g. geo.tsunami.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only Actual, Exercise, Test or Draft.")
    ] = None,
    unacknowledged: Annotated[
        bool, typer.Option("--unacknowledged", help="Only what this node has not acknowledged.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many items.")] = inbox.DEFAULT_LIMIT,
    before: Annotated[
        int | None, typer.Option(help="Older page: items ingested before this cursor.")
    ] = None,
    as_json: JsonOption = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep printing new items until Ctrl-C.")
    ] = False,
    follow_for: Annotated[
        float | None, typer.Option("--follow-for", hidden=True, help="Follow this many seconds.")
    ] = None,
) -> None:
    """What other parties addressed to this node, newest first, with receipts and clocks."""
    node = open_node(home)
    party = None if party is None else member_code(node, party, what="--party")
    filters = inbox.Filters(party, kind, category, status, unacknowledged)
    filters.check()
    officer = reading(node, as_officer, "inbox", {"filters": filters.described(), "limit": limit})
    clearance = CLEARANCE[officer.role]
    page = inbox.listing(node, now_ms(), filters, before=before, limit=limit, clearance=clearance)
    _print_page(page, as_json)
    if page.older is not None and not as_json:
        out.print(f"older: parley inbox --before {page.older}", markup=False)
    if follow or follow_for is not None:
        _follow(node, filters, page.cursor, as_json, follow_for, clearance)


def show_cmd(
    ref: Annotated[str, typer.Argument(help="Any entry held here, e.g. CN:15.")],
    home: HomeOption,
    as_officer: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """One entry: its header, its body (decoded) or why not, and each addressee's answers."""
    node = open_node(home)
    ref = ref_option(node, ref)
    officer = reading(node, as_officer, "show", {"ref": ref})
    shown = inbox.entry(node, ref, now_ms(), clearance=CLEARANCE[officer.role])
    if as_json:
        print_json(shown.to_dict())
        return
    header = shown.header
    audience = header["audience"] if header["audience"] == "ALL" else ",".join(header["audience"])
    out.print(
        Text(
            f"{shown.ref}  {header['kind']}  {header['status']}  TLP:{header['tlp']}  "
            f"to {audience}",
            style="bold",
        )
    )
    for name, value in (
        ("time", f"{format_time(header['time'])} (claimed)"),
        ("witnessed", format_time(shown.witnessed)),
        ("leaf hash", shown.leaf_hash),
        ("body hash", header["body_hash"]),
        ("policy", header["policy"]),
        ("kid", header["kid"]),
        ("ingest", str(shown.ingest)),
    ):
        out.print(Text(f"  {name:10} {value}"))
    if shown.body is not None:
        text = orjson.dumps(readable(shown.body), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        out.print(Text(visible(text.decode())))
    else:
        out.print(
            Text(f"  body not shown: {visible(shown.why_no_body or 'not held')}", style="yellow")
        )
    for addressee in shown.addressees:
        why = addressee.get("header_only")
        clocks = clocks_text(addressee["clocks"])
        out.print(
            Text(f"  {addressee['party']}: {visible(why or addressee['status'])}; clocks {clocks}")
        )


def register(root: typer.Typer) -> None:
    """Add ``inbox`` and ``show`` to ``parley``."""
    root.command("inbox")(reports_errors(inbox_cmd))
    root.command("show")(reports_errors(show_cmd))
