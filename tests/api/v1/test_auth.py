"""Logging in with password and TOTP, scoped tokens, CSRF, deactivation, the audit trail."""

from __future__ import annotations

import pyotp

from parley.api.peer_auth import AnonymousLimiter
from parley.node import officers
from parley.node.access import Scope
from parley.node.node import now_ms
from tests.api.v1.conftest import Api, make_api
from tests.support import OFFICER_PASSWORD


def test_a_request_without_credentials_is_401_with_a_problem(api: Api) -> None:
    answer = api.client().get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/not-authenticated")
    assert "Bearer" in answer.headers["www-authenticate"]


def test_a_token_names_its_officer_role_and_scope(api: Api) -> None:
    answer = api.token("analyst", Scope.READ).get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert (me["officer"], me["role"], me["scope"]) == ("analyst", "analyst", "read")
    assert me["actions"] == ["read", "subscribe"]
    assert "RED" not in me["clearance"] and "AMBER" in me["clearance"]


def test_login_needs_the_password_and_a_fresh_totp_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = make_api(tmp_path)
    client = api.client()
    code = api.totp("observer")
    wrong = client.post(
        "/api/v1/session", json={"name": "observer", "password": "nope-nope", "totp": code}
    )
    assert wrong.status_code == 401
    good = client.post(
        "/api/v1/session",
        json={"name": "observer", "password": OFFICER_PASSWORD, "totp": code},
    )
    assert good.status_code == 201, good.text
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    replayed = api.client().post(
        "/api/v1/session",
        json={"name": "observer", "password": OFFICER_PASSWORD, "totp": code},
    )
    assert replayed.status_code == 401
    assert "wrong or used" in replayed.json()["detail"]
    lines = officers.audit_trail(api.node.store, 10)
    assert [line["outcome"] for line in lines[:3]] == ["refused", "ok", "refused"]
    api.node.close()


def test_an_officer_without_a_second_factor_cannot_log_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = make_api(tmp_path)
    officers.add_officer(api.node.store, "nofactor", "observer", OFFICER_PASSWORD, now_ms())
    answer = api.client().post(
        "/api/v1/session",
        json={"name": "nofactor", "password": OFFICER_PASSWORD, "totp": "123456"},
    )
    assert answer.status_code == 401
    assert "parley user totp nofactor" in answer.json()["hint"]
    api.node.close()


def test_a_session_that_changes_state_needs_its_csrf_token(api: Api) -> None:
    client, csrf = api.session("duty-officer")
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/tokens", json={"scope": "read"})
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    issued = client.post("/api/v1/tokens", json={"scope": "read"}, headers={"X-CSRF-Token": csrf})
    assert issued.status_code == 201, issued.text


def test_a_token_scope_never_exceeds_the_role(api: Api) -> None:
    client, csrf = api.session("observer")
    answer = client.post("/api/v1/tokens", json={"scope": "notify"}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 403
    assert "observer may not hold a token of scope notify" in answer.json()["detail"]


def test_a_deactivated_officer_is_refused_at_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = make_api(tmp_path)
    token_client = api.token("analyst", Scope.ANALYST)
    session_client, _csrf = api.session("analyst")
    assert token_client.get("/api/v1/me").status_code == 200
    assert session_client.get("/api/v1/me").status_code == 200
    assert officers.deactivate(api.node.store, "analyst", now_ms()) == (1, 1)
    assert token_client.get("/api/v1/me").status_code == 401
    assert session_client.get("/api/v1/me").status_code == 401
    api.node.close()


def test_a_revoked_or_expired_token_is_refused(api: Api) -> None:
    secret, info = officers.issue_token(api.node.store, "analyst", Scope.READ, now_ms())
    client = api.client(authorization=f"Bearer {secret}")
    assert client.get("/api/v1/me").status_code == 200
    officers.revoke_token(api.node.store, "analyst", info.id, now_ms())
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    soon = now_ms() + 1
    short, _ = officers.issue_token(api.node.store, "analyst", Scope.READ, now_ms(), expires=soon)
    import time

    time.sleep(0.01)
    expired = api.client(authorization=f"Bearer {short}").get("/api/v1/me")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_a_token_from_before_scoped_tokens_is_refused_with_a_message(api: Api) -> None:
    answer = api.client(authorization="Bearer admin.abcdefabcdef").get("/api/v1/me")
    assert answer.status_code == 401
    problem = answer.json()
    assert "revoked on upgrade" in problem["detail"]
    assert "--scope" in problem["hint"]


def test_tokens_are_stored_as_sha256_only(api: Api) -> None:
    secret, info = officers.issue_token(api.node.store, "observer", Scope.READ, now_ms())
    import hashlib

    from parley.store import access

    with api.node.store.read() as conn:
        record = access.token_by_digest(conn, hashlib.sha256(secret.encode()).hexdigest())
    assert record is not None and record.id == info.id
    found = officers.TOKEN_RE.match(secret)
    assert found is not None and len(found.group(2)) == 43  # 256 bits, base64url


def test_totp_enrolment_gives_an_otpauth_uri(api: Api) -> None:
    uri = officers.enrol_totp(api.node.store, "observer")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP) and parsed.name == "observer"
    api.secrets["observer"] = parsed.secret
    api.opened.pop("observer", None)


def test_a_token_flood_attack_is_answered_429_with_retry_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = make_api(tmp_path)
    mounted = next(r for r in api.app.routes if getattr(r, "path", "") == "/api/v1")  # type: ignore[attr-defined]
    limits = mounted.app.state.api_limits
    limits.by_caller = AnonymousLimiter(rate=0.5, burst=3, who="this caller")
    client = api.token("analyst", Scope.READ)
    codes = [client.get("/api/v1/me").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    answer = client.get("/api/v1/me")
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
    assert answer.json()["type"].endswith("/rate-limited")
    other = api.token("observer", Scope.READ)  # another token has its own bucket
    assert other.get("/api/v1/me").status_code == 200
    api.node.close()


def test_an_address_flood_attack_is_limited_before_credentials_are_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = make_api(tmp_path)
    mounted = next(r for r in api.app.routes if getattr(r, "path", "") == "/api/v1")  # type: ignore[attr-defined]
    mounted.app.state.api_limits.by_address = AnonymousLimiter(
        rate=0.5, burst=2, who="this address"
    )
    anonymous = api.client(authorization="Bearer parley_000000000000_" + "A" * 43)
    codes = [anonymous.get("/api/v1/me").status_code for _ in range(4)]
    assert codes == [401, 401, 429, 429]
    api.node.close()
