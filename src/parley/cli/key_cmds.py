"""``parley key``: rotate this node's keys (DESIGN.md Keys; docs/operations.md, Key rotation).

``parley key rotate`` rotates the identity key to the committed next key that the administrator
brings back from offline storage (``--next-key FILE``, default ``offline/next-identity.pem``),
and writes a fresh next key to move offline again. ``parley key rotate --purpose log|witness|http``
certifies a fresh purpose key under the identity in force. ``parley key recover`` finishes or
undoes a rotation that was interrupted (every ``parley key`` command does so first). All are
administrator actions (``--as``, audited).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    acting,
    open_node,
    out,
    passphrase_source,
    reports_errors,
)
from parley.core.errors import ParleyError
from parley.core.keys import PURPOSES, fingerprint
from parley.node import keyrotation
from parley.node.node import now_ms

app = typer.Typer(help="This node's keys: rotation and recovery.", no_args_is_help=True)

PurposeOption = Annotated[
    str | None,
    typer.Option(
        "--purpose",
        help="Rotate a purpose key (log, witness or http) instead of the identity key.",
        show_default=False,
    ),
]
NextKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--next-key",
        help="The next identity key brought back from offline storage "
        "(default: HOME/offline/next-identity.pem).",
        show_default=False,
    ),
]


@app.command("rotate")
@reports_errors
def rotate(
    home: HomeOption,
    purpose: PurposeOption = None,
    next_key: NextKeyOption = None,
    as_officer: AsOption = None,
) -> None:
    """Rotate the identity key (pre-rotation) or, with --purpose, one purpose key."""
    if purpose is not None and purpose not in PURPOSES:
        raise ParleyError(f"unknown key purpose {purpose!r}", hint=f"one of {', '.join(PURPOSES)}")
    if purpose is not None and next_key is not None:
        raise ParleyError("--next-key is for identity rotations only", hint="drop --purpose")
    node = open_node(home)
    detail = {"purpose": purpose or "identity"}
    acting(node, as_officer, "key.rotate", detail, "admin")
    if purpose is None:
        rotation = keyrotation.rotate_identity(node, passphrase_source, next_key, now_ms())
    else:
        rotation = keyrotation.rotate_purpose(node, passphrase_source, purpose, now_ms())
    _report(rotation, next_key)


def _report(rotation: keyrotation.Rotation, next_key: Path | None) -> None:
    for line in rotation.recovered:
        out.print(f"First recovered an interrupted rotation: {line}")
    out.print(f"Rotated the {rotation.purpose} key at {rotation.header.ref}")
    out.print(f"  retired   {rotation.retired.kid}  {fingerprint(rotation.retired.raw)}")
    out.print(f"  in force  {rotation.certified.kid}  {fingerprint(rotation.certified.raw)}")
    if rotation.next_identity_path is not None:
        out.print(
            f"Wrote a fresh next identity key to {rotation.next_identity_path}: move it offline "
            "now; the next identity rotation needs it."
        )
        if next_key is not None and next_key.resolve() != rotation.next_identity_path:
            out.print(
                f"{next_key} now holds the identity key in force (kept in keys/identity.pem): "
                "destroy that copy."
            )
        out.print(
            "Peers follow the rotation when they sync. Give members the new fingerprint out of "
            "band and agree a policy version that lists the new identity key."
        )
    elif rotation.purpose in ("http", "witness"):
        out.print(f"Restart 'parley serve' so that it signs with the new {rotation.purpose} key.")


@app.command("recover")
@reports_errors
def recover(home: HomeOption, as_officer: AsOption = None) -> None:
    """Finish or undo a rotation interrupted between its log entry and its key files."""
    node = open_node(home)
    acting(node, as_officer, "key.recover", {}, "admin")
    done = keyrotation.recover_now(node, passphrase_source)
    for line in done:
        out.print(line)
    if not done:
        out.print("Nothing to recover: the key files hold the keys the log certifies.")
