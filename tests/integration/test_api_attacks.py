"""Attacks on the officer API, against real nodes over pinned TLS (``parley serve --tls``).

Each test is named after the attack it defeats: a cross-site request riding a session cookie, a
replayed TOTP code, the token of an officer who was deactivated, an old script token, and an
observer reaching for a TLP:AMBER body through every route that could carry it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pyotp
import pytest

from parley.node.federation import tlspin
from tests.integration.fleet import Fleet, FleetNode
from tests.support import OFFICER_PASSWORD

MARKER = "AMBER-ONLY-5c1d"


def _client(node: FleetNode, **headers: str) -> httpx.Client:
    """An officer's or a tool's client: pinned TLS, no request signature."""
    return httpx.Client(
        base_url=node.url,
        transport=tlspin.pinned_transport(node.pin),
        timeout=10,
        headers=headers,
    )


def _totp(node: FleetNode, officer: str) -> pyotp.TOTP:
    shown = node.cli("user", "totp", officer).stdout
    found = re.search(r"otpauth://\S+", shown)
    assert found is not None, shown
    totp = pyotp.parse_uri(found.group(0))
    assert isinstance(totp, pyotp.TOTP)
    return totp


def _token(node: FleetNode, officer: str, scope: str) -> str:
    return node.cli("user", "token", officer, "--scope", scope).stdout.strip()


@pytest.fixture(scope="module")
def jp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetNode]:
    fleet = Fleet(tmp_path_factory.mktemp("api-attacks"), parties=("US", "JP"))
    try:
        fleet.setup()
        node = fleet["JP"]
        node.cli("user", "add", "watch", "--role", "observer", PARLEY_NEW_PASSWORD=OFFICER_PASSWORD)
        yield node
    finally:
        fleet.stop()


@pytest.mark.fleet
def test_cross_site_request_attack_on_a_session_is_refused(jp: FleetNode) -> None:
    totp = _totp(jp, "watch")
    with _client(jp) as browser:
        login = browser.post(
            "/api/v1/session",
            json={"name": "watch", "password": OFFICER_PASSWORD, "totp": totp.now()},
        )
        assert login.status_code == 201, login.text
        cookie = login.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        forged = browser.post("/api/v1/tokens", json={"scope": "read"})  # no X-CSRF-Token
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
        wrong = browser.post(
            "/api/v1/tokens", json={"scope": "read"}, headers={"X-CSRF-Token": "guess"}
        )
        assert wrong.status_code == 403
        real = browser.post(
            "/api/v1/tokens", json={"scope": "read"}, headers={"X-CSRF-Token": login.json()["csrf"]}
        )
        assert real.status_code == 201, real.text


@pytest.mark.fleet
def test_replayed_totp_code_attack_is_refused(jp: FleetNode) -> None:
    totp = _totp(jp, "duty")
    code = totp.now()
    with _client(jp) as first, _client(jp) as thief:
        body = {"name": "duty", "password": Fleet.duty_password, "totp": code}
        assert first.post("/api/v1/session", json=body).status_code == 201
        replayed = thief.post("/api/v1/session", json=body)
    assert replayed.status_code == 401 and "wrong or used" in replayed.json()["detail"]


@pytest.mark.fleet
def test_deactivated_officers_token_attack_is_refused(jp: FleetNode) -> None:
    jp.cli("user", "add", "leaver", "--role", "analyst", PARLEY_NEW_PASSWORD=OFFICER_PASSWORD)
    token = _token(jp, "leaver", "analyst")
    with _client(jp, authorization=f"Bearer {token}") as tool:
        assert tool.get("/api/v1/me").status_code == 200
        jp.cli("user", "deactivate", "leaver")
        refused = tool.get("/api/v1/me")
    assert refused.status_code == 401 and "deactivated" in refused.json()["detail"]


@pytest.mark.fleet
def test_pre_scope_script_token_attack_is_refused(jp: FleetNode) -> None:
    with _client(jp, authorization="Bearer admin.c2VjcmV0LWZyb20tYmVmb3Jl") as old:
        answer = old.get("/api/v1/notifications")
    assert answer.status_code == 401
    assert "revoked on upgrade" in answer.json()["detail"]


@pytest.mark.fleet
def test_observer_reading_an_amber_body_attack_gets_nothing(jp: FleetNode) -> None:
    duty = _token(jp, "admin", "notify")
    watch = _token(jp, "watch", "read")
    notice = {
        "status": "Exercise",
        "category": "geo.earthquake",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "headline": f"restricted {MARKER}",
        "description": f"only for JP's duty desk {MARKER}",
        "areas": [{"desc": "Tokyo", "circle": {"center": ["139.7", "35.7"], "radius_km": "30"}}],
        "audience": ["JP"],
        "tlp": "AMBER",
    }
    with _client(jp, authorization=f"Bearer {duty}") as desk:
        made = desk.post("/api/v1/notifications", json=notice)
        assert made.status_code == 201, made.text
        ref = made.json()["ref"]
        assert MARKER in desk.get(f"/api/v1/notifications/{ref}").text
    with _client(jp, authorization=f"Bearer {watch}") as observer:
        answers = [
            observer.get(f"/api/v1/notifications/{ref}"),
            observer.get("/api/v1/notifications"),
            observer.get(f"/api/v1/entries/{ref}"),
            observer.get(f"/api/v1/notifications/{ref}/cap"),
            observer.get(f"/api/v1/evidence/{ref}"),
            observer.get("/api/v1/search", params={"q": "restricted"}),
            observer.get("/api/v1/inbox"),
        ]
    for answer in answers:
        assert answer.status_code < 500, answer.text
        assert MARKER not in answer.text, answer.request.url
