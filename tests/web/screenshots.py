"""Screenshots of the main pages for the README, in English and Japanese.

``make screenshots`` runs it: three real nodes (US, JP, CN) over TLS, a few exercise
notifications with their areas, an acknowledgement and a hotline exchange, then chromium at
1366x768 (the tests' viewport) takes each page at JP in English and in Japanese into ``docs/screenshots/``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from parley.web import i18n
from tests.integration.fleet import Fleet
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.desk import Desk, open_page

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

NOTICES = (  # (author, category, severity, circle LAT,LON,KM, headline, details NAME=VALUE)
    ("US", "met.tropical-cyclone", "Severe", "26.2,127.7,300", "Typhoon approaching Okinawa", ()),
    ("CN", "met.heavy-rain", "Moderate", "30.6,114.3,150", "Heavy rain in Hubei province", ()),
    ("US", "geo.earthquake", "Extreme", "38.3,142.4,200", "M7.4 earthquake off Miyagi", ()),
    (
        "CN",
        "industrial.chemical-release",
        "Minor",
        "31.2,121.5,20",
        "Solvent leak at Shanghai port",
        ("substance=toluene", "release=yes"),
    ),
)


def notify(
    desk: Desk, category: str, severity: str, circle: str, headline: str, details: tuple[str, ...]
) -> str:
    """An exercise notification from ``desk`` to everyone."""
    return desk.node.cli(
        "notify",
        "--category",
        category,
        "--severity",
        severity,
        "--urgency",
        "Immediate",
        "--certainty",
        "Observed",
        "--status",
        "Exercise",
        "--circle",
        circle,
        "--headline",
        headline,
        "--description",
        "Exercise message of the regional notification drill.",
        "--instruction",
        "Acknowledge receipt and report assistance needs.",
        "--expires",
        "+12h",
        *(arg for detail in details for arg in ("--detail", detail)),
    ).stdout.strip()


def main() -> None:
    """Start the nodes, make some traffic, take the screenshots."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        fleet = Fleet(
            Path(folder), parties=("US", "JP", "CN"), policy_options=("--deadline-scale", "1")
        )
        try:
            fleet.setup()
            desks = {party: Desk(fleet[party]) for party in ("US", "JP", "CN")}
            refs = [notify(desks[notice[0]], *notice[1:]) for notice in NOTICES]
            jp = desks["JP"]
            jp.node.cli("sync")
            jp.node.cli("ack", refs[0], "--reply", "Coast guard on standby", check=False)
            jp.node.cli("hotline", "send", "CN", "--phrase", "ack.received", "--status", "Exercise")
            shoot(jp, refs[2])
        finally:
            fleet.stop()


def shoot(jp: Desk, ref: str) -> None:
    """Each page at JP in English and in Japanese."""
    pages = {
        "dashboard": "/",
        "notification": f"/notifications/{ref}",
        "hotline": "/hotline?party=CN",
        "compose": "/compose",
        "peers": "/peers",
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for lang in ("en", "ja"):
                name = jp.officer(f"shots-{lang}")
                context = jp.context(browser, name)
                page = open_page(context, jp.node.url + "/settings")
                page.get_by_label(i18n.translations("en").gettext("Language")).select_option(lang)
                with page.expect_navigation():
                    page.locator("#settings-form button[type=submit]").click()
                page.close()
                for shot, path in pages.items():
                    page = open_page(context, jp.node.url + path)
                    page.wait_for_timeout(800)  # the map's canvas settles
                    page.screenshot(path=str(OUT / f"{shot}-{lang}.png"))
                    page.close()  # its live stream holds one of chromium's 6 connections
                    print(f"docs/screenshots/{shot}-{lang}.png", file=sys.stderr)
                context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
