"""``parley verify``: check logs and entry proofs offline, naming the first bad entry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from parley.cli.common import (
    format_time,
    json_error,
    out,
    read_file,
    readable,
    reports_errors,
)
from parley.cli.evidence_cmds import show_bundle_report
from parley.core import equivocation
from parley.core.bundle import BUNDLE_FORMAT, load_bundle, verify_bundle
from parley.core.errors import ParleyError, VerificationError
from parley.core.keys import PublicKey, fingerprint
from parley.core.proof import verify_entry_proof
from parley.core.verify import LogReport, verify_log
from parley.node import health
from parley.node.export import ExportReader
from parley.node.node import Node

app = typer.Typer(help="Offline verification.", no_args_is_help=True)

IdentityOption = Annotated[
    str | None, typer.Option("--identity", help="Pinned identity key (base64) of the author.")
]


def _pinned(identity: str | None) -> PublicKey | None:
    return None if identity is None else PublicKey.from_b64(identity, what="--identity")


def _document(file: Path, what: str) -> object:
    """A JSON file to verify: unreadable is a file error, malformed a verification failure."""
    try:
        data = read_file(file)
    except ParleyError as exc:
        if not file.is_file():
            raise
        raise VerificationError(exc.message, hint=f"is this {what}?") from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        error = json_error(str(file), exc)
        raise VerificationError(error.message, hint=f"is this {what}?") from exc


def _refuse_bundle(file: Path) -> None:
    """An evidence bundle given to 'verify log' gets a pointer to 'verify bundle'."""
    with file.open("rb") as handle:
        start = handle.read(4096)
    if start.lstrip().startswith(b"{\n") and BUNDLE_FORMAT.encode() in start:
        raise VerificationError(
            f"{file} is an evidence bundle, not a log export",
            hint=f"check it with 'parley verify bundle {file}'",
        )


def _print_report(report: LogReport) -> None:
    out.print(
        f"OK {report.party} on {report.network}: {report.size} entries, "
        f"{report.checkpoints} checkpoints, {report.bodies} bodies checked, "
        f"root {report.root.hex()}"
    )


@app.command("log")
@reports_errors
def log(
    file: Annotated[Path | None, typer.Argument(help="A log export (default: this node).")] = None,
    home: Annotated[Path | None, typer.Option("--home", envvar="PARLEY_HOME")] = None,
    identity: IdentityOption = None,
) -> None:
    """Check every signature, the tree, every body against its hash, and the checkpoints."""
    pinned = _pinned(identity)
    if file is not None:
        read_file(file, "log export")
        _refuse_bundle(file)
        reader = ExportReader(file)
        head = reader.head()
        report = verify_log(reader.entries(), reader.notes(), pinned_identity=pinned)
        if report.size != head.get("size"):
            raise VerificationError(f"export says {head.get('size')} entries, holds {report.size}")
        _print_report(report)
        return
    if home is None:
        raise VerificationError("give a log export FILE or --home of a node")
    node = Node.open(home)
    report = health.verify_stored_log(node, pinned_identity=pinned)
    _print_report(report)


@app.command("proof")
@reports_errors
def proof(file: Path, identity: IdentityOption = None) -> None:
    """Check an entry proof made by 'parley log proof', with no node."""
    doc = _document(file, "an entry proof ('parley log proof')")
    report = verify_entry_proof(doc, pinned_identity=_pinned(identity))
    h = report.header
    stated = report.checkpoint.time_ms  # only a legacy checkpoint states a time (protocol s6)
    when = "" if stated is None else f" (time {format_time(stated)})"
    out.print(
        f"OK {h.ref} kind={h.kind} status={h.status} time {format_time(h.time)}, "
        f"included in checkpoint of size {report.checkpoint.size}{when}; "
        f"author identity {report.identity.kid}"
    )
    if report.body is not None:
        out.print(
            orjson.dumps(readable(report.body), option=orjson.OPT_INDENT_2).decode(), markup=False
        )


@app.command("equivocation")
@reports_errors
def equivocation_evidence(
    file: Annotated[Path, typer.Argument(help="Evidence JSON (an evidence entry's body).")],
    key: Annotated[
        str | None, typer.Option("--log-key", help="Require this log key (base64) of the party.")
    ] = None,
) -> None:
    """Check equivocation evidence offline: two checkpoints one log signed that cannot agree."""
    document = _document(file, "equivocation evidence (an evidence entry's body)")
    evidence = equivocation.Evidence.from_dict(document)
    if key is not None and PublicKey.from_b64(key, what="--log-key").raw != evidence.log_key:
        raise VerificationError("the evidence is signed by another log key than --log-key")
    first, second = equivocation.verify(evidence)
    out.print(f"EQUIVOCATION by {evidence.party}: {equivocation.describe(first, second)}")
    out.print(f"log key fingerprint {fingerprint(evidence.log_key)} (compare out of band)")


@app.command("bundle")
@reports_errors
def bundle(
    file: Annotated[Path, typer.Argument(help="An evidence bundle ('parley evidence export').")],
    trust: Annotated[
        list[str] | None,
        typer.Option("--trust", help="A member's identity key (base64) you trust; repeatable."),
    ] = None,
    policy_hash: Annotated[
        str | None, typer.Option("--policy-hash", help="Require the entry to be under this policy.")
    ] = None,
) -> None:
    """Check an evidence bundle with no node: keys, policy, proofs, receipts, witnessed times."""
    _document(file, "an evidence bundle ('parley evidence export')")
    trusted = [PublicKey.from_b64(key, what="--trust") for key in trust or []]
    report = verify_bundle(load_bundle(read_file(file)), trusted=trusted, policy_hash=policy_hash)
    show_bundle_report(report)
