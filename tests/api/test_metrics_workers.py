"""``/metrics`` under ``parley serve --workers 2`` on PostgreSQL: every worker reports the sum.

Requests reach both workers (one kept-alive connection to each); whichever worker Prometheus
scrapes, the request counts are those of both (prometheus-client's multiprocess mode, set up by
``parley serve``) and the database-derived figures are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_workers import Fleet, _connection_to_every_worker, _two_workers_one_leader
from tests.support import init_node

pytestmark = pytest.mark.postgres
PER_WORKER = 5


@pytest.fixture
def fleet(tmp_path: Path, pg_url: str) -> Iterator[Fleet]:
    running = Fleet(init_node(tmp_path / "jp", database=pg_url))
    yield running
    running.stop()


def _counted(text: str) -> tuple[float, float]:
    """Answers of the feed route timed, and the entries held, as one scrape reports them."""
    timed, entries = 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "parley_request_duration_seconds_count"
                and sample.labels["route"] == "/feeds/cap.atom"
            ):
                timed += sample.value
            if sample.name == "parley_entries":
                entries += sample.value
    return timed, entries


@pytest.mark.fleet
def test_every_worker_scrapes_the_requests_of_all_workers(fleet: Fleet) -> None:
    answer = fleet.wait(_two_workers_one_leader, 30)
    pids = {row["pid"] for row in answer["workers"]}
    clients = _connection_to_every_worker(fleet, pids)
    try:
        assert set(clients) == pids
        for client in clients.values():
            for _ in range(PER_WORKER):
                assert client.get(fleet.url + "/feeds/cap.atom").status_code == 200
        scraped = {pid: client.get(fleet.url + "/metrics") for pid, client in clients.items()}
    finally:
        for client in clients.values():
            client.close()
    for pid, scrape in scraped.items():
        assert scrape.status_code == 200, (pid, scrape.text)
    counts = {pid: _counted(scrape.text) for pid, scrape in scraped.items()}
    assert {timed for timed, _ in counts.values()} == {PER_WORKER * len(pids)}
    assert len({entries for _, entries in counts.values()}) == 1
