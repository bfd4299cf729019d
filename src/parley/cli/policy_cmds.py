"""``parley policy``: draft a network policy, sign it as each member, adopt it.

The workflow: one member drafts the document from every member's ``parley node info --json``;
the draft file goes round and each member runs ``parley policy sign``; once every member has
signed, each runs ``parley policy adopt``, which appends it to its log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import orjson
import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    acting,
    file_error,
    format_duration,
    format_time,
    open_node,
    out,
    print_json,
    read_json,
    reports_errors,
    table,
)
from parley.core.errors import ParleyError, PolicyError
from parley.core.policy import SignedPolicy
from parley.node.node import Node, now_ms
from parley.node.policies import draft_policy

app = typer.Typer(help="The network policy every member signs.", no_args_is_help=True)


def _read(path: Path) -> SignedPolicy:
    body = read_json(path, "policy")
    try:
        return SignedPolicy.from_body(body)
    except ParleyError as exc:
        raise PolicyError(f"policy {path}: {exc.message}", hint=exc.hint) from exc


def _write(path: Path, policy: SignedPolicy) -> None:
    temp = path.with_suffix(path.suffix + ".tmp")
    try:
        temp.write_bytes(orjson.dumps(policy.to_body(), option=orjson.OPT_INDENT_2) + b"\n")
        os.replace(temp, path)
    except OSError as exc:
        raise file_error(exc, path) from exc


@app.command("draft")
@reports_errors
def draft(
    file: Path,
    network: Annotated[str, typer.Option(help="Network id, e.g. nea-exercise-2027.")],
    name: Annotated[str, typer.Option(help="Name of the agreement.")],
    member: Annotated[
        list[Path], typer.Option(help="A member's 'parley node info --json' output; repeat.")
    ],
    version: Annotated[
        int, typer.Option(help="Policy version (must exceed the one in force).")
    ] = 2,
    deadline_scale: Annotated[
        float, typer.Option(help="Scale deadlines (e.g. 0.01 for a demo network).")
    ] = 1.0,
    quorum: Annotated[int | None, typer.Option(help="Witness quorum k.")] = None,
    check_interval: Annotated[int, typer.Option(help="Communication check interval, ms.")] = 24
    * 3600
    * 1000,
) -> None:
    """Write an unsigned policy draft for the given members."""
    members = []
    for path in member:
        info = read_json(path, "--member")
        if not isinstance(info, dict) or not {"party", "name", "identity"} <= set(info):
            raise PolicyError(f"{path}: expected the output of 'parley node info --json'")
        members.append({k: str(info[k]) for k in ("party", "name", "identity")})
    document = draft_policy(
        network=network,
        name=name,
        members=members,
        created=now_ms(),
        version=version,
        witness_quorum=quorum,
        deadline_scale=deadline_scale,
        check_interval_ms=check_interval,
    )
    _write(file, SignedPolicy(document, {}))
    out.print(f"Draft policy {document.hash} for {', '.join(m['party'] for m in members)}")


@app.command("sign")
@reports_errors
def sign(file: Path, home: HomeOption, as_officer: AsOption = None) -> None:
    """Add this node's identity signature to a policy draft (in place)."""
    node, policy = _policy_for_admin(home, file, as_officer, "policy.sign")
    policy.add(policy.document.sign(node.party, node.identity()))
    _write(file, policy)
    missing = policy.missing()
    out.print(
        f"Signed policy {policy.hash} as {node.party}; "
        + (f"still missing: {', '.join(missing)}" if missing else "all members have signed")
    )


@app.command("adopt")
@reports_errors
def adopt(file: Path, home: HomeOption, as_officer: AsOption = None) -> None:
    """Append a policy that every member has signed; later entries name its hash."""
    node, policy = _policy_for_admin(home, file, as_officer, "policy.adopt")
    header = node.adopt_policy(policy)
    out.print(f"Adopted policy {policy.hash} as {header.ref}")


def _policy_for_admin(
    home: Path, file: Path, as_officer: str | None, action: str
) -> tuple[Node, SignedPolicy]:
    """The node and the policy in ``file``, once an administrator is authorised to act on it."""
    node = open_node(home)
    policy = _read(file)
    acting(node, as_officer, action, {"policy": policy.hash}, "admin")
    return node, policy


@app.command("show")
@reports_errors
def show(
    home: HomeOption,
    as_json: Annotated[bool, typer.Option("--json", help="The signed document as JSON.")] = False,
) -> None:
    """Print the policy in force: members, deadlines, limits and signatures (--json: as signed)."""
    node = open_node(home)
    policy = node.context().policy
    if as_json:
        print_json(policy.to_body())
        return
    doc = policy.document.to_dict()
    lines = [
        f"policy     {policy.hash}",
        f"network    {doc['network']}: {doc['name']}, version {doc['version']}",
        f"created    {format_time(doc['created'])}",
        f"members    {', '.join(m['party'] + ' (' + m['name'] + ')' for m in doc['members'])}",
        f"signed by  {', '.join(policy.signatures) or 'nobody yet'}"
        + (f"; missing {', '.join(policy.missing())}" if policy.missing() else ""),
        f"witnesses  quorum k = {doc['witness_quorum']}, {len(doc['witnesses'])} named",
        f"clocks     skew tolerance {format_duration(doc['skew_tolerance_ms'])}, "
        f"communication check every {format_duration(doc['check_interval_ms'])}",
        f"human ack  {', '.join(doc['human_ack'])}",
    ]
    for name, value in doc.get("quotas", {}).items():
        lines.append(f"quota      {name.replace('_', ' ')}: {value}")
    for name, value in doc.get("limits", {}).items():
        lines.append(f"limit      {name.replace('_', ' ')}: {value}")
    for name, value in doc.get("regime", {}).items():
        shown = format_duration(value) if name.endswith("_ms") else value
        lines.append(f"regime     {name.removesuffix('_ms').replace('_', ' ')}: {shown}")
    for line in lines:
        out.print(line, markup=False)
    grid = table(
        "class", "clock", "default", "min", "max", whole=("class", "clock"), title="Deadlines"
    )
    for klass, clocks in doc["deadlines"].items():
        for clock, bounds in clocks.items():
            grid.add_row(
                klass, clock, *(format_duration(bounds[k]) for k in ("default", "min", "max"))
            )
    out.print(grid)
