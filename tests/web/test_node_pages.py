"""The node's own pages at the watch desk: peers, the compliance scoreboard, and the log.

Two real nodes (US, JP) federate over pinned TLS. A notification from US crosses to JP; JP's
peers page shows US with its lag, last checkpoint and cosignature age; after JP acknowledges,
the compliance page shows JP's acknowledgement figures; the log page's "Verify now" verifies
the whole stored log. When US is caught signing a fork of its log, JP's peers page shows the
hold and the evidence entry; an administrator releases the hold there, an observer cannot.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, Page, expect

from parley.core.checkpoint import claimed_checkpoint, sign_checkpoint
from parley.node.federation import gossip
from parley.store import logs
from tests.integration.fleet import Fleet, eventually
from tests.web.desk import LIVE_S, Desk, notify, open_page, two_nodes
from tests.web.support import (
    assert_accessible,
    assert_no_clipped_text,
    assert_no_horizontal_scroll,
)

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet

LARGE = {"width": 3840, "height": 2160}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    yield from two_nodes(tmp_path_factory, "node-pages")


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


@pytest.fixture(scope="module")
def us(fleet: Fleet) -> Desk:
    return Desk(fleet["US"])


@pytest.fixture(scope="module")
def crossed(fleet: Fleet, us: Desk) -> str:
    """A notification from US, synced at JP: its reference."""
    ref = notify(us, "Landslide at Hakone, exercise")
    seq = int(ref.split(":")[1])
    eventually(lambda: fleet.synced("JP", "US", seq + 1), 30, "JP to sync US's notification")
    return ref


def readable_at_both_sizes(page: Page) -> None:
    """axe and layout checks at the desk's 1366x768 and at a 4K wall screen."""
    for size in (None, LARGE):
        if size is not None:
            page.set_viewport_size(size)  # type: ignore[arg-type]
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
        assert_no_clipped_text(page)


def test_the_peers_page_shows_a_peers_lag_checkpoint_and_cosignature_age(
    browser: Browser, jp: Desk, us: Desk, crossed: str
) -> None:
    context = jp.context(browser, jp.officer("peers-desk"))
    try:
        page = open_page(context, jp.node.url + "/peers")
        page.evaluate("Parley.api('PUT', '/me/settings', {time_zone: 'Asia/Tokyo'})")
        page.reload()
        card = page.locator('#peer-list li[data-party="US"]')
        expect(card).to_have_attribute("data-health", "ok", timeout=LIVE_S)
        expect(card.locator(".lag")).to_have_text("0 entries", timeout=LIVE_S)
        seq = int(crossed.split(":")[1])
        shown = card.locator(".checkpoint").inner_text()
        size = int(re.match(r"size (\d+) · ", shown).group(1))  # type: ignore[union-attr]
        assert size > seq
        # The checkpoint's own time (the log's, as its author keeps it), not the pull's.
        stamp = card.locator(".checkpoint-time time")
        opened = us.node.open()
        try:
            with opened.store.read() as conn:
                own = logs.checkpoint_time(conn, "US", size)
        finally:
            opened.close()
        assert own is not None
        iso = page.evaluate("ms => new Date(ms).toISOString()", own)
        expect(stamp).to_have_attribute("datetime", iso)
        expect(stamp).to_have_text(page.evaluate("ms => Parley.time(ms)", own))
        assert page.evaluate("Parley.zone") == "Asia/Tokyo" and "UTC)" in stamp.inner_text()
        pulled = card.locator("dd").nth(3).locator("time").get_attribute("datetime")
        assert pulled != iso
        # US cosigns JP's log within a few witnessing rounds; the page refreshes every 10 s
        expect(card.locator(".cosignature-age")).to_have_text(
            re.compile(r"^\d+ s.* ago$|^\d+ min .* ago$"), timeout=3 * LIVE_S
        )
        assert card.get_by_role("button", name=re.compile("Release")).count() == 0
        readable_at_both_sizes(page)
    finally:
        context.close()


def test_the_compliance_page_shows_the_acknowledgement_figures(
    browser: Browser, jp: Desk, us: Desk, crossed: str
) -> None:
    jp.node.cli("ack", crossed, "--reply", "Teams on standby")

    def acknowledged() -> dict[str, int] | None:
        board = json.loads(us.node.cli("compliance", "--json").stdout)
        figures = board["parties"].get("JP", {}).get("acknowledged")
        return figures if figures and figures["answers"] >= 1 else None

    figures = eventually(acknowledged, 60, "US to count JP's witnessed acknowledgement")
    context = us.context(browser, us.officer("compliance-desk"))
    try:
        page = open_page(context, us.node.url + "/compliance")
        row = page.locator('#scoreboard tr[data-party="JP"][data-clock="acknowledged"]')
        expect(row).to_be_visible()
        expect(row.locator("td").nth(0)).to_have_text("to acknowledge")
        assert int(row.locator("td").nth(1).inner_text()) >= figures["answers"]
        expect(row.locator(".median")).to_have_text(re.compile(r"^\d+ (s|min|h)"))
        expect(row.locator(".p95")).to_have_text(re.compile(r"^\d+ (s|min|h)"))
        expect(page.locator("#scope")).to_contain_text("Members' figures")
        assert "null" not in page.locator("#scope").inner_text()
        readable_at_both_sizes(page)
    finally:
        context.close()


def test_verify_now_verifies_the_whole_log(browser: Browser, jp: Desk, crossed: str) -> None:
    context = jp.context(browser, jp.officer("log-desk", role="observer"))
    try:
        page = open_page(context, jp.node.url + "/log")
        size = int(page.locator("#log-size").inner_text().split()[0])
        assert page.locator("#log-entries tbody tr").count() == min(size, 50)
        page.get_by_role("button", name="Verify now").click()
        verified = page.locator("#verify-result .verified-size")
        expect(verified).to_be_visible(timeout=LIVE_S)
        assert int(verified.inner_text()) >= size
        expect(page.locator("#verify-result .verified-root")).not_to_be_empty()
        expect(page.get_by_role("button", name="Verify now")).to_be_enabled()
        if size > 50:
            page.get_by_role("button", name="Older entries").click()
            expect(page.locator("#log-entries tbody tr").first).to_have_attribute(
                "data-seq", str(size - 51)
            )
            page.get_by_role("button", name="Newest entries").click()
        readable_at_both_sizes(page)
    finally:
        context.close()


def forked_checkpoint_attack(jp: Desk, us: Desk) -> None:
    """US signs a second root for a size of its log JP holds, and JP sees it (gossip)."""
    author = us.node.open()
    watcher = jp.node.open()
    try:
        with watcher.store.read() as conn:
            held = logs.latest_checkpoint(conn, "US")
        assert held is not None
        size, note = held
        checkpoint = claimed_checkpoint(note)
        other = replace(checkpoint, root=hashlib.sha256(b"another history").digest())
        key = author.log.key("log")
        forged = sign_checkpoint(other, checkpoint.origin, key.private)
        report = gossip.consider(watcher, "US", forged, key.public.raw, "test: a forked note")
        assert report.equivocations == ["US"], size
    finally:
        author.close()
        watcher.close()


def test_a_forked_log_attack_shows_a_held_peer_an_administrator_releases(
    browser: Browser, jp: Desk, us: Desk, crossed: str
) -> None:
    admin = jp.context(browser, jp.officer("peers-admin", role="admin"))
    observer = jp.context(browser, jp.officer("peers-observer", role="observer"))
    try:
        at_admin = open_page(admin, jp.node.url + "/peers")
        at_observer = open_page(observer, jp.node.url + "/peers")
        forked_checkpoint_attack(jp, us)
        for page in (at_admin, at_observer):
            card = page.locator('#peer-list li[data-party="US"]')
            expect(card).to_have_attribute("data-health", "held", timeout=LIVE_S)
            expect(card.locator(".held-reason")).to_contain_text("equivocation")
            evidence = page.locator('#equivocation-list li[data-party="US"] a.evidence-entry')
            expect(evidence).to_have_attribute("href", re.compile(r"^/api/v1/entries/JP%3A\d+$"))
        assert at_observer.get_by_role("button", name=re.compile("Release")).count() == 0
        readable_at_both_sizes(at_observer)
        ref = at_admin.locator("a.evidence-entry").inner_text().split()[-1]
        entry = at_admin.request.get(f"{jp.node.url}/api/v1/entries/{ref}").json()
        assert entry["header"]["kind"] == "evidence"
        at_admin.get_by_role("button", name="Release the hold on US").click()
        expect(at_admin.locator("#peers-result")).to_have_text("Released: pulling resumes.")
        card = at_admin.locator('#peer-list li[data-party="US"]')
        expect(card).not_to_have_attribute("data-health", "held", timeout=LIVE_S)
        expect(at_admin.locator("#equivocations")).to_be_visible()  # the evidence stays
    finally:
        admin.close()
        observer.close()
