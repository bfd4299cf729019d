"""``parley assistance``: requests, offers, requisitions, commitments, deployment and returns.

Thin commands over ``parley.node.assistance`` (docs/protocol.md, "assistance, version 2"):
each builds a version 2 body from its options, the service checks it against the schema, the
resource catalogue and the lifecycle, and signs it for the authenticated officer. References
go to stdout, one per line; the state and errors go to stderr. ``verify`` recomputes the board
from log exports offline, with no node.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli.assistance_view import board_dict, print_board
from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    StatusOption,
    acting,
    err_console,
    open_node,
    print_json,
    read_json,
    reading,
    ref_option,
    reports_errors,
    status_option,
)
from parley.core.errors import InvalidEntryError
from parley.node import assistance
from parley.node.access import CLEARANCE, Action, roles_for
from parley.node.node import Node, now_ms
from parley.node.notifications.input import parse_when

SEND_ROLES = roles_for(Action.NOTIFY)
app = typer.Typer(help="Assistance between parties (EDXL-RM 1.0 lifecycle).", no_args_is_help=True)

Type = Annotated[str, typer.Option("--type", help="Catalogue type, e.g. usar.heavy.")]
Quantity = Annotated[str, typer.Option(help="Decimal quantity, e.g. 2.")]
Unit = Annotated[str | None, typer.Option(help="UCUM unit (default: the type's first).")]
Product = Annotated[str | None, typer.Option(help="Product (vaccines, antivirals).")]
Doses = Annotated[int | None, typer.Option(help="Number of doses.")]
At = Annotated[str | None, typer.Option("--at", help="Where: NAME or NAME@LAT,LON.")]
Window = Annotated[str | None, typer.Option(help="Window START/END: ISO 8601 or +DURATION.")]
Text = Annotated[str | None, typer.Option(help="Free text.")]
Take = Annotated[str | None, typer.Option("--quantity", help="Quantity (default: all).")]
Line = Annotated[str, typer.Option("--line", help="The offer line, e.g. o1.")]
LinesFile = Annotated[
    Path | None,
    typer.Option("--lines", help="A JSON list of resource lines (docs/protocol.md §7.1)."),
]


def _lines(
    path: Path | None, type_: str | None, quantity: str | None, options: dict[str, Any]
) -> list[Any]:
    """The resource lines: from a JSON file, or the one line the options describe."""
    if path is not None:
        if type_ is not None or quantity is not None:
            raise InvalidEntryError("give --lines or --type and --quantity, not both")
        value = read_json(path, "--lines")
        if not isinstance(value, list):
            raise InvalidEntryError(f"{path}: expected a JSON list of resource lines")
        return value
    if type_ is None or quantity is None:
        raise InvalidEntryError("a request needs --type and --quantity, or --lines FILE")
    return [_line("l1", type_, quantity, options)]


def _place(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    name, _, point = text.partition("@")
    if not point:
        return {"name": name}
    lat, _, lon = point.partition(",")
    return {"name": name, "lat": lat.strip(), "lon": lon.strip()}


def _window(text: str | None, now: int) -> dict[str, int] | None:
    if text is None:
        return None
    start, sep, end = text.partition("/")
    if not sep:
        raise InvalidEntryError("--window: expected START/END, e.g. +0h/+72h")
    return {"start": parse_when(start, now), "end": parse_when(end, now)}


def _line(line_id: str, type_: str, quantity: str, options: dict[str, Any]) -> dict[str, Any]:
    from parley.formats.resources import resource_type

    known = resource_type(type_)
    unit = options.pop("unit") or (known.units[0] if known else "1")
    line = {"id": line_id, "type": type_, "quantity": quantity, "unit": unit}
    line.update({k: v for k, v in options.items() if v is not None})
    return line


def _send(
    node: Node, officer_as: str | None, body: dict[str, Any], status: str | None, **sharing: Any
) -> None:
    status = status_option(status)
    acting(node, officer_as, f"assistance.{body['type']}", {"status": status}, *SEND_ROLES)
    header = assistance.step(node, body, status, **sharing)
    sys.stdout.write(header.ref + "\n")
    err_console.print(f"signed {header.ref}: {body['type']}", markup=False, highlight=False)


@app.command("request")
@reports_errors
def request(
    home: HomeOption,
    incident: Annotated[str, typer.Option(help="The notification or incident, e.g. JP:12.")],
    type_: Annotated[str | None, typer.Option("--type", help="Catalogue type.")] = None,
    quantity: Annotated[str | None, typer.Option(help="Decimal quantity.")] = None,
    lines: LinesFile = None,
    unit: Unit = None,
    product: Product = None,
    doses: Doses = None,
    at: At = None,
    window: Window = None,
    to: Annotated[str | None, typer.Option("--to", help="ALL (default) or parties.")] = None,
    tlp: Annotated[str | None, typer.Option(help="TLP 2.0 label.")] = None,
    text: Text = None,
    status: StatusOption = None,
    as_officer: AsOption = None,
) -> None:
    """Request a resource (RequestResource) for a notification or incident."""
    node = open_node(home)
    options = {
        "unit": unit,
        "product": product,
        "doses": doses,
        "needed_at": _place(at),
        "window": _window(window, now_ms()),
    }
    body = {
        "type": "RequestResource",
        "incident": assistance.any_reference(node, ref_option(node, incident)),
        "resources": _lines(lines, type_, quantity, options),
    }
    if text:
        body["text"] = text
    _send(node, as_officer, body, status, to=to, tlp=tlp)


@app.command("offer")
@reports_errors
def offer(
    home: HomeOption,
    request_ref: Annotated[str, typer.Argument(help="The request answered, e.g. JP:14.")],
    type_: Annotated[str | None, typer.Option("--type", help="Catalogue type.")] = None,
    quantity: Annotated[str | None, typer.Option(help="Decimal quantity.")] = None,
    unit: Unit = None,
    product: Product = None,
    doses: Doses = None,
    origin: Annotated[str | None, typer.Option("--from", help="NAME or NAME@LAT,LON.")] = None,
    window: Window = None,
    customs: Annotated[str | None, typer.Option(help="Customs conditions.")] = None,
    self_sufficient: Annotated[bool, typer.Option(help="Self-sufficient on arrival.")] = False,
    cost: Annotated[str | None, typer.Option(help="Cost terms.")] = None,
    fills: Annotated[str, typer.Option(help="The request line it fills.")] = "l1",
    decline: Annotated[bool, typer.Option(help="Decline the request instead.")] = False,
    provisional: Annotated[bool, typer.Option(help="A provisional offer.")] = False,
    text: Text = None,
    status: StatusOption = None,
    as_officer: AsOption = None,
) -> None:
    """Answer a request with an offer (ResponseToRequestResource), or decline it."""
    node = open_node(home)
    ref = assistance.reference(node, ref_option(node, request_ref), "request")
    body: dict[str, Any] = {"type": "ResponseToRequestResource", "request": ref}
    body["answer"] = "decline" if decline else "provisional" if provisional else "accept"
    if not decline:
        if type_ is None or quantity is None:
            raise InvalidEntryError("an offer needs --type and --quantity (or --decline)")
        conditions: dict[str, Any] = {k: v for k, v in (("customs", customs), ("cost", cost)) if v}
        if self_sufficient:
            conditions["self_sufficient"] = True
        options = {
            "unit": unit,
            "product": product,
            "doses": doses,
            "origin": _place(origin),
            "window": _window(window, now_ms()),
            "conditions": conditions or None,
            "fills": fills,
        }
        body["resources"] = [_line("o1", type_, quantity, options)]
    if text:
        body["text"] = text
    _send(node, as_officer, body, status)


def _takes(
    node: Node, offer_ref: str, line: str, quantity: str | None, *, room: bool
) -> list[dict[str, str]]:
    if quantity is None:
        state = assistance.state_of(node, assistance.request_of(node, offer_ref)["ref"])
        offer_state = state.offers.get(offer_ref)
        if offer_state is None or line not in offer_state.lines:
            raise InvalidEntryError(f"offer {offer_ref} has no line {line}")
        spec = offer_state.lines[line]
        left = Decimal(spec.quantity) - offer_state.taken.get(line, Decimal(0))
        if room and spec.fills is not None:
            left = min(left, state.still_needed(spec.fills))
        quantity = format(left.normalize(), "f")
    return [{"line": line, "quantity": quantity}]


def _on_offer(node: Node, offer_ref: str, kind: str, **fields: Any) -> dict[str, Any]:
    offer_ref = ref_option(node, offer_ref)
    return {
        "type": kind,
        "request": assistance.request_of(node, offer_ref),
        "refers_to": assistance.reference(node, offer_ref, "offer"),
        **fields,
    }


@app.command("accept")
@reports_errors
def accept(
    home: HomeOption,
    offer_ref: Annotated[str, typer.Argument(help="The offer taken up, e.g. US:9.")],
    quantity: Take = None,
    line: Line = "o1",
    beyond_request: Annotated[bool, typer.Option(help="Take more than requested.")] = False,
    status: StatusOption = None,
    as_officer: AsOption = None,
) -> None:
    """Requisition an offer (RequisitionResource): only the requesting party may."""
    node = open_node(home)
    takes = _takes(node, ref_option(node, offer_ref), line, quantity, room=not beyond_request)
    body = _on_offer(node, offer_ref, "RequisitionResource", takes=takes)
    if beyond_request:
        body["beyond_request"] = True
    _send(node, as_officer, body, status)


@app.command("commit")
@reports_errors
def commit(
    home: HomeOption,
    offer_ref: Annotated[str, typer.Argument(help="This party's offer, e.g. US:9.")],
    quantity: Take = None,
    line: Line = "o1",
    status: StatusOption = None,
    as_officer: AsOption = None,
) -> None:
    """Commit an offer (CommitResource): only the offering party may."""
    node = open_node(home)
    takes = (
        _takes(node, ref_option(node, offer_ref), line, quantity, room=False) if quantity else None
    )
    if takes is None:
        offered = assistance.reference(node, ref_option(node, offer_ref), "offer")
        state = assistance.state_of(node, assistance.request_of(node, offered["ref"])["ref"])
        spec = state.offers[offered["ref"]].lines.get(line)
        if spec is None:
            raise InvalidEntryError(f"offer {offered['ref']} has no line {line}")
        takes = [{"line": line, "quantity": spec.quantity}]
    _send(node, as_officer, _on_offer(node, offer_ref, "CommitResource", takes=takes), status)


@app.command("status")
@reports_errors
def status_cmd(
    home: HomeOption,
    ref: Annotated[str, typer.Argument(help="An offer (to report or ask) or a request.")],
    report: Annotated[
        str | None,
        typer.Option(
            help="Report: mobilising, en-route, arrived, deployed, demobilising, returned."
        ),
    ] = None,
    ask: Annotated[bool, typer.Option(help="Ask the offerer for its status.")] = False,
    status: StatusOption = None,
    as_officer: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report or ask deployment status of an offer; with neither, show a request's state."""
    node = open_node(home)
    if report is not None:
        body = _on_offer(node, ref, "ReportResourceDeploymentStatus", deployment=report)
        _send(node, as_officer, body, status)
    elif ask:
        _send(node, as_officer, _on_offer(node, ref, "RequestResourceDeploymentStatus"), status)
    else:
        officer = reading(node, as_officer, "assistance.status", {"ref": ref})
        found = assistance.node_board(node, CLEARANCE[officer.role])
        found.requests = [s for s in found.requests if s.entry.ref == ref_option(node, ref)]
        print_json(board_dict(found)) if as_json else print_board(found)


@app.command("release")
@reports_errors
def release(
    home: HomeOption,
    offer_ref: Annotated[str, typer.Argument(help="The requisitioned offer, e.g. US:9.")],
    status: StatusOption = None,
    as_officer: AsOption = None,
) -> None:
    """Release a resource from duty (ReleaseResource): only the requesting party may."""
    node = open_node(home)
    _send(node, as_officer, _on_offer(node, offer_ref, "ReleaseResource"), status)


@app.command("return")
@reports_errors
def return_cmd(
    home: HomeOption,
    offer_ref: Annotated[str, typer.Argument(help="The offer, e.g. US:9.")],
    answer: Annotated[str | None, typer.Option(help="Requester: accept or decline.")] = None,
    request_it: Annotated[bool, typer.Option("--request", help="Offerer: ask it back.")] = False,
    status: StatusOption = None,
    as_officer: AsOption = None,
) -> None:
    """Offerer: report it returned, or ask it back (--request); requester: --answer."""
    node = open_node(home)
    if answer is not None:
        body = _on_offer(node, offer_ref, "ResponseToRequestReturn", answer=answer)
    elif request_it:
        body = _on_offer(node, offer_ref, "RequestReturn")
    else:
        body = _on_offer(node, offer_ref, "ReportResourceDeploymentStatus", deployment="returned")
    _send(node, as_officer, body, status)


@app.command("board")
@reports_errors
def board_cmd(home: HomeOption, as_officer: AsOption = None, as_json: JsonOption = False) -> None:
    """Every request, its offers, what is taken up, pending and still needed."""
    node = open_node(home)
    officer = reading(node, as_officer, "assistance.board", {})
    found = assistance.node_board(node, CLEARANCE[officer.role])
    print_json(board_dict(found)) if as_json else print_board(found)


@app.command("verify")
@reports_errors
def verify(
    exports: Annotated[list[Path], typer.Argument(help="Log exports ('parley log export').")],
    as_json: JsonOption = False,
) -> None:
    """Recompute the board offline from log exports, after each export verifies."""
    found, reports = assistance.verify_exports(exports)
    for path, report in zip(exports, reports, strict=True):
        err_console.print(
            f"{path}: {report.party} verified, {report.size} entries", markup=False, highlight=False
        )
    print_json(board_dict(found)) if as_json else print_board(found)


@app.command("types")
@reports_errors
def types(as_json: JsonOption = False) -> None:
    """The resource catalogue: types, areas and UCUM units."""
    from parley.formats.resources import catalogue

    rows = [
        {"code": t.code, "area": t.area, "name": t.name, "units": list(t.units)}
        for t in catalogue().values()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        sys.stdout.write(f"{row['code']:32} {' '.join(row['units']):20} {row['name']}\n")


def register(root: typer.Typer) -> None:
    """Add ``assistance`` to ``parley``."""
    root.add_typer(app, name="assistance")
