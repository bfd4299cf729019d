"""The inbox and ``show``: what other parties addressed to this node, read with one call.

Real nodes (``Node.create``, SQLite) under one policy; logs travel through ``MemoryLog`` and
``sync.pull``. Times are passed in, so no test sleeps.
"""

from __future__ import annotations

import pytest

from parley.core.entry import ALL
from parley.formats.notification import new_notification
from parley.node.access import CLEARANCE
from parley.node.federation import peers
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.node.messaging import inbox, receipts
from parley.node.node import Node, now_ms
from tests.node.conftest import Kit, Network


def sync(kit: type[Kit], receiver: Node, author: Node) -> None:
    pinned = {p.party: p for p in peers.list_peers(receiver.store)}
    peer = pinned.get(author.party) or kit.pin(receiver, author)
    pull(receiver, peer, kit.MemoryLog(author, receiver.party))


def notification(author: Node, headline: str, category: str = "geo.earthquake") -> Draft:
    body = new_notification(
        category=category,
        identifier=f"id-{headline}",
        sender=f"{author.party}@parley-test",
        sent_ms=now_ms() // 1000 * 1000,
        status="Exercise",
        headline=headline,
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        areas=[],
        deadlines={"delivered_within": 3000, "acknowledged_within": 36000},
    )
    return Draft("notification", "Exercise", body, ALL, None)


def refs(page: inbox.Page) -> list[str]:
    return [item.ref for item in page.items]


def test_the_inbox_lists_what_other_parties_addressed_to_this_party_newest_first(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    first, _to_kr, last = us.append(
        [kit.hotline("JP", "first"), kit.hotline("KR", "not for JP"), kit.check(1)]
    )
    jp.append([kit.hotline("US", "our own")])
    sync(kit, jp, us)

    page = inbox.listing(jp, now_ms())

    assert refs(page) == [last.ref, first.ref]
    hotline = page.items[1]
    assert (hotline.kind, hotline.author, hotline.status, hotline.tlp) == (
        "hotline",
        "US",
        "Exercise",
        "AMBER",
    )
    assert hotline.summary == "first" and hotline.body_held and hotline.flag is None
    assert hotline.receipt == "delivered"


def test_an_inbox_item_shows_its_running_clock_until_this_node_acknowledges(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([kit.hotline("JP", "please confirm")])
    sync(kit, jp, us)
    now = sent.time + 1000

    (item,) = inbox.listing(jp, now).items
    (clock,) = item.clocks
    assert (clock["clock"], clock["state"], clock["remaining"]) == ("acknowledged", "pending", 2000)

    receipts.acknowledge(jp, sent.ref, "duty", None, now)
    (item,) = inbox.listing(jp, now + 10).items
    assert item.receipt == "acknowledged" and item.clocks == []


def test_the_inbox_filters_by_author_kind_status_category_and_unacknowledged(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP", "KR")
    us, jp, kr = nodes["US"], nodes["JP"], nodes["KR"]
    (quake, tsunami) = us.append(
        [notification(us, "Quake"), notification(us, "Wave", "geo.tsunami")]
    )
    (call,) = kr.append([kit.hotline("JP", "call me")])
    sync(kit, jp, us)
    sync(kit, jp, kr)
    receipts.acknowledge(jp, quake.ref, "duty", None, now_ms())
    now = now_ms()

    assert refs(inbox.listing(jp, now, inbox.Filters(party="KR"))) == [call.ref]
    assert refs(inbox.listing(jp, now, inbox.Filters(kind="notification"))) == [
        tsunami.ref,
        quake.ref,
    ]
    assert refs(inbox.listing(jp, now, inbox.Filters(category="geo.tsunami"))) == [tsunami.ref]
    assert refs(inbox.listing(jp, now, inbox.Filters(unacknowledged=True))) == [
        call.ref,
        tsunami.ref,
    ]
    assert refs(inbox.listing(jp, now, inbox.Filters(status="Actual"))) == []
    summaries = [
        i.summary for i in inbox.listing(jp, now, inbox.Filters(kind="notification")).items
    ]
    assert summaries == ["[EXERCISE] Wave", "[EXERCISE] Quake"]


def test_paging_after_an_ingest_cursor_returns_only_what_arrived_since(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    us.append([kit.hotline("JP", "one")])
    sync(kit, jp, us)
    page = inbox.listing(jp, now_ms())
    assert inbox.listing(jp, now_ms(), after=page.cursor).items == []

    (later,) = us.append([kit.hotline("JP", "two")])
    sync(kit, jp, us)
    fresh = inbox.listing(jp, now_ms(), after=page.cursor)
    assert refs(fresh) == [later.ref] and fresh.cursor > page.cursor
    older = inbox.listing(jp, now_ms(), limit=1)
    assert refs(older) == [later.ref]
    assert len(inbox.listing(jp, now_ms(), before=older.older).items) == 1


def test_an_entry_stored_header_only_says_why_in_the_inbox(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    stretched = {"to": "JP", "text": "whenever", "deadlines": {"acknowledged_within": 10**9}}
    (bad,) = us.append([Draft("hotline", "Exercise", stretched, ("JP", "US"), None)])
    sync(kit, jp, us)

    (item,) = inbox.listing(jp, now_ms()).items
    assert item.ref == bad.ref and not item.body_held and item.flag == "deadline-bounds"
    assert item.receipt == "none" and "header only" in item.summary


def test_an_empty_inbox_says_why_it_is_empty(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    assert inbox.listing(jp, now_ms()).empty == "nothing addressed to JP yet"
    us.append([kit.hotline("JP", "hello")])
    sync(kit, jp, us)
    page = inbox.listing(jp, now_ms(), inbox.Filters(kind="inquiry"))
    assert page.items == [] and page.empty == "nothing matches --kind inquiry"


def test_a_filter_of_an_unknown_kind_or_status_is_refused(network) -> None:  # type: ignore[no-untyped-def]
    jp = network("US", "JP")["JP"]
    from parley.core.errors import InvalidEntryError

    with pytest.raises(InvalidEntryError, match="--kind"):
        inbox.listing(jp, now_ms(), inbox.Filters(kind="receipt"))
    with pytest.raises(InvalidEntryError, match="--status"):
        inbox.listing(jp, now_ms(), inbox.Filters(status="Real"))


def test_show_reads_one_entry_with_its_body_receipts_and_clocks(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([kit.hotline("JP", "read me")])
    sync(kit, jp, us)

    shown = inbox.entry(jp, sent.ref, now_ms())

    assert shown.header["kind"] == "hotline" and shown.header["party"] == "US"
    assert shown.body == {"to": "JP", "text": "read me", "deadlines": {"acknowledged_within": 3000}}
    assert shown.why_no_body is None
    assert [a["party"] for a in shown.addressees] == ["JP"]
    assert shown.addressees[0]["status"] == "delivered"
    assert {c["clock"] for c in shown.addressees[0]["clocks"]} == {"acknowledged"}


def test_show_of_a_header_only_entry_says_why_its_body_is_not_shown(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    (private,) = us.append([kit.hotline("KR", "not for JP")])
    sync(kit, jp, us)

    shown = inbox.entry(jp, private.ref, now_ms())
    assert shown.body is None and "not in its audience" in (shown.why_no_body or "")


OBSERVER = CLEARANCE["observer"]


def test_a_reader_without_the_clearance_sees_the_header_but_not_what_it_says(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    (sent,) = us.append([kit.hotline("JP", "amber words")])
    sync(kit, jp, us)
    receipts.acknowledge(jp, sent.ref, "duty", "amber reply", now_ms())

    (item,) = inbox.listing(jp, now_ms(), clearance=OBSERVER).items
    assert item.ref == sent.ref and item.tlp == "AMBER" and item.receipt == "acknowledged"
    assert "amber" not in item.summary and item.summary.startswith("[withheld] TLP:AMBER")
    assert item.withheld is not None and "clearance" in item.withheld

    shown = inbox.entry(jp, sent.ref, now_ms(), clearance=OBSERVER)
    assert shown.body is None and "TLP:AMBER" in (shown.why_no_body or "")
    (addressee,) = shown.addressees
    assert addressee["acknowledged"]["reply"] is None
    assert addressee["acknowledged"]["reply_withheld"] is True

    cleared = inbox.entry(jp, sent.ref, now_ms(), clearance=CLEARANCE["duty-officer"])
    assert cleared.body["text"] == "amber words"
    assert cleared.addressees[0]["acknowledged"]["reply"] == "amber reply"


def test_a_category_filter_does_not_reveal_a_body_above_the_clearance(
    network: Network, kit: type[Kit]
) -> None:
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    green = notification(us, "Wave", "geo.tsunami")
    secret = notification(us, "Secret", "geo.tsunami").body
    (public, private) = us.append(
        [green, Draft("notification", "Exercise", secret, ("JP",), "AMBER")]
    )
    sync(kit, jp, us)
    tsunami = inbox.Filters(category="geo.tsunami")

    assert refs(inbox.listing(jp, now_ms(), tsunami)) == [private.ref, public.ref]
    assert refs(inbox.listing(jp, now_ms(), tsunami, clearance=OBSERVER)) == [public.ref]
