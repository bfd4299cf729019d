"""``/api/v1/notifications``: create, update, cancel, import, list, read and export.

Thin routes over the services the CLI calls (``parley notify``, ``parley import``, ``parley
show``, ``parley export``): ``lifecycle`` writes, ``importing`` imports, ``listing`` lists and
``reading`` reads, each judging what the caller may see (invariant 4) in one place.

* Every route checks the caller's role and scope (``auth.allowed``); a write is audited once it
  has completed (refusals are audited by ``auth``).
* A create, update, cancel or import honours ``Idempotency-Key`` (``node.idempotency``): a
  repeat of the same request returns the first reply with ``Idempotency-Replayed: true`` and
  appends nothing; another request under the same key is 409.
* A reference (``{ref}``) is ``PARTY:SEQ`` in any case; errors name the input at fault in
  ``field`` (``ref``, ``body.areas.0.circle``, ``cursor``...), as RFC 9457 problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from parley.api.v1 import inputs
from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.notification_schemas import (
    Created,
    Ending,
    Imported,
    NewNotification,
    NotificationDetail,
    NotificationPage,
    PendingView,
    Revision,
    Tlp,
)
from parley.api.v1.schemas import PROBLEMS
from parley.core.entry import Audience, parse_ref
from parley.core.errors import InvalidEntryError
from parley.formats.categories import CATEGORIES
from parley.node import idempotency, members
from parley.node.access import Action, Principal
from parley.node.node import Node, now_ms
from parley.node.notifications import importing, lifecycle, listing, reading, release
from parley.node.notifications.input import at_field, parse_when, request_area, request_details

router = APIRouter(tags=["notifications"], responses=PROBLEMS)

Notifier = Annotated[Principal, Depends(allowed(Action.NOTIFY))]
Importer = Annotated[Principal, Depends(allowed(Action.IMPORT))]
Reader = Annotated[Principal, Depends(allowed(Action.READ))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=idempotency.MAX_KEY,
        description="A repeat with the same key returns the first reply and appends nothing.",
    ),
]
MEDIA_FORMATS = {
    "application/cap+xml": "cap",
    "application/xml": "cap",
    "text/xml": "cap",
    "application/stix+json": "stix",
    "application/json": "stix",
}
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One CAP 1.2/1.1 alert (or EDXL-DE) as XML, or one STIX 2.1 bundle.",
        "content": {media: {"schema": {"type": "string"}} for media in MEDIA_FORMATS},
    }
}
EXPORTS = {"cap": "application/cap+xml", "stix": "application/stix+json"}
TEXTS = {"headline", "description", "instruction"}
LEVELS = {"severity", "urgency", "certainty"}
ALERT_FIELDS = {"category", "lang", *TEXTS, *LEVELS}  # what lifecycle.notify takes as it is


def _ref(node: Node, text: str) -> str:
    """``PARTY:SEQ`` as typed, in any case, with the party a member; else 400 naming ``ref``."""
    with at_field("ref"):
        ref = members.reference(node.context().policy.document, text)
        parse_ref(ref)
    return ref


def _audience(node: Node, value: str | list[str] | None, field: str) -> Audience | None:
    if value is None:
        return None
    with at_field(field):
        text = value if isinstance(value, str) else ",".join(value)
        named = members.audience(node.context().policy.document, text, what=field)
        assert named is not None  # noqa: S101 - a value in, a value out
        return named if named == "ALL" else tuple(named.split(","))


def _when(value: str | int | None, now: int, field: str) -> int | None:
    if value is None or isinstance(value, int):
        return value
    with at_field(field):
        return parse_when(value, now)


def _written(outcome: lifecycle.Outcome) -> dict[str, Any]:
    written = outcome.written
    return {
        "ref": written.ref,
        "leaf_hash": written.leaf_hash,
        "identifier": written.identifier,
        "warnings": outcome.warnings,
    }


def _once(
    request: Request,
    response: Response,
    principal: Principal,
    key: str | None,
    parts: tuple[Any, ...],
    action: Callable[[], tuple[int, dict[str, Any]]],
    detail: Callable[[dict[str, Any]], dict[str, Any]],
) -> Any:
    """Run ``action`` once per Idempotency-Key (``inputs.created``); audit it when it ran."""
    value, repeated = inputs.created(request, response, principal, key, parts, action)
    if not repeated:
        audit(request, principal, detail(value))
    return value


def alert_request(node: Node, new: NewNotification, now: int) -> tuple[dict[str, Any], Any]:
    """The keyword fields of ``lifecycle.notify`` and the audience a request asks for.

    Areas, details, audience and TLP are read as the CLI reads them, each error naming its field
    in the request body.
    """
    areas = [
        request_area(
            area.desc,
            area.geometry,
            None if area.circle is None else area.circle.model_dump(),
            where=f"body.areas.{index}",
        )
        for index, area in enumerate(new.areas)
    ]
    with at_field("body.category"):
        details = request_details(new.category, new.details, now, where="body.details")
    audience = _audience(node, new.audience, "body.audience")
    with at_field("body.tlp"):
        importing.sharing(node, audience, new.tlp)
    fields = {
        **new.model_dump(include=ALERT_FIELDS),
        "areas": areas,
        "details": details,
        "expires_ms": _when(new.expires, now, "body.expires"),
    }
    return fields, audience


@router.post(
    "/notifications",
    status_code=201,
    response_model=Created | PendingView,
    responses={
        202: {
            "model": PendingView,
            "description": "Kept as a pending release: a second officer must release it "
            "(two-person release; Location names it).",
        }
    },
)
def create(
    new: NewNotification,
    request: Request,
    response: Response,
    principal: Notifier,
    key: IdempotencyKey = None,
) -> Any:
    """Sign and append a native alert (``parley notify``); 201 with its reference.

    In a category the node names for two-person release, an Actual notification is kept as a
    pending release instead: 202 with it, and ``Location: /api/v1/pending/{id}``.
    """
    node = node_of(request)

    def act() -> tuple[int, dict[str, Any]]:
        now = now_ms()
        fields, audience = alert_request(node, new, now)
        with at_field("body"):
            done = release.submit(
                node, principal, fields, status=new.status, audience=audience, tlp=new.tlp, now=now
            )
        if isinstance(done, release.Pending):
            return 202, done.shown_to(principal)
        return 201, _written(done)

    answer = _once(
        request,
        response,
        principal,
        key,
        (new.model_dump(mode="json"),),
        act,
        lambda made: {
            "ref": made.get("ref"),
            "pending": made.get("id"),
            "category": new.category,
            "status": new.status,
        },
    )
    if response.status_code == 202:
        response.headers["Location"] = f"/api/v1/pending/{answer['id']}"
    return answer


@router.post("/notifications/{ref}/update", status_code=201, response_model=Created)
def update(
    ref: str,
    change: Revision,
    request: Request,
    response: Response,
    principal: Notifier,
    key: IdempotencyKey = None,
) -> Any:
    """Append an Update of one of this node's notifications (the latest of its incident)."""
    node = node_of(request)
    ref = _ref(node, ref)
    values = change.details

    def act() -> tuple[int, dict[str, Any]]:
        now = now_ms()
        revision = lifecycle.Revision(
            texts=change.model_dump(include=TEXTS),
            levels=change.model_dump(include=LEVELS),
            lang=change.lang,
            expires_ms=_when(change.expires, now, "body.expires"),
            detail_values=(
                None
                if values is None
                else lambda category: request_details(category, values, now, "body.details")
            ),
        )
        if revision.empty:
            raise InvalidEntryError(
                "nothing to update", hint="give a headline, details, ...", field="body"
            )
        with at_field("ref"):
            return 201, _written(lifecycle.update(node, ref, revision, now))

    return _once(
        request,
        response,
        principal,
        key,
        (ref, change.model_dump(mode="json")),
        act,
        lambda made: {"ref": made["ref"], "of": ref},
    )


@router.post("/notifications/{ref}/cancel", status_code=201, response_model=Created)
def cancel(
    ref: str,
    ending: Ending,
    request: Request,
    response: Response,
    principal: Notifier,
    key: IdempotencyKey = None,
) -> Any:
    """End an incident of this node: a Cancel, or with ``all_clear`` an all-clear Update."""
    node = node_of(request)
    ref = _ref(node, ref)
    msg_type = "Update" if ending.all_clear else "Cancel"

    def act() -> tuple[int, dict[str, Any]]:
        with at_field("ref"):
            outcome = lifecycle.answer(node, ref, msg_type=msg_type, all_clear=ending.all_clear)
        return 201, _written(outcome)

    return _once(
        request,
        response,
        principal,
        key,
        (ref, ending.model_dump(mode="json")),
        act,
        lambda made: {"ref": made["ref"], "of": ref, "all_clear": ending.all_clear},
    )


async def _document(request: Request) -> bytes:
    """The raw request body (bounded by ``BODY_LIMITS`` before it is read)."""
    return await request.body()


def _format(request: Request, data: bytes) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = MEDIA_FORMATS.get(media)
    if fmt is None:
        raise InvalidEntryError(
            f"Content-Type {media or '(none)'} is not a CAP or STIX document",
            hint=f"send one of {', '.join(MEDIA_FORMATS)}",
            field="Content-Type",
        )
    lead = data.lstrip(b"\xef\xbb\xbf\xfe\xff \t\r\n\x00")[:1]
    if lead != (b"<" if fmt == "cap" else b"{"):
        shape = "XML" if fmt == "cap" else "a JSON object"
        raise InvalidEntryError(
            f"the body is not {shape}, as Content-Type {media} says", field="body"
        )
    return fmt


@router.post(
    "/notifications/import",
    status_code=201,
    response_model=Imported,
    openapi_extra=IMPORT_BODY,
    responses={200: {"model": Imported, "description": "Every notification was there before"}},
)
def import_document(
    request: Request,
    response: Response,
    principal: Importer,
    data: Annotated[bytes, Depends(_document)],
    audience: Annotated[str | None, Query(max_length=200, description="ALL or KR,US")] = None,
    tlp: Tlp | None = None,
    status: Annotated[inputs.Status | None, Query(description="Required for STIX")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    key: IdempotencyKey = None,
) -> Any:
    """Import one CAP alert or STIX 2.1 bundle (``parley import``); idempotent by identifier."""
    node = node_of(request)
    fmt = _format(request, data)
    if fmt == "stix" and status is None:
        raise InvalidEntryError(
            "status: a STIX bundle carries no status",
            hint="give ?status=Actual, Exercise, Test or Draft",
            field="status",
        )
    if category is not None and category not in CATEGORIES:
        raise InvalidEntryError(f"category {category!r} is not known", field="category")
    options = importing.ImportOptions(
        audience=_audience(node, audience, "audience"), tlp=tlp, category=category, status=status
    )
    with at_field("tlp"):
        importing.sharing(node, options.audience, tlp)
    parts = (hashlib.sha256(data).hexdigest(), fmt, audience, tlp, status, category)

    def act() -> tuple[int, dict[str, Any]]:
        source = importing.Source("request body", data)
        [result] = importing.import_sources(node, [source], options)
        if result.error is not None:
            with at_field("body"):
                raise result.error
        made = [
            {"ref": n.ref, "leaf_hash": n.leaf_hash, "identifier": n.identifier, "new": n.new}
            for n in result.notifications
        ]
        fresh = any(n["new"] for n in made)
        return (201 if fresh else 200), {"notifications": made, "warnings": result.warnings}

    return _once(
        request,
        response,
        principal,
        key,
        parts,
        act,
        lambda made: {
            "format": fmt,
            "refs": [n["ref"] for n in made["notifications"] if n["new"]],
            "already": sum(not n["new"] for n in made["notifications"]),
        },
    )


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    request: Request,
    principal: Reader,
    filters: Annotated[listing.Filters, Depends(inputs.notification_filters)],
    limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = listing.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """Notifications held here, newest first by local ingest; bodies as the caller may read."""
    node = node_of(request)
    return listing.listing(node, principal, filters, cursor=cursor, limit=limit).to_dict()


@router.get("/notifications/{ref}", response_model=NotificationDetail)
def get_notification(ref: str, request: Request, principal: Reader) -> Any:
    """One notification: header, body or why withheld, incident, receipts and clocks."""
    node = node_of(request)
    return reading.notification(node, principal, _ref(node, ref), now_ms()).to_dict()


def _export(request: Request, principal: Principal, ref: str, fmt: str) -> Response:
    node = node_of(request)
    data = reading.export(node, principal, _ref(node, ref), fmt)
    return Response(data, media_type=EXPORTS[fmt])


@router.get(
    "/notifications/{ref}/cap",
    response_class=Response,
    responses={200: {"description": "CAP 1.2", "content": {EXPORTS["cap"]: {}}}},
)
def export_cap(ref: str, request: Request, principal: Reader) -> Response:
    """The notification as a CAP 1.2 alert (403 if its body is withheld from the caller)."""
    return _export(request, principal, ref, "cap")


@router.get(
    "/notifications/{ref}/stix",
    response_class=Response,
    responses={200: {"description": "STIX 2.1 bundle", "content": {EXPORTS["stix"]: {}}}},
)
def export_stix(ref: str, request: Request, principal: Reader) -> Response:
    """The STIX 2.1 bundle a notification came from (403 if withheld; 400 if none)."""
    return _export(request, principal, ref, "stix")
