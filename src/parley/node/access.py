"""Who may do what: roles, token scopes, and the TLP labels each role may read.

One table, read by every edge (CLI, API, pages, TAXII). An officer holds one role; a tool acts
with a token whose scope narrows that role, never widens it. What a caller may do is the actions
of its role that its scope also grants (a session or a password grants the whole role).

Reading is bounded twice. The node holds a body only when its party is in the entry's audience
(invariant 4, enforced at federation); inside the node a role reads a body only up to its TLP
clearance: an observer reads TLP:CLEAR and GREEN, an analyst up to AMBER+STRICT, a duty officer
and an administrator everything the node holds, RED included (TLP:RED is for the named
recipients: the party's duty desk). Headers are never restricted: every peer gets them anyway.

What anyone may read without credentials (the public CAP feed) is ``publicly_released``: audience
ALL, TLP:CLEAR, status Actual. The anonymous reader is ``PUBLIC``, a principal of role
``public`` whose clearance is TLP:CLEAR alone and which may do nothing else.

A token of scope ``scrape`` reads the node's Prometheus metrics and nothing more (``/metrics``,
docs/operations.md); only an administrator may hold one.

docs/api.md lists the table, scope by scope and role by role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parley.core.entry import TLP_LABELS
from parley.core.errors import InvalidEntryError, NotAuthorizedError


class Action(StrEnum):
    """What an officer or a tool asks to do."""

    READ = "read"  # notifications, inbox, receipts, hotline, peers, log, compliance, search, stream
    SUBSCRIBE = "subscribe"  # area subscriptions of one's own
    IMPORT = "import"  # CAP and STIX import
    NOTIFY = "notify"  # create, update, cancel notifications; prepare a pending release
    ACKNOWLEDGE = "acknowledge"
    INQUIRE = "inquire"  # inquiries and replies
    HOTLINE = "hotline"  # send on the hotline
    RELEASE = "release"  # release another officer's pending release
    BREAK_GLASS = "break-glass"  # release one's own pending release alone, with a reason
    ADMINISTER = "administer"  # officers, peers, webhooks, witnesses, keys, policy, log append
    SCRAPE = "scrape"  # the node's Prometheus metrics (/metrics)


class Scope(StrEnum):
    """What a token may be used for (``parley user token NAME --scope ...``)."""

    READ = "read"
    ACK = "ack"
    ANALYST = "analyst"
    NOTIFY = "notify"
    ADMIN = "admin"
    SCRAPE = "scrape"


ROLES = ("duty-officer", "analyst", "admin", "observer")

_READING = frozenset({Action.READ, Action.SUBSCRIBE})
_DUTY = _READING | {
    Action.IMPORT,
    Action.NOTIFY,
    Action.ACKNOWLEDGE,
    Action.INQUIRE,
    Action.HOTLINE,
    Action.RELEASE,
    Action.BREAK_GLASS,
}
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "observer": _READING,
    "analyst": _READING | {Action.IMPORT},
    "duty-officer": _DUTY,
    "admin": _DUTY | {Action.ADMINISTER, Action.SCRAPE},
}
SCOPE_ACTIONS: dict[Scope, frozenset[Action]] = {
    Scope.READ: _READING,
    Scope.ACK: _READING | {Action.ACKNOWLEDGE},
    Scope.ANALYST: _READING | {Action.IMPORT},
    Scope.NOTIFY: _DUTY,
    Scope.ADMIN: frozenset(Action),
    Scope.SCRAPE: frozenset({Action.SCRAPE}),
}
CLEARANCE: dict[str, frozenset[str]] = {
    "observer": frozenset({"CLEAR", "GREEN"}),
    "analyst": frozenset({"CLEAR", "GREEN", "AMBER", "AMBER+STRICT"}),
    "duty-officer": frozenset(TLP_LABELS),
    "admin": frozenset(TLP_LABELS),
    "public": frozenset({"CLEAR"}),
}
PUBLIC_STATUS = "Actual"


def roles_for(action: Action) -> tuple[str, ...]:
    """The roles whose officers may do ``action``, in the order of ``ROLES``."""
    return tuple(role for role in ROLES if action in ROLE_ACTIONS[role])


def scopes_for(role: str) -> tuple[Scope, ...]:
    """The token scopes an officer of ``role`` may hold: those within the role's actions."""
    return tuple(scope for scope in Scope if SCOPE_ACTIONS[scope] <= ROLE_ACTIONS[role])


def scope_named(text: str) -> Scope:
    """The scope called ``text``, or an error naming the scopes there are."""
    try:
        return Scope(text)
    except ValueError:
        names = ", ".join(scope.value for scope in Scope)
        raise InvalidEntryError(f"scope {text!r} is not one of {names}", field="scope") from None


def check_scope(role: str, scope: Scope) -> None:
    """Refuse a token scope wider than the officer's role."""
    if scope not in scopes_for(role):
        allowed = ", ".join(s.value for s in scopes_for(role))
        raise NotAuthorizedError(
            f"a {role} may not hold a token of scope {scope.value}",
            hint=f"a {role} may hold: {allowed}",
        )


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an officer, in a role, through a session, a password or a token.

    ``scope`` is None for a session or a password (the whole role) and the token's scope for a
    token; ``token`` is the token's public id.
    """

    officer: str
    role: str
    scope: Scope | None = None
    token: str | None = None

    @property
    def actions(self) -> frozenset[Action]:
        """What this principal may do: the role's actions within the scope."""
        granted = ROLE_ACTIONS.get(self.role, frozenset())
        return granted if self.scope is None else granted & SCOPE_ACTIONS[self.scope]

    @property
    def clearance(self) -> frozenset[str]:
        """The TLP labels whose bodies this principal may read."""
        return CLEARANCE.get(self.role, frozenset())

    @property
    def caller(self) -> str:
        """A stable name for rate limits and idempotency: the token, else the officer."""
        return f"token:{self.token}" if self.token else f"officer:{self.officer}"

    def may(self, action: Action) -> bool:
        """Whether this principal may do ``action``."""
        return action in self.actions

    def require(self, action: Action) -> None:
        """Refuse unless this principal may do ``action``, naming role and scope."""
        if self.may(action):
            return
        if action not in ROLE_ACTIONS.get(self.role, frozenset()):
            roles = " or ".join(roles_for(action))
            raise NotAuthorizedError(
                f"officer {self.officer} ({self.role}) may not {action.value}; it needs {roles}"
            )
        assert self.scope is not None  # noqa: S101 - the role grants it, so the scope refused
        raise NotAuthorizedError(
            f"a token of scope {self.scope.value} may not {action.value}",
            hint=f"use a token whose scope grants {action.value}",
        )

    def reads(self, tlp: str) -> bool:
        """Whether this principal may read a body marked ``tlp``."""
        return tlp in self.clearance


PUBLIC = Principal(officer="(public)", role="public")


def publicly_released(audience: str, tlp: str, status: str) -> bool:
    """Whether anyone may read an entry: audience ALL, TLP:CLEAR, status Actual.

    ``audience`` as stored (``"ALL"`` or ``"A,B"``). The one rule of what is public.
    """
    return audience == "ALL" and tlp == "CLEAR" and status == PUBLIC_STATUS


def withheld(principal: Principal, tlp: str, held: str | None) -> str | None:
    """Why ``principal`` is not shown a body marked ``tlp``; None when it is shown.

    ``held`` is why this node holds no readable body (``inbox.why_no_body``), None when it does.
    This is the one judgement of what a person reads: every view of a body asks it.
    """
    if held is not None:
        return held
    if not principal.reads(tlp):
        article = "an" if principal.role[:1] in "aeiou" else "a"
        return f"TLP:{tlp} is above the clearance of {article} {principal.role}"
    return None


def withheld_from(clearance: frozenset[str] | None, tlp: str) -> str | None:
    """Why a reader of ``clearance`` is not shown a body marked ``tlp``; None if it may read it.

    ``clearance`` None means no clearance applies (a node's own process, a peer's audience
    rules already applied). Every service that returns bodies, replies or summaries to a person
    asks this one question, so the CLI, the API and the pages withhold the same things.
    """
    if clearance is None or tlp in clearance:
        return None
    return f"TLP:{tlp} is above the reader's clearance ({', '.join(sorted(clearance)) or 'none'})"
