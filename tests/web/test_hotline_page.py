"""The hotline page between two real nodes, JP and CN, in a real browser over pinned TLS.

A JP officer finds a standard phrase through the search box, fills its typed parameters (a value
the API refuses is named next to its field) and sends it to CN. A CN officer whose pages speak
Chinese sees it arrive on the open hotline page without a reload, rendered in Chinese exactly as
the phrase catalogue renders it, beside the Japanese rendering JP signed; CN acknowledges, and
JP's acknowledgement timer turns to acknowledged without a reload. Markup a peer puts in free
text or in a phrase parameter stays text at the other side.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from parley.formats import phrases
from parley.web import i18n
from tests.integration.fleet import Fleet
from tests.web.conftest import VIEWPORT
from tests.web.desk import LIVE_S, Desk, open_page
from tests.web.support import assert_accessible, assert_no_clipped_text, assert_no_horizontal_scroll

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet

PHRASE = "nav.course-speed"
PARAMS = {"unit": "Kirishima", "course": "45", "speed": "12"}
BIG: ViewportSize = {"width": 3840, "height": 2160}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    # Real deadlines (acknowledged within 5 minutes), not the fleet's scaled-down ones: the
    # acknowledgement timer must still be running when CN acknowledges.
    fleet = Fleet(
        tmp_path_factory.mktemp("hotline"),
        parties=("JP", "CN"),
        policy_options=("--deadline-scale", "1"),
    )
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


@pytest.fixture(scope="module")
def cn(fleet: Fleet) -> Desk:
    return Desk(fleet["CN"])


def hotline_in(context: BrowserContext, desk: Desk, lang: str) -> Page:
    """The hotline page of ``desk`` for the context's officer, after setting its language."""
    page = open_page(context, desk.node.url + "/settings")
    page.get_by_label("Language").select_option(lang)
    with page.expect_navigation():  # the settings page reloads itself once saved
        page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", i18n.HTML_LANG[lang])
    page.goto(desk.node.url + "/hotline")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
    page.evaluate("window.parleyNoReload = true")
    return page


def send_from(desk: Desk, to: str, phrase: str, params: dict[str, str], text: str) -> str:
    """Send a hotline message with ``desk``'s CLI; its reference."""
    pairs = [arg for name, value in params.items() for arg in ("--param", f"{name}={value}")]
    return desk.node.cli(
        "hotline", "send", to, "--phrase", phrase, *pairs, "--text", text, "--status", "Exercise"
    ).stdout.strip()


def test_a_phrase_sent_from_jp_appears_in_chinese_at_cn_and_its_acknowledgement_back_at_jp(
    browser: Browser, jp: Desk, cn: Desk
) -> None:
    sender = jp.context(browser, jp.officer("jp-hotline"))
    receiver = cn.context(browser, cn.officer("cn-hotline"))
    try:
        at_cn = hotline_in(receiver, cn, "zh")
        at_jp = hotline_in(sender, jp, "en")
        expect(at_jp.locator("#hl-party")).to_have_value("CN")

        at_jp.get_by_label("Find a phrase").fill("on course speed")
        wanted = at_jp.locator(f'.phrase-option[data-code="{PHRASE}"]')
        expect(wanted).to_be_visible()
        expect(at_jp.locator('.phrase-option[data-code="identity.this-is"]')).to_be_hidden()
        wanted.locator("label").click()
        at_jp.get_by_label("Unit", exact=True).fill(PARAMS["unit"])
        at_jp.get_by_label("Course", exact=True).fill("400")
        at_jp.get_by_label("Speed", exact=True).fill(PARAMS["speed"])
        at_jp.get_by_label("Status").select_option("Exercise")
        at_jp.get_by_role("button", name="Send", exact=True).click()
        expect(at_jp.locator("#param-course-error")).to_contain_text("400 is outside 0-359")
        expect(at_jp.locator("#param-course")).to_have_attribute("aria-invalid", "true")

        at_jp.get_by_label("Course", exact=True).fill(PARAMS["course"])
        at_jp.get_by_role("button", name="Send", exact=True).click()
        expect(at_jp.locator("#send-result")).to_contain_text("Sent:", timeout=LIVE_S)
        ref = (at_jp.locator("#send-result").text_content() or "").split()[-1]
        ours = at_jp.locator(f'.hl-message[data-ref="{ref}"]')
        expect(ours.locator(".hl-rendering-local .hl-rendering-text")).to_have_text(
            phrases.render(PHRASE, PARAMS, "en")
        )
        timer = ours.locator('.hl-clock[data-clock="acknowledged"]')
        expect(timer).to_have_attribute("data-shown", "pending")
        expect(timer.locator(".hl-timer")).to_contain_text("due in")

        theirs = at_cn.locator(f'.hl-message[data-ref="{ref}"]')
        expect(theirs).to_be_visible(timeout=LIVE_S)
        local = theirs.locator(".hl-rendering-local .hl-rendering-text")
        expect(local).to_have_text(phrases.render(PHRASE, PARAMS, "zh"))
        expect(local).to_have_attribute("lang", "zh-Hans")
        signed = theirs.locator(".hl-rendering-signed .hl-rendering-text")
        expect(signed).to_have_text(phrases.render(PHRASE, PARAMS, "ja"))
        expect(signed).to_have_attribute("lang", "ja")
        expect(theirs.locator(".status-banner")).to_have_text(
            i18n.translations("zh").gettext("EXERCISE")
        )
        expect(theirs.locator('.hl-clock[data-clock="acknowledged"]')).to_have_attribute(
            "data-shown", "pending"
        )

        theirs.locator(".hl-ack").click()
        expect(theirs.locator('.hl-clock[data-clock="acknowledged"]')).to_have_attribute(
            "data-shown", "acknowledged", timeout=LIVE_S
        )
        expect(theirs.locator(".hl-ack")).to_have_count(0)
        expect(timer).to_have_attribute("data-shown", "acknowledged", timeout=LIVE_S)
        expect(timer.locator(".hl-timer")).to_have_text("acknowledged")
        expect(ours.locator(".hl-acked")).to_contain_text("cn-hotline")
        for page in (at_jp, at_cn):
            assert page.evaluate("window.parleyNoReload") is True
    finally:
        sender.close()
        receiver.close()


def test_cn_acknowledges_with_a_short_reply_and_answers_a_message_that_jp_sees_as_its_reply(
    browser: Browser, jp: Desk, cn: Desk
) -> None:
    asked = send_from(jp, "CN", "ack.received", {}, "Do you read the exercise traffic?")
    receiver = cn.context(browser, cn.officer("cn-replier"))
    sender = jp.context(browser, jp.officer("jp-reader"))
    try:
        at_cn = open_page(receiver, cn.node.url + "/hotline")
        at_jp = open_page(sender, jp.node.url + "/hotline")
        theirs = at_cn.locator(f'.hl-message[data-ref="{asked}"]')
        expect(theirs).to_be_visible(timeout=LIVE_S)
        theirs.get_by_label("Short reply (optional)").fill("Reading you loud and clear")
        theirs.locator(".hl-ack").click()
        ours = at_jp.locator(f'.hl-message[data-ref="{asked}"]')
        expect(ours.locator(".hl-acked q")).to_have_text(
            "Reading you loud and clear", timeout=LIVE_S
        )

        theirs.locator(".hl-reply").click()
        expect(at_cn.locator("#hl-reply-to")).to_contain_text(f"In reply to {asked}")
        at_cn.locator("#hl-text").fill("Exercise traffic received on channel 16")
        at_cn.get_by_label("Status").select_option("Exercise")
        at_cn.get_by_role("button", name="Send", exact=True).click()
        expect(at_cn.locator("#send-result")).to_contain_text("Sent:", timeout=LIVE_S)
        expect(at_cn.locator("#hl-reply-to")).to_be_hidden()
        answer = (at_cn.locator("#send-result").text_content() or "").split()[-1]
        reply = at_jp.locator(f'.hl-message[data-ref="{answer}"]')
        expect(reply).to_be_visible(timeout=LIVE_S)
        expect(reply).to_contain_text(f"In reply to {asked}")
        expect(reply.locator(".hl-free-text")).to_have_text(
            "Exercise traffic received on channel 16"
        )
    finally:
        sender.close()
        receiver.close()


def test_script_in_hotline_text_attack_stays_text(browser: Browser, jp: Desk, cn: Desk) -> None:
    text = '<img src=x onerror="window.parleyPwned=1"><svg onload="window.parleyPwned=3"></svg>'
    station = "<script>window.parleyPwned=2</script>"
    ref = send_from(jp, "CN", "identity.this-is", {"station": station}, text)
    context = cn.context(browser, cn.officer("cn-xss"))
    try:
        page = open_page(context, cn.node.url + "/hotline")
        message = page.locator(f'.hl-message[data-ref="{ref}"]')
        expect(message.locator(".hl-free-text")).to_have_text(text, timeout=LIVE_S)
        expect(message.locator(".hl-rendering-local .hl-rendering-text")).to_have_text(
            phrases.render("identity.this-is", {"station": station}, "en")
        )
        expect(message.locator(".hl-rendering-signed .hl-rendering-text")).to_have_text(
            phrases.render("identity.this-is", {"station": station}, "ja")
        )
        assert page.locator("#messages :is(img, script, svg, iframe)").count() == 0
        assert page.evaluate("window.parleyPwned") is None
    finally:
        context.close()


@pytest.mark.parametrize("desk_party", ["JP", "CN"])
def test_the_hotline_page_is_accessible_and_fits_at_both_viewports(
    browser: Browser, jp: Desk, cn: Desk, desk_party: str
) -> None:
    desk, other = (jp, "CN") if desk_party == "JP" else (cn, "JP")
    send_from(
        jp,
        "CN",
        "intent.exercise",
        {"unit": "Kirishima", "position": "30.5,123.25", "time": "14:05"},
        "Free text that wraps: " + "keeping clear of the traffic separation scheme " * 6,
    )
    lang = "zh" if desk_party == "CN" else "ru"
    context = desk.context(browser, desk.officer(f"layout-{desk_party.lower()}"))
    try:
        page = hotline_in(context, desk, lang)
        expect(page.locator("#hl-party")).to_have_value(other)
        expect(page.locator(".hl-message").first).to_be_visible(timeout=LIVE_S)
        page.locator("#phrase-search").fill("course")
        page.locator(".phrase-option:visible label").first.click()
        expect(page.locator("#param-fields input").first).to_be_visible()
        for viewport in (VIEWPORT, BIG):
            page.set_viewport_size(viewport)
            assert_accessible(page)
            assert_no_horizontal_scroll(page)
            assert_no_clipped_text(page)
    finally:
        context.close()


def test_an_observer_reads_the_hotline_without_a_form_to_send_or_acknowledge(
    browser: Browser, jp: Desk, cn: Desk
) -> None:
    send_from(jp, "CN", "ack.received", {}, "Observed only")
    context = cn.context(browser, cn.officer("cn-observer", role="observer"))
    try:
        page = open_page(context, cn.node.url + "/hotline")
        expect(page.locator(".hl-message").last).to_be_visible(timeout=LIVE_S)
        expect(page.locator("#send-form")).to_be_hidden()
        expect(page.locator("#compose-readonly")).to_be_visible()
        expect(page.locator(".hl-ack")).to_have_count(0)
        expect(page.locator(".hl-reply")).to_have_count(0)
    finally:
        context.close()
