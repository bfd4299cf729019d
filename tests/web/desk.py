"""Real nodes for browser tests: a ``Desk`` is a node of a ``Fleet`` with officers whose TOTP
factors the test holds, browser contexts logged in as them, and a way to notify from it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from parley.node.federation import tlspin
from tests.integration.fleet import Fleet, FleetNode
from tests.support import OFFICER_PASSWORD
from tests.web.conftest import VIEWPORT

LIVE_S = 20_000  # ms: what a page may take to show what another node committed


@dataclass
class Desk:
    """A node with officers whose TOTP factors this test holds."""

    node: FleetNode
    factors: dict[str, pyotp.TOTP] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)

    def officer(self, name: str, role: str = "duty-officer") -> str:
        self.node.cli("user", "add", name, "--role", role, PARLEY_NEW_PASSWORD=OFFICER_PASSWORD)
        shown = self.node.cli("user", "totp", name).stdout
        found = re.search(r"otpauth://\S+", shown)
        assert found is not None, shown
        totp = pyotp.parse_uri(found.group(0))
        assert isinstance(totp, pyotp.TOTP)
        self.factors[name] = totp
        return name

    def code(self, name: str) -> str:
        """A code not used before: a TOTP code is accepted once, so wait for the next step."""
        totp = self.factors[name]
        step = int(time.time()) // 30
        if self.used.get(name, -1) >= step:
            time.sleep(30 - time.time() % 30 + 0.2)
            step = int(time.time()) // 30
        self.used[name] = step
        return totp.at(step * 30)

    def session(self, name: str) -> str:
        """A session cookie for ``name``, opened through the API."""
        with httpx.Client(
            base_url=self.node.url, transport=tlspin.pinned_transport(self.node.pin), timeout=10
        ) as client:
            answer = client.post(
                "/api/v1/session",
                json={"name": name, "password": OFFICER_PASSWORD, "totp": self.code(name)},
            )
            assert answer.status_code == 201, answer.text
            return answer.cookies["parley_session"]

    def context(self, browser: Browser, name: str, session: str | None = None) -> BrowserContext:
        """A browser context logged in as ``name``, in ``session`` if given (no new login)."""
        context = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
        context.add_cookies(
            [
                {
                    "name": "parley_session",
                    "value": session or self.session(name),
                    "url": self.node.url,
                    "httpOnly": True,
                    "secure": True,
                    "sameSite": "Strict",
                }
            ]
        )
        return context


def two_nodes(
    folder: pytest.TempPathFactory,
    name: str,
    deadline_scale: str = "0.01",
    names: dict[str, str] | None = None,
) -> Iterator[Fleet]:
    """US and JP federating over TLS, for a module-scoped fixture; stopped at its end.

    The test policy scales the category deadlines (0.01: an acknowledgement due in 15 min is due
    in 9 s, so that escalations happen within a test); ``"1"`` keeps the real ones. ``names``:
    a party's own name (``parley init --name``), which its member file and its notifications'
    ``sender_name`` carry.
    """
    fleet = Fleet(
        folder.mktemp(name),
        parties=("US", "JP"),
        policy_options=("--deadline-scale", deadline_scale),
        names=names,
    )
    try:
        fleet.setup()
        yield fleet
    finally:
        fleet.stop()


def notify(desk: Desk, headline: str, **texts: str) -> str:
    """Append a notification at ``desk``'s node, addressed to JP, and return its reference."""
    extra = [arg for name, value in texts.items() for arg in (f"--{name}", value)]
    return desk.node.cli(
        "notify",
        "--category",
        "geo.earthquake",
        "--severity",
        "Severe",
        "--urgency",
        "Immediate",
        "--certainty",
        "Observed",
        "--status",
        "Exercise",
        "--circle",
        "35.5,139.8,40",
        "--headline",
        headline,
        "--expires",
        "+6h",
        "--to",
        "JP",
        *extra,
    ).stdout.strip()


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=LIVE_S)
    return page
