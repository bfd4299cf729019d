"""The browser harness itself, on static pages: Debian's chromium, axe-core, the layout checks.

Each check is shown to fail on a page that breaks it, and to pass on a clean page, so that a web
page's test that passes means something. The pages are served by ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page

from tests.web.conftest import PlaywrightLoopMark
from tests.web.support import (
    assert_accessible,
    assert_no_clipped_text,
    assert_no_horizontal_scroll,
    clipped_text,
    horizontal_scroll,
    serious_axe_violations,
)

pytestmark = pytest.mark.fleet


def _doc(title: str, body: str, style: str = "") -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>body {{ font-family: sans-serif; margin: 1rem; }} "
        f"{style}</style></head><body><main>{body}</main></body></html>"
    )


CLEAN = _doc(
    "Parley harness page",
    """
    <h1>Notifications</h1>
    <p>A page that every check passes. <a href="#recipients">Recipients</a></p>
    <form>
      <label for="channel">Channel</label> <input id="channel" name="channel">
      <button type="submit">Send</button>
    </form>
    <span class="visually-hidden">Read by screen readers only, a 1px box clipped to nothing</span>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Parley" width="16" height="16">
    <div class="scroller" tabindex="0" role="region" aria-label="Recipients">
      <table id="recipients">
        <caption>Recipients</caption>
        <tr><th scope="col">Node</th><th scope="col">State</th><th scope="col">Note</th></tr>
        <tr><td>JP</td><td>acknowledged</td><td>a long note that makes the table wider than
          the page, inside a container that scrolls sideways on its own</td></tr>
      </table>
    </div>
    """,
    style=".visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;"
    " clip: rect(0 0 0 0); white-space: nowrap; }"
    " .scroller { overflow-x: auto; max-width: 20rem; } td { white-space: nowrap; }",
)

PAGES = {
    "clean.html": CLEAN,
    "image-without-alt.html": _doc(
        "Image without alt", '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
    ),
    "input-without-label.html": _doc(
        "Input without label", '<form><input name="channel"><button>Send</button></form>'
    ),
    "wide.html": _doc(
        "Wide", '<h1>Wide</h1><div><div id="too-wide" style="width: 2000px">A strip</div></div>'
    ),
    "clipped-label.html": _doc(
        "Clipped label",
        '<label id="clipped" for="c" style="display: inline-block; width: 4rem;'
        ' overflow: hidden; white-space: nowrap">Notification channel</label><input id="c">',
    ),
    "overlapping-label.html": _doc(
        "Overlapping label",
        '<div style="display: flex"><label id="spills" for="o" style="width: 2rem;'
        ' white-space: nowrap">Notification channel</label><button id="send">Send</button></div>'
        '<input id="o">',
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Serve ``PAGES`` on 127.0.0.1 at an ephemeral port; the URL of a page by its name."""
    root = tmp_path_factory.mktemp("site")
    for name, html in PAGES.items():
        (root / name).write_text(html, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lambda name: f"http://127.0.0.1:{server.server_port}/{name}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_chromium_opens_a_served_page(page: Page, site: Callable[[str], str]) -> None:
    response = page.goto(site("clean.html"))
    assert response is not None and response.ok
    assert page.title() == "Parley harness page"
    assert "HeadlessChrome" in page.evaluate("navigator.userAgent")
    assert page.evaluate("navigator.language") == "en-US"
    assert page.viewport_size == {"width": 1366, "height": 768}


@pytest.mark.parametrize(
    ("name", "rule"),
    [("image-without-alt.html", "image-alt"), ("input-without-label.html", "label")],
)
def test_axe_reports_a_broken_page(
    page: Page, site: Callable[[str], str], name: str, rule: str
) -> None:
    page.goto(site(name))
    found = serious_axe_violations(page)
    assert rule in {v["id"] for v in found}, found
    with pytest.raises(AssertionError, match=rule):
        assert_accessible(page)


def test_axe_finds_nothing_serious_on_a_clean_page(page: Page, site: Callable[[str], str]) -> None:
    page.goto(site("clean.html"))
    assert_accessible(page)


def test_a_page_that_scrolls_sideways_is_caught_and_named(
    page: Page, site: Callable[[str], str]
) -> None:
    page.goto(site("wide.html"))
    result = horizontal_scroll(page)
    assert result["scrollWidth"] > result["width"]
    assert [o["selector"] for o in result["offenders"]] == ["#too-wide"]
    with pytest.raises(AssertionError, match="#too-wide"):
        assert_no_horizontal_scroll(page)


def test_a_clipped_label_is_caught_and_named(page: Page, site: Callable[[str], str]) -> None:
    page.goto(site("clipped-label.html"))
    found = clipped_text(page)
    assert [(f["kind"], f["selector"], f["text"]) for f in found] == [
        ("clipped", "#clipped", "Notification channel")
    ]
    with pytest.raises(AssertionError, match="#clipped"):
        assert_no_clipped_text(page)


def test_a_label_spilling_over_a_button_is_caught_and_named(
    page: Page, site: Callable[[str], str]
) -> None:
    page.goto(site("overlapping-label.html"))
    found = clipped_text(page)
    assert [(f["kind"], f["selector"]) for f in found] == [("overlap", "#spills")]
    assert "#send" in found[0]["detail"]
    with pytest.raises(AssertionError, match="#spills"):
        assert_no_clipped_text(page)


def test_a_clean_page_passes_the_layout_checks(page: Page, site: Callable[[str], str]) -> None:
    # Its table is wider than its container, which scrolls on its own, and a visually hidden
    # text is clipped on purpose: neither is a fault.
    page.goto(site("clean.html"))
    assert_no_horizontal_scroll(page)
    assert_no_clipped_text(page)


def test_a_page_prints_to_an_a4_pdf(page: Page, site: Callable[[str], str]) -> None:
    page.goto(site("clean.html"))
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 1000


def test_playwright_goes_on_when_its_loop_is_hidden_between_tests(page: Page) -> None:
    page.set_content("<title>before</title>")
    pending = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(pending)  # what a later test on this worker would meet
    pending.close()
    PlaywrightLoopMark.hide()
    try:
        assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        PlaywrightLoopMark.show()
    page.set_content("<title>after</title>")
    assert page.title() == "after"


def test_asyncio_runs_in_a_later_test_on_the_browser_worker() -> None:
    # Runs after the browser tests above, on their worker, with the browser still open.
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
