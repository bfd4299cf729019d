"""Scenario steps that go through the node's own services, as an officer's commands would.

``notify``, ``update`` and ``cancel`` are ``parley notify``
(``parley.node.notifications.lifecycle``); ``import_stix`` is ``parley import``
(``parley.node.notifications.importing``); ``hotline`` is ``parley hotline send`` with catalogue
phrases; ``ack`` is ``parley ack`` (``parley.node.messaging.receipts``); ``reply`` answers an
inquiry (``parley.node.messaging.inquiries``). So an exercise signs exactly what the real commands
sign, status Exercise, with the policy's checks and deadlines.

Each function returns the entries it appended as ``(PARTY:SEQ, leaf hash)`` pairs. A step that
answers a peer's entry (``ack``, ``reply``, a hotline reply) first waits, bounded in time, until
its node holds that entry with its verified body: replication takes a moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parley.core import merkle
from parley.core.entry import ALL, Audience, Header
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.exercise import scenario as sc
from parley.node.messaging import hotline as hotline_service
from parley.node.messaging import inbox, inquiries, receipts
from parley.node.node import Node, now_ms
from parley.node.notifications import lifecycle
from parley.node.notifications.importing import ImportOptions, Source, import_sources
from parley.node.notifications.input import parse_area, parse_details, parse_when

STATUS = "Exercise"
HELD_TIMEOUT_S = 20.0
POLL_S = 0.1

Ref = tuple[str, str]
Sleep = Callable[[float], None]


def _written(header: Header) -> Ref:
    return header.ref, merkle.leaf_hash(header.leaf).hex()


def _audience(to: list[str] | str) -> Audience | None:
    return None if to == ALL else tuple(to)


def notify(node: Node, step: sc.Notify) -> list[Ref]:
    """A native Alert, as ``parley notify`` writes it."""
    now = now_ms()
    fields: dict[str, Any] = {
        "category": step.category,
        "severity": step.severity,
        "urgency": step.urgency,
        "certainty": step.certainty,
        "headline": step.headline,
        "description": step.description,
        "instruction": step.instruction,
        "lang": "en",
        "areas": [parse_area(step.area, step.area_desc)],
        "details": parse_details(step.category, sc.detail_pairs(step.category, step.details), now),
        "expires_ms": None if step.expires is None else parse_when(step.expires, now),
    }
    outcome = lifecycle.notify(
        node, status=STATUS, audience=_audience(step.to), tlp=step.tlp, now=now, **fields
    )
    return [(outcome.written.ref, outcome.written.leaf_hash)]


def update(node: Node, step: sc.Update, ref: str) -> list[Ref]:
    """An Update of this node's notification ``ref``: new texts and levels, merged details."""
    details = step.details
    revision = lifecycle.Revision(
        texts={
            "headline": step.headline,
            "description": step.description,
            "instruction": step.instruction,
        },
        levels={"severity": step.severity, "urgency": step.urgency, "certainty": step.certainty},
        detail_pairs=(lambda category: sc.detail_pairs(category, details)) if details else None,
    )
    outcome = lifecycle.update(node, ref, revision, now_ms())
    return [(outcome.written.ref, outcome.written.leaf_hash)]


def cancel(node: Node, step: sc.Cancel, ref: str) -> list[Ref]:
    """The end of the incident of ``ref``: a Cancel, or the all-clear."""
    msg_type = "Update" if step.all_clear else "Cancel"
    outcome = lifecycle.answer(node, ref, msg_type=msg_type, all_clear=step.all_clear)
    return [(outcome.written.ref, outcome.written.leaf_hash)]


def import_stix(node: Node, step: sc.ImportStix, path: Path) -> list[Ref]:
    """A STIX 2.1 bundle imported as ``parley import --status Exercise --to ...`` does."""
    options = ImportOptions(
        audience=_audience(step.to), tlp=step.tlp, category=step.category, status=STATUS
    )
    (result,) = import_sources(node, [Source(path.name, path.read_bytes())], options)
    if result.error is not None:
        raise result.error
    return [(written.ref, written.leaf_hash) for written in result.notifications]


def hotline(node: Node, step: sc.Hotline, reply_to: str | None) -> list[Ref]:
    """A hotline message: catalogue phrase and parameters, free text, or both."""
    if isinstance(step.to, str):
        raise InvalidEntryError("to: a hotline step names exactly one party")
    (to,) = step.to
    message = hotline_service.Outgoing(
        to=to,
        status=STATUS,
        phrase=step.phrase,
        params=step.params,
        text=step.text,
        tlp=step.tlp,
        reply_to=reply_to,
        acknowledged_within=step.acknowledged_within,
    )
    return [_written(hotline_service.send(node, message))]


def ack(node: Node, step: sc.Ack, ref: str) -> list[Ref]:
    """The duty officer's acknowledgement (optionally with a short reply) of ``ref``."""
    return [_written(receipts.acknowledge(node, ref, step.officer, step.reply, now_ms()))]


def reply(node: Node, step: sc.Reply, ref: str) -> list[Ref]:
    """The answer to inquiry ``ref``."""
    return [_written(inquiries.reply(node, ref, step.text, now_ms()))]


def wait_until_held(node: Node, ref: str, sleep: Sleep, timeout: float = HELD_TIMEOUT_S) -> None:
    """Wait until ``node`` holds ``ref`` (replicated from its author); bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while not inbox.held(node, ref):
        if time.monotonic() > deadline:
            raise NotFoundError(
                f"{ref} did not reach {node.party} within {timeout:.0f} s",
                hint="is the author's server running, and is it pinned as a peer?",
            )
        sleep(POLL_S)
