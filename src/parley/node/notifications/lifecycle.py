"""Native notifications and their lifecycle: alert, updates, then a cancel or the all-clear.

``notify`` writes a native CAP-shaped Alert: ``check_alert`` builds and checks it without
writing anything, and ``append_alert`` signs it in the caller's transaction (so a two-person
release signs the Alert and records its release in one commit). ``answer`` writes an Update, a
Cancel or the all-clear of one of this node's notifications (``follow_up``), referencing it as
``PARTY:SEQ`` plus leaf hash and as CAP ``sender,identifier,sent``. ``chain`` finds every
message of an incident that this node holds, and ``incident_state`` derives the incident's
state from it (``current_state``).

The merge rules of a CAP Update are here, once, for every edge: ``Revision`` says what an officer
(or a scenario step) changes, ``update_changes`` applies it to the previous body and ``update``
appends the result. New texts go to the info blocks of the language named (the first block when
none is), new levels and the expiry to every block, new details over the previous ones.

Invariants: only the author of a notification updates or cancels it; a follow-up answers the
latest message of an incident that has not ended, read in the same write transaction that
appends it, so a chain never forks; a reference counts only when its leaf hash is the one
stored here.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from parley.core.entry import Audience, Body, Header, parse_header, parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError, ParleyError, PolicyError
from parley.formats.notification import (
    check_status_agrees,
    current_state,
    follow_up,
    new_notification,
    validate_notification,
)
from parley.node.node import Node, now_ms
from parley.node.notifications.appending import KIND, Appender, Item, Written, cap_time
from parley.node.notifications.importing import NotificationPolicy, node_sender, sharing
from parley.store import logs
from parley.store import notifications as notification_rows
from parley.store.engine import Writing

__all__ = [
    "CheckedAlert",
    "Link",
    "Outcome",
    "Revision",
    "answer",
    "append_alert",
    "chain",
    "check_alert",
    "incident_state",
    "info_changes",
    "new_identifier",
    "notify",
    "update",
    "update_changes",
]

ENDED = ("cancelled", "all-clear")


@dataclass(frozen=True)
class Outcome:
    """A notification the node wrote, and the regime's warnings about it."""

    written: Written
    warnings: list[str]


@dataclass(frozen=True)
class Link:
    """One message of an incident, as this node stores it."""

    header: Header
    leaf_hash: str
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        """The message's ``PARTY:SEQ``."""
        return self.header.ref


@dataclass(frozen=True)
class Revision:
    """What an Update of a notification changes; ``None`` leaves a field as it was.

    ``texts`` (headline, description, instruction) change in the info blocks of ``lang`` (the
    first block when ``lang`` is None); ``levels`` (severity, urgency, certainty) and
    ``expires_ms`` in every block. ``detail_pairs`` gives, for the notification's category,
    the ``NAME=VALUE`` details to set (``input.parse_details`` reads them); ``detail_values``
    gives them as values already read (``input.request_details``), set after the pairs.
    """

    texts: Mapping[str, str | None] = field(default_factory=dict)
    levels: Mapping[str, str | None] = field(default_factory=dict)
    lang: str | None = None
    expires_ms: int | None = None
    detail_pairs: Callable[[str], Sequence[str]] | None = None
    detail_values: Callable[[str], Mapping[str, Any]] | None = None

    @property
    def empty(self) -> bool:
        """Whether the revision changes nothing at all."""
        values = (*self.texts.values(), *self.levels.values(), self.expires_ms)
        details = (self.detail_pairs, self.detail_values)
        return all(v is None for v in values) and all(d is None for d in details)


def info_changes(previous: dict[str, Any], revision: Revision) -> list[dict[str, Any]]:
    """The info blocks of ``previous`` with ``revision``'s texts, levels and expiry applied."""
    infos: list[dict[str, Any]] = copy.deepcopy(previous.get("info", []))
    lang = revision.lang
    chosen = [i for i in infos if lang is None or i["lang"].lower() == lang.lower()]
    if lang is not None and not chosen:
        raise InvalidEntryError(f"--lang {lang}: the notification has no info in that language")
    for info in chosen[:1] if lang is None else chosen:
        info.update({k: v for k, v in revision.texts.items() if v is not None})
    for info in infos:
        info.update({k: v for k, v in revision.levels.items() if v is not None})
        if revision.expires_ms is not None:
            info["expires"] = revision.expires_ms
            info.pop("expires_tz", None)
    return infos


def update_changes(previous: dict[str, Any], revision: Revision, now: int) -> dict[str, Any]:
    """The top-level fields an Update changes from ``previous`` (``follow_up``'s ``changes``)."""
    from parley.node.notifications.input import parse_details

    fields: dict[str, Any] = {"info": info_changes(previous, revision)}
    if revision.expires_ms is not None:
        fields["expires"] = revision.expires_ms
    pairs = None if revision.detail_pairs is None else revision.detail_pairs(previous["category"])
    if pairs:
        parsed = parse_details(previous["category"], list(pairs), now)
        fields["details"] = {**previous.get("details", {}), **parsed}
    values = (
        None if revision.detail_values is None else revision.detail_values(previous["category"])
    )
    if values:
        fields["details"] = {**fields.get("details", previous.get("details", {})), **values}
    return fields


def update(node: Node, ref: str, revision: Revision, now: int | None = None) -> Outcome:
    """Append an Update of this node's notification ``ref`` that applies ``revision``."""
    now = now_ms() if now is None else now
    at = now

    def changes(previous: dict[str, Any]) -> dict[str, Any]:
        return update_changes(previous, revision, at)

    return answer(node, ref, msg_type="Update", changes=changes, now=now)


def new_identifier(node: Node) -> str:
    """A fresh CAP identifier of this node, ``PARTY-<uuid4>``: known before the seq is."""
    return f"{node.party}-{uuid.uuid4()}"


def _append(
    node: Node,
    tx: Writing,
    item: Item,
    now: int,
    policy: NotificationPolicy,
    incident: int | None = None,
) -> Written:
    appender = Appender(node, tx, now, policy.body_limit)
    written = appender.add(item, incident)
    appender.flush()
    return written


@dataclass(frozen=True)
class CheckedAlert:
    """A native Alert built and checked against the policy in force, not yet signed."""

    item: Item
    warnings: list[str]
    policy: NotificationPolicy


def check_alert(
    node: Node,
    *,
    status: str,
    audience: Audience | list[str] | None = None,
    tlp: str | None = None,
    now: int,
    release: Mapping[str, Any] | None = None,
    **fields: Any,
) -> CheckedAlert:
    """Build a native Alert sent at ``now`` and check it (schema, regime, audience, TLP).

    ``release`` is the body's ``release`` object (docs/formats.md) of an Alert that two officers
    released. Nothing is written: a pending release is checked this way when it is prepared,
    and again, at its own time, when it is released.
    """
    policy = NotificationPolicy.of(node)
    body = new_notification(
        identifier=new_identifier(node),
        sender=node_sender(node),
        sent_ms=cap_time(now),
        status=status,
        deadlines=policy.deadlines(str(fields.get("category", ""))),
        **fields,
    )
    for info in body["info"]:
        info["sender_name"] = node.config.name
    if release is not None:
        body["release"] = dict(release)
    validate_notification(body)
    warnings = policy.check(body, now, "notification")
    who, label = sharing(node, audience, tlp)
    item = Item(body, status, who, label, f"notification {body['identifier']}")
    return CheckedAlert(item, warnings, policy)


def append_alert(node: Node, tx: Writing, alert: CheckedAlert, now: int) -> Outcome:
    """Sign and append a checked Alert in the caller's transaction ``tx``."""
    return Outcome(_append(node, tx, alert.item, now, alert.policy), alert.warnings)


def notify(
    node: Node,
    *,
    status: str,
    audience: Audience | list[str] | None = None,
    tlp: str | None = None,
    now: int | None = None,
    release: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Outcome:
    """Write a native Alert (``fields`` as ``new_notification`` takes them) and append it.

    ``release`` names the roles that released it (``check_alert``); the two-person rule itself
    is ``parley.node.notifications.release``'s.
    """
    now = now_ms() if now is None else now
    alert = check_alert(
        node, status=status, audience=audience, tlp=tlp, now=now, release=release, **fields
    )
    with node.store.write() as tx:
        return append_alert(node, tx, alert, now)


def answer(
    node: Node,
    ref: str,
    *,
    msg_type: str,
    changes: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    all_clear: bool = False,
    now: int | None = None,
) -> Outcome:
    """Append an Update, a Cancel or the all-clear (an Update) of this node's notification ``ref``.

    ``changes`` gives the top-level fields to change from the previous body. The follow-up keeps
    the audience, TLP and status of ``ref``; its deadlines come from the policy in force.
    """
    now = now_ms() if now is None else now
    policy = NotificationPolicy.of(node)
    with node.store.write() as tx:
        links = chain(tx, ref)
        previous = next(link for link in links if link.ref == ref)
        _check_answerable(node, previous, links, now)
        fields = changes(previous.body) if changes is not None else {}
        deadlines = policy.deadlines(previous.body["category"])
        if deadlines is not None:
            fields["deadlines"] = deadlines
        body = follow_up(
            previous.body,
            msg_type=msg_type,
            previous_ref=ref,
            previous_leaf_hash=previous.leaf_hash,
            identifier=new_identifier(node),
            sent_ms=cap_time(now),
            sender=node_sender(node),
            changes=fields,
            all_clear=all_clear,
        )
        header = previous.header
        check_status_agrees(body, header.status)
        what = f"{'all-clear' if all_clear else msg_type.lower()} of {ref}"
        warnings = policy.check(body, now, what)
        item = Item(body, header.status, header.audience, header.tlp, what)
        written = _append(node, tx, item, now, policy, incident=_incident_of(tx, links[0]))
    return Outcome(written, warnings)


def _check_answerable(node: Node, previous: Link, links: list[Link], now: int) -> None:
    if previous.header.party != node.party:
        raise PolicyError(
            f"{previous.ref} is a notification of {previous.header.party}; only its author "
            "updates or cancels it",
        )
    effective = [link for link in links if link.body["msg_type"] not in ("Ack", "Error")]
    latest = (effective or links)[-1]
    if latest.ref != previous.ref:
        raise InvalidEntryError(
            f"{previous.ref} has been superseded by {latest.ref}",
            hint=f"update or cancel the latest message of the incident, {latest.ref}",
        )
    state = current_state([link.body for link in links], now)["state"]
    if state in ENDED:
        raise InvalidEntryError(f"the incident of {previous.ref} has already ended ({state})")


def _incident_of(conn: Connection, link: Link) -> int:
    incident = notification_rows.incident_of(conn, link.header.party, link.header.seq)
    return link.header.seq if incident is None else incident


def notification_at(conn: Connection, ref: str) -> Link:
    """The notification ``ref`` with its body, or a clear error why it cannot be read here."""
    party, seq = parse_ref(ref)
    stored = logs.get_entry(conn, party, seq)
    if stored is None:
        raise NotFoundError(f"{ref} is not stored on this node")
    header = parse_header(stored.leaf)
    if header.kind != KIND:
        raise InvalidEntryError(f"{ref} is a {header.kind}, not a notification")
    if stored.body is None or stored.salt is None:
        raise NotFoundError(f"this node does not hold the body of {ref} (not in its audience)")
    return Link(header, stored.leaf_hash.hex(), Body(stored.salt, stored.body).value())


def chain(conn: Connection, ref: str) -> list[Link]:
    """Every message of the incident ``ref`` belongs to that this node holds, in log order."""
    start = notification_at(conn, ref)
    party = start.header.party
    incident = notification_rows.incident_of(conn, party, start.header.seq)
    if incident is None:
        return _scan_chain(conn, start)
    seqs = notification_rows.incident_seqs(conn, party, incident)
    # The first message itself may have no key row (a scenario replay that was then updated).
    return [notification_at(conn, f"{party}:{seq}") for seq in sorted({incident, *seqs})]


def _parents(link: Link) -> list[tuple[int, str]]:
    """(seq, leaf hash) of the entries in the same log that ``link`` references."""
    found = []
    for reference in link.body.get("references", []):
        party, seq = parse_ref(reference["ref"])
        if party == link.header.party:
            found.append((seq, reference["leaf_hash"]))
    return found


def _scan_chain(conn: Connection, start: Link) -> list[Link]:
    """The chain of a notification the key table does not know (a peer's, a scenario's).

    Walks the entry references back to the first message, then forward through the log.
    """
    party, root = start.header.party, start
    while True:
        parents = [p for p in _parents(root) if p[0] < root.header.seq]
        if not parents:
            break
        seq, leaf_hash = min(parents)
        try:
            parent = notification_at(conn, f"{party}:{seq}")
        except ParleyError:
            break
        if parent.leaf_hash != leaf_hash:
            break
        root = parent
    members = {root.header.seq: root}
    for stored in logs.iter_log(conn, party):
        if stored.seq <= root.header.seq or stored.kind != KIND or stored.body is None:
            continue
        link = notification_at(conn, f"{party}:{stored.seq}")
        if any(seq in members and members[seq].leaf_hash == h for seq, h in _parents(link)):
            members[stored.seq] = link
    return [members[seq] for seq in sorted(members)]


def incident_state(
    node: Node, ref: str, now: int | None = None
) -> tuple[dict[str, Any], list[Link]]:
    """The current state of the incident ``ref`` belongs to (``current_state``), and its chain."""
    with node.store.read() as conn:
        links = chain(conn, ref)
    state = current_state([link.body for link in links], now_ms() if now is None else now)
    return state, links
