"""Rows of the webhook sender: the registered webhooks and the outbox of events to deliver.

An event is queued in the transaction that records its fact (``queue``, on the caller's
``Writing``), so it exists if and only if the fact was committed. The sender reads what is due
and records each attempt's outcome in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import webhook_outbox, webhooks


class OutboxStatus(StrEnum):
    """Where one queued event stands: waiting for (another) attempt, delivered, or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Webhook:
    """A registered receiver and the events it wants (``*`` for all)."""

    id: int
    url: str
    events: tuple[str, ...]

    def wants(self, event: str) -> bool:
        """Whether an event of this name is sent to this receiver."""
        return "*" in self.events or event in self.events


@dataclass(frozen=True)
class Delivery:
    """One outbox row: an event for one webhook, with its attempts so far."""

    id: int
    webhook: int
    url: str
    event: str
    payload: bytes
    status: OutboxStatus
    attempts: int
    created: int
    next_attempt: int
    delivered: int | None
    last_error: str | None


def add(tx: Writing, url: str, events: Sequence[str], now: int) -> int:
    """Register a webhook; its id."""
    result = tx.execute(insert(webhooks).values(url=url, events=",".join(events), created=now))
    (identifier,) = result.inserted_primary_key or (0,)
    return int(identifier)


def listed(conn: Connection) -> list[Webhook]:
    """Every registered webhook, oldest first."""
    rows = conn.execute(select(webhooks).order_by(webhooks.c.id))
    return [Webhook(r.id, r.url, tuple(r.events.split(","))) for r in rows]


def remove(tx: Writing, identifier: int) -> bool:
    """Unregister a webhook; whether it existed."""
    return tx.execute(delete(webhooks).where(webhooks.c.id == identifier)).rowcount == 1


def queue(tx: Writing, hook: Webhook, event: str, payload: bytes, now: int) -> None:
    """Put one event for one webhook in the outbox, due at once."""
    tx.execute(
        insert(webhook_outbox).values(
            webhook=hook.id,
            url=hook.url,
            event=event,
            payload=payload,
            created=now,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt=now,
            last_error=None,
            delivered=None,
        )
    )


def _delivery(row: Row[Any]) -> Delivery:
    r = row._mapping
    return Delivery(
        r["id"],
        r["webhook"],
        r["url"],
        r["event"],
        r["payload"],
        OutboxStatus(r["status"]),
        r["attempts"],
        r["created"],
        r["next_attempt"],
        r["delivered"],
        r["last_error"],
    )


def due(conn: Connection, now: int, limit: int) -> list[Delivery]:
    """Pending rows whose next attempt is due, oldest first."""
    rows = conn.execute(
        select(webhook_outbox)
        .where(
            webhook_outbox.c.status == OutboxStatus.PENDING,
            webhook_outbox.c.next_attempt <= now,
        )
        .order_by(webhook_outbox.c.id)
        .limit(limit)
    )
    return [_delivery(r) for r in rows]


def record_delivered(tx: Writing, identifier: int, attempts: int, now: int) -> None:
    """An attempt that a receiver answered with 2xx."""
    tx.execute(
        update(webhook_outbox)
        .where(webhook_outbox.c.id == identifier)
        .values(attempts=attempts, status=OutboxStatus.DELIVERED, delivered=now, last_error=None)
    )


def record_failed_attempt(
    tx: Writing, identifier: int, attempts: int, error: str, next_attempt: int, *, give_up: bool
) -> None:
    """An attempt that failed: retried at ``next_attempt``, or marked failed for good."""
    status = OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
    tx.execute(
        update(webhook_outbox)
        .where(webhook_outbox.c.id == identifier)
        .values(attempts=attempts, status=status, last_error=error, next_attempt=next_attempt)
    )


def outbox(conn: Connection, status: OutboxStatus | None, limit: int) -> list[Delivery]:
    """The newest outbox rows, optionally of one status."""
    query = select(webhook_outbox).order_by(webhook_outbox.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(webhook_outbox.c.status == status)
    return [_delivery(r) for r in conn.execute(query)]


def outbox_counts(conn: Connection) -> dict[str, tuple[int, int]]:
    """Per outbox status: how many events, and how many failed attempts they took in all.

    A delivered event's failed attempts are its attempts but the last.
    """
    c = webhook_outbox.c
    rows = conn.execute(select(c.status, func.count(), func.sum(c.attempts)).group_by(c.status))
    found = {}
    for status, count, attempts in rows:
        failed = int(attempts or 0) - (int(count) if status == OutboxStatus.DELIVERED else 0)
        found[str(status)] = (int(count), failed)
    return found
