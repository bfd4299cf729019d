"""Area subscriptions on real nodes: matching across the antimeridian, signed webhooks, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect

from parley.core.errors import InvalidEntryError, NotAuthorizedError, NotFoundError
from parley.formats.areas import area_from_geojson
from parley.node import subscriptions, webhooks
from parley.node.federation.bodies import fill_bodies
from parley.node.federation.pull import pull
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from parley.node.officers import add_officer
from parley.node.runtime.subscription_matcher import SubscriptionMatcher
from parley.store import subscriptions as subscription_rows
from parley.store.schema import subscription_matches
from parley.store.schema import subscriptions as subscription_table

TSUNAMI = "geo.tsunami"
# GeoJSON as an API client sends it: numbers, a ring from 172 E across 180 to 165 W.
ALEUTIANS = {
    "type": "Polygon",
    "coordinates": [[[172.0, 50.5], [-165.0, 50.5], [-165.0, 55.0], [172.0, 55.0], [172.0, 50.5]]],
}
# A CAP tsunami warning's polygon along the Andreanof Islands, 178 E to 174 W.
WARNING_AREA = area_from_geojson(
    {
        "type": "Polygon",
        "coordinates": [
            [[178.0, 51.0], [-174.0, 51.0], [-174.0, 52.5], [178.0, 52.5], [178.0, 51.0]]
        ],
    },
    "Andreanof Islands coast",
)


def officer(node: Node, name: str = "duty") -> str:
    add_officer(node.store, name, "duty-officer", "correct horse battery", now_ms())
    return name


def warn(node: Node, severity: str = "Extreme", category: str = TSUNAMI, areas: Any = None) -> str:
    written = lifecycle.notify(
        node,
        status="Exercise",
        audience="ALL",
        category=category,
        severity=severity,
        urgency="Immediate",
        certainty="Observed",
        headline="Tsunami warning",
        areas=[WARNING_AREA] if areas is None else areas,
    ).written
    return written.ref


def test_a_subscription_over_the_aleutians_matches_a_tsunami_warning_across_180(  # type: ignore[no-untyped-def]
    network, kit, database
) -> None:
    nodes = network("US", "JP", databases={} if database is None else {"US": database})
    us, jp = nodes["US"], nodes["JP"]
    duty = officer(us)
    hook = webhooks.add(us.store, "http://hooks.example/subs", [subscriptions.EVENT], now_ms())
    watched = subscriptions.subscribe(
        us, duty, ALEUTIANS, [TSUNAMI], "Severe", token_id="tok-1", label="Adak"
    )
    assert watched.area["geometry"]["type"] == "Polygon" and watched.categories == (TSUNAMI,)
    ref = warn(jp)
    pull(us, kit.pin(us, jp), kit.MemoryLog(jp, "US"))
    assert subscriptions.run_round(us, now_ms()) == 1
    assert subscriptions.run_round(us, now_ms()) == 0  # each notification is matched once
    (match,) = subscriptions.matches_since(us, duty)
    assert (match.subscription, f"{match.entry_party}:{match.entry_seq}") == (watched.id, ref)
    assert subscriptions.matches_since(us, duty, after_id=match.id) == []
    assert subscriptions.matches_since(us, "someone-else") == []
    (row,) = webhooks.outbox(us.store)
    assert row["webhook"] == hook.id and row["event"] == "subscription.match"
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(record))
    key = us.log.key("http")
    assert webhooks.deliver_due(us.store, key, client, now_ms()) == 1
    (request,) = seen
    webhooks.verify_signature(key.public, request.content, request.headers["parley-signature"])
    payload = json.loads(request.content)
    assert payload["event"] == "subscription.match" and payload["node"] == "US"
    assert payload["data"] == {
        "match": match.id,
        "subscription": watched.id,
        "owner": duty,
        "label": "Adak",
        "token_id": "tok-1",
        "entry": ref,
        "status": "Exercise",
        "tlp": "GREEN",
        "category": TSUNAMI,
        "severity": "Extreme",
        "msg_type": "Alert",
        "matched": match.matched,
    }


def test_another_category_or_a_lower_severity_matches_nothing(network) -> None:  # type: ignore[no-untyped-def]
    us = network("US")["US"]
    duty = officer(us)
    subscriptions.subscribe(us, duty, ALEUTIANS, ["geo.earthquake"], "Minor")
    subscriptions.subscribe(us, duty, ALEUTIANS, [TSUNAMI], "Extreme")
    warn(us, severity="Severe")
    far = area_from_geojson(
        {"type": "Polygon", "coordinates": [[[0, 51], [2, 51], [2, 52], [0, 52], [0, 51]]]}, "x"
    )
    warn(us, severity="Extreme", areas=[far])  # read as written, the ring would hold this
    assert subscriptions.run_round(us, now_ms()) == 0
    assert webhooks.outbox(us.store) == []


def test_the_node_s_own_circle_alert_matches_and_a_new_subscription_is_seen_next(network) -> None:  # type: ignore[no-untyped-def]
    us = network("US")["US"]
    duty = officer(us)
    first = subscriptions.subscribe(us, duty, ALEUTIANS, [TSUNAMI], "Unknown")
    adak = [{"desc": "Adak", "circles": [{"center": ["-176.65", "51.88"], "radius_km": "30"}]}]
    warn(us, areas=adak)
    assert subscriptions.run_round(us, now_ms()) == 1
    circle = {"center": [-176.0, 52.2], "radius_km": 80}
    second = subscriptions.subscribe(us, duty, circle, [TSUNAMI], "Severe")
    warn(us, areas=adak)
    assert subscriptions.run_round(us, now_ms()) == 2
    found = {m.subscription for m in subscriptions.matches_since(us, duty)}
    assert found == {first.id, second.id}
    assert [s.id for s in subscriptions.listed(us, duty)] == [first.id, second.id]


def test_an_unsubscribed_area_matches_no_more_and_only_its_owner_may_unsubscribe(network) -> None:  # type: ignore[no-untyped-def]
    us = network("US")["US"]
    duty, other = officer(us), officer(us, "night")
    gone = subscriptions.subscribe(us, duty, ALEUTIANS, [TSUNAMI], "Minor")
    kept = subscriptions.subscribe(us, other, ALEUTIANS, [TSUNAMI], "Minor")
    subscriptions.run_round(us, now_ms())  # builds the index with both
    with pytest.raises(NotAuthorizedError):
        subscriptions.unsubscribe(us, other, gone.id)
    with pytest.raises(NotFoundError):
        subscriptions.unsubscribe(us, duty, 999)
    subscriptions.unsubscribe(us, duty, gone.id)
    with pytest.raises(NotFoundError):
        subscriptions.unsubscribe(us, duty, gone.id)
    warn(us)
    assert subscriptions.run_round(us, now_ms()) == 1
    assert [m.subscription for m in subscriptions.matches_since(us, other)] == [kept.id]
    assert subscriptions.listed(us, duty) == []


def test_a_notification_whose_body_comes_late_is_matched_when_it_comes(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    subscriptions.subscribe(us, officer(us), ALEUTIANS, [TSUNAMI], "Minor")
    ref = warn(jp)
    peer = kit.pin(us, jp)
    pull(us, peer, kit.MemoryLog(jp, None, from_author=False))  # a mirror without the body
    assert subscriptions.run_round(us, now_ms()) == 0
    with us.store.read() as conn:
        assert subscription_rows.pending(conn) == [("JP", int(ref.split(":")[1]))]
    assert fill_bodies(us, peer, kit.MemoryLog(jp, "US")) >= 1
    assert subscriptions.run_round(us, now_ms()) == 1
    with us.store.read() as conn:
        assert subscription_rows.pending(conn) == []


def test_the_matcher_job_matches_while_the_server_runs_it(network) -> None:  # type: ignore[no-untyped-def]
    us = network("US")["US"]
    duty = officer(us)
    subscriptions.subscribe(us, duty, ALEUTIANS, [TSUNAMI], "Minor")
    warn(us)

    async def briefly() -> None:
        task = asyncio.create_task(SubscriptionMatcher(us, interval_s=0.01).run())
        for _ in range(500):
            await asyncio.sleep(0.01)
            if subscriptions.matches_since(us, duty):
                break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(briefly())
    assert len(subscriptions.matches_since(us, duty)) == 1


CIRCLE = {"center": [-176.65, 51.88], "radius_km": 30}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"area": "Adak"}, "area:"),
        ({"area": {"type": "Point", "coordinates": [0, 0]}}, "area.type:"),
        ({"area": {"center": [-176.65], "radius_km": 30}}, "area.center:"),
        ({"area": {"center": [-176.65, 95.0], "radius_km": 30}}, "area.center:"),
        ({"area": {"center": ["x", 51.88], "radius_km": 30}}, "area.center:"),
        ({"area": {"center": [-176.65, 51.88], "radius_km": -1}}, "area.radius_km:"),
        ({"area": {"center": [-176.65, 51.88], "radius_km": 0}}, "area.radius_km:"),
        ({"area": {"center": [-176.65, 51.88], "radius_km": 30000}}, "area.radius_km:"),
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]],
                }
            },
            "area.coordinates:",
        ),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}}, "area"),
        ({"categories": []}, "categories:"),
        ({"categories": "geo.tsunami"}, "categories:"),
        ({"categories": [TSUNAMI, "geo.meteor"]}, "categories[1]:"),
        ({"min_severity": "High"}, "min_severity:"),
        ({"label": "bell\x07"}, "label:"),
        ({"label": "x" * 201}, "label:"),
        ({"token_id": ""}, "token_id:"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(  # type: ignore[no-untyped-def]
    network, changes: dict[str, Any], field: str
) -> None:
    us = network("US")["US"]
    duty = officer(us)
    given: dict[str, Any] = {
        "area": CIRCLE,
        "categories": [TSUNAMI],
        "min_severity": "Severe",
        "label": None,
        "token_id": None,
    } | changes
    with pytest.raises(InvalidEntryError) as refused:
        subscriptions.subscribe(
            us,
            duty,
            given["area"],
            given["categories"],
            given["min_severity"],
            token_id=given["token_id"],
            label=given["label"],
        )
    assert refused.value.message.startswith(field), refused.value.message
    assert subscriptions.listed(us, duty) == []


def test_an_unknown_owner_is_refused(network) -> None:  # type: ignore[no-untyped-def]
    us = network("US")["US"]
    with pytest.raises(NotFoundError, match="owner"):
        subscriptions.subscribe(us, "nobody", CIRCLE, [TSUNAMI], "Severe")
    with pytest.raises(InvalidEntryError, match="limit"):
        subscriptions.matches_since(us, "nobody", limit=0)


def test_the_migration_creates_the_tables_as_the_schema_declares(network) -> None:  # type: ignore[no-untyped-def]
    us = network("US")["US"]
    for table in (subscription_table, subscription_matches):
        columns = {c["name"] for c in inspect(us.store.reader).get_columns(table.name)}
        assert columns == {c.name for c in table.columns}
    indexes = {i["name"]: i for i in inspect(us.store.reader).get_indexes("subscription_matches")}
    assert indexes["subscription_matches_entry"]["unique"]
