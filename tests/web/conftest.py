"""Real-browser fixtures: Playwright drives Debian's chromium (``make unit`` installs it).

Playwright's own browser download is never used: the browser is the one at ``PARLEY_CHROMIUM``
(``/usr/bin/chromium`` by default). Nodes serve self-signed, pinned certificates, so a page's
context accepts them; the pin is checked by the node's own tests, not by the browser.

Every browser test is in the xdist group ``browser`` (one worker, one browser per session).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")

# As root in a container: no sandbox (it needs user namespaces that root in a container lacks),
# /tmp rather than a small /dev/shm, no GPU, and no calls home (the network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


class PlaywrightLoopMark:
    """Playwright's asyncio loop, marked as running in the test's thread only during browser tests.

    Playwright's sync API runs its loop in a greenlet and leaves it marked as running in the
    calling thread between calls, so asyncio.run() fails there while the browser is open. The
    browser lives for the whole session on its xdist worker, and that worker runs other tests too.
    """

    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def show(cls) -> None:
        """Mark the loop as running again, before Playwright is called."""
        if cls.loop is not None:
            asyncio.events._set_running_loop(cls.loop)

    @classmethod
    def hide(cls) -> None:
        """Unmark it, so that the thread can run asyncio code of its own."""
        if cls.loop is not None:
            asyncio.events._set_running_loop(None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole session."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: 'make unit' installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        PlaywrightLoopMark.loop = asyncio.get_running_loop()
        try:
            yield launched
        finally:
            PlaywrightLoopMark.show()
            PlaywrightLoopMark.loop = None
            launched.close()


@pytest.fixture(autouse=True)
def _playwright_loop_marked_only_in_browser_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Show Playwright's loop to a test that uses the browser, and hide it after the test."""
    uses_browser = "browser" in request.fixturenames
    if uses_browser:
        PlaywrightLoopMark.show()
    yield
    if uses_browser:
        PlaywrightLoopMark.hide()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context: 1366x768, en-US, accepting the nodes' self-signed certificates."""
    context = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT, locale="en-US")
    try:
        yield context.new_page()
    finally:
        context.close()
