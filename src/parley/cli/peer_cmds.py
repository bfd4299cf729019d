"""``parley peers``, ``parley sync``, ``parley ack`` and ``parley receipts``: federation by hand.

Pinning and unpinning peers are administrator actions (``--as``, audited). ``parley sync``
pulls every pinned peer now (or one), with a progress bar on stderr, and exits non-zero if any
pull failed. ``parley ack`` appends an ``acknowledged`` receipt for a duty officer or an
administrator; ``parley receipts`` shows each addressee's answers to an entry.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    acting,
    err_console,
    format_time,
    member_code,
    open_node,
    out,
    print_json,
    progress_bar,
    reading,
    ref_option,
    reports_errors,
    show_table,
)
from parley.cli.common import table as grid
from parley.core import merkle
from parley.core.deadlines import CLOCKS, parse_duration
from parley.core.errors import ParleyError
from parley.node import health
from parley.node.access import CLEARANCE
from parley.node.federation import peers
from parley.node.federation.pull import sync_peer
from parley.node.messaging import clock_views, receipts
from parley.node.node import Node, now_ms

app = typer.Typer(help="Pinned peers: who this node federates with.", no_args_is_help=True)


@app.command("add")
@reports_errors
def add(
    url: Annotated[str, typer.Argument(help="The peer's URL, e.g. https://cn.example:8700.")],
    home: HomeOption,
    party: Annotated[str, typer.Option(help="The peer's party code, e.g. CN.")],
    key: Annotated[str, typer.Option(help="The peer's identity key (base64), from its admin.")],
    tls_spki: Annotated[
        str | None, typer.Option(help="SHA-256 (hex) of the peer's TLS SPKI, for https URLs.")
    ] = None,
    as_officer: AsOption = None,
) -> None:
    """Pin a peer: check it against the policy and its own key statement, then store it."""
    node = open_node(home)
    party = member_code(node, party, what="--party")
    acting(node, as_officer, "peers.add", {"party": party, "url": url}, "admin")
    peer = peers.pin_peer(node, url, party, key, tls_spki, now_ms())
    out.print(f"Pinned {peer.party} at {peer.url}")
    for name, shown in peer.fingerprints().items():
        out.print(f"  {name:9} {shown}")
    if peer.tls_spki:
        out.print(f"  {'tls spki':9} {peer.tls_spki}")
    out.print("Compare these fingerprints with the peer's administrator out of band.")


@app.command("list")
@reports_errors
def list_(
    home: HomeOption,
    as_json: JsonOption = False,
) -> None:
    """Each peer's party, last checkpoint seen, our synced size, lag and health."""
    node = open_node(home)
    states = health.peer_states(node)
    if as_json:
        print_json([state.to_dict() for state in states])
        return
    table = grid(
        "party",
        "url",
        "checkpoint",
        "synced",
        "lag",
        "health",
        "last success",
        "error",
        whole=("party", "health"),
    )
    for state in states:
        seen, lag = state.checkpoint, state.lag
        table.add_row(
            state.party,
            state.url,
            "-" if seen is None else str(seen),
            str(state.synced),
            "-" if lag is None else str(lag),
            state.health,
            format_time(state.last_success),
            (state.held or state.last_error or "")[:60],
        )
    show_table(
        table,
        "No peers pinned: this node federates with no one yet "
        "('parley peers add URL --party XX --key KEY').",
    )


@app.command("remove")
@reports_errors
def remove(party: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Unpin a peer (its entries stay: they are signed history)."""
    node, party = _peer_for_admin(home, party, as_officer, "peers.remove")
    peers.remove_peer(node.store, party)
    out.print(f"Removed peer {party}")


@app.command("release")
@reports_errors
def release(party: str, home: HomeOption, as_officer: AsOption = None) -> None:
    """Resume pulling from a peer held after a fork (once the evidence has been dealt with)."""
    node, party = _peer_for_admin(home, party, as_officer, "peers.release")
    peers.get_peer(node.store, party)
    peers.release(node.store, party)
    out.print(f"Released peer {party}")


def _peer_for_admin(
    home: Path, party: str, as_officer: str | None, action: str
) -> tuple[Node, str]:
    """The node and the peer's party code as the policy writes it, once an admin is authorised."""
    node = open_node(home)
    party = member_code(node, party)
    acting(node, as_officer, action, {"party": party}, "admin")
    return node, party


def sync(
    home: HomeOption,
    peer: Annotated[str | None, typer.Option(help="Pull only this peer.")] = None,
    mirrors: Annotated[bool, typer.Option(help="Fall back to mirrors if a peer is down.")] = True,
) -> None:
    """Pull every pinned peer's log now: verify, store, receipt; progress on stderr."""
    node = open_node(home)
    if peer is not None:
        parties = [member_code(node, peer, what="--peer")]
    else:
        parties = [p.party for p in peers.list_peers(node.store)]
    failed = 0
    with progress_bar() as bar:
        for party in parties:
            task = bar.add_task(f"{party}", total=None)

            def advance(done: int, total: int, task: Any = task) -> None:
                bar.update(task, completed=done, total=total)

            try:
                report = sync_peer(node, party, progress=advance, use_mirrors=mirrors)
            except ParleyError as exc:
                failed += 1
                err_console.print(f"[bold red]{party}:[/] {exc}", markup=True, highlight=False)
                continue
            finally:
                bar.remove_task(task)
            note = "; ".join(report.notes)
            out.print(
                f"{party}: {report.before} -> {report.after} of {report.remote} via {report.via}, "
                f"{report.stored} stored, {report.receipts} receipts, "
                f"{report.observations} observations" + (f" ({note})" if note else "")
            )
    if failed:
        raise typer.Exit(8)


def ack(
    ref: Annotated[str, typer.Argument(help="The entry, e.g. JP:42.")],
    home: HomeOption,
    reply: Annotated[
        str | None, typer.Option(help="A short reply (at most 500 characters).")
    ] = None,
    as_officer: AsOption = None,
) -> None:
    """Acknowledge an entry addressed to this node (duty officer or admin)."""
    node = open_node(home)
    ref = ref_option(node, ref)
    officer = acting(node, as_officer, "ack", {"ref": ref}, "duty-officer", "admin")
    header = receipts.acknowledge(node, ref, officer.name, reply, now_ms())
    out.print(f"Acknowledged {ref} as {header.ref} {merkle.leaf_hash(header.leaf).hex()}")


def receipts_cmd(
    ref: Annotated[str, typer.Argument(help="The entry, e.g. US:7.")],
    home: HomeOption,
    as_json: JsonOption = False,
    as_officer: AsOption = None,
    wait: Annotated[
        str | None,
        typer.Option(
            "--wait",
            help="Wait up to this long (e.g. 30s, 5m) for every addressee to reach --until.",
        ),
    ] = None,
    until: Annotated[
        str,
        typer.Option(
            "--until",
            help="With --wait: delivered (default) or acknowledged.",
        ),
    ] = "delivered",
) -> None:
    """Each addressee's status for an entry, with claimed and observed times (an officer's).

    With ``--wait``, the command returns as soon as every addressee has delivered (or
    acknowledged) the entry, and exits 1 if the time ran out first.
    """
    node = open_node(home)
    ref = ref_option(node, ref)
    timeout_s = None if wait is None else parse_duration(wait, "--wait") / 1000
    officer = reading(node, as_officer, "receipts", {"ref": ref})  # replies: officers' words
    report = clock_views.receipt_report(
        node, ref, until=until, timeout_s=timeout_s, clearance=CLEARANCE[officer.role]
    )
    if as_json:
        print_json(report.to_dict())
    else:
        _receipts_table(report)
    if not report.reached:
        header, rows = report.header, report.addressees
        waiting = ", ".join(r.party for r in rows if r.status not in receipts.REACHED[until])
        sys.stderr.write(
            f"Not every addressee {until} {header.ref} within {wait}: still waiting for {waiting}\n"
        )
        raise typer.Exit(1)


def _receipts_table(report: clock_views.ReceiptReport) -> None:
    header = report.header
    table = grid(
        "party",
        "status",
        "delivered (claimed)",
        "delivered (observed)",
        "acknowledged (claimed)",
        "by",
        "reply",
        "delivered deadline",
        "acknowledged deadline",
        whole=("party",),
    )
    for row in report.addressees:
        got, done = row.delivered or {}, row.acknowledged or {}
        shown = [_clock_text(report.clock(row.party, clock)) for clock in CLOCKS]
        table.add_row(
            row.party,
            escape(row.header_only or row.status),
            format_time(got.get("claimed")),
            format_time(got.get("observed")),
            format_time(done.get("claimed")),
            done.get("officer") or "",
            done.get("reply") or ("(withheld)" if done.get("reply_withheld") else ""),
            *shown,
        )
    out.print(
        f"{header.ref} {header.kind} {header.status} sent {format_time(header.time)}, "
        f"witnessed {format_time(report.judged.witnessed)}"
    )
    show_table(table, f"{header.ref} is addressed to no other party: nobody owes it a receipt.")


def _clock_text(clock: dict[str, Any] | None) -> str:
    from parley.cli.deadline_cmds import clock_text

    return "-" if clock is None else clock_text(clock)


def register(root: typer.Typer) -> None:
    """Add ``peers``, ``webhooks`` and the top-level federation commands to ``parley``."""
    from parley.cli import webhook_cmds

    root.add_typer(app, name="peers")
    root.add_typer(webhook_cmds.app, name="webhooks")
    root.command("sync")(reports_errors(sync))
    root.command("ack")(reports_errors(ack))
    root.command("receipts")(reports_errors(receipts_cmd))
