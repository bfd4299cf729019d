"""A duty officer at the watch desk, in a real browser, against real nodes over TLS.

Two nodes (US, JP) federate over pinned TLS as in production; chromium drives the pages of
each. The officer logs in with a TOTP code, sees a notification from the other node arrive on
the open dashboard without a reload, acknowledges it in one click, and the sender's receipt
matrix turns green at the sender's node; the pages speak Japanese and Russian; a peer's HTML
and script inside its strings stays text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from parley.web import i18n
from tests.integration.fleet import Fleet
from tests.support import OFFICER_PASSWORD
from tests.web.conftest import VIEWPORT
from tests.web.desk import LIVE_S, Desk, notify, open_page, two_nodes
from tests.web.support import assert_accessible, assert_no_clipped_text, assert_no_horizontal_scroll

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    # Real deadlines: an acknowledgement must not turn "missed" while a loaded machine runs it.
    yield from two_nodes(tmp_path_factory, "watch-desk", deadline_scale="1")


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


@pytest.fixture(scope="module")
def us(fleet: Fleet) -> Desk:
    return Desk(fleet["US"])


def test_an_officer_logs_in_with_password_and_totp_code(browser: Browser, jp: Desk) -> None:
    name = jp.officer("login-desk")
    context = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(jp.node.url + "/")
        expect(page).to_have_url(re.compile(r"/login\?next=/$"))
        page.get_by_label("Officer name").fill(name)
        page.get_by_label("Password").fill(OFFICER_PASSWORD)
        page.get_by_label("Code from your authenticator").fill("000000")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#login-error")).to_be_visible()
        page.get_by_label("Code from your authenticator").fill(jp.code(name))
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".officer")).to_have_text(name)
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
    finally:
        context.close()


def test_a_peers_notification_appears_on_the_open_dashboard_without_a_reload(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    context = jp.context(browser, jp.officer("map-desk"))
    try:
        page = open_page(context, jp.node.url + "/")
        page.evaluate("window.parleyNoReload = true")
        drawn_before = int(page.locator("body").get_attribute("data-areas-drawn") or 0)
        ref = notify(us, "Tremor off Boso, exercise")
        item = page.locator(f'li[data-ref="{ref}"]')
        expect(item).to_be_visible(timeout=LIVE_S)
        expect(item.locator(".status-banner")).to_have_text("EXERCISE")
        expect(item.get_by_role("link")).to_have_text("Tremor off Boso, exercise")
        expect(page.locator("body")).not_to_have_attribute(
            "data-areas-drawn", str(drawn_before), timeout=LIVE_S
        )
        assert page.evaluate("window.parleyNoReload") is True
    finally:
        context.close()


def test_eight_open_pages_of_one_node_all_go_live_on_one_shared_stream(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    # A browser opens at most six HTTP/1.1 connections to a host: with a stream per page, the
    # seventh page would wait for a connection that never frees.
    context = jp.context(browser, jp.officer("eight-desk"))
    try:
        pages = [open_page(context, jp.node.url + "/") for _ in range(8)]
        for page in pages:
            expect(page.locator("#stream-state")).to_have_text("Live", timeout=LIVE_S)
        ref = notify(us, "Aftershock off Boso, exercise")
        for page in pages:
            expect(page.locator(f'li[data-ref="{ref}"]')).to_be_visible(timeout=LIVE_S)
            streams = page.evaluate(
                "performance.getEntriesByType('resource')"
                ".filter((e) => e.name.endsWith('/api/v1/stream')).length"
            )
            assert streams == 0, "a page opened its own stream"
    finally:
        context.close()


def test_acknowledging_turns_the_senders_receipt_matrix_green(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    ref = notify(us, "Chemical release at Kawasaki, exercise")
    sender = us.context(browser, us.officer("us-desk"))
    receiver = jp.context(browser, jp.officer("ack-desk"))
    try:
        at_jp = open_page(receiver, f"{jp.node.url}/notifications/{ref}")
        at_us = open_page(sender, f"{us.node.url}/notifications/{ref}")
        row = at_us.locator('#matrix tr[data-party="JP"]')
        expect(row).to_have_attribute("data-state", "delivered", timeout=LIVE_S)
        at_jp.get_by_label("Short reply (optional)").fill("Received, teams on standby")
        at_jp.get_by_role("button", name="Acknowledge").click()
        expect(at_jp.locator("#ack-result")).to_have_text("Acknowledged.", timeout=LIVE_S)
        expect(row).to_have_attribute("data-state", "acknowledged", timeout=LIVE_S)
        expect(row.locator(".reply")).to_have_text("Received, teams on standby")
        colour = row.locator(".state").evaluate("e => getComputedStyle(e).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", colour)[:3])
        assert green > red and green > blue, colour
    finally:
        sender.close()
        receiver.close()


@pytest.mark.parametrize("lang", ["ja", "ru"])
def test_an_officer_switches_the_pages_to_another_language(
    browser: Browser, jp: Desk, lang: str
) -> None:
    context = jp.context(browser, jp.officer(f"lang-{lang}", role="observer"))
    try:
        page = open_page(context, jp.node.url + "/settings")
        page.get_by_label("Language").select_option(lang)
        page.get_by_role("button", name="Save").click()
        expect(page.locator("html")).to_have_attribute("lang", i18n.HTML_LANG[lang])
        translated = i18n.translations(lang).gettext("Dashboard")
        assert translated != "Dashboard"
        page.goto(jp.node.url + "/")
        expect(page.locator("nav a[aria-current=page]")).to_have_text(translated)
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
    finally:
        context.close()


def test_script_in_a_peers_strings_attack_stays_text(browser: Browser, jp: Desk, us: Desk) -> None:
    headline = '<img src=x onerror="window.parleyPwned=1">'
    texts = {
        "description": "<script>window.parleyPwned=2</script>",
        "instruction": '<svg onload="window.parleyPwned=3"></svg><a href="javascript:1">x</a>',
        "area-desc": '<iframe src="javascript:window.parleyPwned=4"></iframe>',
    }
    ref = notify(us, headline, **texts)
    context = jp.context(browser, jp.officer("xss-desk"))
    try:
        page = open_page(context, jp.node.url + "/")
        expect(page.locator(f'li[data-ref="{ref}"] .item-head a')).to_have_text(
            headline, timeout=LIVE_S
        )
        detail = open_page(context, f"{jp.node.url}/notifications/{ref}")
        expect(detail.locator("#headline")).to_have_text(headline)
        expect(detail.locator("#description")).to_have_text(texts["description"])
        expect(detail.locator("#instruction")).to_have_text(texts["instruction"])
        expect(detail.locator("#area-names li")).to_have_text(texts["area-desc"])
        planted = ":is(img, script, svg, iframe)"
        assert page.locator(f"#notifications {planted}").count() == 0
        assert detail.locator(f"#notification :is(h1, .text, #area-names) {planted}").count() == 0
        for shown in (page, detail):
            assert shown.evaluate("window.parleyPwned") is None
    finally:
        context.close()


SIZES = ({"width": 1366, "height": 768}, {"width": 3840, "height": 2160})


def test_the_pages_pass_axe_and_fit_the_screen_at_both_sizes(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    ref = notify(us, "Typhoon No. 14 approaching Kyushu with a long headline to wrap, exercise")
    context = jp.context(browser, jp.officer("look-desk"))
    try:
        pages = {
            "dashboard": open_page(context, jp.node.url + "/"),
            "notification": open_page(context, f"{jp.node.url}/notifications/{ref}"),
            "settings": open_page(context, jp.node.url + "/settings"),
        }
        login = browser.new_page(ignore_https_errors=True)
        login.goto(jp.node.url + "/login")
        pages["login"] = login
        for name, page in pages.items():
            for size in SIZES:
                page.set_viewport_size(size)  # type: ignore[arg-type]
                try:
                    assert_accessible(page)
                    assert_no_horizontal_scroll(page)
                    assert_no_clipped_text(page)
                except AssertionError as failure:
                    raise AssertionError(f"{name} at {size}: {failure}") from None
        login.close()
    finally:
        context.close()


# A few characters of each language's catalogue, distinct glyphs in any CJK font.
CJK = {"ja": "通報受領確認", "ko": "통보수신확인", "zh": "通报确认收到"}


def glyph_images(page: Page, text: str, family: str | None) -> list[bytes]:
    """Each character of ``text`` drawn alone, as a screenshot; ``family`` overrides the font."""
    page.evaluate(
        """([text, family]) => {
            const box = document.createElement("p");
            box.id = "glyphs";
            for (const ch of text) {
                const span = document.createElement("span");
                span.textContent = ch;
                span.style.fontSize = "48px";
                span.style.display = "inline-block";
                span.style.padding = "4px";
                if (family) span.style.fontFamily = family;
                box.append(span);
            }
            document.getElementById("glyphs")?.remove();
            document.querySelector("main").prepend(box);
        }""",
        [text, family],
    )
    page.evaluate("() => document.fonts.ready.then(() => true)")
    spans = page.locator("#glyphs span")
    return [spans.nth(i).screenshot() for i in range(spans.count())]


@pytest.mark.parametrize("lang", sorted(CJK))
def test_cjk_text_a_peer_wrote_renders_untagged_on_an_english_page_never_as_tofu(
    browser: Browser, jp: Desk, lang: str
) -> None:
    # A peer's headline in Japanese on an English page carries no lang of its own: the body's
    # font stack must still reach the shipped fonts for it.
    page = browser.new_page(ignore_https_errors=True, viewport=VIEWPORT)
    try:
        page.goto(f"{jp.node.url}/login?lang=en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        drawn = glyph_images(page, CJK[lang], None)
        assert len(set(drawn)) == len(drawn), "two characters drew the same glyph: tofu"
        bare = glyph_images(page, CJK[lang], "ParleyNoSuchFont, serif")
        if len(set(bare)) == len(bare):
            pytest.fail("the machine has its own CJK font: the tofu check cannot fail here")
    finally:
        page.close()


@pytest.mark.parametrize("lang", sorted(CJK))
def test_cjk_text_renders_with_the_shipped_fonts_never_as_tofu(
    browser: Browser, jp: Desk, lang: str
) -> None:
    page = browser.new_page(ignore_https_errors=True, viewport=VIEWPORT)
    try:
        page.goto(f"{jp.node.url}/login?lang={lang}")
        heading = page.locator("h1").inner_text()
        assert any(ord(ch) > 0x2E80 for ch in heading), heading  # the page is in the language
        shipped = glyph_images(page, CJK[lang], None)
        assert len(set(shipped)) == len(shipped), "two characters drew the same glyph: tofu"
        # The control: without the shipped fonts this machine has no CJK font, and every
        # character is the same missing-glyph box, so the check above can fail.
        bare = glyph_images(page, CJK[lang], "ParleyNoSuchFont, serif")
        if len(set(bare)) == len(bare):
            pytest.fail("the machine has its own CJK font: the tofu check cannot fail here")
        loaded = page.evaluate(
            "() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
        )
        assert any("Noto Sans" in family for family in loaded), loaded
    finally:
        page.close()
