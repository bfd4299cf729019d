"""Operations against real nodes: ``/metrics`` after real federation, and JSON logs that leak
nothing.

Three real ``parley serve --tls`` processes (US, JP, KR) federate. At JP we plant markers where
a careless log would pick them up: an officer's password (logged in with, and sent wrongly),
the TOTP secret of that officer, API tokens (a notify token that writes, the scrape token,
and a forged one that is refused), and a restricted notification (audience JP and KR,
TLP:AMBER) whose headline, description and area carry a marker; then KR and US pull it. Every
line every node logged (``PARLEY_LOG_FILE``, ``PARLEY_LOG_LEVEL=debug``) must be JSON, none
may hold a marker, and the events we expect must be there. ``/metrics`` is scraped as
Prometheus would and its values asserted against what happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import httpx
import pyotp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.node.federation import tlspin
from tests.integration.fleet import Fleet, FleetNode, append, eventually

PASSWORD_MARKER = "pw-MARKER-9d41c7"
BODY_MARKER = "BODY-MARKER-3e8a55"
QUICK = {"delivered_within": 3000, "acknowledged_within": 3600}  # the check class minimums
FORGED_TOKEN = "parley_0123456789ab_FORGEDMARKER" + "x" * 31


@dataclass
class Run:
    """The fleet after the planted traffic, with every secret a log must not hold."""

    fleet: Fleet
    secrets: dict[str, str]
    ref: str
    logs: dict[str, list[str]]
    metrics: str
    kr_metrics: str


def _client(node: FleetNode, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=node.url, transport=tlspin.pinned_transport(node.pin), timeout=10, headers=headers
    )


def _token(node: FleetNode, officer: str, scope: str) -> str:
    return node.cli("user", "token", officer, "--scope", scope).stdout.strip()


def _plant(fleet: Fleet) -> tuple[dict[str, str], str]:
    jp = fleet["JP"]
    jp.cli("user", "add", "marked", "--role", "analyst", PARLEY_NEW_PASSWORD=PASSWORD_MARKER)
    uri = re.search(r"otpauth://\S+", jp.cli("user", "totp", "marked").stdout)
    assert uri is not None
    totp = pyotp.parse_uri(uri.group(0))
    assert isinstance(totp, pyotp.TOTP)
    notify = _token(jp, "duty", "notify")
    scrape = _token(jp, "admin", "scrape")
    with _client(jp) as browser:
        login = {"name": "marked", "password": PASSWORD_MARKER, "totp": totp.now()}
        assert browser.post("/api/v1/session", json=login).status_code == 201
        wrong = {"name": "duty", "password": PASSWORD_MARKER, "totp": "000000"}
        assert browser.post("/api/v1/session", json=wrong).status_code == 401
    with _client(jp, authorization=f"Bearer {FORGED_TOKEN}") as forged:
        assert forged.get("/feeds/cap.atom").status_code == 401
    with _client(jp, authorization=f"Bearer {notify}") as tool:
        written = tool.post(
            "/api/v1/notifications",
            json={
                "category": "geo.earthquake",
                "status": "Exercise",
                "audience": ["JP", "KR"],
                "tlp": "AMBER",
                "severity": "Severe",
                "urgency": "Immediate",
                "certainty": "Observed",
                "headline": f"quake {BODY_MARKER}",
                "description": f"details {BODY_MARKER}",
                "areas": [
                    {
                        "desc": f"coast {BODY_MARKER}",
                        "circle": {"center": ["139.8", "35.5"], "radius_km": "30"},
                    }
                ],
                "details": {"magnitude": "7.1", "epicenter": "35.5,139.8"},
                "expires": "+6h",
            },
        )
        assert written.status_code == 201, written.text
        assert tool.get("/feeds/cap.atom?exercise=true").status_code == 200
    secrets = {
        "password": PASSWORD_MARKER,
        "totp secret": str(totp.secret),
        "notify token": notify,
        "notify token secret": notify.rsplit("_", 1)[1],
        "scrape token": scrape,
        "scrape token secret": scrape.rsplit("_", 1)[1],
        "forged token": FORGED_TOKEN,
        "body": BODY_MARKER,
    }
    return secrets, str(written.json()["ref"])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("operations")
    fleet = Fleet(folder, parties=("US", "JP", "KR"))
    for node in fleet.nodes.values():
        node.server_env.update(
            PARLEY_LOG_FILE=str(folder / f"{node.party}.log"), PARLEY_LOG_LEVEL="debug"
        )
    try:
        fleet.setup()
        secrets, ref = _plant(fleet)
        seq = int(ref.split(":")[1])
        for party in ("KR", "US"):
            eventually(partial(fleet.synced, party, "JP", seq + 1), 60, f"{party} pulls JP")
        jp = fleet["JP"]
        append(jp, "check", {"nonce": "5e" * 16, "deadlines": QUICK}, "KR")  # KR never answers
        with _client(jp, authorization=f"Bearer {secrets['scrape token']}") as prometheus:
            metrics = eventually(partial(_scraped_missed, prometheus), 60, "a missed deadline")
        kr = fleet["KR"]
        with _client(kr, authorization=f"Bearer {_token(kr, 'admin', 'scrape')}") as prometheus:
            kr_answer = prometheus.get("/metrics")
        assert kr_answer.status_code == 200, kr_answer.text
    finally:
        fleet.stop()
    logs = {p: (folder / f"{p}.log").read_text().splitlines() for p in fleet.nodes}
    yield Run(fleet, secrets, ref, logs, metrics, kr_answer.text)


def _scraped_missed(prometheus: httpx.Client) -> str | None:
    """JP's metrics once they count a missed deadline of a check, else None."""
    answer = prometheus.get("/metrics")
    assert answer.status_code == 200, answer.text
    missed = _samples(answer.text).get(("parley_deadlines_missed", (("kind", "check"),)), 0)
    return answer.text if missed >= 1 else None


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.fleet
def test_metrics_after_real_federation_report_entries_peers_and_routes(run: Run) -> None:
    found = _samples(run.metrics)
    seq = int(run.ref.split(":")[1])
    assert found[("parley_entries", (("kind", "notification"), ("party", "JP")))] == 1
    own = sum(
        v
        for (name, labels), v in found.items()
        if name == "parley_entries" and ("party", "JP") in labels
    )
    assert own >= seq + 1
    for peer in ("US", "KR"):
        assert found[("parley_peer_held", (("peer", peer),))] == 0
        assert found[("parley_peer_lag_entries", (("peer", peer),))] >= 0
    assert found[("parley_peers_held", ())] == 0
    assert found[("parley_log_size", ())] == own  # JP's log: every entry of party JP
    assert found[("parley_webhook_failed_attempts", ())] == 0
    assert found[("parley_deadlines_missed", (("kind", "check"),))] >= 1  # KR never acknowledged
    at_kr = _samples(run.kr_metrics)  # KR pulled JP's log, the notification's body included
    assert at_kr[("parley_entries", (("kind", "notification"), ("party", "JP")))] == 1
    assert at_kr[("parley_peer_lag_entries", (("peer", "JP"),))] <= own
    routes = {
        dict(labels)["route"]
        for name, labels in found
        if name.startswith("parley_request_duration_seconds")
    }
    assert "/api/v1/notifications" in routes
    assert "/feeds/cap.atom" in routes
    assert any(route.startswith("/fed/v1/") for route in routes)  # peers pulling JP
    assert not any(re.search(r"JP:\d|/\d+$", route) for route in routes)  # templates, no refs


@pytest.mark.fleet
def test_no_node_logs_a_secret_token_password_totp_or_restricted_body(run: Run) -> None:
    leaks = [
        f"{party} line {number}: {what}"
        for party, lines in run.logs.items()
        for number, line in enumerate(lines, 1)
        for what, secret in run.secrets.items()
        if secret in line
    ]
    assert leaks == []


@pytest.mark.fleet
def test_every_log_line_is_json_and_the_expected_events_are_there(run: Run) -> None:
    events: dict[str, list[dict[str, object]]] = {}
    for party, lines in run.logs.items():
        assert lines, f"{party} logged nothing"
        for line in lines:
            event = json.loads(line)
            assert {"time", "level", "logger", "event"} <= set(event)
            events.setdefault(party, []).append(event)
    jp = [e for e in events["JP"] if e["event"] == "request"]
    assert any(
        e["route"] == "/api/v1/notifications" and e["method"] == "POST" and e["status"] == 201
        for e in jp
    )
    assert any(e["route"] == "/feeds/cap.atom" and e["status"] == 401 for e in jp)
    assert any(str(e["route"]).startswith("/fed/v1/") for e in jp)  # KR and US pulled JP
    for party in ("US", "KR"):
        assert any(e["event"] == "request" for e in events[party])
