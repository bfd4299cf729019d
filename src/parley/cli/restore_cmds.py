"""``parley restore``: bring a node whose database was lost back from its peers' mirrors.

The home (``parley.toml``, ``keys/``) must survive; the peers to ask are given on the command
line or in a peers file, since their pins were in the lost database. The workflow and its
refusals are ``parley.node.federation.restore``'s; this command prints what was restored, what was
not (bodies no peer holds), then pulls the peers' logs as ``parley sync`` does and reminds the
administrator of what lives in no log (officers, webhooks, external witnesses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from parley.cli.common import (
    HomeOption,
    err_console,
    out,
    passphrase_source,
    reports_errors,
)
from parley.core.errors import ParleyError
from parley.node import officers
from parley.node.federation.pull import sync_peer
from parley.node.federation.restore import RestoreReport, open_for_restore
from parley.node.federation.restore import restore as restore_log
from parley.node.federation.restore_contacts import PeerAddress, read_peers_file
from parley.node.node import Node, now_ms


def restore(
    home: HomeOption,
    from_peers: Annotated[
        Path | None,
        typer.Option("--from-peers", help="Peers file: 'parley peers list --json' output."),
    ] = None,
    peer: Annotated[
        list[str] | None, typer.Option("--peer", help="A peer's URL (repeat per peer).")
    ] = None,
    party: Annotated[
        list[str] | None, typer.Option("--party", help="Its party code, once per --peer.")
    ] = None,
    key: Annotated[
        list[str] | None, typer.Option("--key", help="Its identity key (base64), once per --peer.")
    ] = None,
    tls_spki: Annotated[
        list[str] | None,
        typer.Option(help="Its TLS SPKI pin, once per --peer ('-' for a loopback http peer)."),
    ] = None,
    sync: Annotated[
        bool, typer.Option(help="Pull the peers' logs once the own log is restored.")
    ] = True,
) -> None:
    """Recover this node's own log from its peers' mirrors into a fresh database."""
    addresses = _addresses(from_peers, peer or [], party or [], key or [], tls_spki or [])
    node = open_for_restore(home, passphrase_source)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=err_console,
    ) as bar:
        task = bar.add_task(f"{node.party} (own log)", total=None)
        report = restore_log(
            node, addresses, lambda done, total: bar.update(task, completed=done, total=total)
        )
    officers.record(
        node.store,
        "host",
        "node.restore",
        {"size": report.size, "via": report.via, "peers": report.pinned},
        "ok",
        now_ms(),
    )
    _print(report)
    failed = _pull(node, report.pinned) if sync else 0
    out.print(
        "Officers are in no log: create them again ('PARLEY_NEW_PASSWORD=... parley user add "
        "NAME --role admin'), then re-add webhooks and external witnesses."
    )
    if failed:
        raise typer.Exit(8)


def _addresses(
    path: Path | None, urls: list[str], parties: list[str], keys: list[str], pins: list[str]
) -> list[PeerAddress]:
    found = [] if path is None else read_peers_file(path)
    if len(parties) != len(urls) or len(keys) != len(urls) or len(pins) not in (0, len(urls)):
        raise ParleyError(
            "give --party and --key once per --peer (and --tls-spki once per --peer, or never)",
            hint="e.g. --peer https://us.example:8700 --party US --key B64 --tls-spki HEX",
        )
    for index, url in enumerate(urls):
        pin = pins[index] if pins else None
        found.append(PeerAddress.parse(url, parties[index].strip().upper(), keys[index], pin))
    return found


def _print(report: RestoreReport) -> None:
    out.print(
        f"Restored {report.party}'s log: {report.size} entries, root {report.root.hex()}, "
        f"from {report.via}'s mirror; {report.checkpoints} checkpoints agree"
    )
    indexed = ", ".join(f"{count} {name}" for name, count in report.indexed.items())
    out.print(f"Rebuilt indexes: {indexed}; kept {report.cosignatures} cosignatures")
    out.print(f"Pinned again: {', '.join(report.pinned) or 'none'}")
    if report.lost:
        out.print(f"{len(report.lost)} bodies no peer holds (stored header-only, flag body-lost):")
        for line in report.lost:
            out.print(f"  {line}")
    for ref in report.evidence:
        out.print(f"Evidence entry {ref}: check which peers must stay held ('parley peers list')")
    for note in report.notes:
        out.print(f"note: {note}")


def _pull(node: Node, parties: list[str]) -> int:
    """Pull each re-pinned peer's log as 'parley sync' does; return how many failed."""
    failed = 0
    for party in parties:
        try:
            pulled = sync_peer(node, party)
        except ParleyError as exc:
            failed += 1
            err_console.print(f"[bold red]{party}:[/] {exc}", markup=True, highlight=False)
            continue
        out.print(f"{party}: {pulled.after} entries via {pulled.via}, {pulled.receipts} receipts")
    return failed


def register(root: typer.Typer) -> None:
    """Add ``parley restore`` to ``parley``."""
    root.command("restore")(reports_errors(restore))
