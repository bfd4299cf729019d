"""``parley roadmap``: draft, co-sign, attest, confirm, dispute, answer, show and verify road maps.

Thin commands over ``parley.node.roadmaps`` (at a node, for an authenticated officer) and
``parley.node.roadmap_exports`` (offline, over log exports); docs/protocol.md §7.2 is the
contract. A new entry's reference goes to stdout; the state is a table, or JSON with ``--json``.
What peers wrote is printed as plain text, never as Rich markup.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    StatusOption,
    acting,
    audience_option,
    format_time,
    open_node,
    out,
    print_json,
    read_file,
    read_json,
    reading,
    ref_option,
    reports_errors,
    status_option,
)
from parley.cli.common import table as grid
from parley.core.entry import REF_RE
from parley.core.errors import InvalidEntryError
from parley.core.roadmap import RoadmapState
from parley.node import roadmap_exports, roadmaps
from parley.node.access import CLEARANCE, Action, roles_for
from parley.node.node import Node, now_ms
from parley.node.notifications.listing import parse_instant

WRITE_ROLES = roles_for(Action.NOTIFY)
HEX64 = re.compile(r"^[0-9a-f]{64}$")
STATUSES = ("locked", "unlocked", "claimed", "disputed", "verified", "overdue")

app = typer.Typer(
    help="Road maps: reciprocal steps co-signed by every member party, attested and verified.",
    no_args_is_help=True,
)

EvidenceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--evidence",
        help="Evidence: an entry PARTY:SEQ, a SHA-256 (hex), or a file (hashed); repeat.",
        show_default=False,
    ),
]
LangOption = Annotated[str, typer.Option("--lang", help="Language tag of the text.")]
AtOption = Annotated[
    str | None, typer.Option("--at", help="As of this time: ms or ISO 8601 (default now).")
]


def register(parent: typer.Typer) -> None:
    """Add ``parley roadmap`` to the main command."""
    parent.add_typer(app, name="roadmap")


def evidence_items(values: list[str] | None) -> list[dict[str, str]]:
    """``--evidence`` values as evidence objects: entry refs, hashes, or files hashed here."""
    items = []
    for value in values or []:
        if REF_RE.fullmatch(value.upper()):
            items.append({"entry": value.upper()})
        elif HEX64.fullmatch(value.lower()):
            items.append({"sha256": value.lower()})
        else:
            data = read_file(Path(value), "evidence file")
            items.append({"sha256": hashlib.sha256(data).hexdigest()})
    return items


def _texts(text: str | None, lang: str) -> dict[str, str] | None:
    return None if not text else {lang: text}


def _done(header: Any) -> None:
    sys.stdout.write(header.ref + "\n")
    sys.stdout.flush()


@app.command("draft")
@reports_errors
def draft(
    file: Annotated[Path, typer.Argument(help="The road map document (JSON, protocol §7.2).")],
    home: HomeOption,
    as_officer: AsOption = None,
    status: StatusOption = None,
    replaces: Annotated[
        str | None, typer.Option(help="The version this one amends, e.g. US:12.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="ALL or parties (default: members and verifiers).")
    ] = None,
    tlp: Annotated[str | None, typer.Option(help="TLP 2.0 label (default AMBER).")] = None,
) -> None:
    """Append a road map version (or, with --replaces, an amendment); print its reference."""
    status = status_option(status)
    document = read_json(file, "road map document")
    if not isinstance(document, dict):
        raise InvalidEntryError(f"{file}: a road map document is a JSON object")
    node = open_node(home)
    replaced = None if replaces is None else ref_option(node, replaces)
    audience = audience_option(node, to)
    acting(node, as_officer, "roadmap.draft", {"replaces": replaced}, *WRITE_ROLES)
    header = roadmaps.draft(
        node, document, status, now_ms(), replaces=replaced, to=audience, tlp=tlp
    )
    _done(header)


@app.command("sign")
@reports_errors
def sign(
    ref: Annotated[str, typer.Argument(help="The road map version to co-sign, e.g. US:12.")],
    home: HomeOption,
    as_officer: AsOption = None,
) -> None:
    """Co-sign a road map version: it is in force once every member party has signed it."""
    node = open_node(home)
    ref = ref_option(node, ref)
    acting(node, as_officer, "roadmap.sign", {"ref": ref}, *WRITE_ROLES)
    _done(roadmaps.sign(node, ref, now_ms()))


@app.command("attest")
@reports_errors
def attest(
    ref: Annotated[str, typer.Argument(help="A version of the road map, e.g. US:12.")],
    step: Annotated[str, typer.Argument(help="The step's id.")],
    home: HomeOption,
    as_officer: AsOption = None,
    evidence: EvidenceOption = None,
    text: Annotated[str | None, typer.Option(help="What was done, in words.")] = None,
    lang: LangOption = "en",
) -> None:
    """Attest that a step is done (your party's, or an outside party's you verify)."""
    node = open_node(home)
    ref = ref_option(node, ref)
    acting(node, as_officer, "roadmap.attest", {"ref": ref, "step": step}, *WRITE_ROLES)
    items = evidence_items(evidence)
    _done(roadmaps.attest(node, ref, step, items, _texts(text, lang), now_ms()))


@app.command("confirm")
@reports_errors
def confirm(
    ref: Annotated[str, typer.Argument(help="The attestation, e.g. US:14.")],
    home: HomeOption,
    as_officer: AsOption = None,
    evidence: EvidenceOption = None,
    text: Annotated[str | None, typer.Option(help="A comment.")] = None,
    lang: LangOption = "en",
) -> None:
    """Confirm an attestation of a step you verify."""
    _stance("confirm", ref, home, as_officer, evidence, _texts(text, lang))


@app.command("dispute")
@reports_errors
def dispute(
    ref: Annotated[str, typer.Argument(help="The attestation, e.g. US:14.")],
    home: HomeOption,
    reason: Annotated[str, typer.Option(help="Why the claim does not hold.")],
    as_officer: AsOption = None,
    evidence: EvidenceOption = None,
    lang: LangOption = "en",
) -> None:
    """Dispute an attestation of a step you verify, with a reason."""
    _stance("dispute", ref, home, as_officer, evidence, _texts(reason, lang))


def _stance(
    word: str,
    ref: str,
    home: Path,
    as_officer: str | None,
    evidence: list[str] | None,
    text: dict[str, str] | None,
) -> None:
    node = open_node(home)
    ref = ref_option(node, ref)
    acting(node, as_officer, f"roadmap.{word}", {"ref": ref}, *WRITE_ROLES)
    items = evidence_items(evidence)
    _done(roadmaps.answer_attestation(node, ref, word, items, text, now_ms()))


@app.command("answer")
@reports_errors
def answer(
    ref: Annotated[str, typer.Argument(help="The dispute, e.g. JP:20.")],
    home: HomeOption,
    text: Annotated[str, typer.Option(help="The answer.")],
    as_officer: AsOption = None,
    evidence: EvidenceOption = None,
    lang: LangOption = "en",
) -> None:
    """Answer a dispute of a step your side attested."""
    node = open_node(home)
    ref = ref_option(node, ref)
    acting(node, as_officer, "roadmap.answer", {"ref": ref}, *WRITE_ROLES)
    items = evidence_items(evidence)
    _done(roadmaps.answer_dispute(node, ref, {lang: text}, items, now_ms()))


@app.command("show")
@reports_errors
def show(
    home: HomeOption,
    ref: Annotated[str | None, typer.Argument(help="A version of the road map.")] = None,
    as_officer: AsOption = None,
    at: AtOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a road map's state (steps, milestones, versions), or list the road maps held."""
    node = open_node(home)
    officer = reading(node, as_officer, "roadmap.show", {"ref": ref})
    if ref is None:
        _list(node, as_json)
        return
    when = now_ms() if at is None else parse_instant(at, "--at")
    state = roadmaps.show(node, ref_option(node, ref), when, CLEARANCE[officer.role])
    print_state(state, as_json)


def _list(node: Node, as_json: bool) -> None:
    listed = roadmaps.listing(node)
    if as_json:
        print_json(listed)
        return
    table = grid("road map", "id", "title", whole=("road map", "id"))
    for item in listed:
        table.add_row(item["roadmap"], item["id"], " / ".join(item["title"].values()))
    out.print(table)


@app.command("verify")
@reports_errors
def verify(
    exports: Annotated[list[Path], typer.Argument(help="The parties' log exports.")],
    roadmap: Annotated[
        str | None, typer.Option(help="The road map's first version (if several).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="As of: ms or ISO 8601 (default: latest witnessed).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute a road map's state offline from log exports, as of a time."""
    when = None if at is None else parse_instant(at, "--at")
    state = roadmap_exports.recompute(exports, roadmap, when)
    print_state(state, as_json)


def print_state(state: RoadmapState, as_json: bool) -> None:
    """The state as JSON, or as tables a person reads."""
    if as_json:
        print_json(state.to_dict())
        return
    doc = state.to_dict()
    force = doc["in_force"]
    out.print(
        f"road map {state.root} as of {format_time(state.now)}: "
        + ("not in force" if force is None else f"version {force['version']} ({force['ref']})"),
        markup=False,
        highlight=False,
    )
    versions = grid("version", "ref", "signed", "missing", "in force from", whole=("ref",))
    for v in doc["versions"]:
        versions.add_row(
            str(v["version"]),
            v["ref"],
            ",".join(v["signed"]),
            ",".join(v["missing"]),
            format_time(v["adopted_at"]),
        )
    out.print(versions)
    steps = grid(
        "step",
        "party",
        "status",
        "waits for",
        "attestation",
        "claimed",
        "verified",
        whole=("step", "attestation"),
    )
    for s in doc["steps"]:
        steps.add_row(
            s["id"],
            s["party"],
            s["status"] + (" (late)" if s["late"] else ""),
            ",".join(s["waits_for"]),
            s["attestation"] or "-",
            format_time(s["claimed_at"]),
            format_time(s["verified_at"]),
        )
    out.print(steps)
    board = grid("party", *STATUSES, title="scoreboard")
    for party, counts in doc["scoreboard"].items():
        board.add_row(party, *(str(counts.get(status, 0)) for status in STATUSES))
    out.print(board)
    for name, reached in doc["milestones"].items():
        out.print(f"milestone {name}: {'reached' if reached else 'not reached'}", markup=False)
    for item in doc["refused"]:
        out.print(f"refused {item['ref']}: {item['reason']}", markup=False, highlight=False)
    if doc["unwitnessed"]:
        out.print(f"not yet witnessed: {', '.join(doc['unwitnessed'])}", markup=False)
