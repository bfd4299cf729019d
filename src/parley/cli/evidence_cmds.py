"""``parley evidence``: export an entry with its receipts as an evidence bundle for offline use.

The bundle (docs/protocol.md, Evidence bundles) is verified with ``parley verify bundle FILE``
on any machine, with no node. This module also prints what a verified bundle establishes.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    err_console,
    open_node,
    out,
    reading,
    ref_option,
    reports_errors,
    write_output,
)
from parley.core.bundle import BundleReport, Said
from parley.core.entry import ALL
from parley.formats.notification import render_headline
from parley.node.access import CLEARANCE
from parley.node.evidence import build_bundle, key_history_parties, members_not_held

app = typer.Typer(help="Evidence bundles: an entry, its receipts and proofs.", no_args_is_help=True)


@app.command("export")
@reports_errors
def export(
    ref: Annotated[str, typer.Argument(help="The entry, as PARTY:SEQ (e.g. JP:42).")],
    home: HomeOption,
    output: Annotated[Path | None, typer.Option("--out", help="File (default stdout).")] = None,
    without_body: Annotated[
        bool,
        typer.Option(
            "--without-body",
            help="Leave the entry's body out, and every "
            "acknowledgement whose body carries a reply.",
        ),
    ] = False,
    as_officer: AsOption = None,
) -> None:
    """Write the entry, every receipt about it, their cosigned checkpoints and the key history."""
    node = open_node(home)
    ref = ref_option(node, ref)
    officer = reading(
        node, as_officer, "evidence.export", {"ref": ref, "without_body": without_body}
    )
    left_out: list[str] = []
    bundle = build_bundle(
        node,
        ref,
        with_body=not without_body,
        left_out=left_out,
        clearance=CLEARANCE[officer.role],
    )
    data = orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n"
    if output is None:
        sys.stdout.write(data.decode())
    else:
        write_output(output, data)
    held = key_history_parties(bundle)
    missing = members_not_held(node, bundle)
    console = out if output is not None else err_console
    console.print(
        f"Bundle of {bundle['ref']}: receipts {len(bundle['receipts'])}, key histories of "
        f"{', '.join(held) or 'none'}" + (f" -> {output}" if output else "")
    )
    if not without_body and "body" not in bundle["entry"]["entry"]:
        err_console.print(
            f"note: the entry's body is not in the bundle: not held here, or above the "
            f"clearance of a {officer.role}"
        )
    if left_out:
        err_console.print(
            f"note: {len(left_out)} acknowledgement(s) with a reply left out "
            f"({', '.join(left_out)}): the reply is in the body, which proves the receipt's link"
        )
    if missing:
        err_console.print(
            f"warning: no log of {', '.join(missing)} held here: their cosignatures will not "
            "count ('parley sync' first)"
        )


def when(ms: int) -> str:
    """A time in ms as ISO 8601 UTC with milliseconds."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _summary(said: Said) -> str:
    header, body = said.header, said.body
    if not isinstance(body, dict):
        return "body not in the bundle" if body is None else "body present"
    if header.kind == "notification":
        return f"{body.get('category', '?')}: {render_headline(body)}"
    if header.kind == "receipt":
        entry: Any = body.get("entry", {})
        extra = "".join(f" {k}={body[k]!r}" for k in ("officer", "reply") if body.get(k))
        return f"{body.get('type')} for {entry.get('ref')}{extra}"
    text = body.get("text") or body.get("question") or body.get("title") or body.get("type")
    return str(text) if text is not None else f"{header.kind} body present"


def _witnessed(said: Said) -> str:
    w = said.witnessing
    who = ", ".join(f"{name.rsplit('/', 1)[-1]} {when(ms)}" for name, ms in w.cosigners)
    if w.k == 0:
        return f"existed no later than {when(w.checkpoint_time)} (k=0: the log's own time)"
    if w.bound is None:
        return f"under quorum: {len(w.cosigners)} of k={w.k} cosignatures ({who or 'none'})"
    second = when(w.bound).replace(".000Z", "Z")
    return (
        f"existed no later than {second} (±1 s: cosignature times are whole seconds, so "
        f"before {when(w.bound + w.precision_ms)}; k={w.k}; cosigned by {who})"
    )


def _show_said(said: Said, role: str) -> None:
    h = said.header
    audience = "ALL" if h.audience == ALL else ",".join(h.audience)
    out.print(f"{role} {h.ref} {h.kind} [{h.status}] TLP:{h.tlp} from {h.party} to {audience}")
    out.print(f"  says      {_summary(said)}")
    out.print(f"  claimed   {when(h.time)}")
    out.print(f"  witnessed {_witnessed(said)}")
    out.print(
        f"  checkpoint of size {said.witnessing.checkpoint_size}, leaf {said.leaf_hash.hex()}"
    )
    if said.skew is not None:
        out.print(f"  FLAG: claimed time is {said.skew} ms after the end of its witnessed second")
    for reason in said.witnessing.uncounted:
        out.print(f"  not counted: {reason}")


def show_bundle_report(report: BundleReport) -> None:
    """Print who said what, to whom, when they claim and when witnesses saw it."""
    policy = report.policy
    out.print(f"OK evidence bundle for {report.entry.header.ref} on network {policy.network}")
    out.print(
        f"policy {report.policy_hash[:16]} {policy.name!r} version {policy.version}, members "
        f"{', '.join(m.party for m in policy.members)}, witness quorum k={policy.witness_quorum}"
    )
    _show_said(report.entry, "entry  ")
    for said in report.receipts:
        _show_said(said, "receipt")
    if not report.receipts:
        out.print("no receipts in the bundle")
    for said in report.keys:
        w = said.witnessing
        state = "witnessed" if w.bound is not None else "under quorum"
        out.print(
            f"key history of {said.header.party} (last statement {said.header.ref}) in its "
            f"checkpoint of size {w.checkpoint_size}: {state}, {len(w.cosigners)} of k={w.k} "
            "cosignatures"
        )
    if report.pinned:
        out.print(f"pinned: {'; '.join(report.pinned)}")
    else:
        err_console.print(
            "warning: nothing pinned: the bundle is consistent, but only --trust KEY or "
            "--policy-hash ties it to the network you know"
        )
