"""STIX 2.1 for cyber notifications: a bundle in, the same bundle out, TLP 2.0 both ways.

A STIX 2.1 bundle (OASIS STIX 2.1 s8) imports as one ``cyber.*`` notification whose body keeps
the bundle itself under ``stix.bundle``; export gives the bundle back with the same objects and
ids, checked with the ``stix2`` library. A bundle larger than the body limit is split into parts
(``split_bundle``), each a notification of its own, merged again on export.

The float rule. Signed JSON has no floats and integers stay within +/-(2^53-1)
(``parley.core.canonical``); STIX has both (``location.latitude``, custom properties). Inside
``stix.bundle`` a float ``f`` is written ``{"$float": "<decimal>"}`` with the exact digits of
``repr(f)`` in plain notation, always with a point (``"35.6895"``, ``"10000000000000000.0"``,
``"-0.0"``), so ``float(...)`` gives ``f`` back bit for bit; an integer beyond 2^53 is written
``{"$int": "<digits>"}``. STIX property names and dictionary keys cannot contain
``$`` (STIX 2.1 s3.1, s2.8), so the markers never meet real data; a bundle that has them is
refused. ``to_signed_json`` and ``from_signed_json`` are exact inverses.

TLP. ``stix2`` ships the TLP 1.0 marking definitions only; the TLP 2.0 ones published by the
OASIS CTI TC (extension ``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``, in
cti-stix-common-objects) are defined here. ``bundle_tlp`` reads the most restrictive TLP a bundle
carries (TLP 1.0 WHITE read as CLEAR); the entry's header TLP may be as strict or stricter,
never looser (``check_tlp``). ``tlp_marking_definition`` gives the published object for a label.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import orjson

from parley.core.canonical import MAX_SAFE_INTEGER, canonical_bytes
from parley.core.entry import BODY_MAX_BYTES, TLP_LABELS
from parley.formats.body_schema import validate_notification
from parley.formats.categories import CATEGORIES
from parley.formats.errors import FormatError, StixError, ValueFormatError
from parley.formats.values import decimal_string, format_iso_ms, parse_cap_time

FLOAT_KEY = "$float"
INT_KEY = "$int"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKING_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_MARKING_IDS = {  # STIX 2.1 s7.2.1.4: TLP 1.0, as stix2 ships them
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
}
_TLP_OF_ID = {**{v: k for k, v in TLP2_MARKING_IDS.items()}, **TLP1_MARKING_IDS}
_ID_RE = re.compile(
    r"^[a-z0-9][a-z0-9-]{0,248}--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}$"
)
_NOTE_NAMESPACE = uuid.UUID("5f0b9d61-3c4e-5b8a-9a51-7d6a8e2f3c10")
# Objects every part of a split bundle repeats, so each part stands on its own.
_SHARED_TYPES = ("marking-definition", "extension-definition")


def _items(obj: dict[str, Any], key: str) -> list[Any]:
    """A list property of a STIX object, or [] when absent or not a list (summaries only)."""
    value = obj.get(key)
    return value if isinstance(value, list) else []


def tlp_marking_definition(label: str) -> dict[str, Any]:
    """The TLP 2.0 marking-definition object published for STIX 2.1, for a TLP label."""
    if label not in TLP2_MARKING_IDS:
        raise StixError(f"tlp: {label!r} is not a TLP 2.0 label {list(TLP2_MARKING_IDS)}")
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKING_IDS[label],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{label}",
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label.lower()},
        },
    }


def tlp_of_marking(marking_id: str) -> str | None:
    """The TLP label a marking-definition id stands for (TLP 2.0, or TLP 1.0 read as 2.0)."""
    return _TLP_OF_ID.get(marking_id)


def bundle_tlp(bundle: dict[str, Any]) -> str | None:
    """The most restrictive TLP label marking any object of ``bundle``, or None."""
    found: set[str] = set()
    for obj in _items(bundle, "objects"):
        if not isinstance(obj, dict):
            continue
        refs = list(_items(obj, "object_marking_refs"))
        refs += [
            g.get("marking_ref") for g in _items(obj, "granular_markings") if isinstance(g, dict)
        ]
        for ref in refs:
            label = tlp_of_marking(ref) if isinstance(ref, str) else None
            if label is not None:
                found.add(label)
    if not found:
        return None
    return max(found, key=TLP_LABELS.index)


def check_tlp(bundle: dict[str, Any], header_tlp: str) -> None:
    """Refuse a header TLP looser than the bundle's own marking (TLP 2.0 ordering)."""
    if header_tlp not in TLP_LABELS:
        raise StixError(f"tlp: {header_tlp!r} is not a TLP 2.0 label")
    marked = bundle_tlp(from_signed_json(bundle) if _has_markers(bundle) else bundle)
    if marked is not None and TLP_LABELS.index(header_tlp) < TLP_LABELS.index(marked):
        raise StixError(
            f"tlp: the bundle is marked TLP:{marked}; the entry cannot be TLP:{header_tlp}",
            hint=f"share it as TLP:{marked} or stricter",
        )


def to_signed_json(value: Any, path: str = "$") -> Any:
    """Apply the float rule: floats and big integers become marker objects (see module doc)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StixError(f"{path}: {value!r} is not a JSON number")
        return {FLOAT_KEY: _float_text(value)}
    if isinstance(value, int) and not isinstance(value, bool):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        return {INT_KEY: str(value)}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key in (FLOAT_KEY, INT_KEY):
                raise StixError(f"{path}: key {key!r} is not allowed in STIX (reserved by Parley)")
            out[key] = to_signed_json(item, f"{path}.{key}")
        return out
    if isinstance(value, list):
        return [to_signed_json(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def _float_text(value: float) -> str:
    """The shortest digits that read back as ``value`` (``repr``), written without exponent."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = decimal_string(value)
    return text if "." in text else text + ".0"


def from_signed_json(value: Any) -> Any:
    """Undo ``to_signed_json``: marker objects become floats and big integers again."""
    if isinstance(value, dict):
        if len(value) == 1 and FLOAT_KEY in value and isinstance(value[FLOAT_KEY], str):
            return float(value[FLOAT_KEY])
        if len(value) == 1 and INT_KEY in value and isinstance(value[INT_KEY], str):
            return int(value[INT_KEY])
        return {key: from_signed_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_signed_json(item) for item in value]
    return value


def _has_markers(value: Any) -> bool:
    if isinstance(value, dict):
        if FLOAT_KEY in value or INT_KEY in value:
            return True
        return any(_has_markers(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_markers(v) for v in value)
    return False


def parse_bundle(data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Read and validate a STIX 2.1 bundle (JSON text or an already decoded object)."""
    if isinstance(data, bytes | str):
        try:
            bundle = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise StixError(f"STIX bundle: not valid JSON ({exc})") from exc
    else:
        bundle = data
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise StixError(
            'STIX: the input is not a bundle (type "bundle")',
            hint="wrap the objects in a STIX 2.1 bundle",
        )
    if not isinstance(bundle.get("id"), str) or not _ID_RE.match(bundle["id"]):
        raise StixError(f"STIX bundle: id {bundle.get('id')!r} is not bundle--<uuid>")
    objects = bundle.get("objects")
    if not isinstance(objects, list) or not objects:
        raise StixError("STIX bundle: it holds no objects")
    for index, obj in enumerate(objects):
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("id"), str)
            or not _ID_RE.match(obj["id"])
            or obj["id"].split("--")[0] != obj.get("type")
        ):
            raise StixError(f"STIX bundle: objects[{index}] has no valid type and id (type--uuid)")
    if bundle.get("spec_version") not in (None, "2.1") or any(
        isinstance(o, dict) and o.get("spec_version") not in (None, "2.1") for o in objects
    ):
        raise StixError("STIX bundle: only STIX 2.1 is accepted")
    to_signed_json(bundle)  # refuses reserved keys and non-finite numbers early
    _check_with_stix2(bundle, "STIX bundle")
    return bundle


def _stix_ms(timestamp: Any) -> int | None:
    if not isinstance(timestamp, str):
        return None
    try:
        return parse_cap_time(timestamp)[0]
    except ValueFormatError:
        return None


def _cves(objects: list[dict[str, Any]]) -> list[str]:
    found = []
    for obj in objects:
        if obj.get("type") != "vulnerability":
            continue
        for ref in _items(obj, "external_references"):
            if not isinstance(ref, dict):
                continue
            if str(ref.get("source_name", "")).lower() == "cve" and ref.get("external_id"):
                found.append(str(ref["external_id"]))
        name = str(obj.get("name", ""))
        if name.startswith("CVE-"):
            found.append(name)
    return sorted(set(found))


def infer_cyber_category(bundle: dict[str, Any]) -> str:
    """The cyber category a bundle is about.

    ``cyber.incident`` if it holds an incident, ``cyber.exploited-vulnerability`` if it names a
    CVE, else ``cyber.indicators``.
    """
    objects = bundle.get("objects", [])
    types = {o.get("type") for o in objects}
    if "incident" in types:
        return "cyber.incident"
    if _cves(objects):
        return "cyber.exploited-vulnerability"
    return "cyber.indicators"


def _details(category: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    indicators = [o for o in objects if o.get("type") == "indicator"]
    cves = _cves(objects)
    details: dict[str, Any] = {}
    if category == "cyber.indicators":
        details["indicator_count"] = len(indicators)
        kinds = sorted({str(k) for o in indicators for k in _items(o, "indicator_types")})
        if kinds:
            details["indicator_types"] = kinds
        until = [t for o in indicators if (t := _stix_ms(o.get("valid_until"))) is not None]
        if until:
            details["valid_until"] = max(until)
    elif cves:
        details["cves"] = cves
    return details


def _headline(objects: list[dict[str, Any]]) -> str:
    for kind in ("report", "grouping", "incident", "malware", "campaign", "intrusion-set"):
        for obj in objects:
            if obj.get("type") == kind and obj.get("name"):
                return str(obj["name"])
    return f"STIX bundle of {len(objects)} objects"


def _description(objects: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for obj in objects:
        counts[str(obj.get("type"))] = counts.get(str(obj.get("type")), 0) + 1
    return "STIX 2.1 objects: " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))


def stix_to_notification(
    bundle: dict[str, Any],
    *,
    sender: str,
    sent_ms: int,
    status: str,
    category: str | None = None,
    identifier: str | None = None,
    headline: str | None = None,
    lang: str = "en",
    part: tuple[int, int] = (1, 1),
) -> dict[str, Any]:
    """One cyber notification body carrying ``bundle`` (validate it with ``parse_bundle``)."""
    objects = bundle["objects"]
    category = category or infer_cyber_category(bundle)
    if not category.startswith("cyber.") or category not in CATEGORIES:
        raise StixError(f"category: {category!r} is not a cyber.* category")
    cat = CATEGORIES[category]
    index, total = part
    info = {
        "lang": lang,
        "categories": list(cat.cap_categories),
        "event": cat.title,
        "urgency": "Unknown",
        "severity": "Unknown",
        "certainty": "Unknown",
        "headline": headline or _headline(objects),
        "description": _description(objects),
    }
    stix: dict[str, Any] = {"bundle": to_signed_json(bundle)}
    if total > 1:
        stix.update(part=index, parts=total)
    body: dict[str, Any] = {
        "category": category,
        "msg_type": "Alert",
        "status": status,
        "scope": "Public",
        "identifier": (identifier or bundle["id"]) + (f"#{index}of{total}" if total > 1 else ""),
        "sender": sender,
        "sent": sent_ms,
        "info": [info],
        "details": _details(category, objects),
        "source": {"format": "stix"},
        "stix": stix,
    }
    try:
        validate_notification(body)
    except FormatError as exc:
        raise StixError(f"STIX bundle {bundle['id']}: {exc.message}") from exc
    return body


def stix_to_notifications(
    bundle: dict[str, Any], *, max_body_bytes: int = BODY_MAX_BYTES, **kwargs: Any
) -> list[dict[str, Any]]:
    """Bodies for ``bundle``: one, or one per part when a single body would exceed the limit."""
    whole = stix_to_notification(bundle, **kwargs)
    if len(canonical_bytes(whole)) <= max_body_bytes:
        return [whole]
    overhead = len(canonical_bytes(dict(whole, stix={"bundle": {}, "part": 1, "parts": 1})))
    parts = split_bundle(bundle, max_body_bytes - overhead - 256)
    category = kwargs.pop("category", None) or whole["category"]
    return [
        stix_to_notification(p, part=(i + 1, len(parts)), category=category, **kwargs)
        for i, p in enumerate(parts)
    ]


def _size(obj: Any) -> int:
    return len(canonical_bytes(to_signed_json(obj)))


def split_bundle(bundle: dict[str, Any], max_bytes: int) -> list[dict[str, Any]]:
    """Split ``bundle`` into bundles of the same id, each at most ``max_bytes`` in signed form.

    Marking and extension definitions, and the identities named by ``created_by_ref``, are
    repeated in every part so that each part can be read alone; other objects keep their order.
    """
    objects = bundle["objects"]
    creators = {o["created_by_ref"] for o in objects if isinstance(o.get("created_by_ref"), str)}
    shared = [
        o
        for o in objects
        if o.get("type") in _SHARED_TYPES
        or (o.get("type") == "identity" and o.get("id") in creators)
    ]
    shared_ids = {id(o) for o in shared}
    rest = [o for o in objects if id(o) not in shared_ids]
    frame = _size({"type": "bundle", "id": bundle["id"], "objects": shared})
    if _size(bundle) <= max_bytes:
        return [bundle]
    parts: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    used = frame
    for obj in rest:
        size = _size(obj) + 1
        if frame + size > max_bytes:
            raise StixError(
                f"STIX object {obj.get('id')} is {size} bytes; no part under {max_bytes} bytes "
                "can hold it",
            )
        if used + size > max_bytes and current:
            parts.append(current)
            current, used = [], frame
        current.append(obj)
        used += size
    if current:
        parts.append(current)
    return [{**bundle, "objects": shared + chunk} for chunk in parts]


def merge_bundles(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the parts of a split bundle: every object once, in order of first appearance."""
    if not parts:
        raise StixError("merge: no bundles given")
    seen: set[bytes] = set()
    objects = []
    for part in parts:
        if part.get("id") != parts[0].get("id"):
            raise StixError("merge: the parts belong to different bundles")
        for obj in part["objects"]:
            key = canonical_bytes(to_signed_json(obj))
            if key not in seen:
                seen.add(key)
                objects.append(obj)
    return {**parts[0], "objects": objects}


def notification_to_stix(
    bodies: dict[str, Any] | list[dict[str, Any]], status: str, *, tlp: str | None = None
) -> dict[str, Any]:
    """The STIX bundle of a cyber notification (all parts of a split one), same ids.

    Exercise, Test and Draft bundles gain one ``note`` object (a new id derived from the bundle
    id) that says so and points at every object. With ``tlp`` the published TLP 2.0 marking
    definition is included; existing objects are never changed.
    """
    items = [bodies] if isinstance(bodies, dict) else list(bodies)
    for body in items:
        if "stix" not in body:
            raise StixError("export: the notification carries no STIX bundle")
        if body.get("status") != status:
            raise StixError(f"status: the body says {body.get('status')!r}, the header {status!r}")
    items.sort(key=lambda b: int(b["stix"].get("part", 1)))
    total = int(items[0]["stix"].get("parts", 1))
    have = [int(b["stix"].get("part", 1)) for b in items]
    if have != list(range(1, total + 1)):
        missing = sorted(set(range(1, total + 1)) - set(have))
        raise StixError(f"export: parts {missing} of {total} are missing")
    bundle = merge_bundles([from_signed_json(b["stix"]["bundle"]) for b in items])
    extra: list[dict[str, Any]] = []
    if tlp is not None:
        definition = tlp_marking_definition(tlp)
        if all(o.get("id") != definition["id"] for o in bundle["objects"]):
            extra.append(definition)
    if status != "Actual":
        extra.append(_status_note(bundle, status, items[0]["sent"], tlp))
    bundle = {**bundle, "objects": bundle["objects"] + extra}
    _check_with_stix2(bundle, "exported bundle")
    return bundle


def _check_with_stix2(bundle: dict[str, Any], what: str) -> None:
    """Validate a bundle with the stix2 library.

    stix2 is imported here, not at the top: it costs a third of a second at start-up, and only
    STIX import and export need it.
    """
    import stix2

    try:
        stix2.parse(bundle, allow_custom=True)
    except Exception as exc:  # noqa: BLE001 - stix2 raises many kinds; all mean "invalid"
        raise StixError(f"{what} is not valid STIX 2.1: {exc}") from exc


def _status_note(
    bundle: dict[str, Any], status: str, sent_ms: int, tlp: str | None
) -> dict[str, Any]:
    stamp = format_iso_ms(sent_ms)
    note: dict[str, Any] = {
        "type": "note",
        "spec_version": "2.1",
        "id": f"note--{uuid.uuid5(_NOTE_NAMESPACE, bundle['id'] + '/' + status)}",
        "created": stamp,
        "modified": stamp,
        "abstract": f"[{status.upper()}] not a real incident",
        "content": f"[{status.upper()}] This bundle was shared as Parley {status} traffic; it "
        "does not describe a real incident.",
        "object_refs": [o["id"] for o in bundle["objects"]],
        "labels": [f"parley-status-{status.lower()}"],
    }
    if tlp is not None:
        note["object_marking_refs"] = [TLP2_MARKING_IDS[tlp]]
    return note
