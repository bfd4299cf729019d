"""``GET /metrics`` in this process: who may scrape, and that the figures are the services'."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.api.metrics_api import route_template
from parley.core.entry import ALL
from parley.core.errors import NotAuthorizedError
from parley.node import officers, webhooks
from parley.node.access import Scope
from parley.node.health import peer_states
from parley.node.node import now_ms
from parley.node.notifications import lifecycle
from tests.api.v1.federated import Federated, make_federated


@pytest.fixture(scope="module")
def federated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    built = make_federated(Path(tmp_path_factory.mktemp("metrics")))
    for node in (built.cn, built.cn, built.jp):
        lifecycle.notify(
            node,
            status="Exercise",
            audience=ALL,
            tlp="GREEN",
            category="geo.earthquake",
            severity="Severe",
            urgency="Immediate",
            certainty="Observed",
            headline="quake",
            lang="en",
            areas=[{"desc": "coast", "circles": [{"center": ["139", "35"], "radius_km": "9"}]}],
            details={},
        )
    built.deliver(built.cn, built.jp)
    yield built
    built.jp.close()
    built.cn.close()


def token(federated: Federated, officer: str, scope: Scope) -> str:
    secret, _ = officers.issue_token(federated.jp.store, officer, scope, now_ms())
    return secret


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_anonymous_scrape_is_refused_with_401(federated: Federated) -> None:
    answer = federated.api.client().get("/metrics")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(("officer", "scope"), [("admin", Scope.READ), ("observer", Scope.READ)])
def test_a_token_without_scrape_is_refused_with_403(
    federated: Federated, officer: str, scope: Scope
) -> None:
    bearer = {"authorization": f"Bearer {token(federated, officer, scope)}"}
    assert federated.api.client(**bearer).get("/metrics").status_code == 403


def test_only_an_administrator_may_hold_a_scrape_token(federated: Federated) -> None:
    with pytest.raises(NotAuthorizedError):
        token(federated, "duty-officer", Scope.SCRAPE)


def test_scrape_and_admin_tokens_read_the_figures_of_the_health_services(
    federated: Federated,
) -> None:
    scrape = token(federated, "admin", Scope.SCRAPE)
    basic = base64.b64encode(f"prometheus:{scrape}".encode()).decode()
    client = federated.api.client(authorization=f"Basic {basic}")
    client.get("/api/v1/notifications")  # a 401 to time, under its route template
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    found = samples(answer.text)
    assert found[("parley_entries", (("kind", "notification"), ("party", "CN")))] == 2
    assert found[("parley_entries", (("kind", "notification"), ("party", "JP")))] == 1
    (cn,) = [state for state in peer_states(federated.jp) if state.party == "CN"]
    assert found[("parley_peer_lag_entries", (("peer", "CN"),))] == cn.lag
    assert found[("parley_peer_held", (("peer", "CN"),))] == 0
    assert found[("parley_peers_held", ())] == 0
    assert found[("parley_log_size", ())] == federated.jp.size()
    assert found[("parley_webhook_events", (("status", "failed"),))] == 0
    assert ("parley_deadlines_overdue", ()) in found
    timed = {labels for name, labels in found if name == "parley_request_duration_seconds_count"}
    assert (("method", "GET"), ("route", "/api/v1/notifications"), ("status", "401")) in timed
    admin = token(federated, "admin", Scope.ADMIN)
    by_admin = federated.api.client(authorization=f"Bearer {admin}").get("/metrics")
    assert by_admin.status_code == 200


def test_route_template_names_the_mount_and_the_route() -> None:
    class Route:
        path = "/notifications/{ref}"

    assert route_template({"route": Route(), "root_path": "/api/v1"}) == (
        "/api/v1/notifications/{ref}"
    )
    assert route_template({}) == "unmatched"


def test_webhook_failures_are_scraped_from_the_outbox(tmp_path: Path) -> None:
    built = make_federated(tmp_path)
    try:
        jp = built.jp
        webhooks.add(jp.store, "https://hooks.example/parley", ["*"], now_ms())
        with jp.store.write() as tx:
            webhooks.emit(tx, jp.party, "test.event", {"n": 1}, now_ms())
        refusing = httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(500)))
        key = jp.log.key("http")
        now = now_ms()
        for attempt in range(2):  # the second after the first's backoff
            webhooks.deliver_due(jp.store, key, refusing, now + attempt * 3_600_000)
        scrape = token(built, "admin", Scope.SCRAPE)
        answer = built.api.client(authorization=f"Bearer {scrape}").get("/metrics")
        found = samples(answer.text)
        assert found[("parley_webhook_events", (("status", "pending"),))] == 1
        assert found[("parley_webhook_failed_attempts", ())] == 2
        assert webhooks.outbox(jp.store)[0]["attempts"] == 2  # what 'parley webhooks' shows
    finally:
        built.jp.close()
        built.cn.close()
