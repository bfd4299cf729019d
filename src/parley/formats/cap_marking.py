"""Who may read a CAP alert: Parley's audience and TLP 2.0 label, in CAP 1.2's own elements.

CAP 1.2 (s3.2.1) has three scopes. ``Public`` is for general dissemination; ``Restricted`` is
for "users with a known operational requirement", named in free text by ``<restriction>``;
``Private`` is for "specified addresses", listed in ``<addresses>``. A Parley entry's signed
``audience`` and ``tlp`` (DESIGN.md, the entry) map onto them:

* a named audience (``JP``, ``US``) is ``Private`` with ``<addresses>JP US</addresses>``: the
  parties are exactly CAP's "specified addresses", and a CAP router that honours Private sends
  it to them alone. ``Restricted`` would leave the readers to a text no router can act on;
* audience ALL with TLP:AMBER or AMBER+STRICT (every member, nobody else) is ``Restricted``
  with ``<restriction>TLP:AMBER</restriction>``: no addresses to list, a restriction to state;
* audience ALL with TLP:CLEAR or GREEN stays ``Public`` as the sender wrote it (GREEN is
  community-wide, and CAP has no narrower scope without naming someone).

Every ``<info>`` also carries ``<parameter><valueName>TLP</valueName><value>TLP:AMBER</value>``,
so the label survives a tool that keeps the info blocks only. Reading an alert back
(``read_marking``) gives the audience and label it carries, and refuses a combination that
cannot be true: blocks that disagree, a label the restriction contradicts, ``Public`` with
AMBER or RED, ``Private`` without party addresses or with CLEAR, ``Restricted`` with CLEAR or
RED. An alert with no TLP at all is unmarked: its readers are for the importing officer to say.
Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley.core.entry import ALL, TLP_LABELS, Audience, check_party
from parley.core.errors import InvalidEntryError
from parley.formats.errors import CapError

TLP_PARAMETER = "TLP"
PUBLIC_LABELS = ("CLEAR", "GREEN")


@dataclass(frozen=True)
class Marking:
    """The CAP ``scope``, ``addresses`` and ``restriction`` of an alert, and its TLP label."""

    scope: str
    addresses: list[str] | None
    restriction: str | None
    tlp: str


def marking(audience: Audience, tlp: str, body: dict[str, Any]) -> Marking:
    """How an entry with ``audience`` and ``tlp`` is marked in CAP (see the module docstring)."""
    if audience != ALL:
        return Marking("Private", list(audience), None, tlp)
    if tlp in PUBLIC_LABELS:
        return Marking(body["scope"], body.get("addresses"), body.get("restriction"), tlp)
    return Marking("Restricted", None, f"TLP:{tlp}", tlp)


def tlp_value(tlp: str) -> str:
    """The value of the ``TLP`` parameter: the label as FIRST writes it (``TLP:AMBER``)."""
    return f"TLP:{tlp}"


def _label(text: str, where: str) -> str:
    label = text.strip().upper().removeprefix("TLP:")
    if label not in TLP_LABELS:
        raise CapError(
            f"{where}: {text!r} is not a TLP 2.0 label",
            hint=f"one of {', '.join('TLP:' + t for t in TLP_LABELS)}",
        )
    return label


def _parameter_labels(body: dict[str, Any]) -> set[str]:
    labels = set()
    for index, info in enumerate(body.get("info", [])):
        for pair in info.get("parameters", []):
            if pair["name"].strip().upper() == TLP_PARAMETER:
                labels.add(_label(pair["value"], f"info[{index}].parameter TLP"))
    return labels


def read_marking(body: dict[str, Any]) -> tuple[Audience | None, str | None]:
    """The audience and TLP label a CAP alert (as a notification body) carries, if any.

    ``(None, None)`` when it carries no TLP; ``CapError`` when its fields contradict each other.
    """
    labels = _parameter_labels(body)
    if len(labels) > 1:
        raise CapError(f"the info blocks carry different TLP labels: {', '.join(sorted(labels))}")
    scope = body["scope"]
    restriction = body.get("restriction") or ""
    restricted = None
    if scope == "Restricted" and restriction.strip().upper().startswith("TLP:"):
        restricted = _label(restriction.split()[0], "restriction")
    if restricted is not None and labels and restricted not in labels:
        raise CapError(
            f"the restriction says TLP:{restricted} but the info blocks say "
            f"TLP:{next(iter(labels))}"
        )
    tlp = restricted or (next(iter(labels)) if labels else None)
    if tlp is None:
        return None, None
    if scope == "Public":
        if tlp not in PUBLIC_LABELS:
            raise CapError(
                f"scope Public cannot carry TLP:{tlp}",
                hint="TLP:AMBER is Restricted (every member) or Private (named "
                "parties); TLP:RED is Private",
            )
        return ALL, tlp
    if scope == "Restricted":
        if tlp not in ("AMBER", "AMBER+STRICT"):
            raise CapError(
                f"scope Restricted cannot carry TLP:{tlp}",
                hint="TLP:CLEAR and GREEN are Public; TLP:RED is Private with the "
                "parties in <addresses>",
            )
        return ALL, tlp
    return _addressed(body.get("addresses") or [], tlp), tlp


def _addressed(addresses: list[str], tlp: str) -> Audience:
    """The parties of a ``Private`` alert: its addresses, each a party code."""
    if tlp == "CLEAR":
        raise CapError("scope Private cannot carry TLP:CLEAR: CLEAR is for everyone")
    if not addresses:
        raise CapError(
            f"scope Private with TLP:{tlp} names no addresses",
            hint="list the parties in <addresses>, e.g. JP US",
        )
    try:
        return tuple(sorted({check_party(a, what="addresses") for a in addresses}))
    except InvalidEntryError as exc:
        raise CapError(
            f"scope Private with TLP:{tlp}: {exc.message}",
            hint="a Parley-marked alert addresses party codes, e.g. JP US",
        ) from exc
