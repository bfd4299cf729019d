"""The body of a ``notification`` entry: its schema, checked field by field (docs/formats.md).

The body is what the author signs (through ``body_hash`` in the header), so its shape is part of
the protocol: once signed it can never change meaning. It is CAP-shaped (OASIS CAP 1.2, s3.2)
so that every CAP message can be carried without loss, with Parley's own fields beside it:
``category`` and its typed ``details``, lifecycle ``references`` to entries (``PARTY:SEQ`` plus
leaf hash), ``deadlines``, ``source`` (how it entered Parley, the signed XML of a signed CAP),
for cyber notifications a ``stix`` bundle, and ``release``: the roles of the two officers (or
the one, by break-glass) who prepared and released an Alert that needed two, never their names.

Invariants kept here: a body that passes ``validate_notification`` lies in the signed-JSON subset
(no floats: coordinates and magnitudes are decimal strings), every time is integer milliseconds,
every string can be written into XML, every area geometry is closed RFC 7946 geometry, and the
category's details have the declared types. Errors name the field path (``info[0].areas[2]``).

Strict mode (the default) refuses unknown fields: that is what a node *writes*. A verifier may
check a peer's body with ``strict=False`` to accept fields from a later version.
"""

from __future__ import annotations

import re
from typing import Any

from parley.core.canonical import check_subset
from parley.core.errors import CanonicalizationError
from parley.formats.areas import check_area_geometry, check_circle, check_position
from parley.formats.categories import CAP_CATEGORIES, CATEGORIES, Category, DetailField
from parley.formats.errors import FormatError, ValueFormatError
from parley.formats.values import (
    DECIMAL_RE,
    LANG_RE,
    MAX_MS,
    UTC_TZ,
    check_ms,
    check_tz,
    check_writable,
    parse_cap_time,
    xml_text_problem,
)

MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
STATUSES = ("Actual", "Exercise", "Test", "Draft")
SCOPES = ("Public", "Restricted", "Private")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
SOURCE_FORMATS = ("cap", "stix", "parley")

SHORT_TEXT = 10_000
LONG_TEXT = 8 * 1024 * 1024
MAX_INT = 2**53 - 1

CATEGORY_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}\.[a-z][a-z0-9-]{0,63}$")
REF_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}:(0|[1-9][0-9]{0,15})$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
# CAP 1.2 s3.2.1: identifier and sender contain no spaces, commas or restricted characters.
CAP_TOKEN_RE = re.compile(r"^[^\s,<&]+$")

TOP_FIELDS = frozenset(
    {
        "category",
        "msg_type",
        "status",
        "scope",
        "identifier",
        "sender",
        "sent",
        "sent_tz",
        "restriction",
        "addresses",
        "codes",
        "note",
        "cap_source",
        "references",
        "cap_references",
        "incidents",
        "onset",
        "expires",
        "info",
        "details",
        "deadlines",
        "source",
        "stix",
        "release",
    }
)
INFO_FIELDS = frozenset(
    {
        "lang",
        "categories",
        "event",
        "response_types",
        "urgency",
        "severity",
        "certainty",
        "audience",
        "event_codes",
        "effective",
        "effective_tz",
        "onset",
        "onset_tz",
        "expires",
        "expires_tz",
        "sender_name",
        "headline",
        "description",
        "instruction",
        "web",
        "contact",
        "parameters",
        "resources",
        "areas",
    }
)
AREA_FIELDS = frozenset({"desc", "geometry", "circles", "geocodes", "altitude", "ceiling"})
RESOURCE_FIELDS = frozenset({"description", "mime_type", "size", "uri", "deref_uri", "digest"})
SOURCE_FIELDS = frozenset({"format", "cap_version", "envelope", "xml_signature", "xml"})
STIX_FIELDS = frozenset({"bundle", "part", "parts"})
DEADLINE_FIELDS = frozenset({"delivered_within", "acknowledged_within"})
RELEASE_FIELDS = frozenset({"prepared_by", "released_by", "break_glass"})
# An officer's role as the release object names it: a role, never a person's name.
ROLE_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

# Pairs of detail fields that bound a period: the start may not come after the end.
PERIODS = (("window_start", "window_end"), ("start", "end"))


def validate_notification(body: Any, *, strict: bool = True, check_rings: bool = True) -> None:
    """Check a notification body; raise ``FormatError`` naming the first bad field.

    ``check_rings=False`` skips the per-position check of info area polygons, for the CAP
    importer only: it builds those rings itself through the same checks (``areas``), and the
    fuzz tests hold every body it produces to the full validation.
    """
    if not isinstance(body, dict):
        raise FormatError("body: a notification body is a JSON object")
    if not strict:
        # Unknown fields can hold anything; in strict mode every field is typed below, and
        # only the STIX bundle, free JSON, needs the generic check (``_stix``).
        _subset(body, "$")
    _known(body, TOP_FIELDS, "body", strict)
    category = _category(body, strict)
    _enum(body, "msg_type", MSG_TYPES, "body")
    _enum(body, "status", STATUSES, "body", hint="CAP status System is not carried by Parley")
    _enum(body, "scope", SCOPES, "body")
    for name in ("identifier", "sender"):
        _token(_text(body, name, "body", required=True, limit=SHORT_TEXT), f"body.{name}")
    _time(body, "sent", "body", required=True)
    for name in ("restriction", "note", "cap_source"):
        _text(body, name, "body", limit=LONG_TEXT)
    for name in ("addresses", "codes", "incidents"):
        _texts(body, name, "body")
    _references(body)
    _time(body, "onset", "body", tz=False)
    _time(body, "expires", "body", tz=False)
    infos = _list(body, "info", "body")
    if body["msg_type"] in ("Alert", "Update") and not infos:
        raise FormatError(f"body.info: an {body['msg_type']} carries at least one info block")
    for index, info in enumerate(infos):
        _info(info, f"body.info[{index}]", strict, check_rings)
    if "source" in body:
        _source(body["source"], strict)
    native = body.get("source", {}).get("format", "parley") == "parley"
    if "details" in body:
        check_details(body["details"], category, "body.details", strict=strict, native=native)
    elif native and category is not None and any(f.required for f in category.details):
        raise FormatError(f"body.details: category {category.code} needs its details")
    if "deadlines" in body:
        _deadlines(body["deadlines"], strict)
    if "stix" in body:
        _stix(body, strict)
    if "release" in body:
        _release(body, strict)


def _subset(value: Any, path: str) -> None:
    try:
        check_subset(value, path=path)
    except CanonicalizationError as exc:
        message = "body" + exc.message[1:] if exc.message.startswith("$") else exc.message
        raise FormatError(message, hint=exc.hint) from exc


def _known(obj: dict[str, Any], allowed: frozenset[str], where: str, strict: bool) -> None:
    if strict:
        for key in obj:
            if key not in allowed:
                raise FormatError(f"{where}.{key}: unknown field")


def _category(body: dict[str, Any], strict: bool) -> Category | None:
    code = body.get("category")
    if not isinstance(code, str) or not CATEGORY_RE.match(code):
        raise FormatError("body.category: missing or not a category code like geo.earthquake")
    if code in CATEGORIES:
        return CATEGORIES[code]
    if strict:
        raise FormatError(
            f"body.category: {code!r} is not a known category",
            hint="see docs/formats.md, Categories",
        )
    return None


def _enum(
    obj: dict[str, Any], name: str, choices: tuple[str, ...], where: str, *, hint: str | None = None
) -> str:
    value = obj.get(name)
    if value not in choices:
        shown = "missing" if value is None else repr(value)
        raise FormatError(f"{where}.{name}: {shown} is not one of {', '.join(choices)}", hint=hint)
    return str(value)


def _string(value: Any, where: str, limit: int = LONG_TEXT) -> str:
    if not isinstance(value, str):
        raise FormatError(f"{where}: must be a string")
    if len(value) > limit:
        raise FormatError(f"{where}: {len(value)} characters, over the limit of {limit}")
    problem = xml_text_problem(value)
    if problem:
        raise FormatError(f"{where}: {problem}")
    return value


def _text(
    obj: dict[str, Any], name: str, where: str, *, required: bool = False, limit: int = SHORT_TEXT
) -> str | None:
    if name not in obj:
        if required:
            raise FormatError(f"{where}.{name}: missing")
        return None
    return _string(obj[name], f"{where}.{name}", limit)


def _token(value: str | None, where: str) -> None:
    if value is not None and not CAP_TOKEN_RE.match(value):
        raise FormatError(f"{where}: {value!r} may not be empty or hold spaces, commas, < or &")


def _texts(obj: dict[str, Any], name: str, where: str, *, limit: int = SHORT_TEXT) -> list[str]:
    values = _list(obj, name, where)
    for index, value in enumerate(values):
        _string(value, f"{where}.{name}[{index}]", limit)
    return values


def _list(obj: dict[str, Any], name: str, where: str) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list):
        raise FormatError(f"{where}.{name}: must be a list")
    return value


def _time(
    obj: dict[str, Any], name: str, where: str, *, required: bool = False, tz: bool = True
) -> None:
    if name not in obj:
        if required:
            raise FormatError(f"{where}.{name}: missing")
        if tz and f"{name}_tz" in obj:
            raise FormatError(f"{where}.{name}_tz: given without {name}")
        return
    try:
        check_ms(obj[name])
        if tz and f"{name}_tz" in obj:
            check_writable(obj[name], check_tz(obj[f"{name}_tz"]))
    except ValueFormatError as exc:
        raise FormatError(f"{where}.{name}: {exc}") from exc
    if tz and obj.get(f"{name}_tz") == UTC_TZ:
        raise FormatError(f"{where}.{name}_tz: omit it for +00:00 (one form per body)")


def _pairs(obj: dict[str, Any], name: str, where: str) -> None:
    for index, pair in enumerate(_list(obj, name, where)):
        path = f"{where}.{name}[{index}]"
        if not isinstance(pair, dict) or set(pair) != {"name", "value"}:
            raise FormatError(f"{path}: must be exactly {{name, value}}")
        _string(pair["name"], f"{path}.name", SHORT_TEXT)
        _string(pair["value"], f"{path}.value")


def _references(body: dict[str, Any]) -> None:
    for index, ref in enumerate(_list(body, "references", "body")):
        path = f"body.references[{index}]"
        if not isinstance(ref, dict) or set(ref) != {"ref", "leaf_hash"}:
            raise FormatError(f"{path}: must be exactly {{ref, leaf_hash}}")
        if not isinstance(ref["ref"], str) or not REF_RE.match(ref["ref"]):
            raise FormatError(f"{path}.ref: {ref['ref']!r} is not PARTY:SEQ")
        if not isinstance(ref["leaf_hash"], str) or not HEX64_RE.match(ref["leaf_hash"]):
            raise FormatError(f"{path}.leaf_hash: must be 64 lower-case hex digits")
    for index, text in enumerate(_list(body, "cap_references", "body")):
        parse_cap_reference(
            _string(text, f"body.cap_references[{index}]", SHORT_TEXT),
            f"body.cap_references[{index}]",
        )
    if body.get("msg_type") in ("Update", "Cancel", "Ack", "Error") and not (
        body.get("references") or body.get("cap_references")
    ):
        raise FormatError(f"body.references: an {body['msg_type']} must reference what it answers")


def parse_cap_reference(text: str, where: str = "reference") -> tuple[str, str, int]:
    """Parse one CAP reference "sender,identifier,sent" into (sender, identifier, sent ms)."""
    parts = text.split(",")
    if len(parts) != 3 or not all(parts) or any(c.isspace() for c in text):
        raise FormatError(f"{where}: {text!r} is not 'sender,identifier,sent'")
    try:
        sent, _ = parse_cap_time(parts[2])
    except ValueFormatError as exc:
        raise FormatError(f"{where}: {exc}") from exc
    return parts[0], parts[1], sent


def _info(info: Any, where: str, strict: bool, check_rings: bool) -> None:
    if not isinstance(info, dict):
        raise FormatError(f"{where}: must be an object")
    _known(info, INFO_FIELDS, where, strict)
    lang = _text(info, "lang", where, required=True, limit=35)
    if not LANG_RE.match(lang or ""):
        raise FormatError(f"{where}.lang: {lang!r} is not a BCP 47 language tag")
    categories = _list(info, "categories", where)
    if not categories or any(c not in CAP_CATEGORIES for c in categories):
        raise FormatError(f"{where}.categories: one or more of {', '.join(CAP_CATEGORIES)}")
    _text(info, "event", where, required=True, limit=LONG_TEXT)
    for index, value in enumerate(_list(info, "response_types", where)):
        if value not in RESPONSE_TYPES:
            raise FormatError(f"{where}.response_types[{index}]: {value!r} is not a CAP type")
    _enum(info, "urgency", URGENCIES, where)
    _enum(info, "severity", SEVERITIES, where)
    _enum(info, "certainty", CERTAINTIES, where)
    for name in ("effective", "onset", "expires"):
        _time(info, name, where)
    for name in (
        "audience",
        "sender_name",
        "headline",
        "description",
        "instruction",
        "web",
        "contact",
    ):
        _text(info, name, where, limit=LONG_TEXT)
    _pairs(info, "event_codes", where)
    _pairs(info, "parameters", where)
    for index, resource in enumerate(_list(info, "resources", where)):
        _resource(resource, f"{where}.resources[{index}]", strict)
    for index, area in enumerate(_list(info, "areas", where)):
        check_area(area, f"{where}.areas[{index}]", strict=strict, check_rings=check_rings)


def _resource(resource: Any, where: str, strict: bool) -> None:
    if not isinstance(resource, dict):
        raise FormatError(f"{where}: must be an object")
    _known(resource, RESOURCE_FIELDS, where, strict)
    _text(resource, "description", where, required=True, limit=LONG_TEXT)
    _text(resource, "mime_type", where, required=True)
    for name in ("uri", "digest"):
        _text(resource, name, where, limit=LONG_TEXT)
    _text(resource, "deref_uri", where, limit=LONG_TEXT)
    size = resource.get("size", 0)
    if type(size) is not int or not 0 <= size <= MAX_INT:
        raise FormatError(f"{where}.size: must be a non-negative integer (bytes)")


def check_area(area: Any, where: str, *, strict: bool = True, check_rings: bool = True) -> None:
    """Check one area object (docs/formats.md, Area)."""
    if not isinstance(area, dict):
        raise FormatError(f"{where}: must be an object")
    _known(area, AREA_FIELDS, where, strict)
    _text(area, "desc", where, required=True, limit=LONG_TEXT)
    if "geometry" in area:
        check_area_geometry(area["geometry"], f"{where}.geometry", check_rings=check_rings)
    for index, circle in enumerate(_list(area, "circles", where)):
        check_circle(circle, f"{where}.circles[{index}]")
    _pairs(area, "geocodes", where)
    for name in ("altitude", "ceiling"):
        if name in area and not (isinstance(area[name], str) and DECIMAL_RE.match(area[name])):
            raise FormatError(f"{where}.{name}: must be a decimal string (feet)")
    if "ceiling" in area and "altitude" not in area:
        raise FormatError(f"{where}.ceiling: CAP allows a ceiling only with an altitude")


def check_details(
    details: Any,
    category: Category | None,
    where: str = "details",
    *,
    strict: bool = True,
    native: bool = True,
) -> None:
    """Check a category's ``details`` object; ``native`` bodies must carry the required fields."""
    if not isinstance(details, dict):
        raise FormatError(f"{where}: must be an object")
    if category is not None:
        _fields(details, category.details, where, strict, native)


def _fields(
    obj: dict[str, Any], fields: tuple[DetailField, ...], where: str, strict: bool, native: bool
) -> None:
    spec = {f.name: f for f in fields}
    if strict:
        for key in obj:
            if key not in spec:
                raise FormatError(f"{where}.{key}: unknown field for this category")
    for field in fields:
        if field.name in obj:
            _value(obj[field.name], field, f"{where}.{field.name}", strict, native)
        elif field.required and native:
            raise FormatError(f"{where}.{field.name}: missing ({field.doc})")
    for start, end in PERIODS:
        if isinstance(obj.get(start), int) and isinstance(obj.get(end), int):
            if obj[start] > obj[end]:
                raise FormatError(f"{where}.{end}: ends before {start}")


def _value(value: Any, field: DetailField, where: str, strict: bool, native: bool) -> None:
    kind = field.kind
    if kind in ("text", "texts"):
        values = value if kind == "texts" else [value]
        if kind == "texts" and not isinstance(value, list):
            raise FormatError(f"{where}: must be a list of strings")
        for index, item in enumerate(values):
            path = f"{where}[{index}]" if kind == "texts" else where
            _string(item, path, LONG_TEXT)
            if field.pattern and not re.match(field.pattern, item):
                raise FormatError(f"{path}: {item!r} does not match {field.pattern}")
    elif kind == "int":
        if type(value) is not int or not -MAX_INT <= value <= MAX_INT:
            raise FormatError(f"{where}: must be an integer")
        if field.minimum is not None and value < field.minimum:
            raise FormatError(f"{where}: {value} is below {field.minimum}")
        if field.maximum is not None and value > field.maximum:
            raise FormatError(f"{where}: {value} is above {field.maximum}")
    elif kind == "decimal":
        if not isinstance(value, str) or not DECIMAL_RE.match(value):
            raise FormatError(f'{where}: must be a decimal string like "6.8"')
    elif kind == "ms":
        if type(value) is not int or not 0 <= value <= MAX_MS:
            raise FormatError(f"{where}: must be a time in integer milliseconds")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise FormatError(f"{where}: must be true or false")
    elif kind == "enum":
        if value not in field.choices:
            raise FormatError(f"{where}: {value!r} is not one of {', '.join(field.choices)}")
    elif kind == "point":
        check_position(value, where)
    elif kind == "area":
        check_area(value, where, strict=strict)
    elif kind == "areas":
        if not isinstance(value, list) or not value:
            raise FormatError(f"{where}: must be a list of one or more areas")
        for index, area in enumerate(value):
            check_area(area, f"{where}[{index}]", strict=strict)
    elif kind == "object":
        if not isinstance(value, dict):
            raise FormatError(f"{where}: must be an object")
        _fields(value, field.fields, where, strict, native)
    else:  # objects
        if not isinstance(value, list):
            raise FormatError(f"{where}: must be a list of objects")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise FormatError(f"{where}[{index}]: must be an object")
            _fields(item, field.fields, f"{where}[{index}]", strict, native)


def _deadlines(deadlines: Any, strict: bool) -> None:
    if not isinstance(deadlines, dict):
        raise FormatError("body.deadlines: must be an object")
    _known(deadlines, DEADLINE_FIELDS, "body.deadlines", strict)
    for name in DEADLINE_FIELDS:
        value = deadlines.get(name, 0)
        if type(value) is not int or not 0 <= value <= MAX_INT:
            raise FormatError(f"body.deadlines.{name}: must be milliseconds, a whole number >= 0")


def _release(body: dict[str, Any], strict: bool) -> None:
    """``release``: who prepared and who released an Alert that needed two officers, by role."""
    release = body["release"]
    if not isinstance(release, dict):
        raise FormatError("body.release: must be an object {prepared_by, released_by}")
    _known(release, RELEASE_FIELDS, "body.release", strict)
    for name in ("prepared_by", "released_by"):
        role = release.get(name)
        if not isinstance(role, str) or not ROLE_RE.match(role):
            shown = "missing" if role is None else repr(role)
            raise FormatError(
                f"body.release.{name}: {shown} is not an officer's role",
                hint="a role such as duty-officer; the body never names a person",
            )
    if "break_glass" in release and release["break_glass"] is not True:
        raise FormatError(
            "body.release.break_glass: must be true, or absent when two officers released it"
        )
    if body.get("msg_type") != "Alert":
        raise FormatError(
            f"body.release: an {body.get('msg_type')} carries no release; only the Alert does"
        )


def _source(source: Any, strict: bool) -> None:
    if not isinstance(source, dict):
        raise FormatError("body.source: must be an object")
    _known(source, SOURCE_FIELDS, "body.source", strict)
    fmt = _enum(source, "format", SOURCE_FORMATS, "body.source")
    if "cap_version" in source and source["cap_version"] not in ("1.1", "1.2"):
        raise FormatError("body.source.cap_version: must be 1.1 or 1.2")
    if "envelope" in source and source["envelope"] != "edxl-de":
        raise FormatError("body.source.envelope: the only envelope is edxl-de")
    if "xml_signature" in source and not isinstance(source["xml_signature"], bool):
        raise FormatError("body.source.xml_signature: must be true or false")
    if "xml" in source:
        _string(source["xml"], "body.source.xml", LONG_TEXT * 2)
        if fmt != "cap":
            raise FormatError("body.source.xml: only a CAP source carries its XML")


def _stix(body: dict[str, Any], strict: bool) -> None:
    stix = body["stix"]
    if not body["category"].startswith("cyber."):
        raise FormatError("body.stix: only cyber.* notifications carry a STIX bundle")
    if not isinstance(stix, dict):
        raise FormatError("body.stix: must be an object")
    _known(stix, STIX_FIELDS, "body.stix", strict)
    bundle = stix.get("bundle")
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise FormatError("body.stix.bundle: must be a STIX bundle object")
    if not isinstance(bundle.get("id"), str) or not bundle["id"].startswith("bundle--"):
        raise FormatError("body.stix.bundle.id: must be bundle--<uuid>")
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        raise FormatError("body.stix.bundle.objects: must be a list")
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise FormatError(f"body.stix.bundle.objects[{index}]: an object with an id")
    part, parts = stix.get("part", 1), stix.get("parts", 1)
    if type(part) is not int or type(parts) is not int or not 1 <= part <= parts <= 100_000:
        raise FormatError("body.stix.part: must satisfy 1 <= part <= parts")
    _subset(bundle, "$.stix.bundle")
