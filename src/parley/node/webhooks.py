"""The one webhook sender of a node: signed payloads, retries with backoff, visible failures.

Whatever the node wants to tell an outside system (a peer held on a fork, an observation about a
peer, and later escalations and subscriptions) goes through ``emit``, inside the transaction
that records the fact, so an event is queued if and only if its fact is committed. ``emit``
writes one row per matching webhook to an outbox; ``deliver_due`` (run by the server every
second) POSTs what is due and records the outcome on the row:

* the body is the canonical JSON ``{"event", "node", "time", "data"}``;
* ``Parley-Signature: kid=<key id>; sig=<base64>`` signs ``DOMAIN_WEBHOOK || body`` with the
  node's ``http`` key (receivers check it with the key ``parley node info`` shows);
  ``Parley-Event`` names the event and ``Parley-Delivery`` the outbox row (for idempotence);
* any 2xx answer delivers; anything else is retried with exponential backoff (1 s doubling,
  up to an hour) and, after ``MAX_ATTEMPTS``, the row is marked failed. ``parley webhooks
  outbox`` shows every row with its attempts and last error: failures are never silent.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

import httpx

from parley.core.canonical import canonical_bytes
from parley.core.errors import InvalidEntryError, NotFoundError, VerificationError
from parley.core.keys import DOMAIN_WEBHOOK, PublicKey, SigningKey
from parley.node import live
from parley.node.backoff import backoff_ms
from parley.store import webhooks as rows
from parley.store.engine import Store, Writing
from parley.store.webhooks import Delivery, OutboxStatus, Webhook

__all__ = ["Webhook", "add", "deliver_due", "emit", "listed", "outbox", "remove", "run"]

MAX_ATTEMPTS = 20
BATCH = 50
TIMEOUT_S = 10.0
EVENT_RE = re.compile(r"^[a-z][a-z0-9.-]{0,63}$")
SIGNATURE_RE = re.compile(r"^kid=([0-9a-f]{16}); sig=([A-Za-z0-9+/=]{88})$")


def add(store: Store, url: str, events: list[str], now: int) -> Webhook:
    """Register a receiver for some events (all when none are named), after checking both."""
    if not url.startswith(("http://", "https://")):
        raise InvalidEntryError(f"webhook URL {url!r} must be http(s)")
    chosen = tuple(sorted(set(events or ["*"])))
    for event in chosen:
        if event != "*" and not EVENT_RE.match(event):
            raise InvalidEntryError(f"event {event!r} is not an event name (e.g. peer.held)")
    with store.write() as tx:
        identifier = rows.add(tx, url, chosen, now)
    return Webhook(identifier, url, chosen)


def listed(store: Store) -> list[Webhook]:
    """Every registered webhook."""
    with store.read() as conn:
        return rows.listed(conn)


def remove(store: Store, identifier: int) -> None:
    """Unregister a webhook; its queued deliveries stay in the outbox."""
    with store.write() as tx:
        if not rows.remove(tx, identifier):
            raise NotFoundError(f"no webhook {identifier}")


def emit(
    tx: Writing,
    party: str,
    event: str,
    data: dict[str, Any],
    now: int,
    *,
    officer: str | None = None,
) -> int:
    """Queue ``event`` for every webhook that wants it, in the caller's transaction.

    The event is also a live event (``parley.node.live``): the officers' stream carries it, to
    every officer, or to ``officer`` alone when one is named.
    """
    live.publish(tx, event, data, now, officer)
    payload = canonical_bytes({"event": event, "node": party, "time": now, "data": data})
    wanting = [hook for hook in rows.listed(tx) if hook.wants(event)]
    for hook in wanting:
        rows.queue(tx, hook, event, payload, now)
    return len(wanting)


def signature_header(key: SigningKey, body: bytes) -> str:
    """The ``Parley-Signature`` value of a payload, by the node's ``http`` key."""
    return f"kid={key.kid}; sig={base64.b64encode(key.sign(DOMAIN_WEBHOOK, body)).decode()}"


def verify_signature(key: PublicKey, body: bytes, header: str) -> None:
    """What a receiver does: check ``Parley-Signature`` against the node's ``http`` key."""
    match = SIGNATURE_RE.match(header.strip())
    if match is None or match.group(1) != key.kid:
        raise VerificationError("Parley-Signature is malformed or names another key")
    key.verify(DOMAIN_WEBHOOK, body, base64.b64decode(match.group(2)), what="webhook payload")


def deliver_due(store: Store, key: SigningKey, client: httpx.Client, now: int) -> int:
    """POST every due outbox row once; return how many were delivered."""
    with store.read() as conn:
        due = rows.due(conn, now, BATCH)
    delivered = 0
    for row in due:
        error = _post(client, key, row)
        attempts = row.attempts + 1
        with store.write() as tx:
            if error is None:
                rows.record_delivered(tx, row.id, attempts, now)
                delivered += 1
            else:
                rows.record_failed_attempt(
                    tx,
                    row.id,
                    attempts,
                    error[:500],
                    now + backoff_ms(attempts),
                    give_up=attempts >= MAX_ATTEMPTS,
                )
    return delivered


def _post(client: httpx.Client, key: SigningKey, row: Delivery) -> str | None:
    headers = {
        "Content-Type": "application/json",
        "Parley-Event": row.event,
        "Parley-Delivery": str(row.id),
        "Parley-Signature": signature_header(key, row.payload),
    }
    try:
        response = client.post(row.url, content=row.payload, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def outbox(store: Store, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest outbox rows, optionally of one status, as ``parley webhooks outbox`` shows."""
    known = [s.value for s in OutboxStatus]
    if status is not None and status not in known:
        raise InvalidEntryError(f"status {status!r} is none of {', '.join(known)}")
    with store.read() as conn:
        found = rows.outbox(conn, None if status is None else OutboxStatus(status), limit)
    return [_shown(delivery) for delivery in found]


def _shown(delivery: Delivery) -> dict[str, Any]:
    shown = dataclasses.asdict(delivery)
    del shown["payload"]
    return shown | {"status": delivery.status.value}


async def run(store: Store, key: SigningKey, interval_s: float = 1.0) -> None:
    """The server's sender loop: deliver what is due, every ``interval_s`` seconds."""
    import asyncio
    import logging
    import time

    import anyio

    log = logging.getLogger("parley.webhooks")
    with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
        while True:
            try:
                now = time.time_ns() // 1_000_000
                await anyio.to_thread.run_sync(deliver_due, store, key, client, now)
            except Exception:  # noqa: BLE001 - the sender must survive anything; rows show it
                log.exception("webhook delivery round failed")
            await asyncio.sleep(interval_s)
