"""Two-person release: an Actual notification in a release category needs two officers.

The node's configuration names the release categories (``parley.toml``, ``[release]
categories``; ``NodeConfig.needs_release``). The workflow, top to bottom:

1. ``submit``: an officer who may notify asks for a notification. When it needs no release
   (status Exercise or Test, or a category not named) it is signed at once
   (``lifecycle.notify``). Otherwise it is checked as it would be signed (``check_alert``:
   schema, regime, audience, TLP) and kept as a **pending release**: local, unsigned, in no log.
   ``prepare`` does the same for any notification an officer wants a second pair of eyes on.
2. ``release``: a *different* officer who may release signs it. The Alert is built anew at the
   release time (its ``sent``, its deadlines and the regime are judged then), its body names
   both officers by role (``release``, docs/formats.md), and it is appended in the transaction
   that marks the pending release released.
3. ``break_glass``: when no second officer can be reached and the duty cannot wait (a nuclear
   "forthwith" at night), the officer who prepared it releases it alone, stating a reason. The
   body says ``break_glass: true``; the reason, in the same transaction, goes to the pending
   release's row and to every other officer as the live event and webhook
   ``release.break-glass`` (``webhooks.emit``). The edges write it to the audit trail.
4. ``withdraw``: the officer who prepared it, or an administrator, drops it unsigned.

Invariants kept here:

* a pending release is signed at most once: its state leaves ``pending`` only inside the write
  transaction that appends its entry, under the single-writer lock, so a second release finds
  it released and is refused (``ConflictError``);
* the signed body names roles, never officers, and never carries the break-glass reason; names
  and reasons stay in this node's audit trail and its own webhooks;
* the two-person rule compares authenticated officers: the edges authenticate them (password,
  session or token) and this module checks what each role may do (``Action.NOTIFY``,
  ``RELEASE``, ``BREAK_GLASS``) and that the releasing officer is not the preparer;
* Updates, Cancels and all-clears of a released notification never wait (``lifecycle.answer``):
  a cancel must reach the peers at once, and it takes nothing back that was not already out.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, replace
from typing import Any

import orjson

from parley.core.entry import ALL, Audience
from parley.core.errors import (
    ConflictError,
    InvalidEntryError,
    NotAuthorizedError,
    NotFoundError,
)
from parley.node import webhooks
from parley.node.access import ROLE_ACTIONS, Action, Principal
from parley.node.node import Node
from parley.node.notifications import lifecycle
from parley.node.officers import Officer
from parley.store import releases as rows
from parley.store.releases import PendingRow, ReleaseState

__all__ = [
    "BREAK_GLASS_EVENT",
    "MIN_REASON",
    "Pending",
    "Released",
    "ReleaseState",
    "break_glass",
    "find",
    "needs_release",
    "pending",
    "prepare",
    "release",
    "submit",
    "withdraw",
]

BREAK_GLASS_EVENT = "release.break-glass"
MIN_REASON = 10
MAX_REASON = 2000
LISTED = 500


@dataclass(frozen=True)
class Pending:
    """A pending release: what was prepared, by whom, and what became of it.

    ``fields`` are ``lifecycle.notify``'s keyword fields (category, texts, levels, areas,
    details, ...); ``audience`` and ``tlp`` are as they were resolved when it was prepared.
    """

    id: str
    created: int
    prepared_by: str
    prepared_role: str
    category: str
    status: str
    fields: dict[str, Any]
    audience: Audience
    tlp: str
    state: ReleaseState
    released_by: str | None = None
    released_role: str | None = None
    released_at: int | None = None
    break_glass_reason: str | None = None
    ref: str | None = None
    withdrawn_by: str | None = None
    withdrawn_at: int | None = None

    @property
    def headline(self) -> str:
        """The headline the officer wrote."""
        return str(self.fields.get("headline", ""))

    def to_dict(self) -> dict[str, Any]:
        """Everything about it, as JSON values (for a reader cleared for its TLP)."""
        shown = dataclasses.asdict(self)
        shown.update(
            state=self.state.value,
            audience=self.audience if self.audience == ALL else list(self.audience),
            headline=self.headline,
            break_glass=self.break_glass_reason is not None,
        )
        return shown

    def shown_to(self, principal: Principal) -> dict[str, Any]:
        """What ``principal`` may see: the texts only within its TLP clearance (as for bodies)."""
        shown = self.to_dict()
        if not principal.reads(self.tlp):
            withheld = f"TLP:{self.tlp} is above the clearance of an {principal.role}"
            shown.update(headline=None, fields=None, withheld=withheld)
        return shown


@dataclass(frozen=True)
class Released:
    """A released pending release and the notification its release signed."""

    pending: Pending
    outcome: lifecycle.Outcome

    @property
    def ref(self) -> str:
        """The signed notification's ``PARTY:SEQ``."""
        return self.outcome.written.ref


def needs_release(node: Node, category: str, status: str) -> bool:
    """Whether an Alert of ``category`` and ``status`` needs two officers at this node.

    Only an Actual notification does, in a category ``[release] categories`` names: an Exercise
    or Test never does.
    """
    return status == "Actual" and node.config.needs_release(category)


def _principal(who: Principal | Officer) -> Principal:
    return who if isinstance(who, Principal) else Principal(who.name, who.role)


def submit(
    node: Node,
    who: Principal | Officer,
    fields: dict[str, Any],
    *,
    status: str,
    audience: Audience | list[str] | None = None,
    tlp: str | None = None,
    now: int,
) -> lifecycle.Outcome | Pending:
    """Sign a new notification at once, or keep it as a pending release if it needs two officers.

    ``fields`` are ``lifecycle.notify``'s keyword fields. Returns the signed ``Outcome``, or the
    stored ``Pending`` (nothing appended) when ``needs_release`` says so.
    """
    principal = _principal(who)
    principal.require(Action.NOTIFY)
    if not needs_release(node, str(fields.get("category", "")), status):
        return lifecycle.notify(node, status=status, audience=audience, tlp=tlp, now=now, **fields)
    return prepare(node, principal, fields, status=status, audience=audience, tlp=tlp, now=now)


def prepare(
    node: Node,
    who: Principal | Officer,
    fields: dict[str, Any],
    *,
    status: str,
    audience: Audience | list[str] | None = None,
    tlp: str | None = None,
    now: int,
) -> Pending:
    """Check a notification as it would be signed and keep it, unsigned, for a second officer."""
    principal = _principal(who)
    principal.require(Action.NOTIFY)
    checked = lifecycle.check_alert(
        node, status=status, audience=audience, tlp=tlp, now=now, **fields
    )
    item = checked.item
    request = {
        "fields": fields,
        "audience": item.audience if item.audience == ALL else list(item.audience),
        "tlp": item.tlp,
    }
    with node.store.write() as tx:
        identifier = secrets.token_hex(4)
        while rows.exists(tx, identifier):
            identifier = secrets.token_hex(4)
        row = PendingRow(
            id=identifier,
            created=now,
            prepared_by=principal.officer,
            prepared_role=principal.role,
            category=str(item.body["category"]),
            status=status,
            request=orjson.dumps(request).decode(),
            state=ReleaseState.PENDING,
        )
        rows.add(tx, row)
    return _pending(row)


def _pending(row: PendingRow) -> Pending:
    request = orjson.loads(row.request)
    audience = request["audience"]
    return Pending(
        id=row.id,
        created=row.created,
        prepared_by=row.prepared_by,
        prepared_role=row.prepared_role,
        category=row.category,
        status=row.status,
        fields=request["fields"],
        audience=ALL if audience == ALL else tuple(audience),
        tlp=request["tlp"],
        state=row.state,
        released_by=row.released_by,
        released_role=row.released_role,
        released_at=row.released_at,
        break_glass_reason=row.break_glass_reason,
        ref=row.ref,
        withdrawn_by=row.withdrawn_by,
        withdrawn_at=row.withdrawn_at,
    )


def pending(node: Node, *, every: bool = False) -> list[Pending]:
    """The pending releases waiting for a second officer, newest first (``every``: all states)."""
    with node.store.read() as conn:
        found = rows.listed(conn, None if every else ReleaseState.PENDING, LISTED)
    return [_pending(row) for row in found]


def find(node: Node, identifier: str) -> Pending:
    """The pending release ``identifier``, in whatever state, or ``NotFoundError``."""
    with node.store.read() as conn:
        row = rows.find(conn, identifier)
    if row is None:
        raise NotFoundError(
            f"no pending release {identifier[:40]!r}", hint="'parley pending list' shows them"
        )
    return _pending(row)


def _still_pending(item: Pending) -> None:
    if item.state != ReleaseState.PENDING:
        done = f" as {item.ref}" if item.ref else ""
        raise ConflictError(
            f"pending release {item.id} is {item.state.value}{done}, no longer pending",
            hint="'parley pending list' shows those still waiting",
        )


def release(
    node: Node, identifier: str, officer_name: str, officer_role: str, now: int
) -> Released:
    """Release (sign) another officer's pending release; the body names both roles.

    Refused to the officer who prepared it (``NotAuthorizedError``, naming the rule and
    break-glass) and for anything no longer pending (``ConflictError`` naming its state).
    """
    Principal(officer_name, officer_role).require(Action.RELEASE)
    item = find(node, identifier)
    _still_pending(item)
    if item.prepared_by == officer_name:
        raise NotAuthorizedError(
            f"two-person release: officer {officer_name} prepared pending release {item.id}, so "
            "another officer must release it",
            hint="ask a second duty officer to release it; if none can be reached and the duty "
            f"cannot wait, break glass: parley release {item.id} --break-glass REASON",
        )
    record = {"prepared_by": item.prepared_role, "released_by": officer_role}
    return _sign(node, item, officer_name, officer_role, record, None, now)


def break_glass(
    node: Node, identifier: str, officer_name: str, officer_role: str, reason: str, now: int
) -> Released:
    """Release one's own pending release alone, for a stated reason; every officer is told.

    The reason (at least ``MIN_REASON`` characters) is kept on the node and sent as the live
    event and webhook ``release.break-glass``, never signed.
    """
    Principal(officer_name, officer_role).require(Action.BREAK_GLASS)
    stated = " ".join(reason.split())
    if len(stated) < MIN_REASON or len(stated) > MAX_REASON:
        raise InvalidEntryError(
            f"reason: break-glass needs a stated reason of {MIN_REASON} to {MAX_REASON} "
            f"characters, not {len(stated)}",
            field="reason",
            hint="say why no second officer could release it, e.g. 'night shift alone, "
            "forthwith duty'",
        )
    item = find(node, identifier)
    _still_pending(item)
    if item.prepared_by != officer_name:
        raise InvalidEntryError(
            f"break-glass is for the officer who prepared pending release {item.id} "
            f"({item.prepared_by}) and is alone; you are a second officer",
            hint=f"release it: parley release {item.id}",
        )
    record = {"prepared_by": item.prepared_role, "released_by": officer_role, "break_glass": True}
    return _sign(node, item, officer_name, officer_role, record, stated, now)


def _sign(
    node: Node,
    item: Pending,
    officer_name: str,
    officer_role: str,
    record: dict[str, Any],
    reason: str | None,
    now: int,
) -> Released:
    """Sign the Alert, mark it released and (break-glass) tell every officer: one commit."""
    alert = lifecycle.check_alert(
        node,
        status=item.status,
        audience=item.audience,
        tlp=item.tlp,
        now=now,
        release=record,
        **item.fields,
    )
    with node.store.write() as tx:
        row = rows.find(tx, item.id)
        if row is None:
            raise NotFoundError(f"no pending release {item.id!r}")
        _still_pending(_pending(row))  # another officer may have released it meanwhile
        outcome = lifecycle.append_alert(node, tx, alert, now)
        ref = outcome.written.ref
        rows.mark_released(
            tx,
            item.id,
            officer=officer_name,
            role=officer_role,
            at=now,
            ref=ref,
            break_glass_reason=reason,
        )
        if reason is not None:
            event = {
                "id": item.id,
                "ref": ref,
                "category": item.category,
                "status": item.status,
                "officer": officer_name,
                "role": officer_role,
                "reason": reason,
            }
            webhooks.emit(tx, node.party, BREAK_GLASS_EVENT, event, now)
    done = replace(
        item,
        state=ReleaseState.RELEASED,
        released_by=officer_name,
        released_role=officer_role,
        released_at=now,
        break_glass_reason=reason,
        ref=ref,
    )
    return Released(done, outcome)


def withdraw(
    node: Node, identifier: str, officer_name: str, officer_role: str, now: int
) -> Pending:
    """Withdraw a pending release unsigned: by the officer who prepared it, or an administrator."""
    Principal(officer_name, officer_role).require(Action.NOTIFY)
    item = find(node, identifier)
    admin = Action.ADMINISTER in ROLE_ACTIONS.get(officer_role, frozenset())
    if item.prepared_by != officer_name and not admin:
        raise NotAuthorizedError(
            f"pending release {item.id} was prepared by {item.prepared_by}: only that officer "
            "or an administrator may withdraw it"
        )
    with node.store.write() as tx:
        if not rows.mark_withdrawn(tx, item.id, officer=officer_name, at=now):
            row = rows.find(tx, item.id)
            _still_pending(item if row is None else _pending(row))
    return replace(item, state=ReleaseState.WITHDRAWN, withdrawn_by=officer_name, withdrawn_at=now)
