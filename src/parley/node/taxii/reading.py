"""What a TAXII 2.1 client may see: collections, objects, manifests and versions (s5).

Who may read what is decided once, by ``parley.node.access``: the caller needs ``Action.READ``
(a token of any scope grants it), and reads an object only when ``access.withheld`` shows it a
body of that TLP. The index (``index``) holds only bodies this node holds, which federation
gives only to the parties of an entry's audience (invariant 4), so a collection whose audience
leaves this party out never exists here.

Collections (s5.1): one per (audience, status) pair held here that the caller can read: its
clearance covers the audience's default TLP (GREEN shared with all, AMBER for named parties) or
at least one object in it, titled by its audience ("shared with all", "JP+US") and, unless Actual,
its status; writable ones (``Action.IMPORT``) are those, plus "shared with all" (Actual and
Exercise) and this party with each other member of the network. A collection the caller can
neither read nor write is not found (404), as if it did not exist.

Paging (s3.6) is by the local object sequence: a page is the objects after the ``next`` token
(or after ``added_after``), in sequence order, at most ``limit`` (and ``MAX_PAGE``) of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from parley.core.entry import ALL, TLP_LABELS, resolve_sharing
from parley.core.errors import NotAuthorizedError, NotFoundError
from parley.formats.taxii import (
    VersionMatch,
    parse_limit,
    parse_next,
    parse_timestamp_us,
    split_match,
)
from parley.node.access import Action, Principal, withheld
from parley.node.node import Node, now_ms
from parley.node.notifications.appending import KIND
from parley.node.taxii import index
from parley.node.taxii.index import collection_id
from parley.store import taxii as rows

__all__ = [
    "MAX_PAGE",
    "Collection",
    "ObjectFilter",
    "Page",
    "collection_for",
    "collections_for",
    "page_of",
    "readable_tlps",
]

MAX_PAGE = 1000
WRITABLE_STATUSES = ("Actual", "Exercise")


@dataclass(frozen=True)
class Collection:
    """A TAXII collection: the objects of one audience and status."""

    id: str
    audience: str  # "ALL" or "JP,US", as the entries store it
    status: str
    can_read: bool
    can_write: bool

    @property
    def title(self) -> str:
        """The audience ('shared with all' or parties joined by +), and the status unless Actual."""
        who = "shared with all" if self.audience == ALL else self.audience.replace(",", "+")
        return who if self.status == "Actual" else f"{who} ({self.status})"

    @property
    def audience_parties(self) -> str | tuple[str, ...]:
        """The audience as the entry API takes it: ``ALL`` or a tuple of parties."""
        return ALL if self.audience == ALL else tuple(self.audience.split(","))


@dataclass(frozen=True)
class ObjectFilter:
    """The URL parameters of an objects, manifest or versions request (s3.4)."""

    added_after: int | None = None
    limit: int = MAX_PAGE
    after: int = -1
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: VersionMatch = VersionMatch()
    spec_versions: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: dict[str, str], *, version_default: str = "last") -> ObjectFilter:
        """Read the parameters (each once); a bad value raises naming the parameter."""
        added = params.get("added_after")
        return cls(
            added_after=None if added is None else parse_timestamp_us(added, "added_after"),
            limit=parse_limit(params.get("limit"), MAX_PAGE),
            after=parse_next(params.get("next")),
            ids=split_match(params.get("match[id]"), "match[id]"),
            types=split_match(params.get("match[type]"), "match[type]"),
            versions=VersionMatch.parse(params.get("match[version]"), default=version_default),
            spec_versions=split_match(params.get("match[spec_version]"), "match[spec_version]"),
        )


@dataclass(frozen=True)
class Page:
    """One page of objects, and whether more follow (then ``next`` continues it)."""

    objects: list[rows.ObjectRow]
    more: bool
    next: str | None


def readable_tlps(principal: Principal) -> tuple[str, ...]:
    """The TLP labels whose objects ``principal`` may read (``access.withheld`` decides)."""
    if not principal.may(Action.READ):
        return ()
    return tuple(label for label in TLP_LABELS if withheld(principal, label, None) is None)


def default_tlp(audience: str) -> str:
    """The TLP of a collection's writes when the objects carry none (DESIGN.md defaults)."""
    parties = ALL if audience == ALL else tuple(audience.split(","))
    return resolve_sharing(KIND, parties, None)[1]


def _writable_pairs(node: Node) -> list[tuple[str, str]]:
    members = sorted(m.party for m in node.context().policy.document.members)
    pairs = [(ALL, status) for status in WRITABLE_STATUSES]
    pairs += [(",".join(sorted({node.party, m})), "Actual") for m in members if m != node.party]
    return pairs


def _collection(
    conn: Connection, ident: str, audience: str, status: str, principal: Principal
) -> Collection:
    """The collection with what ``principal`` may do in it (neither: the caller cannot see it)."""
    tlps = readable_tlps(principal)
    can_read = bool(tlps) and (default_tlp(audience) in tlps or rows.readable_in(conn, ident, tlps))
    can_write = principal.may(Action.IMPORT) and status in WRITABLE_STATUSES
    return Collection(ident, audience, status, can_read, can_write)


def collections_for(node: Node, principal: Principal) -> list[Collection]:
    """The collections ``principal`` can read or write, those held here first."""
    index.catch_up(node.store, now_ms())
    found: dict[str, Collection] = {}
    with node.store.read() as conn:
        for ident, audience, status in rows.collections(conn):
            collection = _collection(conn, ident, audience, status, principal)
            if collection.can_read or collection.can_write:
                found[ident] = collection
        if principal.may(Action.IMPORT):
            for audience, status in _writable_pairs(node):
                ident = collection_id(audience, status)
                if ident not in found:
                    found[ident] = _collection(conn, ident, audience, status, principal)
    return list(found.values())


def collection_for(node: Node, principal: Principal, ident: str) -> Collection:
    """The collection ``ident`` if ``principal`` may see it; else not found (s5.2).

    A collection held here is looked up by its id alone; the network policy is read only for
    one that is not held yet, which only a writer can see.
    """
    principal.require(Action.READ)
    index.catch_up(node.store, now_ms())
    with node.store.read() as conn:
        held = rows.collection(conn, ident)
        if held is not None:
            found = _collection(conn, ident, held[0], held[1], principal)
            if found.can_read or found.can_write:
                return found
    if held is None and principal.may(Action.IMPORT):
        for collection in collections_for(node, principal):
            if collection.id == ident:
                return collection
    raise NotFoundError(f"no collection {ident[:64]!r} that this caller may read or write")


def page_of(
    node: Node,
    principal: Principal,
    collection: Collection,
    wanted: ObjectFilter,
    *,
    object_id: str | None = None,
) -> Page:
    """A page of the collection's objects that ``principal`` may read, filtered (s5.3-s5.8)."""
    if not collection.can_read:
        raise NotAuthorizedError(
            f"this caller may write to collection {collection.title!r} but read nothing in it",
            hint="a token whose officer's clearance covers the collection's TLP reads it",
        )
    ids = (object_id,) if object_id is not None else wanted.ids
    with node.store.read() as conn:
        after = wanted.after
        if wanted.added_after is not None:
            after = max(after, rows.first_seq_added_after(conn, wanted.added_after))
        versions = wanted.versions
        query = rows.ObjectQuery(
            collection=collection.id,
            tlps=readable_tlps(principal),
            after=after,
            limit=wanted.limit,
            ids=ids,
            types=wanted.types,
            spec_versions=wanted.spec_versions,
            first=versions.first,
            last=versions.last,
            every=versions.every,
            exact=versions.exact,
        )
        found = rows.objects_page(conn, query)
    more = len(found) > wanted.limit
    found = found[: wanted.limit]
    return Page(found, more, str(found[-1].seq) if more else None)
