"""``parley log``: low-level appends (admin only), listing, export and entry proofs.

Listing, export and proofs show what entries say: they need an officer who may read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    StatusOption,
    acting,
    audience_option,
    format_time,
    open_node,
    open_output,
    out,
    print_json,
    progress_bar,
    reading,
    ref_option,
    reports_errors,
    show_table,
    table,
    write_output,
)
from parley.core import merkle
from parley.core.canonical import parse_json
from parley.core.entry import ALL, Header
from parley.core.errors import InvalidEntryError, PolicyError
from parley.core.policy import PolicyDocument
from parley.node.export import build_proof, write_export
from parley.node.log import Draft
from parley.node.messaging import inbox
from parley.node.messaging.drafting import check_draft

app = typer.Typer(help="The node's own log.", no_args_is_help=True)
BATCH = 1000


def _jsonl_drafts(path: Path, policy: PolicyDocument) -> list[Draft]:
    drafts = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = parse_json(line, what=f"{path} line {number}")
                if not isinstance(item, dict):
                    raise InvalidEntryError("expected an object")
                unknown = set(item) - {"kind", "status", "body", "to", "tlp"}
                if unknown:
                    raise InvalidEntryError(f"unknown fields {sorted(unknown)}")
                drafts.append(
                    check_draft(
                        item.get("kind", ""),
                        item.get("status", ""),
                        item.get("body"),
                        item.get("to"),
                        item.get("tlp"),
                        policy=policy,
                    )
                )
            except (InvalidEntryError, PolicyError) as exc:
                raise type(exc)(f"{path} line {number}: {exc.message}", hint=exc.hint) from exc
    if not drafts:
        raise InvalidEntryError(f"{path}: no entries in the file", hint="one JSON object a line")
    return drafts


@app.command("append")
@reports_errors
def append(
    home: HomeOption,
    as_officer: AsOption = None,
    kind: Annotated[str | None, typer.Option(help="Entry kind.")] = None,
    status: StatusOption = None,
    body_file: Annotated[Path | None, typer.Option(help="Body as a JSON file.")] = None,
    to: Annotated[str | None, typer.Option(help="ALL or parties, e.g. US,KR.")] = None,
    tlp: Annotated[str | None, typer.Option(help="TLP 2.0 label.")] = None,
    jsonl: Annotated[Path | None, typer.Option(help="One entry per line.")] = None,
) -> None:
    """Append entries (admin only); print each seq and leaf hash once durable."""
    node = open_node(home)
    to = audience_option(node, to)
    policy = node.context().policy.document  # refuse what peers would store header-only
    if jsonl is not None:
        drafts = _jsonl_drafts(jsonl, policy)
    else:
        if kind is None or status is None or body_file is None:
            raise InvalidEntryError("give --kind, --status and --body-file, or --jsonl FILE")
        body = parse_json(body_file.read_bytes(), what=str(body_file))
        drafts = [check_draft(kind, status, body, to, tlp, policy=policy)]
    acting(node, as_officer, "log.append", {"entries": len(drafts)}, "admin")
    with progress_bar() as bar:
        task = bar.add_task("appending", total=len(drafts))
        for start in range(0, len(drafts), BATCH):
            for header in node.append(drafts[start : start + BATCH]):
                leaf_hash = merkle.leaf_hash(header.leaf).hex()
                sys.stdout.write(f"{header.ref} {leaf_hash}\n")
            bar.advance(task, min(BATCH, len(drafts) - start))


def _row(header: Header, leaf_hash: str) -> dict[str, Any]:
    doc = header.to_dict()
    doc["ref"] = header.ref
    doc["leaf_hash"] = leaf_hash
    return doc


@app.command("show")
@reports_errors
def show(
    home: HomeOption,
    as_officer: AsOption = None,
    start: Annotated[int, typer.Option("--from", help="First seq to show.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List entries of the node's own log."""
    node = open_node(home)
    reading(node, as_officer, "log.show", {"from": start, "limit": limit})
    rows = [_row(header, leaf_hash) for header, leaf_hash in inbox.own_log(node, start, limit)]
    if as_json:
        for row in rows:
            print_json(row, indent=False)
        return
    grid = table(
        "ref",
        "time",
        "kind",
        "status",
        "to",
        "tlp",
        "leaf hash",
        whole=("ref", "kind", "leaf hash"),
    )
    for row in rows:
        when = format_time(row["time"])
        audience = ALL if row["audience"] == ALL else ",".join(row["audience"])
        grid.add_row(
            row["ref"],
            when,
            row["kind"],
            row["status"],
            audience,
            row["tlp"],
            row["leaf_hash"][:16],
        )
    show_table(
        grid, f"No entries in {node.party}'s log from seq {start} on (it holds {node.size()})."
    )


@app.command("export")
@reports_errors
def export(file: Path, home: HomeOption, as_officer: AsOption = None) -> None:
    """Write a self-contained export: headers, bodies, checkpoints and key history."""
    node = open_node(home)
    reading(node, as_officer, "log.export", {"file": str(file)})
    total = node.size()
    with progress_bar() as bar, open_output(file) as handle:
        task = bar.add_task("exporting", total=total)
        count = write_export(
            node.store, node.party, handle, lambda done: bar.update(task, completed=done)
        )
    out.print(f"Exported {count} entries of {node.party} to {file}")


@app.command("proof")
@reports_errors
def proof(
    ref: str,
    home: HomeOption,
    as_officer: AsOption = None,
    output: Annotated[Path | None, typer.Option("--out", help="File (default stdout).")] = None,
) -> None:
    """Write an entry proof (entry, inclusion proof, checkpoint, key history) for offline use."""
    node = open_node(home)
    ref = ref_option(node, ref)
    reading(node, as_officer, "log.proof", {"ref": ref})
    data = orjson.dumps(build_proof(node.store, ref), option=orjson.OPT_INDENT_2) + b"\n"
    if output is None:
        sys.stdout.write(data.decode())
    else:
        write_output(output, data)
