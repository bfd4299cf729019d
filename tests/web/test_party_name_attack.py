"""A peer that puts HTML and script into its party's name, and into party codes, at the watch desk.

Where a party's name comes from: the party itself. ``parley init --name`` sets it, the member
file ``parley node info --json`` writes carries it into the policy (``members[].name``, free
text), and the node writes it into every notification it sends (CAP ``info.sender_name``), which
``/api/v1/notifications/{ref}`` hands to the pages' scripts. The pages name a party by its code
only (``PARTY_RE``: 2-8 capital letters and digits), and the print page adds the CAP sender
(``PARTY@network``, a token without ``<``, ``&`` or spaces).

So US here names itself with an image whose error handler and a script both set
``window.__pwned``. JP's officer opens every page where a party shows: the dashboard's list and
its party filter, the notification's receipt matrix, its print form, the hotline, the peers,
the compliance and the inquiries pages. The name does reach the browser, and on none of them
does anything run or any planted element appear; the party shows as its code, as text. Markup
in a party code is refused where a code enters (``parley init``, the API) with a message saying
what is wrong, and a page that echoes a code from its path shows it as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.integration.fleet import Fleet, eventually
from tests.support import run_cli
from tests.web.desk import LIVE_S, Desk, notify, open_page, two_nodes

pytestmark = pytest.mark.fleet

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_NAME = f"{IMG}{SCRIPT} crisis centre"
# Elements the hostile strings would plant if set as HTML: any attribute or script naming __pwned.
PLANTED_JS = """() => [...document.querySelectorAll("*")].filter((e) =>
  [...e.attributes].some((a) => a.value.includes("__pwned"))
  || (e.localName === "script" && e.textContent.includes("__pwned"))).length"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    yield from two_nodes(tmp_path_factory, "party-name", names={"US": HOSTILE_NAME})


@pytest.fixture(scope="module")
def crossed(fleet: Fleet) -> str:
    """A notification from the hostile US, synced at JP: its reference."""
    ref = notify(Desk(fleet["US"]), "Aftershock off Choshi, exercise")
    seq = int(ref.split(":")[1])
    eventually(lambda: fleet.synced("JP", "US", seq + 1), 30, "JP to sync US's notification")
    return ref


@pytest.fixture(scope="module")
def session(fleet: Fleet) -> tuple[Desk, str, str]:
    """JP's duty officer, logged in once for the module: the desk, the name and the session."""
    jp = Desk(fleet["JP"])
    name = jp.officer("name-desk")
    return jp, name, jp.session(name)


@pytest.fixture
def desk(browser: Browser, session: tuple[Desk, str, str]) -> Iterator[BrowserContext]:
    """A browser context in that session."""
    jp, name, cookie = session
    context = jp.context(browser, name, cookie)
    try:
        yield context
    finally:
        context.close()


def nothing_ran(page: Page, where: str) -> None:
    """No planted element in the page, and ``window.__pwned`` never set; then close the page.

    Closed, so that its live stream frees its connection: chromium opens six per host.
    """
    assert page.evaluate(PLANTED_JS) == 0, f"{where}: a planted element is in the DOM"
    assert page.evaluate("typeof window.__pwned") == "undefined", f"{where}: the script ran"
    page.close()


def test_markup_in_a_peers_party_name_renders_as_text_and_never_runs(
    desk: BrowserContext, fleet: Fleet, crossed: str
) -> None:
    jp = fleet["JP"].url
    assert fleet["US"].info["name"] == HOSTILE_NAME  # the name US gives itself
    held = fleet["JP"].open()
    try:  # and the policy in force at JP, which every member signed, names US so
        members = {m.party: m.name for m in held.context().policy.document.members}
    finally:
        held.close()
    assert members["US"] == HOSTILE_NAME

    dashboard = open_page(desk, jp + "/")
    row = dashboard.locator(f'#notifications li[data-ref="{crossed}"]')
    expect(row.locator(".party")).to_have_text("US", timeout=LIVE_S)
    detail = dashboard.evaluate(
        "ref => fetch(`/api/v1/notifications/${ref}`).then(r => r.json())", crossed
    )
    assert detail["body"]["info"][0]["sender_name"] == HOSTILE_NAME  # it reaches the browser
    dashboard.get_by_label("Party").fill("us")
    dashboard.get_by_role("button", name="Apply").click()
    expect(row.locator(".party")).to_have_text("US", timeout=LIVE_S)
    nothing_ran(dashboard, "dashboard")

    shown = open_page(desk, f"{jp}/notifications/{crossed}")
    expect(shown.locator("h1 .ref")).to_have_text(crossed)
    expect(shown.locator('#matrix tr[data-party="JP"] th')).to_have_text("JP", timeout=LIVE_S)
    nothing_ran(shown, "notification")

    paper = open_page(desk, f"{jp}/notifications/{crossed}/print")
    expect(paper.locator("#sender")).to_have_text("US (US@parley-test)")
    nothing_ran(paper, "print")

    hotline = open_page(desk, f"{jp}/hotline?party=us")
    expect(hotline.locator("#hl-party option")).to_have_text(["US"])
    expect(hotline.locator("#hl-party")).to_have_value("US")
    nothing_ran(hotline, "hotline")

    peers = open_page(desk, jp + "/peers")
    expect(peers.locator('#peer-list li[data-party="US"] h2')).to_contain_text("US")
    nothing_ran(peers, "peers")

    compliance = open_page(desk, jp + "/compliance")
    for party in compliance.locator("#scoreboard tbody th").all_inner_texts():
        assert re.fullmatch(r"[A-Z][A-Z0-9]{1,7}", party), party
    nothing_ran(compliance, "compliance")

    asked = (
        fleet["JP"].cli("inquire", crossed, "--question", "Any damage ashore?").stdout.split()[1]
    )
    inquiries = open_page(desk, jp + "/inquiries")
    meta = inquiries.locator(f'li[data-ref="{asked}"] .inq-meta strong')
    expect(meta).to_have_text(["JP", "US"], timeout=LIVE_S)
    nothing_ran(inquiries, "inquiries")


def test_markup_in_a_party_code_is_refused_where_it_enters_and_echoed_as_text(
    desk: BrowserContext, fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("hostile-code")
    refused = run_cli(
        "init", str(home / "node"), "--party", IMG, "--name", "x", home=home, check=False
    )
    assert refused.returncode != 0
    assert refused.stderr.startswith("error: invalid party"), refused.stderr
    assert not (home / "node" / "parley.toml").exists()

    jp = fleet["JP"].url
    hotline = open_page(desk, f"{jp}/hotline?party={quote(IMG)}")
    expect(hotline.locator("#hl-party")).to_have_value("US")  # the code asked for is no member
    answer = hotline.evaluate(
        "code => fetch(`/api/v1/hotline/conversations/${encodeURIComponent(code)}`)"
        ".then(async r => ({status: r.status, problem: await r.json()}))",
        IMG,
    )
    assert answer["status"] == 400, answer
    assert answer["problem"]["detail"].startswith("path.party: "), answer
    nothing_ran(hotline, "hotline")

    ref = f"{IMG}:1"
    missing = desk.new_page()
    missing.goto(f"{jp}/notifications/{quote(ref, safe='')}")
    expect(missing.locator("main code")).to_have_text(ref[:40])
    nothing_ran(missing, "not-found page")
