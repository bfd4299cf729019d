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
import re
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, delete, insert, select, update

from parley.core.canonical import canonical_bytes
from parley.core.errors import InvalidEntryError, NotFoundError, VerificationError
from parley.core.keys import DOMAIN_WEBHOOK, PublicKey, SigningKey
from parley.node.backoff import backoff_ms
from parley.store.engine import Store
from parley.store.schema import webhook_outbox, webhooks

MAX_ATTEMPTS = 20
BATCH = 50
TIMEOUT_S = 10.0
EVENT_RE = re.compile(r"^[a-z][a-z0-9.-]{0,63}$")
SIGNATURE_RE = re.compile(r"^kid=([0-9a-f]{16}); sig=([A-Za-z0-9+/=]{88})$")


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    events: tuple[str, ...]

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


def add(store: Store, url: str, events: list[str], now: int) -> Webhook:
    if not url.startswith(("http://", "https://")):
        raise InvalidEntryError(f"webhook URL {url!r} must be http(s)")
    chosen = tuple(sorted(set(events or ["*"])))
    for event in chosen:
        if event != "*" and not EVENT_RE.match(event):
            raise InvalidEntryError(f"event {event!r} is not an event name (e.g. peer.held)")
    with store.write() as conn:
        result = conn.execute(
            insert(webhooks).values(url=url, events=",".join(chosen), created=now)
        )
        (identifier,) = result.inserted_primary_key or (0,)
    return Webhook(int(identifier), url, chosen)


def listed(store: Store) -> list[Webhook]:
    with store.read() as conn:
        rows = conn.execute(select(webhooks).order_by(webhooks.c.id))
        return [Webhook(r.id, r.url, tuple(r.events.split(","))) for r in rows]


def remove(store: Store, identifier: int) -> None:
    with store.write() as conn:
        if conn.execute(delete(webhooks).where(webhooks.c.id == identifier)).rowcount != 1:
            raise NotFoundError(f"no webhook {identifier}")


def emit(conn: Connection, party: str, event: str, data: dict[str, Any], now: int) -> int:
    """Queue ``event`` for every webhook that wants it, in the caller's transaction."""
    payload = canonical_bytes({"event": event, "node": party, "time": now, "data": data})
    queued = 0
    for row in conn.execute(select(webhooks)):
        hook = Webhook(row.id, row.url, tuple(row.events.split(",")))
        if hook.wants(event):
            conn.execute(insert(webhook_outbox).values(
                webhook=hook.id, url=hook.url, event=event, payload=payload, created=now,
                status="pending", attempts=0, next_attempt=now, last_error=None, delivered=None,
            ))  # fmt: skip
            queued += 1
    return queued


def signature_header(key: SigningKey, body: bytes) -> str:
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
        due = conn.execute(
            select(webhook_outbox)
            .where(webhook_outbox.c.status == "pending", webhook_outbox.c.next_attempt <= now)
            .order_by(webhook_outbox.c.id)
            .limit(BATCH)
        ).fetchall()
    delivered = 0
    for row in due:
        error = _post(client, key, row)
        values: dict[str, Any] = {"attempts": row.attempts + 1}
        if error is None:
            values |= {"status": "delivered", "delivered": now, "last_error": None}
            delivered += 1
        else:
            failed = row.attempts + 1 >= MAX_ATTEMPTS
            values |= {"status": "failed" if failed else "pending", "last_error": error[:500],
                       "next_attempt": now + backoff_ms(row.attempts + 1)}  # fmt: skip
        with store.write() as conn:
            conn.execute(
                update(webhook_outbox).where(webhook_outbox.c.id == row.id).values(**values)
            )
    return delivered


def _post(client: httpx.Client, key: SigningKey, row: Any) -> str | None:
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
    query = select(webhook_outbox).order_by(webhook_outbox.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(webhook_outbox.c.status == status)
    with store.read() as conn:
        return [
            {"id": r.id, "webhook": r.webhook, "url": r.url, "event": r.event,
             "status": r.status, "attempts": r.attempts, "created": r.created,
             "next_attempt": r.next_attempt, "delivered": r.delivered,
             "last_error": r.last_error}
            for r in conn.execute(query)
        ]  # fmt: skip


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
