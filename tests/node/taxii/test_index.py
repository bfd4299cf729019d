"""The TAXII object index: filled where bodies are stored, ordered by the ingest sequence.

On both engines: the migration creates the tables as the schema declares; every object of an
envelope gets its own sequence and a strictly later ``date_added``, even when the clock passed in
goes backwards; a peer's objects come in with the entries that carry them, never to a party
outside the audience; keyset pages see every object once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, inspect, select

from parley.node.access import Principal, Scope
from parley.node.federation.pull import pull
from parley.node.node import Node
from parley.node.taxii import index, reading, writing
from parley.store import taxii as rows
from parley.store.schema import entries, taxii_collections, taxii_objects, taxii_status
from tests.node.conftest import MemoryLog, pin

DATA = Path(__file__).resolve().parents[2] / "data" / "stix"
ANALYST = Principal("analyst", "analyst", Scope.ANALYST)
EVERY_TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def objects(name: str) -> list[dict[str, Any]]:
    path = DATA / "oasis_examples" / name
    found: list[dict[str, Any]] = json.loads(path.read_text())["objects"]
    return found


def post(node: Node, audience: str, found: list[dict[str, Any]], now: int) -> None:
    target = next(c for c in reading.collections_for(node, ANALYST) if c.audience == audience)
    envelope = json.dumps({"objects": found}).encode()
    assert writing.add_envelope(node, ANALYST, target, envelope, now).failures == []


def all_rows(node: Node, collection: str) -> list[rows.ObjectRow]:
    query = rows.ObjectQuery(collection, EVERY_TLP, limit=10_000)
    with node.store.read() as conn:
        return rows.objects_page(conn, query)


def test_the_migration_creates_the_tables_as_the_schema_declares(network, database) -> None:  # type: ignore[no-untyped-def]
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    found = inspect(node.store.reader)
    for table in (taxii_objects, taxii_collections, taxii_status):
        columns = {c["name"]: c["nullable"] for c in found.get_columns(table.name)}
        assert columns == {c.name: c.nullable for c in table.columns}


def test_every_object_gets_a_strictly_later_date_added_even_when_the_clock_goes_back(  # type: ignore[no-untyped-def]
    network, database
) -> None:
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    post(node, "ALL", objects("poisonivy.json"), 2_000_000_000_000)
    post(node, "ALL", objects("apt1.json"), 1_000_000_000_000)  # the clock went back
    stored = all_rows(node, index.collection_id("ALL", "Actual"))
    shared = {o["id"] for o in objects("poisonivy.json")} & {o["id"] for o in objects("apt1.json")}
    expected = len(objects("poisonivy.json")) + len(objects("apt1.json")) - len(shared)
    assert len(stored) == expected
    sequences = [row.seq for row in stored]
    added = [row.date_added for row in stored]
    assert sequences == sorted(set(sequences))
    assert added == sorted(set(added))
    assert added[0] == 2_000_000_000_000 * 1000


def test_keyset_pages_see_every_object_once_and_added_after_is_a_sequence_bound(network) -> None:  # type: ignore[no-untyped-def]
    node = network("JP")["JP"]
    post(node, "ALL", objects("apt1.json"), 1_700_000_000_000)
    collection = reading.collection_for(node, ANALYST, index.collection_id("ALL", "Actual"))
    seen: list[str] = []
    after = -1
    while True:
        wanted = reading.ObjectFilter(limit=7, after=after)
        page = reading.page_of(node, ANALYST, collection, wanted)
        seen += [row.stix_id for row in page.objects]
        if not page.more:
            break
        assert page.next is not None
        after = int(page.next)
    assert sorted(seen) == sorted(o["id"] for o in objects("apt1.json"))
    stored = all_rows(node, collection.id)
    later = reading.page_of(
        node, ANALYST, collection, reading.ObjectFilter(added_after=stored[30].date_added)
    )
    assert [row.seq for row in later.objects] == [row.seq for row in stored[31:]]


def test_a_peer_indexes_objects_with_their_entries_never_outside_the_audience(network) -> None:  # type: ignore[no-untyped-def]
    nodes = network("JP", "US", "KR")
    jp, us, kr = nodes["JP"], nodes["US"], nodes["KR"]
    post(jp, "JP,US", objects("infrastructure.json"), 1_700_000_000_000)
    for reader in (us, kr):
        pull(reader, pin(reader, jp), MemoryLog(jp, reader.party))
    shared = index.collection_id("JP,US", "Actual")
    wanted = {o["id"] for o in objects("infrastructure.json")}
    assert {row.stix_id for row in all_rows(us, shared)} == wanted
    assert all_rows(kr, shared) == []


def test_notifications_stored_before_the_migration_are_indexed_when_taxii_first_looks(  # type: ignore[no-untyped-def]
    network, database
) -> None:
    node = network("JP", databases={} if database is None else {"JP": database})["JP"]
    post(node, "ALL", objects("apt1.json"), 1_700_000_000_000)
    post(node, "ALL", objects("poisonivy.json"), 1_700_000_000_001)
    shared = index.collection_id("ALL", "Actual")
    before = [row.stix_id for row in all_rows(node, shared)]
    with node.store.write() as tx:  # the store as migration 0013 finds an older one
        tx.execute(delete(taxii_objects))
        tx.execute(delete(taxii_collections))
        through = tx.execute(select(func.max(entries.c.ingest))).scalar()
        rows.set_backfill_state(tx, (-1, int(through)))
    assert all_rows(node, shared) == []
    reading.collections_for(node, ANALYST)  # TAXII looks: the backfill finishes first
    with node.store.read() as conn:
        assert rows.backfill_state(conn) is None
    after = all_rows(node, shared)
    assert [row.stix_id for row in after] == before
    assert after[0].date_added > 1_700_000_000_001 * 1000  # new to a TAXII client
