"""A TAXII 2.1 envelope POSTed to a collection becomes one cyber notification (s5.4, s4.3).

The workflow, top to bottom:

1. The caller must hold ``Action.IMPORT`` (an analyst's or duty officer's token of scope
   analyst or wider) and the collection must be writable for it (``reading.collections_for``).
2. The envelope must be a JSON object with a non-empty ``objects`` list. Each object is checked
   alone (a ``type--uuid`` id matching its type, STIX 2.1): one that fails is reported as a
   failure in the status resource and left out; the others go on.
3. Audience and TLP: the audience is the collection's; the TLP is the stricter of the
   collection's default (GREEN shared with all, AMBER for named parties) and the strictest TLP
   marking on the objects. Objects marked TLP:RED cannot go to a collection shared with all:
   the whole envelope is refused, naming the marking.
4. The objects, as one STIX bundle with a fresh id, go through the node's one import path
   (``notifications.importing.import_sources``): validated by ``stix2``, checked against the
   policy, signed, appended durably and indexed for TAXII in the same transaction. If ``stix2``
   refuses the bundle, the objects it refuses alone are failures and the rest is imported.
5. The status resource (s4.3.1) is stored and returned: every object a success (with the
   notification it went into) or a failure (with why). The append is synchronous, so a status
   is ``complete`` when the POST answers and nothing is ever pending.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from parley.core.entry import TLP_LABELS
from parley.core.errors import InvalidEntryError, NotAuthorizedError, NotFoundError
from parley.formats.errors import StixError
from parley.formats.stix import bundle_tlp, parse_bundle
from parley.formats.taxii import format_timestamp_us
from parley.node.access import Action, Principal
from parley.node.node import Node
from parley.node.notifications.importing import ImportOptions, Source, import_sources
from parley.node.taxii.reading import Collection, collection_for, default_tlp
from parley.store import taxii as rows

__all__ = ["StatusResource", "add_envelope", "add_to", "status_for"]

MAX_OBJECTS = 10_000
_ID = re.compile(
    r"^([a-z0-9][a-z0-9-]{0,248})--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


@dataclass
class StatusResource:
    """The TAXII status resource of one write (s4.3.1)."""

    id: str
    request_timestamp: int  # microseconds
    successes: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The resource as TAXII writes it."""
        total = len(self.successes) + len(self.failures)
        return {
            "id": self.id,
            "status": "complete",
            "request_timestamp": format_timestamp_us(self.request_timestamp),
            "total_count": total,
            "success_count": len(self.successes),
            "successes": self.successes,
            "failure_count": len(self.failures),
            "failures": self.failures,
            "pending_count": 0,
            "pendings": [],
        }


def _envelope_objects(data: bytes) -> list[Any]:
    try:
        envelope = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidEntryError(f"the envelope is not JSON ({exc})", field="envelope") from exc
    if not isinstance(envelope, dict):
        raise InvalidEntryError("the envelope is not a JSON object", field="envelope")
    objects = envelope.get("objects")
    if not isinstance(objects, list) or not objects:
        raise InvalidEntryError(
            "the envelope has no 'objects' list with at least one object",
            field="objects",
            hint='send {"objects": [ ...STIX 2.1 objects... ]}',
        )
    if len(objects) > MAX_OBJECTS:
        raise InvalidEntryError(
            f"the envelope holds {len(objects)} objects, over the limit of {MAX_OBJECTS}",
            field="objects",
        )
    return objects


def _object_problem(obj: Any) -> str | None:
    """Why one object cannot be taken alone; None when it can."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    ident = obj.get("id")
    found = _ID.match(ident) if isinstance(ident, str) else None
    if found is None:
        return "its id is not type--uuid"
    if found.group(1) != obj.get("type"):
        return f"its id does not begin with its type {obj.get('type')!r}"
    if obj.get("spec_version", "2.1") != "2.1":
        return f"spec_version {obj.get('spec_version')!r}: only STIX 2.1 is accepted"
    return None


def _version_of(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


def _failure(obj: Any, message: str) -> dict[str, str]:
    ident = obj.get("id") if isinstance(obj, dict) else None
    return {"id": str(ident) if isinstance(ident, str) else "", "message": message[:500]}


def _sharing(collection: Collection, bundle: dict[str, Any]) -> tuple[Any, str]:
    audience = collection.audience_parties
    default = default_tlp(collection.audience)
    marked = bundle_tlp(bundle)
    tlp = default if marked is None else max(default, marked, key=TLP_LABELS.index)
    if tlp == "RED" and collection.audience == "ALL":
        raise InvalidEntryError(
            "objects marked TLP:RED cannot go to a collection shared with all",
            field="object_marking_refs",
            hint="post them to a collection of named parties",
        )
    return audience, tlp


def _refused_by_stix2(objects: list[dict[str, Any]]) -> dict[int, str]:
    """The objects that stix2 refuses alone, by position, with its reason."""
    refused = {}
    for index, obj in enumerate(objects):
        try:
            parse_bundle({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [obj]})
        except StixError as exc:
            refused[index] = exc.message
    return refused


def _import(
    node: Node, collection: Collection, objects: list[dict[str, Any]], now: int
) -> tuple[str, str]:
    """Import ``objects`` as one notification; (its reference, its identifier)."""
    bundle: dict[str, Any] = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": objects,
    }
    audience, tlp = _sharing(collection, bundle)
    options = ImportOptions(audience=audience, tlp=tlp, status=collection.status)
    source = Source("TAXII envelope", orjson.dumps(bundle))
    result = import_sources(node, [source], options, now=now)[0]
    if result.error is not None:
        raise result.error
    refs = ", ".join(written.ref for written in result.notifications)
    return refs, str(bundle["id"])


def add_envelope(
    node: Node, principal: Principal, collection: Collection, data: bytes, now: int
) -> StatusResource:
    """Write an envelope to ``collection`` as one cyber notification; its status resource."""
    principal.require(Action.IMPORT)
    if not collection.can_write:
        raise NotAuthorizedError(f"collection {collection.title!r} is not writable by this caller")
    status = StatusResource(str(uuid.uuid4()), now * 1000)
    good: list[dict[str, Any]] = []
    for obj in _envelope_objects(data):
        problem = _object_problem(obj)
        if problem is None:
            good.append(obj)
        else:
            status.failures.append(_failure(obj, problem))
    if good:
        try:
            ref, _ = _import(node, collection, good, now)
        except StixError:
            refused = _refused_by_stix2(good)
            if not refused:
                raise
            status.failures += [_failure(good[i], why) for i, why in sorted(refused.items())]
            good = [obj for i, obj in enumerate(good) if i not in refused]
            ref = _import(node, collection, good, now)[0] if good else ""
        message = f"stored in {ref}"
        status.successes = [
            {"id": obj["id"], "version": _version_of(obj), "message": message} for obj in good
        ]
    resource = orjson.dumps(status.to_json()).decode()
    with node.store.write(durable=False) as tx:  # the objects are durable; their report may wait
        rows.insert_status(tx, status.id, principal.officer, now, resource)
    return status


def add_to(
    node: Node, principal: Principal, collection_id: str, data: bytes, now: int
) -> StatusResource:
    """``add_envelope`` to the collection named ``collection_id``: the right first, then it."""
    principal.require(Action.IMPORT)
    return add_envelope(node, principal, collection_for(node, principal, collection_id), data, now)


def status_for(node: Node, principal: Principal, ident: str) -> dict[str, Any]:
    """The status resource ``ident``, for the officer who wrote it or an administrator."""
    principal.require(Action.READ)
    with node.store.read() as conn:
        found = rows.status_of(conn, ident)
    if found is None or (found[0] != principal.officer and not principal.may(Action.ADMINISTER)):
        raise NotFoundError(f"no status {ident[:64]!r} of this caller")
    value: dict[str, Any] = orjson.loads(found[1])
    return value
