"""The inquiries page between two real nodes, US and JP, in a real browser over pinned TLS.

US notifies JP. A JP officer asks about the notification from its page (a reply deadline the
policy refuses is named next to its field); the open inquiries page of a US officer shows the
question arrive without a reload, with its reply clock counting down; US answers there, and
JP's open inquiries page shows the answer and the clock met without a reload. Markup a peer puts
in a question or an answer stays text at the other side.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.integration.fleet import Fleet, eventually
from tests.web.conftest import VIEWPORT, PlaywrightLoopMark
from tests.web.desk import LIVE_S, Desk, notify, open_page, two_nodes
from tests.web.support import assert_accessible, assert_no_clipped_text, assert_no_horizontal_scroll

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet

BIG: ViewportSize = {"width": 3840, "height": 2160}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    # Real deadlines: the reply clock (48 h by default) still runs when US answers.
    yield from two_nodes(tmp_path_factory, "inquiries", deadline_scale="1")


@pytest.fixture(scope="module")
def us(fleet: Fleet) -> Desk:
    return Desk(fleet["US"])


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


@pytest.fixture(scope="module")
def desks(browser: Browser, us: Desk, jp: Desk) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """One logged-in context per node for the whole module: each officer logs in once."""
    PlaywrightLoopMark.show()  # module fixtures are set up before the per-test mark
    at_us = us.context(browser, us.officer("us-inquiries"))
    at_jp = jp.context(browser, jp.officer("jp-inquiries"))
    try:
        yield at_us, at_jp
    finally:
        PlaywrightLoopMark.show()
        at_us.close()
        at_jp.close()
        PlaywrightLoopMark.hide()


def notified(fleet: Fleet, us: Desk, headline: str) -> str:
    """A US notification to JP, once JP holds it."""
    ref = notify(us, headline)
    size = int(ref.split(":")[1]) + 1
    eventually(lambda: fleet.synced("JP", "US", size), timeout=LIVE_S / 1000, what=ref)
    return ref


def inquiries_page(context: BrowserContext, desk: Desk) -> Page:
    page = open_page(context, desk.node.url + "/inquiries")
    page.evaluate("window.parleyNoReload = true")
    return page


def test_an_inquiry_asked_at_jp_is_answered_at_us_and_both_pages_follow_live(
    fleet: Fleet, us: Desk, jp: Desk, desks: tuple[BrowserContext, BrowserContext]
) -> None:
    at_us, at_jp = desks
    ref = notified(fleet, us, "Tsunami advisory for the Boso coast, exercise")
    us_list = inquiries_page(at_us, us)
    jp_list = inquiries_page(at_jp, jp)
    detail = open_page(at_jp, f"{jp.node.url}/notifications/{ref}")
    try:
        question = "Is a tsunami expected on the Boso coast before noon?"
        detail.get_by_label("Question").fill(question)
        detail.get_by_label("Reply within (optional)").fill("2h")
        detail.get_by_role("button", name="Ask", exact=True).click()
        expect(detail.locator("#ask-within-error")).to_contain_text("outside the policy's bounds")
        expect(detail.locator("#ask-within")).to_have_attribute("aria-invalid", "true")
        detail.get_by_label("Reply within (optional)").fill("6h")
        detail.get_by_role("button", name="Ask", exact=True).click()
        expect(detail.locator("#ask-result")).to_contain_text("Asked:", timeout=LIVE_S)
        expect(detail.locator("#ask-within-error")).to_be_hidden()
        asked = (detail.locator("#ask-result").text_content() or "").split()[1]

        theirs = us_list.locator(f'#received .inq[data-ref="{asked}"]')
        expect(theirs).to_be_visible(timeout=LIVE_S)
        expect(theirs.locator(".inq-question")).to_have_text(question)
        link = theirs.locator(".inq-about a")
        expect(link).to_have_text(ref)
        expect(link).to_have_attribute("href", f"/notifications/{ref.replace(':', '%3A')}")
        clock = theirs.locator(".inq-clock")
        expect(clock).to_have_attribute("data-shown", "pending")
        expect(clock.locator(".inq-timer")).to_contain_text("due in 5 h")

        ours = jp_list.locator(f'#asked .inq[data-ref="{asked}"]')
        expect(ours).to_be_visible(timeout=LIVE_S)
        expect(ours.locator(".inq-waiting")).to_be_visible()
        expect(ours.locator(".inq-clock")).to_have_attribute("data-shown", "pending")

        theirs.get_by_role("button", name="Send the answer").click()
        expect(theirs.locator(".field-error")).to_have_text("Required.")
        theirs.get_by_label("Your answer").fill("No tsunami is expected; the advisory stands.")
        theirs.get_by_role("button", name="Send the answer").click()
        answered = us_list.locator(f'#received .inq[data-ref="{asked}"]')
        expect(answered.locator(".inq-answer")).to_have_text(
            "No tsunami is expected; the advisory stands.", timeout=LIVE_S
        )
        expect(answered.locator(".inq-clock")).to_have_attribute("data-shown", "met")
        expect(answered.locator("form")).to_have_count(0)

        expect(ours.locator(".inq-answer")).to_have_text(
            "No tsunami is expected; the advisory stands.", timeout=LIVE_S
        )
        expect(ours.locator(".inq-clock")).to_have_attribute("data-shown", "met")
        expect(ours.locator(".inq-clock .inq-timer")).to_have_text("answered")
        expect(ours.locator(".inq-waiting")).to_have_count(0)
        for page in (us_list, jp_list):
            assert page.evaluate("window.parleyNoReload") is True
    finally:
        for page in (us_list, jp_list, detail):
            page.close()


def test_script_in_an_inquiry_and_its_answer_attack_stays_text(
    fleet: Fleet, us: Desk, jp: Desk, desks: tuple[BrowserContext, BrowserContext]
) -> None:
    at_us, at_jp = desks
    ref = notified(fleet, us, "Ash fall, exercise")
    question = '<img src=x onerror="window.parleyPwned=1"><script>window.parleyPwned=2</script>'
    answer = '<svg onload="window.parleyPwned=3"></svg><a href="javascript:1">x</a>'
    asked = jp.node.cli("inquire", ref, "--question", question).stdout.split()[1]
    us_list = inquiries_page(at_us, us)
    jp_list = inquiries_page(at_jp, jp)
    try:
        theirs = us_list.locator(f'#received .inq[data-ref="{asked}"]')
        expect(theirs.locator(".inq-question")).to_have_text(question, timeout=LIVE_S)
        theirs.get_by_label("Your answer").fill(answer)
        theirs.get_by_role("button", name="Send the answer").click()
        ours = jp_list.locator(f'#asked .inq[data-ref="{asked}"]')
        expect(ours.locator(".inq-question")).to_have_text(question)
        expect(ours.locator(".inq-answer")).to_have_text(answer, timeout=LIVE_S)
        for page in (us_list, jp_list):
            assert page.locator("#inquiries :is(img, script, svg, iframe)").count() == 0
            assert page.locator('#inquiries a[href^="javascript"]').count() == 0
            assert page.evaluate("window.parleyPwned") is None
    finally:
        us_list.close()
        jp_list.close()


def test_the_inquiries_page_and_the_ask_form_are_accessible_and_fit_at_both_viewports(
    fleet: Fleet, us: Desk, jp: Desk, desks: tuple[BrowserContext, BrowserContext]
) -> None:
    at_us, at_jp = desks
    ref = notified(fleet, us, "Oil spill in Tokyo Bay, exercise")
    long_question = "Which berths are closed, and for how long? " * 12
    asked = jp.node.cli("inquire", ref, "--question", long_question).stdout.split()[1]
    us_list = inquiries_page(at_us, us)
    detail = open_page(at_jp, f"{jp.node.url}/notifications/{ref}")
    try:
        expect(us_list.locator(f'#received .inq[data-ref="{asked}"]')).to_be_visible(timeout=LIVE_S)
        detail.get_by_role("button", name="Ask", exact=True).click()  # an empty question
        expect(detail.locator("#ask-text-error")).to_have_text("Required.")
        for page in (us_list, detail):
            for viewport in (VIEWPORT, BIG):
                page.set_viewport_size(viewport)
                assert_accessible(page)
                assert_no_horizontal_scroll(page)
                assert_no_clipped_text(page)
    finally:
        us_list.close()
        detail.close()
