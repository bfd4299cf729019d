"""``/api/v1/me/settings``: one's own settings, partial changes, refusals naming the field."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from starlette.testclient import TestClient

from parley.api.problems import PROBLEM_TYPE
from parley.api.v1.settings_routes import AlarmSeverity, Lang
from parley.node import officers, settings
from parley.node.access import Scope
from parley.node.node import now_ms
from tests.api.v1.conftest import Api
from tests.support import OFFICER_PASSWORD

URL = "/api/v1/me/settings"
DEFAULTS = {
    "lang": "en",
    "time_zone": "UTC",
    "sound": True,
    "alarm_severity": "Severe",
    "alarm_exercise": False,
    "updated": None,
}


def _officer(api: Api, name: str) -> TestClient:
    """A new observer (the narrowest role) and a client with its read-only token."""
    officers.add_officer(api.node.store, name, "observer", OFFICER_PASSWORD, now_ms())
    return api.token(name, Scope.READ)


def _mine(client: TestClient) -> dict[str, Any]:
    answer = client.get(URL)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_an_officer_reads_back_what_it_set(api: Api) -> None:
    client = _officer(api, "roundtrip")
    assert _mine(client) == DEFAULTS
    wanted = {
        "lang": "ru",
        "time_zone": "Europe/Moscow",
        "sound": False,
        "alarm_severity": "Moderate",
        "alarm_exercise": True,
    }
    answer = client.put(URL, json=wanted)
    assert answer.status_code == 200, answer.text
    assert answer.json() == _mine(client)
    assert {k: v for k, v in _mine(client).items() if k != "updated"} == wanted
    assert _mine(client)["updated"] is not None
    (line,) = [
        line
        for line in officers.audit_trail(api.node.store, 20)
        if line["officer"] == "roundtrip" and line["action"] == "api PUT /me/settings"
    ]
    assert line["outcome"] == "ok" and line["detail"]["settings"] == wanted


def test_a_partial_put_keeps_the_fields_it_leaves_out(api: Api) -> None:
    client = _officer(api, "partial")
    assert client.put(URL, json={"lang": "ja"}).status_code == 200
    assert client.put(URL, json={"sound": False}).status_code == 200
    assert client.put(URL, json={}).json()["lang"] == "ja"  # nothing asked, nothing changed
    found = _mine(client)
    assert (found["lang"], found["sound"]) == ("ja", False)
    assert {k: found[k] for k in ("time_zone", "alarm_severity", "alarm_exercise")} == {
        "time_zone": "UTC",
        "alarm_severity": "Severe",
        "alarm_exercise": False,
    }


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({"lang": "fr"}, "body.lang", "bad-request"),
        ({"lang": None}, "body.lang", "bad-request"),
        ({"alarm_severity": "Unknown"}, "body.alarm_severity", "bad-request"),
        ({"sound": "yes"}, "body.sound", "bad-request"),
        ({"alarm_exercise": 1}, "body.alarm_exercise", "bad-request"),
        ({"time_zone": "../../etc/passwd"}, "body.time_zone", "bad-request"),
        ({"time_zone": "Mars/Olympus_Mons"}, "body.time_zone", "invalid-input"),
        ({"time_zone": "localtime"}, "body.time_zone", "invalid-input"),
        ({"lang": "ko", "volume": 11}, "body.volume", "bad-request"),
    ],
)
def test_a_bad_value_is_a_problem_naming_its_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str, kind: str
) -> None:
    client = api.token("duty-officer", Scope.READ)
    before = _mine(client)
    answer = client.put(URL, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["field"] == field and problem["type"] == PROBLEM_TYPE + kind
    assert _mine(client) == before


def test_an_officer_sees_and_changes_only_its_own_settings(api: Api) -> None:
    alice, bob = _officer(api, "alice"), _officer(api, "bob")
    assert alice.put(URL, json={"lang": "ko", "time_zone": "Asia/Seoul"}).status_code == 200
    assert _mine(bob) == DEFAULTS
    assert bob.get(URL, params={"officer": "alice"}).json() == DEFAULTS  # no way to name another
    refused = bob.put(URL, json={"officer": "alice", "lang": "zh"})
    assert refused.status_code == 400 and refused.json()["field"] == "body.officer"
    assert _mine(alice)["lang"] == "ko" and _mine(bob) == DEFAULTS


def test_a_session_changes_its_settings_only_with_its_csrf_token(api: Api) -> None:
    client, csrf = api.session("analyst")
    assert client.get(URL).status_code == 200  # reading needs no CSRF token
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        refused = client.put(URL, json={"lang": "zh"}, headers=headers)
        assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert _mine(client)["lang"] == "en"
    accepted = client.put(URL, json={"lang": "zh"}, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200 and _mine(client)["lang"] == "zh"


def test_an_anonymous_caller_has_no_settings(api: Api) -> None:
    assert api.client().get(URL).status_code == 401
    assert api.client().put(URL, json={"lang": "ja"}).status_code == 401


def test_the_document_states_the_services_values(api: Api) -> None:
    assert get_args(Lang) == settings.LANGS
    assert get_args(AlarmSeverity) == settings.ALARM_SEVERITIES
    document = api.client().get("/api/v1/openapi.json").json()
    change = document["components"]["schemas"]["SettingsChange"]
    assert change.get("required", []) == [] and change["additionalProperties"] is False
    assert change["properties"]["lang"]["enum"] == list(settings.LANGS)
    assert change["properties"]["alarm_severity"]["enum"] == list(settings.ALARM_SEVERITIES)
    assert "pattern" in change["properties"]["time_zone"]
    assert change["properties"]["sound"]["type"] == "boolean"
