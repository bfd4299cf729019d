"""What the ``/api/v1`` routes share about their input: references, parties, creates, cursors.

* **Fields.** Every refusal of input names the field at fault (``field`` of the RFC 9457
  problem), as FastAPI's own validation does: ``body.NAME`` for a request body's field,
  ``path.NAME`` for a path parameter, the bare name for a query parameter. A service raises
  ``InvalidEntryError`` without knowing which field of which request its argument came from;
  ``at`` names it.
* **References and parties** are read as the CLI reads them (``parley.node.members``): ``cn:15``
  is ``CN:15``, and a party the policy in force does not name is refused, naming the members.
* **Creates** (``created``) run once per ``Idempotency-Key`` (``parley.node.idempotency``): a
  repeat gets the first reply with ``Idempotency-Replayed: true``, and appends nothing.
* **Cursors** of the inbox are opaque to a client: a direction and a local ingest sequence.
* **Notification filters** (``notification_filters``) are the same query parameters on the
  list and on the map of notifications, read once into ``listing.Filters``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import Header, Path, Query, Request, Response

from parley.api.v1.auth import node_of
from parley.api.v1.notification_schemas import Severity
from parley.core.entry import Header as EntryHeader
from parley.core.errors import InvalidEntryError
from parley.core.merkle import leaf_hash
from parley.node import idempotency, members
from parley.node.access import Principal
from parley.node.node import Node, now_ms
from parley.node.notifications import listing

REF_PATTERN = r"^[A-Za-z][A-Za-z0-9]{1,7}:(0|[1-9][0-9]{0,15})$"
PARTY_PATTERN = r"^[A-Za-z][A-Za-z0-9]{1,7}$"
REPLAYED = "Idempotency-Replayed"
CURSOR_RE = re.compile(r"^([ab])(0|[1-9][0-9]{0,17})$")

RefPath = Annotated[
    str, Path(pattern=REF_PATTERN, description="An entry, `PARTY:SEQ` (e.g. `CN:15`).")
]
PartyPath = Annotated[
    str, Path(pattern=PARTY_PATTERN, description="A member party's code (e.g. `CN`).")
]
Status = Literal["Actual", "Exercise", "Test", "Draft"]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any printable text up to 200 characters, new for each new request: a "
        "repeat with the same key and request gets the first reply and appends nothing.",
    ),
]


@contextmanager
def at(field: str) -> Iterator[None]:
    """Name ``field`` in an ``InvalidEntryError`` raised inside that names no field yet."""
    try:
        yield
    except InvalidEntryError as exc:
        if exc.field is None:
            exc.field = field
        raise


@contextmanager
def within(prefix: str) -> Iterator[None]:
    """Put ``prefix.`` before the field of an ``InvalidEntryError`` a service named inside."""
    try:
        yield
    except InvalidEntryError as exc:
        if exc.field is not None:
            exc.field = f"{prefix}.{exc.field}"
        raise


def reference(node: Node, value: str, field: str) -> str:
    """The entry reference ``value`` as the policy writes its party, or refused at ``field``."""
    with at(field):
        return members.reference(node.context().policy.document, value)


def party(node: Node, value: str, field: str) -> str:
    """The member party ``value`` as the policy writes it, or refused at ``field``."""
    with at(field):
        return members.member(node.context().policy.document, value, what=field)


def appended(header: EntryHeader, answers: str | None = None) -> dict[str, Any]:
    """What a create answers: the new entry's reference, leaf hash and sharing."""
    return {
        "ref": header.ref,
        "kind": header.kind,
        "leaf_hash": leaf_hash(header.leaf).hex(),
        "status": header.status,
        "audience": header.audience if isinstance(header.audience, str) else list(header.audience),
        "tlp": header.tlp,
        "time": header.time,
        "answers": answers,
    }


def created(
    request: Request,
    response: Response,
    principal: Principal,
    key: str | None,
    request_parts: tuple[Any, ...],
    action: Callable[[], dict[str, Any] | tuple[int, dict[str, Any]]],
) -> tuple[dict[str, Any], bool]:
    """Run a create once per ``(caller, Idempotency-Key)``: its reply, and whether it is a repeat.

    Every create of the API goes through here. ``request_parts`` are the request's parsed input
    (path values, body); the route's path is added, so one key cannot be reused for another
    route or another request. ``action`` returns the reply (status 201) or ``(status, reply)``;
    a repeat gets the first status and reply, with ``Idempotency-Replayed: true``.
    """

    def run() -> tuple[int, dict[str, Any]]:
        done = action()
        return done if isinstance(done, tuple) else (201, done)

    route = getattr(request.scope.get("route"), "path", request.url.path)
    digest = idempotency.request_digest(request.method, route, *request_parts)
    kept = idempotency.once(
        node_of(request).store,
        principal.caller,
        key,
        digest,
        run,
        now_ms(),
    )
    response.status_code = kept.status
    if kept.repeated:
        response.headers[REPLAYED] = "true"
    value: dict[str, Any] = kept.value
    return value, kept.repeated


def cursor(direction: str, ingest: int) -> str:
    """An opaque cursor: ``a`` (what came after) or ``b`` (what came before) an ingest."""
    return base64.urlsafe_b64encode(f"{direction}{max(ingest, 0)}".encode()).decode().rstrip("=")


def read_cursor(text: str | None) -> tuple[int | None, int | None]:
    """``(after, before)`` of a cursor this API handed out; refused at ``cursor`` if not one."""
    if text is None:
        return None, None
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    match = CURSOR_RE.fullmatch(decoded)
    if match is None:
        raise InvalidEntryError(
            "cursor: not a cursor of this API",
            field="cursor",
            hint="send `next` or `poll` as given",
        )
    ingest = int(match.group(2))
    return (ingest, None) if match.group(1) == "a" else (None, ingest)


def notification_filters(
    request: Request,
    category: Annotated[str | None, Query(max_length=64, description="geo, geo.tsunami")] = None,
    severity: Annotated[Severity | None, Query(description="This level or above")] = None,
    party: Annotated[str | None, Query(max_length=8, description="The author")] = None,
    status: Status | None = None,
    since: Annotated[str | None, Query(max_length=40, description="ms or ISO 8601")] = None,
    until: Annotated[str | None, Query(max_length=40, description="ms or ISO 8601")] = None,
    area: Annotated[
        str | None, Query(max_length=200, description="lon,lat, lon1,lat1,lon2,lat2 or lon,lat,km")
    ] = None,
    text: Annotated[str | None, Query(max_length=listing.MAX_TEXT)] = None,
) -> listing.Filters:
    """The filters of a list or a map of notifications, as query parameters (a dependency)."""
    return listing.Filters.parse(
        node_of(request),
        category=category,
        severity=severity,
        party=party,
        status=status,
        since=since,
        until=until,
        area=area,
        text=text,
    )
