"""OASIS CAP 1.2 in: parse, validate, unwrap EDXL-DE, and turn an alert into a notification body.

``parse_cap`` reads untrusted bytes with the hardened parser (``xml_safety``), unwraps an EDXL-DE
1.0/2.0 distribution (each ``contentObject/xmlContent/embeddedXMLContent`` alert), and validates
every alert with lxml's XMLSchema against the OASIS CAP 1.2 XSD. CAP 1.1 alerts are accepted too,
validated against the CAP 1.1 XSD and read as CAP 1.2 (the two differ only in details listed in
docs/formats.md); CAP 1.0 and any other root element are refused with the reason.

``cap_to_notification`` maps an alert onto the body schema (``body_schema``) keeping everything a
faithful CAP 1.2 round trip needs: every ``<info>`` (one per language), every polygon, circle and
geocode, the references, and, for a signed alert, the signed XML itself so that its XML-DSig
``<Signature>`` stays verifiable. ``cap_identity`` gives the idempotency key of an import: the
same identifier, sender and sent instant always denote the same notification (CAP 1.2 s3.2.1).
``notification_to_cap`` (``cap_export``) writes a body back as CAP 1.2; ``verify_xml_signature``
(``xmldsig``) checks a signed alert against the key configured for its sender.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from lxml import etree

from parley.core.canonical import check_subset
from parley.core.errors import CanonicalizationError
from parley.formats.areas import parse_cap_circle, parse_cap_polygon, rings_geometry
from parley.formats.body_schema import STATUSES, validate_notification
from parley.formats.cap_export import DETAILS_PARAMETER, INFO_TEXTS, notification_to_cap
from parley.formats.cap_schema import CAP10_NS, DSIG_NS, NAMESPACES, validate_cap
from parley.formats.categories import EVENT_CODE_NAME, infer_category
from parley.formats.errors import CapError, FormatError, ValueFormatError
from parley.formats.values import (
    UTC_TZ,
    decimal_string,
    parse_cap_time,
)
from parley.formats.xml_safety import DEFAULT_LIMITS, XmlLimits, parse_xml
from parley.formats.xmldsig import XmlSignature, verify_xml_signature

__all__ = [
    "CapAlert",
    "XmlSignature",
    "cap_identity",
    "cap_to_notification",
    "notification_to_cap",
    "parse_cap",
    "split_cap_list",
    "verify_xml_signature",
]

EDXL_NAMESPACES = (
    "urn:oasis:names:tc:emergency:EDXL:DE:1.0",
    "urn:oasis:names:tc:emergency:EDXL:DE:2.0",
)
_VERSION_OF = {ns: version for version, ns in NAMESPACES.items()}
_LIST_ITEM = re.compile(r'"([^"]*)"|(\S+)')


@dataclass(frozen=True, eq=False)
class CapAlert:
    """One schema-valid CAP alert, as found in a message (possibly inside an EDXL-DE envelope)."""

    element: etree._Element = field(repr=False)
    version: str
    envelope: str | None
    signed: bool
    document: bytes | None = field(default=None, repr=False)
    """For a signed alert: the XML document whose ``<Signature>`` covers it, in UTF-8."""

    def text(self, name: str) -> str:
        """The trimmed text of the alert's child element ``name``, or "" if it has none."""
        child = self.element.find(f"{{{NAMESPACES[self.version]}}}{name}")
        return (child.text or "").strip() if child is not None else ""

    @property
    def identifier(self) -> str:
        """The alert's ``<identifier>``, unique per sender (CAP 1.2 §3.2.1)."""
        return self.text("identifier")

    @property
    def sender(self) -> str:
        """The alert's ``<sender>``, who originated it (CAP 1.2 §3.2.1)."""
        return self.text("sender")

    @property
    def sent(self) -> str:
        """The alert's ``<sent>`` dateTime as written (CAP 1.2 §3.2.1)."""
        return self.text("sent")


def parse_cap(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> list[CapAlert]:
    """Parse a CAP message or an EDXL-DE distribution into its schema-valid alerts."""
    root = parse_xml(data, limits=limits, what="CAP message")
    qname = etree.QName(root)
    namespace, local = qname.namespace or "", qname.localname
    if local == "alert" and namespace in _VERSION_OF:
        alerts: list[tuple[etree._Element, str]] = [(root, _VERSION_OF[namespace])]
        envelope = None
    elif local == "alert" and namespace == CAP10_NS:
        raise CapError(
            "CAP 1.0 is not accepted (namespace " + CAP10_NS + ")",
            hint="convert the message to CAP 1.2",
        )
    elif local == "alert":
        raise CapError(
            f"root element <alert> is in namespace {namespace or '(none)'!r}, not CAP 1.2",
            hint=f'a CAP 1.2 alert uses xmlns="{NAMESPACES["1.2"]}"',
        )
    elif local == "EDXLDistribution" and namespace in EDXL_NAMESPACES:
        alerts, envelope = _edxl_alerts(root), "edxl-de"
    else:
        raise CapError(f"root element <{local}> is neither a CAP alert nor an EDXL-DE distribution")
    result = []
    for index, (element, version) in enumerate(alerts):
        what = "CAP alert" if envelope is None else f"CAP alert {index + 1} in the EDXL-DE"
        _validate(element, version, what)
        signed = element.find(f"{{{DSIG_NS}}}Signature") is not None
        document = _signed_document(data, element, envelope) if signed else None
        result.append(CapAlert(element, version, envelope, signed, document))
    return result


def _edxl_alerts(root: etree._Element) -> list[tuple[etree._Element, str]]:
    edxl = root.tag[1 : root.tag.index("}")]
    found = []
    path = f"{{{edxl}}}contentObject/{{{edxl}}}xmlContent/{{{edxl}}}embeddedXMLContent/*"
    for element in root.iterfind(path):
        namespace = str(element.tag)[1:].partition("}")[0]
        if str(element.tag).endswith("}alert") and namespace in _VERSION_OF:
            found.append((element, _VERSION_OF[namespace]))
    if not found:
        raise CapError("the EDXL-DE distribution holds no CAP 1.2 alert in embeddedXMLContent")
    return found


def _validate(element: etree._Element, version: str, what: str) -> None:
    if version == "1.1":
        # The CAP 1.1 XSD omits the enveloped-signature slot that CAP 1.1 s3.3.2.1 allows.
        element = copy.deepcopy(element)
        for signature in element.findall(f"{{{DSIG_NS}}}Signature"):
            element.remove(signature)
    validate_cap(element, version, what=what)


def _signed_document(data: bytes, element: etree._Element, envelope: str | None) -> bytes:
    if envelope is None:
        tree = element.getroottree()
        if (tree.docinfo.encoding or "UTF-8").upper() in ("UTF-8", "UTF8"):
            return data
        return etree.tostring(tree, encoding="UTF-8", xml_declaration=True)
    return etree.tostring(element, encoding="UTF-8", xml_declaration=True)


def cap_identity(alert: CapAlert) -> tuple[str, str, int]:
    """The idempotency key of an alert: (identifier, sender, sent in ms UTC)."""
    try:
        sent, _ = parse_cap_time(alert.sent)
    except ValueFormatError as exc:
        raise CapError(f"sent: {exc}") from exc
    return alert.identifier, alert.sender, sent


def split_cap_list(text: str) -> list[str]:
    """Split a CAP list (addresses, incidents): space-delimited, double quotes around spaces."""
    return [quoted or plain for quoted, plain in _LIST_ITEM.findall(text)]


class _Reader:
    """Reads one alert element of a CAP version, child by child."""

    def __init__(self, version: str) -> None:
        self.ns = "{" + NAMESPACES[version] + "}"
        self.cut = len(self.ns)

    def children(self, element: etree._Element) -> dict[str, list[etree._Element]]:
        out: dict[str, list[etree._Element]] = {}
        ns, cut = self.ns, self.cut
        for child in element.iterchildren(tag=etree.Element):
            tag = child.tag
            if tag.startswith(ns):
                name = tag[cut:]
                if name in out:
                    out[name].append(child)
                else:
                    out[name] = [child]
        return out


def _text(kids: dict[str, list[etree._Element]], name: str, *, strip: bool = False) -> str | None:
    found = kids.get(name)
    if not found:
        return None
    text = found[0].text or ""
    text = text.strip() if strip else text
    return text if text.strip() else None


def _texts(kids: dict[str, list[etree._Element]], name: str) -> list[str]:
    return [e.text.strip() for e in kids.get(name, []) if e.text and e.text.strip()]


def cap_to_notification(alert: CapAlert, *, category: str | None = None) -> dict[str, Any]:
    """Map a parsed CAP alert onto a notification body (docs/formats.md, CAP mapping).

    ``category`` overrides the category found in the alert (our event code) or inferred from
    its events. The result passes ``validate_notification``; a CAP rule it would break raises
    ``CapError`` naming the alert and the field.
    """
    try:
        return _to_body(alert, category)
    except CapError:
        raise
    except FormatError as exc:
        raise CapError(f"CAP alert {alert.identifier!r}: {exc.message}", hint=exc.hint) from exc


def _to_body(alert: CapAlert, category: str | None) -> dict[str, Any]:
    reader = _Reader(alert.version)
    kids = reader.children(alert.element)
    status = _text(kids, "status", strip=True) or ""
    if status not in STATUSES:
        raise CapError(
            f"status: {status!r} is not carried by Parley (Actual, Exercise, Test, Draft)"
        )
    body: dict[str, Any] = {
        "msg_type": _text(kids, "msgType", strip=True),
        "status": status,
        "scope": _text(kids, "scope", strip=True),
        "identifier": _text(kids, "identifier", strip=True) or "",
        "sender": _text(kids, "sender", strip=True) or "",
    }
    _put_time(body, "sent", _text(kids, "sent", strip=True) or "", "sent")
    for name, key in (("source", "cap_source"), ("restriction", "restriction"), ("note", "note")):
        value = _text(kids, name)
        if value is not None:
            body[key] = value
    codes = _texts(kids, "code")
    if codes:
        body["codes"] = codes
    for name, key in (("addresses", "addresses"), ("incidents", "incidents")):
        items = split_cap_list(_text(kids, name) or "")
        if items:
            body[key] = items
    references = (_text(kids, "references") or "").split()  # tokens never hold spaces
    if references:
        body["cap_references"] = references
    details: dict[str, Any] | None = None
    infos = []
    event_codes: list[tuple[str, str]] = []
    for index, element in enumerate(kids.get("info", [])):
        info, found = _info(reader, element, f"info[{index}]")
        details = details if found is None else found
        infos.append(info)
        event_codes += [(p["name"], p["value"]) for p in info.get("event_codes", [])]
    body["info"] = infos
    _strip_parley_codes(infos)
    _summary_times(body, infos)
    body["category"] = category or infer_category(
        [i["event"] for i in infos], [c for i in infos for c in i["categories"]], event_codes
    )
    if details is not None:
        body["details"] = details
    body["source"] = _source(alert)
    validate_notification(body, check_rings=False)  # parse_cap_polygon checked every ring
    return body


def _put_time(target: dict[str, Any], key: str, text: str, where: str) -> None:
    try:
        ms, tz = parse_cap_time(text)
    except ValueFormatError as exc:
        raise CapError(f"{where}: {exc}") from exc
    target[key] = ms
    if tz != UTC_TZ:
        target[f"{key}_tz"] = tz


def _pairs(reader: _Reader, elements: list[etree._Element]) -> list[dict[str, str]]:
    pairs = []
    for element in elements:
        kids = reader.children(element)
        name = (kids["valueName"][0].text or "") if kids.get("valueName") else ""
        value = (kids["value"][0].text or "") if kids.get("value") else ""
        pairs.append({"name": name, "value": value})
    return pairs


_INFO_TEXTS = (("audience", "audience"), *INFO_TEXTS)


def _info(
    reader: _Reader, element: etree._Element, where: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    kids = reader.children(element)
    info: dict[str, Any] = {
        "lang": _text(kids, "language", strip=True) or "en-US",
        "categories": _texts(kids, "category"),
        "event": _text(kids, "event") or "",
    }
    response_types = _texts(kids, "responseType")
    if response_types:
        info["response_types"] = response_types
    for name in ("urgency", "severity", "certainty"):
        info[name] = _text(kids, name, strip=True)
    for cap_name, key in _INFO_TEXTS:
        value = _text(kids, cap_name)
        if value is not None:
            info[key] = value
    for name in ("effective", "onset", "expires"):
        text = _text(kids, name, strip=True)
        if text is not None:
            _put_time(info, name, text, f"{where}.{name}")
    event_codes = _pairs(reader, kids.get("eventCode", []))
    if event_codes:
        info["event_codes"] = event_codes
    parameters = _pairs(reader, kids.get("parameter", []))
    details = _details_parameter(parameters, where)
    parameters = [p for p in parameters if p["name"] != DETAILS_PARAMETER]
    if parameters:
        info["parameters"] = parameters
    resources = [_resource(reader, e) for e in kids.get("resource", [])]
    if resources:
        info["resources"] = resources
    areas = [_area(reader, e, f"{where}.area[{i}]") for i, e in enumerate(kids.get("area", []))]
    if areas:
        info["areas"] = areas
    return info, details


def _details_parameter(parameters: list[dict[str, str]], where: str) -> dict[str, Any] | None:
    for parameter in parameters:
        if parameter["name"] == DETAILS_PARAMETER:
            try:
                details = orjson.loads(parameter["value"])
                check_subset(details)
            except (orjson.JSONDecodeError, CanonicalizationError) as exc:
                raise CapError(
                    f"{where}.parameter {DETAILS_PARAMETER}: not signed JSON ({exc})"
                ) from exc
            if not isinstance(details, dict):
                raise CapError(f"{where}.parameter {DETAILS_PARAMETER}: must be a JSON object")
            return details
    return None


def _resource(reader: _Reader, element: etree._Element) -> dict[str, Any]:
    kids = reader.children(element)
    resource: dict[str, Any] = {
        "description": _text(kids, "resourceDesc") or "",
        # CAP 1.1 made mimeType optional; CAP 1.2 requires it.
        "mime_type": _text(kids, "mimeType", strip=True) or "application/octet-stream",
    }
    size = _text(kids, "size", strip=True)
    if size is not None:
        resource["size"] = int(size)
    for cap_name, key in (("uri", "uri"), ("derefUri", "deref_uri"), ("digest", "digest")):
        value = _text(kids, cap_name, strip=True)
        if value is not None:
            resource[key] = value
    return resource


def _area(reader: _Reader, element: etree._Element, where: str) -> dict[str, Any]:
    kids = reader.children(element)
    area: dict[str, Any] = {"desc": _text(kids, "areaDesc") or ""}
    rings = [
        parse_cap_polygon(e.text, f"{where}.polygon[{i}]")
        for i, e in enumerate(kids.get("polygon", []))
        if e.text and e.text.strip()
    ]
    geometry = rings_geometry(rings)
    if geometry is not None:
        area["geometry"] = geometry
    circles = [
        parse_cap_circle(e.text, f"{where}.circle[{i}]")
        for i, e in enumerate(kids.get("circle", []))
        if e.text and e.text.strip()
    ]
    if circles:
        area["circles"] = circles
    geocodes = _pairs(reader, kids.get("geocode", []))
    if geocodes:
        area["geocodes"] = geocodes
    for name in ("altitude", "ceiling"):
        text = _text(kids, name, strip=True)
        if text is not None:
            try:
                area[name] = decimal_string(text)
            except ValueFormatError as exc:
                raise CapError(f"{where}.{name}: {exc}") from exc
    return area


def _strip_parley_codes(infos: list[dict[str, Any]]) -> None:
    for info in infos:
        codes = [c for c in info.get("event_codes", []) if c["name"] != EVENT_CODE_NAME]
        if codes:
            info["event_codes"] = codes
        else:
            info.pop("event_codes", None)


def _summary_times(body: dict[str, Any], infos: list[dict[str, Any]]) -> None:
    """The notification's own onset and expiry: earliest onset, latest expiry of all infos."""
    onsets = [i["onset"] for i in infos if "onset" in i]
    if onsets:
        body["onset"] = min(onsets)
    expiries = [i.get("expires") for i in infos]
    if expiries and all(e is not None for e in expiries):
        body["expires"] = max(e for e in expiries if e is not None)


def _source(alert: CapAlert) -> dict[str, Any]:
    source: dict[str, Any] = {
        "format": "cap",
        "cap_version": alert.version,
        "xml_signature": alert.signed,
    }
    if alert.envelope is not None:
        source["envelope"] = alert.envelope
    if alert.document is not None:
        source["xml"] = alert.document.decode("utf-8")
    return source
