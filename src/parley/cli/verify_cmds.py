"""``parley verify``: check logs and entry proofs offline, naming the first bad entry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from parley.cli.common import out, reports_errors
from parley.cli.evidence_cmds import show_bundle_report
from parley.core import equivocation
from parley.core.bundle import load_bundle, verify_bundle
from parley.core.entry import Body
from parley.core.errors import VerificationError
from parley.core.keys import PublicKey, fingerprint
from parley.core.proof import verify_entry_proof
from parley.core.verify import LogReport, verify_log
from parley.node.export import ExportReader
from parley.node.node import Node
from parley.store import logs

app = typer.Typer(help="Offline verification.", no_args_is_help=True)

IdentityOption = Annotated[
    str | None, typer.Option("--identity", help="Pinned identity key (base64) of the author.")
]


def _pinned(identity: str | None) -> PublicKey | None:
    return None if identity is None else PublicKey.from_b64(identity, what="--identity")


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
    with node.store.read() as conn:
        state = logs.get_state(conn, node.party)
        items = (
            (s.leaf, None if s.body is None else Body(s.salt or b"", s.body))
            for s in logs.iter_log(conn, node.party)
        )
        report = verify_log(items, logs.iter_checkpoints(conn, node.party), pinned_identity=pinned)
    if state is None or report.root != state.root or report.size != state.size:
        raise VerificationError("the stored log state does not match the verified entries")
    _print_report(report)


@app.command("proof")
@reports_errors
def proof(file: Path, identity: IdentityOption = None) -> None:
    """Check an entry proof made by 'parley log proof', with no node."""
    try:
        doc = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise VerificationError(f"{file}: not valid JSON") from exc
    report = verify_entry_proof(doc, pinned_identity=_pinned(identity))
    h = report.header
    out.print(
        f"OK {h.ref} kind={h.kind} status={h.status} time={h.time} "
        f"included in checkpoint of size {report.checkpoint.size} "
        f"(time {report.checkpoint.time_ms}); author identity {report.identity.kid}"
    )
    if report.body is not None:
        out.print(orjson.dumps(report.body, option=orjson.OPT_INDENT_2).decode())


@app.command("equivocation")
@reports_errors
def equivocation_evidence(
    file: Annotated[Path, typer.Argument(help="Evidence JSON (an evidence entry's body).")],
    key: Annotated[
        str | None, typer.Option("--log-key", help="Require this log key (base64) of the party.")
    ] = None,
) -> None:
    """Check equivocation evidence offline: two checkpoints one log signed that cannot agree."""
    try:
        document = orjson.loads(file.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise VerificationError(f"{file}: not readable JSON evidence ({exc})") from exc
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
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise VerificationError(f"{file}: cannot read ({exc.strerror})") from exc
    trusted = [PublicKey.from_b64(key, what="--trust") for key in trust or []]
    report = verify_bundle(load_bundle(data), trusted=trusted, policy_hash=policy_hash)
    show_bundle_report(report)
