"""The STIX objects of held cyber notifications, indexed as their bodies are stored.

Called in the write transaction that stores a body, wherever one is stored: the node's own
appends (``parley.node.log``), a peer's entries (``federation.ingest``), a pending body that
came late (``federation.bodies``) and a restore (``federation.restore``). So an object is in
the index exactly when its body is held, and its place is fixed under the single-writer lock:

* ``seq``, the local object sequence, grows by one per object, objects of one envelope
  included, in the order of the bundle;
* ``date_added`` is the local ingest time in microseconds, and grows strictly with ``seq``
  (at least one microsecond per object), so ``added_after`` misses nothing, including an entry
  that arrived late from a peer with an old signed time;
* a collection is the (audience, status) pair of the entry: an exercise never shares a
  collection with real traffic, and a body readable by a set of parties stays with them;
* an object version (id and ``modified``, else ``created``, else ``date_added``) a collection
  already holds is not added twice (the parts of a split bundle repeat their markings).

Notifications stored before migration 0013 are indexed by ``catch_up``, which the TAXII reading
service calls before it looks (a no-op once done).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from parley.formats.errors import ValueFormatError
from parley.formats.stix import from_signed_json
from parley.formats.taxii import SPEC_VERSION, parse_timestamp_us
from parley.store import logs
from parley.store import taxii as rows
from parley.store.engine import Store, Writing

__all__ = ["BACKFILL_PAGE", "catch_up", "collection_id", "index_entries", "index_stored"]

BACKFILL_PAGE = 200  # notifications per write transaction of a backfill
_COLLECTIONS = uuid.UUID("0b6f3c1e-5d2a-4f7b-9c8e-1a2b3c4d5e6f")
_MARKERS = (b'"$float"', b'"$int"')


def collection_id(audience: str, status: str) -> str:
    """The TAXII collection id of an (audience, status) pair, the same at every node."""
    return str(uuid.uuid5(_COLLECTIONS, f"{audience}|{status}"))


def _objects(body: bytes) -> list[dict[str, Any]] | None:
    """The STIX objects a notification body carries, or None for any other body."""
    if b'"stix"' not in body:
        return None
    value = orjson.loads(body)
    stix = value.get("stix") if isinstance(value, dict) else None
    if not str(value.get("category", "")).startswith("cyber.") or not isinstance(stix, dict):
        return None
    bundle = stix.get("bundle")
    found = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(found, list):
        return None
    if any(marker in body for marker in _MARKERS):
        found = from_signed_json(found)
    return [obj for obj in found if isinstance(obj, dict)]


def _version(obj: dict[str, Any]) -> int | None:
    """The version of a STIX object: ``modified``, else ``created`` (None: neither)."""
    for name in ("modified", "created"):
        text = obj.get(name)
        if isinstance(text, str):
            try:
                return parse_timestamp_us(text, name)
            except ValueFormatError:
                continue
    return None


def index_entries(tx: Writing, entries: Iterable[Mapping[str, Any]], now: int) -> int:
    """Index the STIX objects of the given ``entries`` rows; returns how many were added.

    ``entries`` are rows as ``store.logs`` inserts them (party, seq, kind, status, audience,
    tlp, body); ``now`` is the storing time in milliseconds.
    """
    wanted = [
        (row, objects)
        for row in entries
        if row["kind"] == "notification" and row["body"] is not None
        if (objects := _objects(bytes(row["body"]))) is not None
    ]
    if not wanted:
        return 0
    seq, added = rows.last_position(tx)
    added = max(added, now * 1000 - 1)
    known = rows.collection_ids(tx)
    out: list[dict[str, Any]] = []
    for row, objects in wanted:
        collection = collection_id(row["audience"], row["status"])
        if collection not in known:
            rows.insert_collection(tx, collection, row["audience"], row["status"], now)
            known.add(collection)
        fresh = [(obj, str(obj["id"]), _version(obj)) for obj in objects]
        keys = [(ident, version) for _, ident, version in fresh if version is not None]
        seen = rows.versions_present(tx, collection, keys)
        for obj, ident, version in fresh:
            if version is not None and (ident, version) in seen:
                continue
            seq, added = seq + 1, added + 1
            if version is None:  # TAXII 2.1 s3.2: no created or modified: date_added is it
                version = added
            seen.add((ident, version))
            out.append(
                {
                    "seq": seq,
                    "date_added": added,
                    "collection": collection,
                    "party": row["party"],
                    "entry_seq": row["seq"],
                    "tlp": row["tlp"],
                    "stix_id": ident,
                    "type": str(obj.get("type", "")),
                    "version": version,
                    "spec_version": str(obj.get("spec_version", SPEC_VERSION)),
                    "object": orjson.dumps(obj),
                }
            )
    rows.insert_objects(tx, out)
    return len(out)


def index_stored(tx: Writing, party: str, seq: int, now: int) -> int:
    """Index entry ``party:seq`` as stored now (a body that came after its header)."""
    stored = logs.get_entry(tx, party, seq)
    if stored is None:
        return 0
    row = {
        "party": party,
        "seq": seq,
        "kind": stored.kind,
        "status": stored.status,
        "audience": stored.audience,
        "tlp": stored.tlp,
        "body": stored.body,
    }
    return index_entries(tx, [row], now)


def catch_up(store: Store, now: int, pages: int = 50) -> bool:
    """Index the cyber notifications stored before migration 0013; True once none is left.

    The migration records the ingest range the node held (``store.taxii.BACKFILL_KEY``); each
    page is its own short write transaction, so appends still get the lock between pages. The
    objects get today's sequence and ``date_added``: to a TAXII client they are new.
    """
    for _ in range(pages):
        with store.read() as conn:
            if rows.backfill_state(conn) is None:
                return True
        with store.write() as tx:
            state = rows.backfill_state(tx)
            if state is None:
                return True
            after, through = state
            found = rows.held_notifications(tx, after, through, BACKFILL_PAGE)
            index_entries(tx, found, now)
            done = len(found) < BACKFILL_PAGE
            rows.set_backfill_state(tx, None if done else (found[-1]["ingest"], through))
    with store.read() as conn:
        return rows.backfill_state(conn) is None
