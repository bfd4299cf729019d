r"""``parley hotline``: send standard phrases or free text to one party, read the conversation.

Thin commands over ``parley.node.messaging.hotline`` and ``parley.formats.phrases``;
docs/hotline.md is the contract. ``send`` prints the new reference on stdout and the signed
rendering on stderr. What a peer wrote (free text, its rendering, names in parameters) is printed
as plain text, never as Rich markup, with control and bidirectional-format characters shown as
escapes (``\x1b``, ``\u202e``) so a message cannot rewrite the terminal or reorder what the officer
reads.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Annotated, Any

import orjson
import typer
from rich.text import Text

from parley.cli.common import (
    AsOption,
    HomeOption,
    JsonOption,
    OptionalHomeOption,
    StatusOption,
    acting,
    err_console,
    format_duration,
    format_time,
    member_code,
    open_node,
    out,
    print_json,
    reading,
    ref_option,
    reports_errors,
    status_option,
)
from parley.cli.common import table as grid
from parley.core.errors import InvalidEntryError
from parley.formats import phrases
from parley.node.access import CLEARANCE
from parley.node.home import NodeHome
from parley.node.messaging import hotline

SEND_ROLES = ("duty-officer", "admin")

app = typer.Typer(
    help="The hotline: bilateral messages whose standard phrases each side reads in its own "
    "language.",
    no_args_is_help=True,
)

Lang = Annotated[
    str | None,
    typer.Option("--lang", help="Language: en, ja, ko, zh or ru (default: the node's)."),
]


def visible(text: str) -> str:
    """``text`` as written, with controls and invisible format characters shown as escapes."""
    shown = []
    for char in text:
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf"):
            shown.append(char)
        elif ord(char) < 0x100:
            shown.append(f"\\x{ord(char):02x}")
        else:
            shown.append(f"\\u{ord(char):04x}")
    return "".join(shown)


def parse_params(items: list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` options as a mapping; each name once."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidEntryError(
                f"--param {item!r} is not NAME=VALUE", hint="for example --param course=045"
            )
        if name in params:
            raise InvalidEntryError(f"--param {name} is given twice")
        params[name] = value
    return params


@app.command("send")
@reports_errors
def send(
    to: Annotated[str, typer.Argument(help="The party to send to, e.g. CN.")],
    home: HomeOption,
    as_officer: AsOption = None,
    phrase: Annotated[str | None, typer.Option(help="Phrase code, e.g. nav.course-speed.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", help="A phrase parameter as NAME=VALUE; repeat.", show_default=False
        ),
    ] = None,
    text: Annotated[str | None, typer.Option(help="Free text, sent as written.")] = None,
    status: StatusOption = None,
    lang: Lang = None,
    tlp: Annotated[str | None, typer.Option(help="TLP 2.0 label (default AMBER).")] = None,
    reply_to: Annotated[
        str | None, typer.Option("--reply-to", help="The hotline message answered, e.g. CN:7.")
    ] = None,
) -> None:
    """Send a standard phrase and/or free text to one party; print the new reference."""
    status = status_option(status)
    node = open_node(home)
    to = member_code(node, to, what="recipient")
    reply_to = None if reply_to is None else ref_option(node, reply_to)
    message = hotline.Outgoing(
        to=to,
        status=status,
        phrase=phrase,
        params=parse_params(param or []),
        text=text,
        lang=lang,
        tlp=tlp,
        reply_to=reply_to,
    )
    hotline.hotline_body(node, message)  # refuse a bad message before the officer is recorded
    acting(
        node,
        as_officer,
        "hotline.send",
        {"to": to, "phrase": phrase, "status": status},
        *SEND_ROLES,
    )
    header = hotline.send(node, message)
    sys.stdout.write(header.ref + "\n")
    sent = hotline.message(node, header.ref)
    err_console.print(
        f"sent {header.ref} to {to} ({header.status}, TLP:{header.tlp})",
        markup=False,
        highlight=False,
    )
    for line in _content(sent):
        err_console.print(line, highlight=False)


@app.command("phrases")
@reports_errors
def list_phrases(
    home: OptionalHomeOption = None,
    lang: Lang = None,
    group: Annotated[str | None, typer.Option(help="Only this group, e.g. nav.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the phrase catalogue: codes, typed parameters and renderings."""
    catalogue = phrases.catalogue()
    if lang is None:
        lang = "en" if home is None else phrases.language_for(NodeHome(home).load_config().language)
    if as_json:
        print_json(hotline.phrase_book(lang, group))
        return
    lang = hotline.checked_language(lang)
    listed = catalogue.listing(group)
    table = grid("code", "parameters", f"text ({lang})", whole=("code",))
    current = None
    for phrase in listed:
        if phrase.group != current:
            current = phrase.group
            table.add_row(Text(catalogue.group_title(current, lang), style="bold"), "", "")
        params = ", ".join(f"{name}:{kind}" for name, kind in phrase.params)
        table.add_row(phrase.code, params, Text(phrase.texts[lang]))
    out.print(table)
    out.print(
        f"catalogue {catalogue.hash} ({len(catalogue.phrases)} phrases); parameter types: "
        + ", ".join(f"{t.name} ({t.doc})" for t in phrases.PARAM_TYPES.values()),
        markup=False,
    )


def _answer(message: hotline.Message) -> str:
    answer = message.answer
    got, ack = answer.delivered or {}, answer.acknowledged or {}
    where = f"to {answer.party}" if message.direction == "sent" else "here"
    if answer.status == "mismatch":
        return f"receipt by {answer.party} names another leaf hash: do not rely on it"
    if answer.status == "none":
        return "no receipt yet"
    parts = [f"delivered {where} {format_time(got.get('claimed'))}"] if got else []
    clock = _ack_clock(message)
    if ack:
        reply = f': "{ack["reply"]}"' if ack.get("reply") else ""
        late = f" ({_clock_words(clock)})" if clock and clock["state"] == "late" else ""
        parts.append(
            f"acknowledged by {answer.party} ({ack.get('officer') or '?'}) "
            f"{format_time(ack.get('claimed'))}{reply}{late}"
        )
    elif message.direction == "received":
        missed = "deadline missed, " if clock and clock["state"] == "missed" else ""
        parts.append(
            f"{missed}not acknowledged: parley ack {message.ref} --as OFFICER{_clock_note(clock)}"
        )
    elif clock and clock["state"] == "missed":
        parts.append(f"deadline missed: not acknowledged by {answer.party}{_clock_note(clock)}")
    else:
        parts.append(f"not acknowledged yet{_clock_note(clock)}")
    return "; ".join(parts)


def _ack_clock(message: hotline.Message) -> dict[str, Any] | None:
    found = [c for c in message.clocks if c["clock"] == "acknowledged"]
    return found[0] if found else None


def _clock_words(clock: dict[str, Any]) -> str:
    from parley.cli.deadline_cmds import clock_text

    text = clock_text(clock)
    if clock.get("escalated"):
        text += f", escalated {format_time(clock['escalated'])}"
    return text


def _clock_note(clock: dict[str, Any] | None) -> str:
    """`` (missed +4.0s, escalated ...)`` or `` (2.0s left)``: the acknowledgement clock."""
    return "" if clock is None else f" ({_clock_words(clock)})"


def _content(message: hotline.Message) -> list[Text]:
    """The lines of a message under its heading: renderings, free text, notes."""
    lines: list[Text] = []
    if message.withheld is not None:
        lines.append(Text(f"  (withheld: {visible(message.withheld)})", style="yellow"))
    elif not message.body_held:
        lines.append(
            Text("  (body not held: this node has the signed header only)", style="yellow")
        )
    if message.phrase is not None:
        lines.append(
            Text(f"  phrase {message.phrase} {orjson.dumps(message.params).decode()}", style="dim")
        )
    signed = message.signed
    if message.local is not None and (signed is None or signed != message.local):
        lines.append(
            Text.assemble(("  " + message.local.lang + "  ", "bold"), visible(message.local.text))
        )
    if signed is not None:
        lines.append(
            Text.assemble((f"  {visible(signed.lang)} (signed)  ", "bold"), visible(signed.text))
        )
    if message.text is not None:
        body = visible(message.text).replace("\n", "\n        ")
        lines.append(Text.assemble(("  text  ", "bold"), body))
    if message.note:
        lines.append(Text.assemble(("  note: ", "yellow"), visible(message.note)))
    return lines


def _print(message: hotline.Message) -> None:
    arrow = f"{message.author} -> {message.to}"
    due = (
        ""
        if message.acknowledged_within is None
        else f", ack within {format_duration(message.acknowledged_within)}"
    )
    reply = f", reply to {message.in_reply_to}" if message.in_reply_to else ""
    out.print(
        Text.assemble(
            (f"{message.ref:<10}", "bold"),
            f" {format_time(message.time)}  {arrow}  {message.status} "
            f"TLP:{message.tlp}{due}{reply}",
        )
    )
    for line in _content(message):
        out.print(line)
    out.print(Text(f"  {visible(_answer(message))}", style="dim"))


@app.command("log")
@reports_errors
def log(
    peer: Annotated[str, typer.Argument(help="The other party, e.g. CN.")],
    home: HomeOption,
    as_officer: AsOption = None,
    lang: Lang = None,
    limit: Annotated[int, typer.Option(help="The latest this many messages.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The conversation with one party, both ways, with times and acknowledgement status."""
    node = open_node(home)
    peer = member_code(node, peer, what="peer")
    officer = reading(node, as_officer, "hotline.log", {"peer": peer})
    messages = hotline.conversation(node, peer, lang, limit, clearance=CLEARANCE[officer.role])
    if as_json:
        doc = {
            "party": node.party,
            "peer": peer,
            "lang": hotline.chosen_language(node, lang),
            "catalogue": phrases.catalogue_hash(),
            "messages": [m.to_dict() for m in messages],
        }
        print_json(doc)
        return
    if not messages:
        out.print(f"no hotline messages between {node.party} and {peer}", markup=False)
    for message in messages:
        _print(message)


@app.command("show")
@reports_errors
def show(
    ref: Annotated[str, typer.Argument(help="The hotline message, e.g. CN:7.")],
    home: HomeOption,
    as_officer: AsOption = None,
    lang: Lang = None,
    as_json: JsonOption = False,
) -> None:
    """One hotline message, rendered in this node's language next to the signed rendering."""
    node = open_node(home)
    ref = ref_option(node, ref)
    officer = reading(node, as_officer, "hotline.show", {"ref": ref})
    message = hotline.message(node, ref, lang, clearance=CLEARANCE[officer.role])
    if as_json:
        print_json(message.to_dict())
        return
    _print(message)


def register(root: typer.Typer) -> None:
    """Add ``hotline`` to ``parley``."""
    root.add_typer(app, name="hotline")
