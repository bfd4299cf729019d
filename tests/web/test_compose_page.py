"""Composing at the watch desk, in a real browser, against real nodes over TLS.

A duty officer composes an Exercise earthquake with an area drawn by clicks on the map and one
pasted as GeoJSON, and sees it on its page; a bad detail value shows the API's own message next
to its field and appends nothing; an Actual tsunami (a two-person category at JP) waits for a
second officer, who releases it from the pending list; the officer who prepared one breaks glass
only once a reason is given; an own notification is updated and cancelled from its page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.integration.fleet import Fleet
from tests.web.conftest import VIEWPORT
from tests.web.desk import LIVE_S, Desk, notify, open_page, two_nodes
from tests.web.support import (
    assert_accessible,
    assert_no_clipped_text,
    assert_no_horizontal_scroll,
)

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet

RELEASE = '\n[release]\ncategories = ["geo.tsunami"]\n'
SQUARE = {
    "type": "Feature",
    "properties": {},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[140.0, 36.0], [141.0, 36.0], [141.0, 37.0], [140.0, 37.0], [140.0, 36.0]]
        ],
    },
}
BIG: ViewportSize = {"width": 3840, "height": 2160}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """US and JP; JP names geo.tsunami for two-person release (restarted to read it)."""
    for fleet in two_nodes(tmp_path_factory, "compose"):
        node = fleet["JP"]
        node.stop()
        config = node.home / "parley.toml"
        config.write_text(config.read_text() + RELEASE)
        node.start()
        node.wait_ready()
        yield fleet


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


def check_layout(page: Page) -> None:
    """axe, no sideways scroll, no clipped text: at the default viewport, then at 4K."""
    for size in (None, BIG):
        if size is not None:
            page.set_viewport_size(size)
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
        assert_no_clipped_text(page)
    page.set_viewport_size(VIEWPORT)


def log_size(page: Page) -> int:
    size: int = page.evaluate("async () => (await (await fetch('/api/v1/log')).json()).size")
    return size


def fill_alert(page: Page, category: str, status: str, headline: str) -> None:
    page.locator("#n-category").select_option(category)
    page.locator(f"#n-status-{status.lower()}").check()
    page.locator("#n-severity").select_option("Severe")
    page.locator("#n-urgency").select_option("Immediate")
    page.locator("#n-certainty").select_option("Observed")
    page.locator("#n-headline").fill(headline)


def add_circle(page: Page, desc: str) -> None:
    page.locator("#area-desc").fill(desc)
    page.locator("#draw-circle").check()
    page.locator("#map").click(position={"x": 260, "y": 200})
    page.locator("#area-radius").fill("25")
    page.get_by_role("button", name="Add the circle").click()


def prepare_tsunami(page: Page, headline: str) -> None:
    fill_alert(page, "geo.tsunami", "Actual", headline)
    expect(page.locator("#two-person-note")).to_be_visible()
    page.locator("#d-max_wave_height_m").fill("3")
    add_circle(page, "Boso coast")
    page.get_by_role("button", name="Send the notification").click()
    expect(page.locator("#waiting")).to_be_visible(timeout=LIVE_S)
    expect(page.locator("#waiting").get_by_role("link", name="Pending releases")).to_have_attribute(
        "href", "/pending"
    )


def test_an_observer_may_not_compose(browser: Browser, jp: Desk) -> None:
    context = jp.context(browser, jp.officer("compose-observer", role="observer"))
    try:
        page = context.new_page()
        answer = page.goto(jp.node.url + "/compose")
        assert answer is not None and answer.status == 403
        expect(page.locator("nav")).not_to_contain_text("Compose")
    finally:
        context.close()


def test_an_exercise_earthquake_with_a_drawn_and_a_pasted_area_is_created(
    browser: Browser, jp: Desk
) -> None:
    context = jp.context(browser, jp.officer("composer"))
    try:
        page = open_page(context, jp.node.url + "/compose")
        fill_alert(page, "geo.earthquake", "Exercise", "Exercise quake off Boso")
        page.locator("#d-magnitude").fill("6.8")
        page.locator("#d-epicenter").fill("35.1,140.4")
        page.locator("#area-desc").fill("Drawn coast")
        for x, y in ((200, 150), (320, 150), (320, 260), (200, 260)):
            page.locator("#map").click(position={"x": x, "y": y})
        expect(page.locator("body")).to_have_attribute("data-sketch", "4")
        page.get_by_role("button", name="Finish the polygon").click()
        page.locator("#area-desc").fill("Pasted square")
        page.locator("#area-geojson").fill(json.dumps(SQUARE))
        page.get_by_role("button", name="Add the pasted area").click()
        expect(page.locator("#areas li")).to_have_count(2)
        check_layout(page)
        page.get_by_role("button", name="Send the notification").click()
        expect(page).to_have_url(re.compile(r"/notifications/JP:\d+$"), timeout=LIVE_S)
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
        expect(page.locator("#headline")).to_have_text("Exercise quake off Boso")
        expect(page.locator("#banner .status-banner")).to_have_text("EXERCISE")
        expect(page.locator("#area-names li")).to_have_text(["Drawn coast", "Pasted square"])
    finally:
        context.close()


def test_a_bad_detail_value_shows_the_apis_message_next_to_its_field_and_creates_nothing(
    browser: Browser, jp: Desk
) -> None:
    context = jp.context(browser, jp.officer("careless"))
    try:
        page = open_page(context, jp.node.url + "/compose")
        before = log_size(page)
        fill_alert(page, "geo.earthquake", "Exercise", "Quake with a bad magnitude")
        page.locator("#d-magnitude").fill("abc")
        add_circle(page, "Tokyo Bay")
        page.get_by_role("button", name="Send the notification").click()
        magnitude = page.locator("#d-magnitude")
        expect(magnitude).to_have_attribute("aria-invalid", "true", timeout=LIVE_S)
        error = page.locator("#d-magnitude-error")
        expect(error).to_contain_text("magnitude")
        expect(error).to_have_attribute("data-for", "body.details.magnitude")
        assert "d-magnitude-error" in (magnitude.get_attribute("aria-describedby") or "")
        assert page.locator("#n-headline").get_attribute("aria-invalid") is None
        check_layout(page)
        assert log_size(page) == before
    finally:
        context.close()


def test_a_two_person_category_waits_and_a_second_officer_releases_it_from_pending(
    browser: Browser, jp: Desk
) -> None:
    preparer = jp.context(browser, jp.officer("preparer"))
    releaser = jp.context(browser, jp.officer("releaser"))
    try:
        page = open_page(preparer, jp.node.url + "/compose")
        before = log_size(page)
        prepare_tsunami(page, "Tsunami warning, Boso")
        assert log_size(page) == before
        pending = open_page(releaser, jp.node.url + "/pending")
        item = pending.locator("#pending-list li", has_text="Tsunami warning, Boso")
        expect(item).to_be_visible()
        expect(item.get_by_role("button", name="Break glass: release alone")).to_have_count(0)
        check_layout(pending)
        item.get_by_role("button", name="Release").click()
        expect(pending.locator("#pending-result")).to_contain_text(
            "Released as JP:", timeout=LIVE_S
        )
        expect(item).to_have_count(0)
        assert log_size(pending) == before + 1
    finally:
        preparer.close()
        releaser.close()


def test_the_preparer_breaks_glass_only_with_a_stated_reason(browser: Browser, jp: Desk) -> None:
    context = jp.context(browser, jp.officer("alone"))
    try:
        page = open_page(context, jp.node.url + "/compose")
        prepare_tsunami(page, "Tsunami warning at night")
        pending = open_page(context, jp.node.url + "/pending")
        item = pending.locator("#pending-list li", has_text="Tsunami warning at night")
        expect(item.get_by_role("button", name="Release", exact=True)).to_have_count(0)
        glass = item.get_by_role("button", name="Break glass: release alone")
        expect(glass).to_be_disabled()
        reason = item.get_by_label("Reason for releasing alone (10 characters or more)")
        reason.fill("alone")
        expect(glass).to_be_disabled()
        reason.fill("night shift alone, the duty cannot wait")
        expect(glass).to_be_enabled()
        glass.click()
        expect(pending.locator("#pending-result")).to_contain_text(
            "Released as JP:", timeout=LIVE_S
        )
        ref = pending.locator("#pending-result a").inner_text()
        released = open_page(context, f"{jp.node.url}/notifications/{ref}")
        expect(released.locator("#headline")).to_have_text("Tsunami warning at night")
    finally:
        context.close()


def test_an_own_notification_is_updated_then_cancelled_from_its_page(
    browser: Browser, jp: Desk
) -> None:
    ref = notify(jp, "Quake to revise, exercise")
    context = jp.context(browser, jp.officer("reviser"))
    try:
        page = open_page(context, f"{jp.node.url}/notifications/{ref}")
        expect(page.locator("#own-actions")).to_be_visible()
        page.get_by_role("link", name="Update").click()
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
        expect(page.locator("#n-headline")).to_have_value("Quake to revise, exercise")
        expect(page.locator("#n-category")).to_be_disabled()
        check_layout(page)
        page.locator("#n-headline").fill("Quake revised, exercise")
        page.locator("#d-magnitude").fill("7.3")
        page.get_by_role("button", name="Send the update").click()
        expect(page).not_to_have_url(re.compile(re.escape(ref) + "$"), timeout=LIVE_S)
        expect(page).to_have_url(re.compile(r"/notifications/JP:\d+$"))
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
        expect(page.locator("#headline")).to_have_text("Quake revised, exercise")
        updated = page.url.rsplit("/", 1)[1]
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator("#cancel-section")).to_be_visible(timeout=LIVE_S)
        expect(page.locator("#cancel-what")).to_have_text("Quake revised, exercise")
        check_layout(page)
        page.get_by_label(re.compile("All clear")).check()
        page.get_by_role("button", name="Confirm the cancel").click()
        expect(page).not_to_have_url(re.compile(re.escape(updated) + "$"), timeout=LIVE_S)
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
        expect(page.locator("#state")).to_contain_text("all clear")
        expect(page.locator("#own-actions")).to_be_hidden()
    finally:
        context.close()
