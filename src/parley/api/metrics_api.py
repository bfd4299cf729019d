"""``GET /metrics``: the node's Prometheus metrics, for administrators' and scrape tokens.

The caller sends a token (``auth.token_reader``: Bearer, or the HTTP Basic password, as
Prometheus' ``authorization`` and ``basic_auth`` settings send it) whose role and scope grant
``scrape``: an administrator's ``admin`` token or a ``scrape`` token. Anyone else: 401 or 403,
audited. docs/operations.md lists every metric and a scrape configuration.

Two sources, joined at each scrape:

* ``FiguresCollector``: the database-derived figures of ``parley.node.metrics`` (entries,
  peers, deadlines, webhooks), computed at scrape, the same on every worker;
* per-process figures counted here: request latency by route template (``RequestTimer``, an
  ASGI middleware that reads the matched route after routing, so a path with a ref in it is
  one label, never one per ref) and open stream clients. With several workers ``parley serve``
  sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start (``server.metrics_directory``),
  and each scrape sums every worker's files (prometheus-client's multiprocess mode); with one
  worker the process's own registry is read.

``RequestTimer`` also logs one ``request`` event per request at debug level (route template,
method, status, milliseconds; never the path, query or headers): ``parley.api.logs``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.api.v1.auth import node_of, refuse_unless, token_reader
from parley.core.errors import NotAuthenticatedError
from parley.node import metrics
from parley.node.access import Action
from parley.node.node import Node, now_ms

router = APIRouter()
request_log = logging.getLogger("parley.request")
PROCESS = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "parley_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    registry=PROCESS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STREAM_CLIENTS = Gauge(
    "parley_stream_clients",
    "Clients connected to the live stream (/api/v1/stream).",
    registry=PROCESS,
    multiprocess_mode="livesum",
)


def multiprocess() -> bool:
    """Whether this process writes its metrics to the shared directory (several workers)."""
    return str(values.ValueClass.__name__) != "MutexValue"


def process_ends() -> None:
    """Drop this worker's live gauges (stream clients) from the shared directory as it stops.

    A worker killed with SIGKILL cannot: its last count stays in the sum until the next
    ``parley serve`` empties the directory (docs/operations.md).
    """
    if multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def route_template(scope: Scope) -> str:
    """The matched route's template, with the mount it is under (``unmatched`` when none)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    return str(scope.get("root_path", "")) + str(path)


class RequestTimer:
    """ASGI middleware: time every HTTP request, labelled by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and observe how long it took, whatever it answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            REQUEST_SECONDS.labels(route, scope["method"], str(status)).observe(seconds)
            if request_log.isEnabledFor(logging.DEBUG):
                fields = {"route": route, "method": scope["method"], "status": status}
                request_log.debug("request", extra={**fields, "ms": round(seconds * 1000, 2)})


class FiguresCollector(Collector):
    """The figures of ``parley.node.metrics``, computed when collected."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        """Every database-derived metric of the node, now."""
        found = metrics.figures(self.node, now_ms())
        entries = GaugeMetricFamily(
            "parley_entries", "Entries held, by log (party) and kind.", labels=["party", "kind"]
        )
        for (party, kind), count in sorted(found.entries.items()):
            entries.add_metric([party, kind], count)
        yield entries
        yield GaugeMetricFamily(
            "parley_log_size", "Entries in this node's own log.", value=found.log_size
        )
        yield from _peer_metrics(found)
        missed = GaugeMetricFamily(
            "parley_deadlines_missed",
            "Deadline clocks missed or answered late, by kind of entry.",
            labels=["kind"],
        )
        for kind, count in sorted(found.deadlines_missed.items()):
            missed.add_metric([kind], count)
        yield missed
        yield GaugeMetricFamily(
            "parley_deadlines_overdue",
            "Open deadline clocks already past due (not yet escalated).",
            value=found.deadlines_overdue,
        )
        events = GaugeMetricFamily(
            "parley_webhook_events", "Webhook outbox events, by status.", labels=["status"]
        )
        for status in ("pending", "delivered", "failed"):
            events.add_metric([status], found.webhook_events.get(status, 0))
        yield events
        yield GaugeMetricFamily(
            "parley_webhook_failed_attempts",
            "Failed webhook delivery attempts, over every event in the outbox.",
            value=found.webhook_failed_attempts,
        )


def _peer_metrics(found: metrics.Figures) -> Iterator[Metric]:
    families = {
        "lag": GaugeMetricFamily(
            "parley_peer_lag_entries",
            "Entries of the peer's last checkpoint seen that are not yet synced here.",
            labels=["peer"],
        ),
        "since": GaugeMetricFamily(
            "parley_peer_last_success_age_seconds",
            "Seconds since the last successful pull from the peer.",
            labels=["peer"],
        ),
        "cosigned": GaugeMetricFamily(
            "parley_peer_cosignature_age_seconds",
            "Age of the peer's latest cosignature of this node's log.",
            labels=["peer"],
        ),
        "cosigned_size": GaugeMetricFamily(
            "parley_peer_cosigned_size",
            "Size of the largest checkpoint of this node's log the peer cosigned.",
            labels=["peer"],
        ),
        "held": GaugeMetricFamily(
            "parley_peer_held", "1 when the peer's new entries are held.", labels=["peer"]
        ),
        "failures": GaugeMetricFamily(
            "parley_peer_failures", "Consecutive failed pulls from the peer.", labels=["peer"]
        ),
    }
    for peer in found.peers:
        values_of = {
            "lag": peer.lag_entries,
            "since": peer.since_success_s,
            "cosigned": peer.cosignature_age_s,
            "cosigned_size": peer.cosigned_size,
            "held": int(peer.held),
            "failures": peer.failures,
        }
        for name, value in values_of.items():
            if value is not None:
                families[name].add_metric([peer.party], value)
    yield from families.values()
    yield GaugeMetricFamily(
        "parley_peers_held",
        "Pinned peers whose new entries are held.",
        value=sum(1 for peer in found.peers if peer.held),
    )


class _ProcessCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from PROCESS.collect()


def exposition(node: Node) -> bytes:
    """The metrics in the Prometheus text format, collected now."""
    registry = CollectorRegistry()
    registry.register(FiguresCollector(node))
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessCollector())
    return bytes(generate_latest(registry))


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request) -> Response:
    """The node's metrics, for a token that may ``scrape``."""
    principal = token_reader(request)
    if principal is None:
        raise NotAuthenticatedError(
            "/metrics needs a token",
            hint="an administrator's token or one of scope scrape "
            "('parley user token NAME --scope scrape'), as Bearer or the Basic password",
        )
    refuse_unless(request, principal, Action.SCRAPE)
    return Response(exposition(node_of(request)), media_type=CONTENT_TYPE_LATEST)
