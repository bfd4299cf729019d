"""The compose page in the officer's language, in a real browser, against a real node over TLS.

An officer whose language is Japanese (or Russian) chooses a category and sees each detail
field's label and typed_as hint in that language (``GET /api/v1/categories?lang=``), with the
category's codes untouched, and the page stays accessible and unclipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from parley.web import i18n
from tests.integration.fleet import Fleet
from tests.web.desk import LIVE_S, Desk, open_page, two_nodes
from tests.web.support import (
    assert_accessible,
    assert_no_clipped_text,
    assert_no_horizontal_scroll,
)

# The browser group: on the other worker than the five-node fleets of tests/integration.
pytestmark = pytest.mark.fleet

# Per language: the label of the INES field and the hint of a whole number, as shown.
SHOWN = {
    "ja": ("INESレベル（0～7、判明している場合）", "整数"),
    "ru": ("Уровень по INES (0–7), если известен", "целое число"),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    yield from two_nodes(tmp_path_factory, "compose-languages")


@pytest.fixture(scope="module")
def jp(fleet: Fleet) -> Desk:
    return Desk(fleet["JP"])


def compose_in(context: BrowserContext, desk: Desk, lang: str) -> Page:
    """The compose page of ``desk`` for the context's officer, after setting its language."""
    page = open_page(context, desk.node.url + "/settings")
    page.get_by_label("Language").select_option(lang)
    with page.expect_navigation():  # the settings page reloads itself once saved
        page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", i18n.HTML_LANG[lang])
    page.goto(desk.node.url + "/compose")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
    return page


@pytest.mark.parametrize("lang", sorted(SHOWN))
def test_the_compose_page_shows_detail_field_labels_and_hints_in_the_officers_language(
    browser: Browser, jp: Desk, lang: str
) -> None:
    ines_label, whole_number = SHOWN[lang]
    context = jp.context(browser, jp.officer(f"compose-{lang}"))
    try:
        page = compose_in(context, jp, lang)
        page.locator("#n-category").select_option("nuclear.facility-event")
        expect(page.locator('label[for="d-ines_level"]')).to_have_text(ines_label)
        expect(page.locator("#d-ines_level-hint")).to_have_text(whole_number)
        expect(page.get_by_label(ines_label)).to_have_attribute("name", "ines_level")
        art5 = i18n.translations(lang).gettext(
            "Early Notification Convention Art. 5 data, as available"
        )
        expect(page.locator('label[for="d-art5"]')).to_have_text(art5[0].upper() + art5[1:])
        expect(page.locator("#details")).not_to_contain_text("INES level")
        expect(page.locator("#details")).not_to_contain_text("a whole number")
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
        assert_no_clipped_text(page)
    finally:
        context.close()
