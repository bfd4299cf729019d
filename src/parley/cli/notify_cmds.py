"""``parley import``, ``parley export`` and ``parley notify``: notifications in open formats.

Thin commands over ``parley.node.notifications.importing`` (import),
``parley.node.notifications.lifecycle`` (native alerts and their lifecycle) and
``parley.node.notifications.export``. References go to stdout, one per line; warnings, errors and
progress go to stderr. docs/formats.md, Commands, is the contract.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape

from parley.cli.common import (
    AsOption,
    JsonOption,
    OptionalHomeOption,
    StatusOption,
    acting,
    audience_option,
    err_console,
    format_time,
    open_node,
    out,
    print_error,
    print_json,
    private_files,
    progress_bar,
    read_file,
    reading,
    ref_option,
    reports_errors,
    status_option,
)
from parley.core.errors import InvalidEntryError, ParleyError
from parley.node.access import Action, roles_for
from parley.node.node import Node, now_ms

if TYPE_CHECKING:
    from parley.node.notifications.importing import FileResult, Source
    from parley.node.notifications.lifecycle import Outcome

# The formats layer (lxml, stix2, shapely) is imported by the commands that use it, so that
# every other ``parley`` command starts without it.

IMPORT_ROLES = roles_for(Action.IMPORT)
SEND_ROLES = roles_for(Action.NOTIFY)
BATCH = 200
MAX_INPUT_BYTES = 256 * 1024 * 1024

To = Annotated[str | None, typer.Option("--to", help="ALL (default) or parties, e.g. US,KR.")]
Tlp = Annotated[str | None, typer.Option(help="TLP 2.0 label (default GREEN for ALL, else AMBER).")]
Details = Annotated[
    list[str] | None,
    typer.Option("--detail", help="A category detail as NAME=VALUE; repeat.", show_default=False),
]
Expires = Annotated[
    str | None, typer.Option(help="Expiry: ISO 8601 time, or +DURATION such as +6h, +2d, +PT90M.")
]

notify_app = typer.Typer(
    help="Write a native notification (options below), or update, cancel or show one.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _node(home: Path | None) -> Node:
    if home is None:
        raise InvalidEntryError("no node home", hint="give --home or set PARLEY_HOME")
    return open_node(home)


# --------------------------------------------------------------------------------------------
# parley import


def _read(path: Path) -> Source | FileResult:
    from parley.node.notifications.importing import FileResult, Source

    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            error = InvalidEntryError(f"{path}: larger than {MAX_INPUT_BYTES} bytes; not read")
            return FileResult(str(path), error=error)
        return Source(str(path), path.read_bytes())
    except OSError as exc:
        return FileResult(str(path), error=InvalidEntryError(f"{path}: {exc.strerror}"))


def _report(result: FileResult) -> tuple[int, int]:
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", markup=True, highlight=False)
    if result.error is not None:
        print_error(result.error)  # an error of one file: the run goes on with the others
        return 0, 0
    new = 0
    for note in result.notifications:
        sys.stdout.write(note.ref + ("\n" if note.new else " already imported\n"))
        new += note.new
    sys.stdout.flush()
    return new, len(result.notifications) - new


def import_files(
    files: Annotated[list[Path], typer.Argument(help="CAP (XML) or STIX 2.1 (JSON) files.")],
    home: OptionalHomeOption = None,
    as_officer: AsOption = None,
    to: To = None,
    tlp: Tlp = None,
    category: Annotated[str | None, typer.Option(help="Parley category, e.g. geo.tsunami.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Status of STIX bundles (required); CAP keeps its own.")
    ] = None,
    cap_signer_key: Annotated[
        Path | None,
        typer.Option(help="PEM public key or certificate: every CAP alert must be signed by it."),
    ] = None,
) -> None:
    """Import CAP 1.2/1.1 alerts (EDXL-DE unwrapped) and STIX 2.1 bundles; print each reference."""
    from parley.formats.categories import CATEGORIES
    from parley.formats.xmldsig import load_public_key
    from parley.node.notifications.importing import (
        FileResult,
        ImportOptions,
        NotificationPolicy,
        Source,
        import_sources,
        sharing,
    )

    node = _node(home)
    to = audience_option(node, to)
    sharing(node, to, tlp)  # a bad --to or --tlp is refused once, before any file
    if category is not None and category not in CATEGORIES:
        raise InvalidEntryError(
            f"--category {category!r} is not a known category",
            hint="see docs/formats.md, Categories",
        )
    key = None
    if cap_signer_key is not None:
        key = read_file(cap_signer_key, "--cap-signer-key")
        try:
            load_public_key(key)
        except ParleyError as exc:
            raise InvalidEntryError(
                f"--cap-signer-key {cap_signer_key}: {exc.message}", hint=exc.hint
            ) from exc
    options = ImportOptions(
        audience=to,
        tlp=tlp,
        category=category,
        status=None if status is None else status_option(status),
        cap_signer_key=key,
    )
    detail = {"files": len(files), "first": str(files[0]) if files else ""}
    acting(node, as_officer, "notification.import", detail, *IMPORT_ROLES)
    policy = NotificationPolicy.of(node)
    new = old = 0
    failures: list[ParleyError] = []
    with progress_bar() as bar:
        task = bar.add_task("importing", total=len(files))
        for start in range(0, len(files), BATCH):
            chunk = [_read(path) for path in files[start : start + BATCH]]
            sources = [item for item in chunk if isinstance(item, Source)]
            done = iter(import_sources(node, sources, options, policy=policy))
            for item in chunk:
                result = item if isinstance(item, FileResult) else next(done)
                added, again = _report(result)
                new, old = new + added, old + again
                if result.error is not None:
                    failures.append(result.error)
            bar.advance(task, len(chunk))
    err_console.print(
        f"{new} notification(s) imported, {old} already imported; "
        f"{len(failures)} of {len(files)} file(s) refused",
        highlight=False,
    )
    if failures:
        raise typer.Exit(failures[0].exit_code)


# --------------------------------------------------------------------------------------------
# parley export


def export(
    ref: Annotated[str | None, typer.Argument(help="The notification, e.g. JP:42.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="cap, stix or geojson.")] = "cap",
    every: Annotated[
        bool, typer.Option("--all", help="Every notification this node may read.")
    ] = False,
    folder: Annotated[Path | None, typer.Option("--out", help="Folder for --all.")] = None,
    home: OptionalHomeOption = None,
    as_officer: AsOption = None,
) -> None:
    """Write a notification as CAP 1.2, STIX 2.1 or GeoJSON to stdout, or --all to a folder."""
    from parley.node.notifications.export import FORMATS, export_all, export_ref

    if fmt not in FORMATS:
        raise InvalidEntryError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    node = _node(home)
    if not every:
        if ref is None or folder is not None:
            raise InvalidEntryError("give a REF (to stdout), or --all --out DIR")
        ref = ref_option(node, ref)
        reading(node, as_officer, "notification.export", {"ref": ref, "format": fmt})
        sys.stdout.buffer.write(export_ref(node, ref, fmt))
        return
    if ref is not None or folder is None:
        raise InvalidEntryError("--all writes one file per notification: give --out DIR, no REF")
    reading(node, as_officer, "notification.export", {"all": str(folder), "format": fmt})
    with progress_bar() as bar, private_files():
        task = bar.add_task("exporting", total=None)
        result = export_all(node, fmt, folder, lambda done: bar.update(task, completed=done))
    for error in result.errors:
        print_error(error)
    skipped = f"; {result.skipped} without a STIX form skipped" if result.skipped else ""
    err_console.print(
        f"wrote {len(result.written)} file(s) to {folder}{skipped}", markup=False, highlight=False
    )
    if result.errors:
        raise typer.Exit(result.errors[0].exit_code)


# --------------------------------------------------------------------------------------------
# parley notify


def _print_outcome(outcome: Outcome) -> None:
    for warning in outcome.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", markup=True, highlight=False)
    sys.stdout.write(outcome.written.ref + "\n")


@notify_app.callback()
@reports_errors
def notify(
    ctx: typer.Context,
    home: OptionalHomeOption = None,
    as_officer: AsOption = None,
    category: Annotated[
        str | None, typer.Option(help="Category code, e.g. geo.earthquake.")
    ] = None,
    severity: Annotated[str | None, typer.Option(help="Extreme, Severe, Moderate, Minor.")] = None,
    urgency: Annotated[str | None, typer.Option(help="Immediate, Expected, Future, Past.")] = None,
    certainty: Annotated[str | None, typer.Option(help="Observed, Likely, Possible.")] = None,
    status: StatusOption = None,
    area: Annotated[Path | None, typer.Option(help="Area as a GeoJSON file.")] = None,
    circle: Annotated[str | None, typer.Option(help="Area as LAT,LON,KM.")] = None,
    area_desc: Annotated[str | None, typer.Option(help="Name of the area.")] = None,
    headline: Annotated[str | None, typer.Option(help="Headline.")] = None,
    description: Annotated[str | None, typer.Option(help="Description.")] = None,
    instruction: Annotated[str | None, typer.Option(help="What people should do.")] = None,
    lang: Annotated[str, typer.Option(help="Language (BCP 47).")] = "en",
    to: To = None,
    tlp: Tlp = None,
    expires: Expires = None,
    detail: Details = None,
) -> None:
    """Write and append a native Alert; print its reference.

    An Actual notification in one of the node's release categories is kept for a second
    officer instead: its pending release id is printed, and 'parley release ID' signs it.
    """
    if ctx.invoked_subcommand is not None:
        return
    from parley.cli.release_cmds import print_pending
    from parley.node.notifications import release
    from parley.node.notifications.input import area_option, parse_details, parse_when

    wanted = {
        "--category": category,
        "--severity": severity,
        "--urgency": urgency,
        "--certainty": certainty,
        "--status": status,
        "--headline": headline,
    }
    missing = [name for name, value in wanted.items() if value is None]
    if missing:
        raise InvalidEntryError(
            f"parley notify needs {', '.join(missing)}",
            hint="or: parley notify update|cancel|show REF",
        )
    assert category is not None and headline is not None  # noqa: S101 - narrowed above
    node = _node(home)
    to = audience_option(node, to)
    now = now_ms()
    fields: dict[str, Any] = {
        "category": category,
        "severity": severity,
        "urgency": urgency,
        "certainty": certainty,
        "headline": headline,
        "description": description,
        "instruction": instruction,
        "lang": lang,
        "areas": [area_option(area, circle, area_desc)],
        "details": parse_details(category, detail or [], now),
        "expires_ms": None if expires is None else parse_when(expires, now),
    }
    checked = status_option(status)
    officer = acting(
        node,
        as_officer,
        "notification.notify",
        {"category": category, "status": checked},
        *SEND_ROLES,
    )
    result = release.submit(node, officer, fields, status=checked, audience=to, tlp=tlp, now=now)
    if isinstance(result, release.Pending):
        print_pending(result)  # two-person release: a second officer signs it
    else:
        _print_outcome(result)


@notify_app.command("update")
@reports_errors
def update(
    ref: Annotated[str, typer.Argument(help="The latest message of the incident, e.g. JP:42.")],
    home: OptionalHomeOption = None,
    as_officer: AsOption = None,
    headline: Annotated[str | None, typer.Option(help="New headline.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    instruction: Annotated[str | None, typer.Option(help="New instruction.")] = None,
    lang: Annotated[str | None, typer.Option(help="Language whose texts change.")] = None,
    severity: Annotated[str | None, typer.Option(help="New severity.")] = None,
    urgency: Annotated[str | None, typer.Option(help="New urgency.")] = None,
    certainty: Annotated[str | None, typer.Option(help="New certainty.")] = None,
    expires: Expires = None,
    detail: Details = None,
) -> None:
    """Append an Update of one of this node's notifications; print its reference."""
    from parley.node.notifications import lifecycle
    from parley.node.notifications.input import parse_when

    node = _node(home)
    ref = ref_option(node, ref)
    now = now_ms()
    pairs = list(detail or [])
    revision = lifecycle.Revision(
        texts={"headline": headline, "description": description, "instruction": instruction},
        levels={"severity": severity, "urgency": urgency, "certainty": certainty},
        lang=lang,
        expires_ms=None if expires is None else parse_when(expires, now),
        detail_pairs=(lambda _category: pairs) if pairs else None,
    )
    if revision.empty:
        raise InvalidEntryError("nothing to update", hint="give --headline, --detail, ...")
    acting(node, as_officer, "notification.update", {"ref": ref}, *SEND_ROLES)
    _print_outcome(lifecycle.update(node, ref, revision, now))


@notify_app.command("cancel")
@reports_errors
def cancel(
    ref: Annotated[str, typer.Argument(help="The latest message of the incident, e.g. JP:42.")],
    home: OptionalHomeOption = None,
    as_officer: AsOption = None,
    all_clear: Annotated[
        bool, typer.Option("--all-clear", help="End it as an all-clear Update, not a Cancel.")
    ] = False,
) -> None:
    """End an incident of this node: a Cancel, or with --all-clear an all-clear Update."""
    from parley.node.notifications import lifecycle

    node = _node(home)
    ref = ref_option(node, ref)
    acting(
        node, as_officer, "notification.cancel", {"ref": ref, "all_clear": all_clear}, *SEND_ROLES
    )
    msg_type = "Update" if all_clear else "Cancel"
    _print_outcome(lifecycle.answer(node, ref, msg_type=msg_type, all_clear=all_clear))


@notify_app.command("show")
@reports_errors
def show(
    ref: Annotated[str, typer.Argument(help="Any message of the incident, e.g. JP:42.")],
    home: OptionalHomeOption = None,
    as_json: JsonOption = False,
    as_officer: AsOption = None,
) -> None:
    """Show the current state of the incident a notification belongs to."""
    from parley.formats.notification import pick_info, status_marker
    from parley.node.notifications import lifecycle

    node = _node(home)
    ref = ref_option(node, ref)
    reading(node, as_officer, "notification.show", {"ref": ref})
    state, links = lifecycle.incident_state(node, ref)
    messages = [
        {
            "ref": link.ref,
            "leaf_hash": link.leaf_hash,
            "status": link.header.status,
            "msg_type": link.body["msg_type"],
            "sent": link.body["sent"],
        }
        for link in links
    ]
    if as_json:
        print_json({**state, "messages": messages}, indent=False)
        return
    marker = status_marker(state["status"])
    out.print(
        f"{marker}incident {links[0].ref}: {state['state'].upper()} "
        f"({state['category']}, status {state['status']})",
        markup=False,
    )
    out.print(f"headline   {marker}{state.get('headline', '')}", markup=False)
    out.print(
        f"severity   {state.get('severity')}  urgency {state.get('urgency')}  "
        f"certainty {state.get('certainty')}",
        markup=False,
    )
    if "onset" in state:
        out.print(f"onset      {format_time(state['onset'])}", markup=False)
    if "expires" in state:
        out.print(f"expires    {format_time(state['expires'])}", markup=False)
    for line in _info_lines(pick_info({"info": state["info"]}) or {}):
        out.print(line, markup=False)
    for line in _detail_lines(state["category"], state["details"]):
        out.print(line, markup=False)
    for message in messages:
        out.print(
            f"  {message['ref']:<10} {message['msg_type']:<7} "
            f"{format_time(message['sent'])}  {message['leaf_hash'][:16]}",
            markup=False,
        )


def _info_lines(info: dict[str, Any]) -> list[str]:
    """The texts and areas of the info block a reader sees first."""
    lines = [
        f"{label:<10} {info[key]}"
        for key, label in (("description", "description"), ("instruction", "instruction"))
        if info.get(key)
    ]
    for area in info.get("areas", []):
        shapes = [
            f"circle {c['radius_km']} km around {c['center'][1]},{c['center'][0]}"
            for c in area.get("circles", [])
        ]
        polygons = len(area.get("polygons", []))
        if polygons:
            shapes.append(f"{polygons} polygon(s)")
        lines.append(
            f"area       {area.get('desc', '')}" + (f" ({'; '.join(shapes)})" if shapes else "")
        )
    return lines


def _detail_lines(code: str, details: dict[str, Any]) -> list[str]:
    """One line per category detail; times in the officer's zone and UTC."""
    from parley.formats.categories import CATEGORIES

    known = CATEGORIES.get(code)
    kinds = {f.name: f.kind for f in known.details} if known is not None else {}
    lines = []
    for name, value in details.items():
        if kinds.get(name) == "ms" and isinstance(value, int):
            shown = format_time(value)
        elif isinstance(value, str | int):
            shown = str(value)
        else:
            shown = orjson.dumps(value).decode()
        lines.append(f"  {name:<16} {shown}")
    return ["details"] + lines if lines else []


def register(root: typer.Typer) -> None:
    """Add ``import``, ``export`` and ``notify`` to ``parley``."""
    root.command("import")(reports_errors(import_files))
    root.command("export")(reports_errors(export))
    root.add_typer(notify_app, name="notify")
