"""Importing notifications: CAP and STIX in, checked against the policy, appended exactly once.

The formats layer (``parley.formats``) turns messages into notification bodies; this module
decides what the node signs, and keeps these invariants (docs/formats.md, Commands):

* **Idempotent.** One notification per (identifier, sender, sent) in this node's log: the
  ``notification_keys`` row of an entry is written in the same transaction as the entry, under
  the single-writer lock, so a message imported twice, even by two processes at once, is
  appended once, and the second import reports the existing reference.
* **A file is all or nothing; files are independent.** Every message of a file is parsed,
  validated, normalised and checked against the policy in force before anything is signed.
  Files are appended in batches (one transaction, one checkpoint); a batch that fails is
  retried file by file, so one bad file never costs the others.
* **Status is never lost.** The header status is the body's status (``check_status_agrees``):
  a CAP alert keeps its own, a STIX bundle takes the one the officer gives. An exercise replay
  of an alert (``notification_drafts_from_cap`` with a status) is rewritten to that status and
  loses the sender's signed XML, which would still say what the real alert said.
* **The policy decides.** Deadlines are the policy's defaults for the category's deadline class;
  regime errors refuse, warnings are reported; a body over the policy's body limit is refused
  (CAP) or split (STIX).
* **Lifecycle by reference.** An imported Update or Cancel is linked (``references``: PARTY:SEQ
  and leaf hash) to the notifications its CAP ``<references>`` name that this node already
  holds, and joins their incident (``appending``, ``lifecycle``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parley.core.canonical import canonical_bytes
from parley.core.entry import ALL, Audience, normalise_audience, resolve_sharing
from parley.core.errors import InvalidEntryError, ParleyError, PolicyError
from parley.core.policy import PolicyDocument
from parley.formats.cap import CapAlert, cap_to_notification, parse_cap, verify_xml_signature
from parley.formats.cap_export import status_note
from parley.formats.cap_marking import read_marking
from parley.formats.errors import CapError, ValueFormatError, XmlSignatureError
from parley.formats.notification import check_status_agrees, validate_notification
from parley.formats.regime import check_regime
from parley.formats.stix import bundle_tlp, check_tlp, parse_bundle, stix_to_notifications
from parley.formats.values import parse_cap_time
from parley.node.log import Draft
from parley.node.node import Node, now_ms
from parley.node.notifications.appending import KIND, Appender, Item, Written, cap_time, over_limit
from parley.node.policies import deadline_class

__all__ = [
    "FileResult",
    "ImportOptions",
    "NotificationPolicy",
    "Source",
    "Written",
    "import_sources",
    "node_sender",
    "notification_drafts_from_cap",
    "regime_rules",
    "sharing",
]


# --------------------------------------------------------------------------------------------
# What the policy in force says about notifications


def node_sender(node: Node) -> str:
    """The CAP ``<sender>`` of the node's own notifications: ``PARTY@network``."""
    return f"{node.party}@{node.network}"


def regime_rules(document: PolicyDocument) -> dict[str, Any]:
    """The regime rules of a policy, in the form ``parley.formats.regime`` checks.

    A policy that predates rule lists says only ``launch_notice_lead_ms``; it is read as the
    launch-notice lead-time rule, an error, which is what its members agreed to.
    """
    regime = document.regime
    if "rules" in regime:
        return regime
    lead = regime.get("launch_notice_lead_ms")
    if not isinstance(lead, int):
        return {"rules": []}
    return {
        "rules": [
            {
                "id": "launch-notice-lead-time",
                "kind": "lead_time",
                "category": "military.launch-notice",
                "field": "details.window_start",
                "min_ms": lead,
                "severity": "error",
            }
        ]
    }


@dataclass(frozen=True)
class NotificationPolicy:
    """The parts of the policy in force that decide what a notification may say."""

    document: PolicyDocument
    regime: dict[str, Any]

    @classmethod
    def of(cls, node: Node) -> NotificationPolicy:
        """The notification rules of the policy in force at ``node``."""
        document = node.context().policy.document
        return cls(document, regime_rules(document))

    @property
    def body_limit(self) -> int:
        """The policy's largest body, in bytes."""
        return self.document.limits.body_bytes

    def deadlines(self, category: str) -> dict[str, int] | None:
        """Default deadlines of the category's class (``other`` if the policy lacks the class)."""
        document = self.document
        bounds = document.deadline(deadline_class(category)) or document.deadline("other")
        if bounds is None:
            return None
        return {
            "delivered_within": bounds.delivered_within.default,
            "acknowledged_within": bounds.acknowledged_within.default,
        }

    def check(self, body: dict[str, Any], time_ms: int, what: str) -> list[str]:
        """Apply the regime at signing time ``time_ms``: raise on an error, return warnings."""
        findings = check_regime(body, time_ms, self.regime)
        for finding in findings:
            if finding.severity == "error":
                raise PolicyError(
                    f"{what}: regime rule {finding.rule}: {finding.message}",
                    hint="the network policy makes this an error; correct the notification",
                )
        return [f"{what}: regime rule {f.rule}: {f.message}" for f in findings]


def sharing(
    node: Node, audience: Audience | list[str] | None, tlp: str | None
) -> tuple[Audience, str]:
    """Audience and TLP of a notification; a named audience always includes its author.

    The author is named so that a peer mirroring the entry serves its body back to the author
    (a restored node recovers its own history from its peers), as receipts do.
    """
    if isinstance(audience, list):
        audience = tuple(audience)
    resolved, label = resolve_sharing(KIND, audience, tlp)
    if resolved == ALL:
        return resolved, label
    return tuple(sorted({*resolved, node.party})), label


# --------------------------------------------------------------------------------------------
# Inputs, options and results


@dataclass(frozen=True)
class Source:
    """One input: its name for messages (the file) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class ImportOptions:
    """What the officer says about the files of one import."""

    audience: Audience | None = None
    tlp: str | None = None
    category: str | None = None
    status: str | None = None
    cap_signer_key: bytes | None = None


@dataclass
class FileResult:
    """What became of one input: its notifications and warnings, or the error refusing it."""

    name: str
    notifications: list[Written] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: ParleyError | None = None


def named(exc: ParleyError, name: str) -> ParleyError:
    """The same error (class, exit code, hint) with its message prefixed by ``name``."""
    renamed = copy.copy(exc)
    renamed.message = f"{name}: {exc.message}"
    renamed.args = (renamed.message,)
    return renamed


# --------------------------------------------------------------------------------------------
# CAP and STIX in: from bytes to checked items, nothing signed yet


def _sniff(data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xfe\xff \t\r\n\x00")
    if head.startswith(b"<"):
        return "cap"
    if head.startswith(b"{"):
        return "stix"
    raise InvalidEntryError(
        "neither XML (a CAP message) nor JSON (a STIX 2.1 bundle)",
        hint="parley import takes CAP 1.2/1.1 alerts, EDXL-DE distributions and STIX bundles",
    )


def _verify_signature(alert: CapAlert, key: bytes, what: str) -> str | None:
    """Verify the alert's XML-DSig with the configured key; a warning for SHA-1, or None."""
    if not alert.signed:
        raise XmlSignatureError(
            f"{what} carries no XML-DSig signature, but a signer key is configured",
            hint="an unsigned copy of a signed feed is refused: its signature may be stripped",
        )
    result = verify_xml_signature(alert, key)
    if result.weak:
        return f"{what}: XML-DSig verified, but it uses SHA-1 ({result.signature_method})"
    return None


def _cap_items(
    policy: NotificationPolicy,
    node: Node,
    data: bytes,
    options: ImportOptions,
    now: int,
    warnings: list[str],
    *,
    exercise_status: str | None = None,
) -> list[Item]:
    sharing(node, options.audience, options.tlp)  # a bad --to or --tlp, before any alert
    items = []
    for alert in parse_cap(data):
        what = f"CAP alert {alert.identifier!r}"
        if options.cap_signer_key is not None:
            note = _verify_signature(alert, options.cap_signer_key, what)
            if note:
                warnings.append(note)
        body = cap_to_notification(alert, category=options.category)
        if exercise_status is not None:
            _rewrite_status(body, exercise_status)
        elif options.status is not None and options.status != body["status"]:
            raise InvalidEntryError(
                f"{what}: its CAP status is {body['status']}, not {options.status}",
                hint="a CAP alert keeps the status its sender gave it; --status is for STIX",
            )
        _fill_deadlines(policy, body)
        check_status_agrees(body, body["status"])
        warnings.extend(policy.check(body, now, what))
        audience, tlp = _cap_sharing(node, body, options, what)
        items.append(Item(body, body["status"], audience, tlp, what))
    return items


def _cap_sharing(
    node: Node, body: dict[str, Any], options: ImportOptions, what: str
) -> tuple[Audience, str]:
    """The audience and TLP of an imported alert: its own marking, or the officer's options.

    An alert that carries a TLP label (``cap_marking.read_marking``) keeps its readers; an
    officer's ``--to`` or ``--tlp`` that says otherwise is refused rather than silently widened.
    """
    try:
        marked_audience, marked_tlp = read_marking(body)
    except ParleyError as exc:
        raise CapError(f"{what}: {exc.message}", hint=exc.hint) from exc
    if marked_tlp is None:
        return sharing(node, options.audience, options.tlp)
    assert marked_audience is not None  # noqa: S101 - read together
    given = None if options.audience is None else normalise_audience(options.audience)
    if (given is not None and given != marked_audience) or options.tlp not in (None, marked_tlp):
        shown = "ALL" if marked_audience == ALL else ",".join(marked_audience)
        raise InvalidEntryError(
            f"{what} is marked TLP:{marked_tlp} for {shown}; --to/--tlp say otherwise",
            hint="leave out --to and --tlp to keep the alert's own marking",
        )
    return sharing(node, marked_audience, marked_tlp)


def _rewrite_status(body: dict[str, Any], status: str) -> None:
    """Make ``body`` an exercise (test, ...) copy: new status, no signed XML, a saying note."""
    if body["status"] == status:
        return
    body["status"] = status
    source = body.get("source")
    if source is not None:
        source.pop("xml", None)
        source["xml_signature"] = False
    note = body.get("note")
    body["note"] = status_note(status) + (f" {note}" if note else "")


def _fill_deadlines(policy: NotificationPolicy, body: dict[str, Any]) -> None:
    deadlines = policy.deadlines(body["category"])
    if deadlines is not None:
        body["deadlines"] = deadlines


def _bundle_sent(bundle: dict[str, Any]) -> int | None:
    """The latest ``modified`` or ``created`` time of a bundle: a stable ``sent`` for it."""
    times = []
    for obj in bundle["objects"]:
        for name in ("modified", "created"):
            if isinstance(obj.get(name), str):
                try:
                    times.append(parse_cap_time(obj[name])[0])
                except ValueFormatError:
                    continue
    return cap_time(max(times)) if times else None


def _stix_items(
    policy: NotificationPolicy,
    node: Node,
    data: bytes,
    options: ImportOptions,
    now: int,
    warnings: list[str],
) -> list[Item]:
    if options.status is None:
        raise InvalidEntryError(
            "a STIX bundle carries no status",
            hint="give --status Actual, Exercise, Test or Draft to import STIX bundles",
        )
    bundle = parse_bundle(data)
    tlp = options.tlp or bundle_tlp(bundle)
    if options.tlp is None and tlp == "CLEAR" and options.audience not in (None, ALL):
        tlp = "GREEN"  # CLEAR cannot go to a named audience; GREEN is the least restrictive
    audience, tlp = sharing(node, options.audience, tlp)
    check_tlp(bundle, tlp)
    sent = _bundle_sent(bundle)
    if sent is None:
        warnings.append(
            f"STIX bundle {bundle['id']}: no object has a timestamp, so importing "
            "it again will not be recognised as the same notification"
        )
        sent = cap_time(now)
    bodies = stix_to_notifications(
        bundle,
        max_body_bytes=policy.body_limit,
        sender=node_sender(node),
        sent_ms=sent,
        status=options.status,
        category=options.category,
    )
    items = []
    for body in bodies:
        what = f"STIX bundle {body['identifier']}"
        _fill_deadlines(policy, body)
        warnings.extend(policy.check(body, now, what))
        items.append(Item(body, options.status, audience, tlp, what))
    return items


def notification_drafts_from_cap(
    node: Node,
    data: bytes,
    *,
    status: str | None = None,
    audience: Audience | list[str] | None = None,
    tlp: str | None = None,
    category: str | None = None,
) -> list[Draft]:
    """Drafts for the alerts of a CAP message, for callers that append them (exercises).

    With ``status``, every body is rewritten to it and loses the sender's signed XML, so an
    exercise never hands out the real alert as if it were the exercise. Regime errors and bodies
    over the policy's limit raise. The drafts are not recorded as imports: a scenario may
    replay one message many times.
    """
    policy = NotificationPolicy.of(node)
    if isinstance(audience, list):
        audience = tuple(audience)
    options = ImportOptions(audience=audience, tlp=tlp, category=category)
    items = _cap_items(policy, node, data, options, now_ms(), [], exercise_status=status)
    drafts = []
    for item in items:
        validate_notification(item.body)
        size = len(canonical_bytes(item.body))
        if size > policy.body_limit:
            raise over_limit(item, size, policy.body_limit)
        drafts.append(Draft(KIND, item.status, item.body, item.audience, item.tlp))
    return drafts


# --------------------------------------------------------------------------------------------
# Appending, with the key table in the same transaction


def _write(
    node: Node, batch: list[tuple[FileResult, list[Item]]], now: int, limit: int
) -> list[list[Written]]:
    with node.store.write() as tx:
        appender = Appender(node, tx, now, limit)
        written = [[appender.add(item) for item in items] for _, items in batch]
        appender.flush()
    return written


def _commit(node: Node, batch: list[tuple[FileResult, list[Item]]], now: int, limit: int) -> None:
    if not batch:
        return
    try:
        written = _write(node, batch, now, limit)
    except ParleyError as exc:
        if len(batch) == 1:
            batch[0][0].error = named(exc, batch[0][0].name)
            return
        for one in batch:  # find the file that broke the batch; the others still go in
            _commit(node, [one], now, limit)
        return
    for (result, _), notifications in zip(batch, written, strict=True):
        result.notifications = notifications


def import_sources(
    node: Node,
    sources: Iterable[Source],
    options: ImportOptions,
    *,
    now: int | None = None,
    policy: NotificationPolicy | None = None,
) -> list[FileResult]:
    """Import CAP messages and STIX bundles (told apart by content), each file whole or not at all.

    Returns one result per source, in order. The sources go into the log together (one
    transaction, one checkpoint), so give a few hundred at a time.
    """
    now = now_ms() if now is None else now
    policy = policy or NotificationPolicy.of(node)
    results, ready = [], []
    for source in sources:
        result = FileResult(source.name)
        results.append(result)
        warnings: list[str] = []
        try:
            if _sniff(source.data) == "cap":
                items = _cap_items(policy, node, source.data, options, now, warnings)
            else:
                items = _stix_items(policy, node, source.data, options, now, warnings)
        except ParleyError as exc:
            result.error = named(exc, source.name)
            continue
        result.warnings = [f"{source.name}: {warning}" for warning in warnings]
        ready.append((result, items))
    _commit(node, ready, now, policy.body_limit)
    return results
