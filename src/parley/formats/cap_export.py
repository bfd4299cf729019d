"""OASIS CAP 1.2 out: a notification body written as a schema-valid CAP 1.2 alert.

Element order follows the CAP 1.2 XSD. Parley's own fields travel in CAP's extension points so
that a Parley-aware reader gets them back: the category as an ``<eventCode>`` named
``profile:parley:category:1`` in every ``<info>``, the category's details as a ``<parameter>``
named ``profile:parley:details:1`` (canonical JSON) in the first ``<info>``.

Exercise, Test and Draft traffic stays visibly what it is: ``<status>`` carries the signed status
(which must agree with the header's), and a message without a ``<note>`` gets one saying so.
Who may read it is marked as ``parley.formats.cap_marking`` maps it: a named audience is
``Private`` with the parties in ``<addresses>``, ALL with TLP:AMBER is ``Restricted``, and
every ``<info>`` carries a ``TLP`` parameter. A signed CAP 1.2 alert is exported as the very XML
its sender signed, so the signature still verifies at the receiving end, but only when the
entry is public (ALL with TLP:CLEAR or GREEN): a narrower entry is rewritten with its marking,
since a signature cannot be kept on an alert that would say Public.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from parley.core.canonical import canonical_bytes
from parley.core.entry import Audience
from parley.formats.areas import cap_circle_text, cap_polygon_text, geometry_rings
from parley.formats.body_schema import STATUSES
from parley.formats.cap_marking import PUBLIC_LABELS, TLP_PARAMETER, Marking, marking, tlp_value
from parley.formats.cap_schema import CAP12_NS, validate_cap
from parley.formats.categories import CATEGORIES, EVENT_CODE_NAME
from parley.formats.errors import CapError, FormatError
from parley.formats.values import UTC_TZ, format_cap_time

DETAILS_PARAMETER = "profile:parley:details:1"
_NS = "{" + CAP12_NS + "}"


# The free-text elements of a CAP <info> after <expires>, in the schema's order, each with the
# key of the notification body that carries it (CAP 1.2 s3.2.2).
INFO_TEXTS = (
    ("senderName", "sender_name"),
    ("headline", "headline"),
    ("description", "description"),
    ("instruction", "instruction"),
    ("web", "web"),
    ("contact", "contact"),
)


def status_note(status: str) -> str:
    """The note written into a non-Actual CAP message that has none."""
    return f"{status.upper()}: this is not a real alert (Parley status {status})."


def notification_to_cap(
    body: dict[str, Any],
    status: str,
    *,
    audience: Audience | None = None,
    tlp: str | None = None,
    prefer_original: bool = True,
) -> bytes:
    """Write a body as CAP 1.2 XML (UTF-8), for an entry whose header has ``status``.

    With the header's ``audience`` and ``tlp`` the alert is marked with them (scope, addresses,
    restriction, a TLP parameter in every info); without them it is written as the body says.
    """
    if status not in STATUSES:
        raise FormatError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if body.get("status") != status:
        raise FormatError(
            f"status: the body says {body.get('status')!r} but the header says {status!r}"
        )
    marked = None if audience is None or tlp is None else marking(audience, tlp, body)
    public = marked is None or (audience == "ALL" and tlp in PUBLIC_LABELS)
    source = body.get("source", {})
    if prefer_original and public and source.get("xml") and source.get("cap_version") == "1.2":
        return str(source["xml"]).encode("utf-8")
    if marked is None:
        marked = Marking(body["scope"], body.get("addresses"), body.get("restriction"), "")
    alert = etree.Element(_NS + "alert", nsmap={None: CAP12_NS})  # type: ignore[dict-item]
    _sub(alert, "identifier", body["identifier"])
    _sub(alert, "sender", body["sender"])
    _sub(alert, "sent", format_cap_time(body["sent"], body.get("sent_tz", UTC_TZ)))
    _sub(alert, "status", status)
    _sub(alert, "msgType", body["msg_type"])
    _sub(alert, "source", body.get("cap_source"))
    _sub(alert, "scope", marked.scope)
    _sub(alert, "restriction", marked.restriction)
    _sub(alert, "addresses", _cap_list(marked.addresses))
    for code in body.get("codes", []):
        _sub(alert, "code", code)
    note = body.get("note")
    _sub(alert, "note", note if note or status == "Actual" else status_note(status))
    _sub(alert, "references", " ".join(body.get("cap_references", [])) or None)
    _sub(alert, "incidents", _cap_list(body.get("incidents")))
    for index, info in enumerate(body.get("info", [])):
        _info(alert, info, body, first=index == 0, tlp=marked.tlp)
    validate_cap(alert, "1.2", what="exported CAP alert")
    return bytes(etree.tostring(alert, encoding="UTF-8", xml_declaration=True, pretty_print=True))


def _sub(parent: etree._Element, name: str, text: str | None) -> etree._Element | None:
    if text is None:
        return None
    element = etree.SubElement(parent, _NS + name)
    element.text = text
    return element


def _cap_list(items: list[str] | None) -> str | None:
    if not items:
        return None
    return " ".join(f'"{item}"' if any(c.isspace() for c in item) else item for item in items)


def _pair(parent: etree._Element, name: str, pair: dict[str, str]) -> None:
    element = etree.SubElement(parent, _NS + name)
    _sub(element, "valueName", pair["name"])
    _sub(element, "value", pair["value"])


def _time(info: dict[str, Any], name: str) -> str | None:
    if name not in info:
        return None
    return format_cap_time(info[name], info.get(f"{name}_tz", UTC_TZ))


def _info(
    alert: etree._Element, info: dict[str, Any], body: dict[str, Any], *, first: bool, tlp: str
) -> None:
    element = etree.SubElement(alert, _NS + "info")
    _sub(element, "language", info["lang"])
    for category in info["categories"]:
        _sub(element, "category", category)
    _sub(element, "event", info["event"])
    for response_type in info.get("response_types", []):
        _sub(element, "responseType", response_type)
    for name in ("urgency", "severity", "certainty"):
        _sub(element, name, info[name])
    _sub(element, "audience", info.get("audience"))
    for pair in info.get("event_codes", []):
        _pair(element, "eventCode", pair)
    if body["category"] in CATEGORIES:
        _pair(element, "eventCode", {"name": EVENT_CODE_NAME, "value": body["category"]})
    for name in ("effective", "onset", "expires"):
        _sub(element, name, _time(info, name))
    for cap_name, key in INFO_TEXTS:
        _sub(element, cap_name, info.get(key))
    for pair in info.get("parameters", []):
        if not tlp or pair["name"].strip().upper() != TLP_PARAMETER:  # the header's label wins
            _pair(element, "parameter", pair)
    if tlp:
        _pair(element, "parameter", {"name": TLP_PARAMETER, "value": tlp_value(tlp)})
    if first and body.get("details"):
        value = canonical_bytes(body["details"]).decode("utf-8")
        _pair(element, "parameter", {"name": DETAILS_PARAMETER, "value": value})
    for resource in info.get("resources", []):
        _resource(element, resource)
    for area in info.get("areas", []):
        _area(element, area)


def _resource(parent: etree._Element, resource: dict[str, Any]) -> None:
    element = etree.SubElement(parent, _NS + "resource")
    _sub(element, "resourceDesc", resource["description"])
    _sub(element, "mimeType", resource["mime_type"])
    _sub(element, "size", str(resource["size"]) if "size" in resource else None)
    _sub(element, "uri", resource.get("uri"))
    _sub(element, "derefUri", resource.get("deref_uri"))
    _sub(element, "digest", resource.get("digest"))


def _area(parent: etree._Element, area: dict[str, Any]) -> None:
    element = etree.SubElement(parent, _NS + "area")
    _sub(element, "areaDesc", area["desc"])
    for ring in geometry_rings(area.get("geometry")):
        _sub(element, "polygon", cap_polygon_text(ring))
    for circle in area.get("circles", []):
        _sub(element, "circle", cap_circle_text(circle))
    for pair in area.get("geocodes", []):
        _pair(element, "geocode", pair)
    _sub(element, "altitude", area.get("altitude"))
    _sub(element, "ceiling", area.get("ceiling"))


def check_exportable(body: dict[str, Any], status: str) -> None:
    """Raise ``CapError`` when ``body`` cannot be written as CAP for a header ``status``."""
    try:
        notification_to_cap(body, status, prefer_original=False)
    except FormatError as exc:
        raise CapError(f"cannot export as CAP: {exc.message}") from exc
