"""The alarm and the print view, in a real browser against two real nodes over TLS.

US and JP federate with deadlines scaled by 0.01, so an unanswered notification escalates in
seconds. An officer with a page open hears the alarm (a desktop notification and a beep, until
acknowledged on the page) for an escalation, a hotline message to their party, and a new
notification at their severity; Exercise traffic only when they asked for it; no oscillator
when their sound is off; settings saved in another tab rule an open page's alarm at once. A notification prints on A4 in every language with its areas' map.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from parley.web import i18n
from tests.integration.fleet import Fleet
from tests.web.conftest import VIEWPORT
from tests.web.desk import LIVE_S, Desk, notify, open_page, two_nodes
from tests.web.support import assert_accessible, assert_no_clipped_text, assert_no_horizontal_scroll

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet

ESCALATION_S = 60_000  # ms: a nuclear acknowledgement deadline (9 s here), then the loop's round
BIG: dict[str, int] = {"width": 3840, "height": 2160}
A4_CONTENT_PX = round(186 * 96 / 25.4)  # A4's 210 mm less the print stylesheet's 12 mm margins

# The test's own window on the page: desktop notifications and oscillators are counted.
CAPTURE = """
(() => {
  const Real = window.Notification;
  window.parleyNotices = [];
  function Captured(title, options) {
    window.parleyNotices.push({ title, body: (options && options.body) || "" });
    return new Real(title, options);
  }
  Object.defineProperty(Captured, "permission", { get: () => Real.permission });
  Captured.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Captured;
  window.parleyOscillators = 0;
  const create = BaseAudioContext.prototype.createOscillator;
  BaseAudioContext.prototype.createOscillator = function (...args) {
    window.parleyOscillators += 1;
    return create.apply(this, args);
  };
})();
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    yield from two_nodes(tmp_path_factory, "alarms")


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


@pytest.fixture(scope="module")
def us(fleet: Fleet) -> Desk:
    return Desk(fleet["US"])


def settle_settings(page: Page, **settings: Any) -> None:
    """Change the officer's settings through the API, and reload the page to read them."""
    page.evaluate("s => Parley.api('PUT', '/me/settings', s)", settings)
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)


def alarm_desk(browser: Browser, desk: Desk, name: str) -> BrowserContext:
    """A logged-in context that may show desktop notifications, with the test's window on."""
    context = desk.context(browser, desk.officer(name))
    context.grant_permissions(["notifications"], origin=desk.node.url)
    context.add_init_script(CAPTURE)
    return context


def armed(context: BrowserContext, desk: Desk, path: str = "/", **settings: Any) -> Page:
    """A page with the officer's ``settings``, its alarm listening to the stream."""
    page = open_page(context, desk.node.url + path)
    settle_settings(page, **settings)
    expect(page.locator("body[data-alarm-armed=true]")).to_be_attached(timeout=LIVE_S)
    return page


def alarm_item(page: Page, kind: str, ref: str) -> Any:
    return page.locator(f'#alarm li[data-kind="{kind}"][data-ref="{ref}"]')


def notices(page: Page) -> list[dict[str, str]]:
    found: list[dict[str, str]] = page.evaluate("window.parleyNotices")
    return found


def nuclear_notification(desk: Desk, headline: str) -> str:
    """An Actual notification to JP whose acknowledgement is due within seconds here."""
    return desk.node.cli(
        "notify",
        "--category",
        "nuclear.facility-event",
        "--detail",
        "facility=Tokai-2",
        "--detail",
        "release=no",
        "--severity",
        "Extreme",
        "--urgency",
        "Immediate",
        "--certainty",
        "Observed",
        "--status",
        "Actual",
        "--circle",
        "36.47,140.6,30",
        "--headline",
        headline,
        "--to",
        "JP",
    ).stdout.strip()


def hotline(desk: Desk, to: str, text: str, status: str) -> str:
    return desk.node.cli("hotline", "send", to, "--text", text, "--status", status).stdout.strip()


def check_layout(page: Page) -> None:
    """axe, no sideways scroll and no clipped text, at 1366x768 and at 3840x2160."""
    for viewport in (VIEWPORT, BIG):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
        assert_no_clipped_text(page)
    page.set_viewport_size(VIEWPORT)


# The print view ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def printed(us: Desk, jp: Desk) -> str:
    """A notification from US that JP acknowledged with a reply: every section has content."""
    ref = notify(
        us,
        "Earthquake off Boso, exercise: coastal towns to higher ground",
        description="M7.1 at 30 km depth. " * 12,
        instruction="Stay away from the coast until the all-clear; follow local officials.",
        **{"area-desc": "Boso peninsula and Tokyo Bay coast"},
    )
    deadline = time.monotonic() + LIVE_S / 1000
    while True:
        answer = jp.node.cli("ack", ref, "--reply", "Received, teams on standby", check=False)
        if answer.returncode == 0 or time.monotonic() > deadline:
            assert answer.returncode == 0, answer.stderr
            break
        time.sleep(0.5)
    deadline = time.monotonic() + LIVE_S / 1000
    while "acknowledged" not in us.node.cli("receipts", ref, "--json").stdout.split('"JP"', 1)[-1]:
        assert time.monotonic() < deadline, "US never saw JP's acknowledgement"
        time.sleep(0.5)
    return ref


@pytest.fixture(scope="module")
def print_session(us: Desk) -> str:
    """One officer's session for every print test: a TOTP code is accepted only once."""
    return us.session(us.officer("print-desk"))


@pytest.fixture
def reader(browser: Browser, us: Desk, print_session: str) -> Iterator[BrowserContext]:
    context = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
    context.add_cookies(
        [
            {
                "name": "parley_session",
                "value": print_session,
                "url": us.node.url,
                "httpOnly": True,
                "secure": True,
                "sameSite": "Strict",
            }
        ]
    )
    try:
        yield context
    finally:
        context.close()


def print_view(reader: BrowserContext, us: Desk, ref: str) -> Page:
    page = open_page(reader, f"{us.node.url}/notifications/{ref}/print")
    expect(page.locator("#map path.leaflet-interactive").first).to_be_attached()
    return page


def test_the_notification_page_links_to_its_print_view(
    reader: BrowserContext, us: Desk, printed: str
) -> None:
    page = open_page(reader, f"{us.node.url}/notifications/{printed}")
    try:
        page.get_by_role("link", name="Print").click()
        expect(page).to_have_url(re.compile(rf"/notifications/{printed}/print$"))
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
        expect(page.locator("#matrix tr[data-party=JP]")).to_have_attribute(
            "data-state", "acknowledged"
        )
        expect(page.locator("#matrix .reply")).to_have_text("Received, teams on standby")
        expect(page.locator("#chain li")).to_have_count(1)
        expect(page.locator("#area-names li")).to_have_text("Boso peninsula and Tokyo Bay coast")
        expect(page.locator("#references li")).to_have_count(1)
        expect(page.locator(".banner .status-banner")).to_have_text("EXERCISE")
    finally:
        page.close()


def test_the_print_view_passes_axe_and_layout_checks_at_both_viewports(
    reader: BrowserContext, us: Desk, printed: str
) -> None:
    page = print_view(reader, us, printed)
    try:
        check_layout(page)
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["en", "ja", "ko", "zh", "ru"])
def test_a_notification_prints_on_a4_with_its_map_and_no_clipped_text(
    reader: BrowserContext, us: Desk, printed: str, lang: str
) -> None:
    page = print_view(reader, us, printed)
    try:
        settle_settings(page, lang=lang)
        expect(page.locator("html")).to_have_attribute("lang", i18n.HTML_LANG[lang])
        expect(page.locator("#map path.leaflet-interactive").first).to_be_attached()
        assert int(page.locator("body").get_attribute("data-areas-drawn") or 0) >= 1
        page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
        page.emulate_media(media="print")
        map_box = page.locator("#map").bounding_box()
        assert map_box is not None and map_box["height"] > 300, map_box
        area = page.locator("#map path.leaflet-interactive").first.bounding_box()
        assert area is not None and area["width"] > 5 and area["height"] > 5, area
        assert page.locator("header nav").is_hidden()
        assert_no_horizontal_scroll(page)
        assert_no_clipped_text(page)
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF-")
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
    finally:
        page.close()


# The alarm -----------------------------------------------------------------------------------


def test_an_escalation_rings_the_alarm_until_the_officer_acknowledges_it(
    browser: Browser, us: Desk
) -> None:
    context = alarm_desk(browser, us, "escalation-desk")
    try:
        page = armed(context, us, sound=True)
        page.locator("main").click(position={"x": 5, "y": 5})  # a gesture: the audio may start
        ref = nuclear_notification(us, "Coolant leak at Tokai-2")
        item = alarm_item(page, "deadline.missed", ref).first
        expect(item).to_be_visible(timeout=ESCALATION_S)
        expect(item.get_by_role("link", name=ref)).to_have_attribute(
            "href", f"/notifications/{ref}"
        )
        expect(page.locator("#alarm")).to_be_visible()
        assert alarm_item(page, "notification", ref).count() == 0  # its own notification
        assert any(ref in notice["body"] for notice in notices(page)), notices(page)
        expect(page.locator("body")).to_have_attribute("data-alarm-sound", "playing")
        assert page.evaluate("window.parleyOscillators") > 0
        page.get_by_role("button", name="Acknowledge alarm").click()
        expect(page.locator("#alarm")).to_be_hidden()
        expect(page.locator("body")).to_have_attribute("data-alarm-sound", "stopped")
        started = page.evaluate("window.parleyOscillators")
        page.wait_for_timeout(2500)
        assert page.evaluate("window.parleyOscillators") == started
    finally:
        context.close()


def test_an_exercise_rings_only_for_an_officer_who_asked_for_exercises(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    context = alarm_desk(browser, jp, "exercise-desk")
    try:
        page = armed(context, jp, alarm_exercise=False, alarm_severity="Severe")
        quiet = notify(us, "Tremor off Choshi, exercise")
        expect(page.locator(f'li[data-ref="{quiet}"]')).to_be_visible(timeout=LIVE_S)
        page.wait_for_timeout(1000)
        assert alarm_item(page, "notification", quiet).count() == 0
        assert not [n for n in notices(page) if quiet in n["body"]]

        page = armed(context, jp, alarm_exercise=True, alarm_severity="Severe")
        loud = notify(us, "Tremor off Hitachi, exercise")
        item = alarm_item(page, "notification", loud)
        expect(item).to_be_visible(timeout=LIVE_S)
        expect(item.locator(".status-banner")).to_have_text("EXERCISE")
        expect(item.get_by_role("link", name=loud)).to_be_visible()
        assert any(loud in notice["body"] for notice in notices(page)), notices(page)
    finally:
        context.close()


def test_a_hotline_message_to_this_party_rings_the_alarm(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    context = alarm_desk(browser, jp, "hotline-desk")
    try:
        page = armed(context, jp, "/settings")
        ref = hotline(us, "JP", "Unit Kirishima changing course to 045", "Actual")
        item = alarm_item(page, "hotline", ref)
        expect(item).to_be_visible(timeout=LIVE_S)
        expect(item.locator("q")).to_have_text("Unit Kirishima changing course to 045")
        expect(item.get_by_role("link", name=ref)).to_have_attribute("href", "/hotline")
        assert any("Kirishima" in notice["body"] for notice in notices(page)), notices(page)
        check_layout(page)
    finally:
        context.close()


def test_an_inquiry_to_this_party_rings_the_alarm_with_its_question(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    context = alarm_desk(browser, jp, "inquiry-desk")
    try:
        page = armed(context, jp, "/settings")
        about = hotline(jp, "US", "Unit Kongo on station", "Actual")
        question = "Which station, and until when?"
        deadline = time.monotonic() + LIVE_S / 1000
        while True:  # US asks once it holds JP's message
            answer = us.node.cli("inquire", about, "--question", question, check=False)
            if answer.returncode == 0 or time.monotonic() > deadline:
                assert answer.returncode == 0, answer.stderr
                break
            time.sleep(0.5)
        asked = answer.stdout.split()[1]
        item = alarm_item(page, "inquiry", asked)
        expect(item).to_be_visible(timeout=LIVE_S)
        expect(item.locator("q")).to_have_text(question)
        expect(item).to_contain_text(f"about {about}")
        expect(item.get_by_role("link", name=asked)).to_have_attribute("href", "/inquiries")
        assert any(question in notice["body"] for notice in notices(page)), notices(page)
        check_layout(page)
    finally:
        context.close()


def test_with_the_sound_off_the_alarm_starts_no_oscillator(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    context = alarm_desk(browser, jp, "silent-desk")
    try:
        page = armed(context, jp, sound=False, alarm_exercise=True)
        page.locator("main").click(position={"x": 5, "y": 5})
        ref = hotline(us, "JP", "Radio check, exercise", "Exercise")
        expect(alarm_item(page, "hotline", ref)).to_be_visible(timeout=LIVE_S)
        expect(page.locator("body")).to_have_attribute("data-alarm-sound", "off")
        expect(page.locator("#alarm-sound-note")).to_be_visible()
        page.wait_for_timeout(2500)
        assert page.evaluate("window.parleyOscillators") == 0
        assert page.locator("body").get_attribute("data-alarm-beeps") is None
    finally:
        context.close()


def test_settings_saved_in_another_tab_rule_the_open_pages_alarm_without_a_reload(
    browser: Browser, jp: Desk, us: Desk
) -> None:
    context = alarm_desk(browser, jp, "two-tab-desk")
    try:
        watching = armed(context, jp, sound=True, alarm_exercise=True, alarm_severity="Severe")
        watching.evaluate("window.parleyNoReload = true")
        watching.locator("main").click(position={"x": 5, "y": 5})  # a gesture: the audio may start
        ringing = hotline(us, "JP", "Radio check, exercise", "Exercise")
        expect(alarm_item(watching, "hotline", ringing)).to_be_visible(timeout=LIVE_S)
        shown = watching.locator("body")
        expect(shown).to_have_attribute("data-alarm-sound", "playing")

        other = open_page(context, jp.node.url + "/settings")  # the second tab
        other.get_by_label("Sound an alarm").uncheck()
        other.get_by_label("Alarm for new Actual notifications at or above").select_option(
            "Extreme"
        )
        other.get_by_role("button", name="Save").click()
        expect(shown).to_have_attribute("data-alarm-sound-setting", "off", timeout=LIVE_S)
        expect(shown).to_have_attribute("data-alarm-severity", "Extreme")
        expect(shown).to_have_attribute("data-alarm-sound", "off")  # the beeping stopped
        expect(watching.locator("#alarm-sound-note")).to_be_visible()
        started = watching.evaluate("window.parleyOscillators")
        watching.wait_for_timeout(2500)
        assert watching.evaluate("window.parleyOscillators") == started

        below = notify(us, "Tremor off Mito, exercise")  # Severe: below the new threshold
        expect(watching.locator(f'#notifications li[data-ref="{below}"]')).to_be_visible(
            timeout=LIVE_S
        )
        watching.wait_for_timeout(1000)
        assert alarm_item(watching, "notification", below).count() == 0

        # Saved where no page tells the others (the API): read when the window gets the focus.
        other.evaluate("Parley.api('PUT', '/me/settings', {sound: true})")
        watching.evaluate("window.dispatchEvent(new Event('focus'))")
        expect(shown).to_have_attribute("data-alarm-sound-setting", "on", timeout=LIVE_S)
        expect(shown).to_have_attribute("data-alarm-sound", "playing")  # the alarm still shows
        assert watching.evaluate("window.parleyNoReload") is True
    finally:
        context.close()
