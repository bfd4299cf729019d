"""``parley inquire``, ``reply``, ``checks``, ``compliance`` and ``status``: deadlines by hand.

``inquire`` and ``reply`` act for a duty officer or an administrator (``--as``, audited).
``checks`` lists the communication checks this node sent with each clock's outcome;
``compliance`` shows the scoreboard (docs/protocol.md §12); ``status`` is the node's health at a
glance: peers, open deadlines with countdowns, missed and late ones, and alerts (held peers,
equivocations).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    acting,
    format_duration,
    format_time,
    open_node,
    out,
    print_json,
    ref_option,
    reports_errors,
    show_table,
)
from parley.cli.common import table as grid
from parley.core.deadlines import duration_unit, parse_duration
from parley.node import health
from parley.node.messaging import checks, compliance, inquiries
from parley.node.node import now_ms


def clock_text(clock: dict[str, Any]) -> str:
    """One clock in a few words: met, late +4 s, missed +1 min 2 s, 25 s left, open."""
    state = clock["state"]
    if state in ("late", "missed"):
        text = f"{state} +{format_duration(clock['late_by'])}"
    elif state == "pending":
        remaining = clock["remaining"]
        text = "open" if remaining is None else f"{format_duration(remaining)} left"
    else:
        text = state
    if not clock["witnessed"]:
        text += " (unwitnessed)"
    if clock["skew"]:
        text += " (clock skew)"
    return text


def inquire(
    ref: Annotated[str, typer.Argument(help="The entry asked about, e.g. CN:12.")],
    home: HomeOption,
    question: Annotated[str, typer.Option(help="The question (at most 20,000 characters).")],
    reply_within: Annotated[
        str | None, typer.Option(help="Reply deadline, e.g. 30s, 10m, 48h (policy default).")
    ] = None,
    as_officer: AsOption = None,
) -> None:
    """Ask the author of an entry a question, with a reply deadline."""
    node = open_node(home)
    ref = ref_option(node, ref)
    within = None if reply_within is None else parse_duration(reply_within, "--reply-within")
    acting(node, as_officer, "inquire", {"ref": ref}, "duty-officer", "admin")
    unit = None if reply_within is None else duration_unit(reply_within)
    header = inquiries.inquire(node, ref, question, within, now_ms(), unit=unit)
    out.print(f"Inquiry {header.ref} about {ref} sent to {', '.join(header.audience)}")


def reply(
    ref: Annotated[str, typer.Argument(help="The inquiry, e.g. US:31.")],
    home: HomeOption,
    text: Annotated[str, typer.Option(help="The answer (at most 20,000 characters).")],
    as_officer: AsOption = None,
) -> None:
    """Answer an inquiry addressed to this node."""
    node = open_node(home)
    ref = ref_option(node, ref)
    acting(node, as_officer, "reply", {"ref": ref}, "duty-officer", "admin")
    header = inquiries.reply(node, ref, text, now_ms())
    out.print(f"Reply {header.ref} to {ref}")


def checks_cmd(home: HomeOption, as_json: JsonOption = False) -> None:
    """The communication checks this node sent, newest first, with their outcome per peer."""
    node = open_node(home)
    rows = checks.listed(node, now_ms())
    if as_json:
        print_json(rows)
        return
    table = grid("check", "peer", "sent", "delivered", "acknowledged", whole=("check", "peer"))
    for row in rows:
        table.add_row(
            row["ref"],
            row["peer"],
            format_time(row["sent"]),
            clock_text(row["delivered"]),
            clock_text(row["acknowledged"]),
        )
    show_table(
        table,
        f"No communication checks sent by {node.party} yet: a running server "
        "sends one to every peer at the policy's check interval.",
    )


def compliance_cmd(
    home: HomeOption,
    as_json: JsonOption = False,
    public: Annotated[
        bool, typer.Option("--public", help="Only audience ALL + TLP CLEAR traffic.")
    ] = False,
) -> None:
    """Per party: median and p95 time to deliver and to acknowledge, and misses."""
    node = open_node(home)
    board = compliance.scoreboard(node, now_ms(), public_only=public)
    if as_json:
        print_json(board)
        return
    table = grid(
        "party",
        "clock",
        "answers",
        "median",
        "p95",
        "met",
        "late",
        "missed",
        whole=("party", "clock"),
    )
    for party, clocks in board["parties"].items():
        for clock, f in clocks.items():
            median, p95 = f["median_ms"], f["p95_ms"]
            table.add_row(
                party,
                clock,
                str(f["answers"]),
                "-" if median is None else format_duration(median),
                "-" if p95 is None else format_duration(p95),
                str(f["met"]),
                str(f["late"]),
                str(f["missed"]),
            )
    out.print(
        f"Compliance ({board['scope']}) as of {format_time(board['as_of'])}, "
        f"witnessed times with k = {board['witness_quorum']}"
    )
    show_table(
        table,
        "No figures yet: no addressed entry has been answered or missed"
        + (" in ALL + CLEAR traffic." if public else "."),
    )


def status_cmd(home: HomeOption, as_json: JsonOption = False) -> None:
    """Node health: peers, open deadlines with countdowns, missed deadlines, alerts."""
    node = open_node(home)
    shown = health.health(node, now_ms())
    if as_json:
        print_json(shown.to_dict())
        return
    out.print(f"{shown.node} at {format_time(shown.time)}")
    peer_table = grid(
        "peer", "health", "synced", "lag", "last success", "error", whole=("peer", "health")
    )
    for peer in shown.peers:
        lag = peer.lag
        peer_table.add_row(
            peer.party,
            peer.health,
            str(peer.synced),
            "-" if lag is None else str(lag),
            format_time(peer.last_success),
            (peer.last_error or "")[:60],
        )
    show_table(
        peer_table, "No peers pinned: this node federates with no one yet ('parley peers add')."
    )
    _deadline_table(
        "Open deadlines",
        shown.open,
        lambda r: (
            f"{format_duration(r['remaining'])} left"
            if r["remaining"] >= 0
            else f"due {format_duration(-r['remaining'])} ago"
        ),
        "no clock is running: every deadline sent or received is answered",
    )
    _deadline_table(
        "Missed and late",
        shown.missed,
        lambda r: (
            r["state"] + (f", escalated {format_time(r['escalated'])}" if r["escalated"] else "")
        ),
        "no deadline has run out",
    )
    for alert in shown.alerts:  # a peer's words (observation details): never markup
        out.print(f"[bold red]ALERT[/] {alert.type} {alert.party}: {escape(str(alert.detail))}")
    if not shown.alerts:
        out.print("No alerts.")


def _deadline_table(title: str, rows: list[dict[str, Any]], state: Any, why: str) -> None:
    if not rows:
        out.print(f"{title}: none ({why}).")
        return
    table = grid(
        "entry",
        "kind",
        "addressee",
        "clock",
        "due",
        "state",
        title=title,
        whole=("entry", "kind", "addressee", "clock"),
    )
    for row in rows:
        table.add_row(
            row["entry"],
            row["kind"],
            row["addressee"],
            row["clock"],
            format_time(row["due"]),
            state(row),
        )
    out.print(table)


def register(root: typer.Typer) -> None:
    """Add the deadline, inquiry, check, compliance and status commands to ``parley``."""
    root.command("inquire")(reports_errors(inquire))
    root.command("reply")(reports_errors(reply))
    root.command("checks")(reports_errors(checks_cmd))
    root.command("compliance")(reports_errors(compliance_cmd))
    root.command("status")(reports_errors(status_cmd))
