"""The pages' frames as the server renders them: login first, the officer's language, the
session's CSRF token, and the headers that keep a page from running anything it did not ship."""

from __future__ import annotations

import json
import re

import pytest

from parley.web.security import CONTENT_SECURITY_POLICY
from tests.api.v1.conftest import Api, make_api

PAGES = (
    "/",
    "/settings",
    "/notifications/JP:1",
    "/notifications/JP:1/print",
    "/compose",
    "/pending",
    "/hotline",
    "/inquiries",
    "/peers",
    "/compliance",
    "/log",
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return make_api(tmp_path_factory.mktemp("pages"))


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_sends_its_reader_to_login(api: Api, path: str) -> None:
    answer = api.client().get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"


def test_a_page_with_an_ended_session_sends_its_reader_to_login(api: Api) -> None:
    client, csrf = api.session("analyst")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("parley_session", api.opened["analyst"][0])
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", PAGES)
def test_a_page_carries_the_sessions_csrf_token_and_the_officer(api: Api, path: str) -> None:
    client, csrf = api.session("duty-officer")
    answer = client.get(path)
    assert answer.status_code == 200
    assert f'<meta name="parley-csrf" content="{csrf}">' in answer.text
    assert '<span class="officer">duty-officer</span>' in answer.text


@pytest.mark.parametrize("path", ["/login", "/", "/static/js/common.js", "/static/css/parley.css"])
def test_every_page_and_asset_carries_a_strict_content_security_policy(api: Api, path: str) -> None:
    client, _csrf = api.session("observer")
    answer = client.get(path)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_no_page_has_an_inline_script_or_style(api: Api) -> None:
    client, _csrf = api.session("admin")
    for path in ("/login", *PAGES):
        text = client.get(path).text
        for chunk in text.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            assert 'src="/static/' in tag or 'type="application/json"' in tag, (path, tag)
        assert "<style" not in text and " style=" not in text and "onclick" not in text, path


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("ja,en;q=0.5", "ja"), ("ru-RU", "ru"), ("zh-CN,zh;q=0.9", "zh-Hans"), ("fr", "en")],
)
def test_the_login_page_speaks_the_browsers_language(api: Api, accept: str, expected: str) -> None:
    answer = api.client(**{"accept-language": accept}).get("/login")
    assert f'<html lang="{expected}">' in answer.text


def test_a_login_next_page_off_the_node_is_ignored(api: Api) -> None:
    text = api.client().get("/login", params={"next": "//evil.example/x"}).text
    assert 'data-next="/"' in text


def test_a_malformed_reference_gets_a_page_that_says_so(api: Api) -> None:
    client, _csrf = api.session("observer")
    answer = client.get("/notifications/<script>")
    assert answer.status_code == 200
    assert (
        "&lt;script&gt;" in answer.text
        and "<script>" not in answer.text.split("<main", 1)[1].split("</main>")[0]
    )


def test_the_api_and_federation_routes_are_not_shadowed_by_the_pages(api: Api) -> None:
    client = api.client()
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/fed/v1/get-sth").status_code in (200, 401)


def test_an_unknown_page_is_404_and_names_no_officer(api: Api) -> None:
    answer = api.client().get("/no-such-page", follow_redirects=False)
    assert answer.status_code == 404
    assert 'class="officer"' not in answer.text


def test_every_data_block_of_every_page_is_json_with_the_cap_labels(api: Api) -> None:
    client, _csrf = api.session("admin")
    for path in ("/login", *PAGES):
        text = client.get(path).text
        blocks = re.findall(
            r'<script type="application/json" id="([^"]+)">(.*?)</script>', text, re.S
        )
        assert blocks, path
        for name, block in blocks:
            data = json.loads(block)  # tojson escapes <, > and & as \u003c...: no HTML parsing
            if name == "parley-strings":
                assert data["cap"]["severities"]["Extreme"], path
