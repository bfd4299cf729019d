"""Regime rules: what a network's members agreed about notifications, checked as data.

A regime is part of the network policy (``PolicyDocument.regime``), so every node judges a
notification by the same rules. Rules are data, each with a severity, ``warning`` or ``error``::

    {"rules": [
      {"id": "launch-lead-time", "kind": "lead_time", "category": "military.launch-notice",
       "field": "details.window_start", "min_ms": 86400000, "severity": "error"},
      {"id": "exercise-lead-time", "kind": "lead_time", "category": "military.exercise-notice",
       "field": "details.start", "min_ms": 3628800000, "severity": "warning"},
      {"id": "nuclear-ines", "kind": "required", "category": "nuclear.facility-event",
       "fields": ["details.ines_level"], "severity": "warning"},
      {"id": "exercise-length", "kind": "max_duration", "category": "military.exercise-notice",
       "start": "details.start", "end": "details.end", "max_ms": 2592000000,
       "severity": "warning"}
    ]}

Kinds: ``lead_time`` (the time in ``field`` is at least ``min_ms`` after the entry's signed
time), ``required`` (every path in ``fields`` is present), ``max_duration`` (``end`` - ``start``
at most ``max_ms``). A rule applies to Alerts and Updates (``msg_types`` to change that) of its
``category`` (a code, a ``domain.*`` prefix, or ``*``). The node decides what an ``error`` does
(refuse to sign, flag a peer's entry); this module only finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from parley.formats.categories import DAY, HOUR
from parley.formats.errors import FormatError

Severity = Literal["warning", "error"]
RULE_KINDS = ("lead_time", "required", "max_duration")

DEFAULT_REGIME: dict[str, Any] = {
    "rules": [
        {
            "id": "launch-notice-lead-time",
            "kind": "lead_time",
            "category": "military.launch-notice",
            "field": "details.window_start",
            "min_ms": 24 * HOUR,
            "severity": "error",
        },
        {
            "id": "exercise-notice-lead-time",
            "kind": "lead_time",
            "category": "military.exercise-notice",
            "field": "details.start",
            "min_ms": 42 * DAY,
            "severity": "warning",
        },
        {
            "id": "launch-window-length",
            "kind": "max_duration",
            "category": "military.launch-notice",
            "start": "details.window_start",
            "end": "details.window_end",
            "max_ms": 14 * DAY,
            "severity": "warning",
        },
        {
            "id": "nuclear-ines-level",
            "kind": "required",
            "category": "nuclear.facility-event",
            "fields": ["details.ines_level", "details.release"],
            "severity": "warning",
        },
        {
            "id": "outbreak-figures",
            "kind": "required",
            "category": "health.outbreak",
            "fields": ["details.cases", "details.deaths"],
            "severity": "warning",
        },
    ]
}
"""A starting point for a policy draft: the launch notice 24 h ahead (error), a military
exercise 42 days ahead as in the Vienna Document 2011 (warning), and the figures the nuclear and
health regimes ask for."""


@dataclass(frozen=True)
class Finding:
    """One rule that a notification does not meet."""

    rule: str
    severity: Severity
    message: str
    path: str

    def to_dict(self) -> dict[str, str]:
        """The finding as a JSON object: rule, severity, message and the body path it concerns."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
        }


def check_regime(body: dict[str, Any], header_time_ms: int, rules: dict[str, Any]) -> list[Finding]:
    """Check a notification against the regime ``rules``; return the findings, worst first."""
    findings = []
    for index, rule in enumerate(_rules(rules)):
        if not _applies(rule, body):
            continue
        findings.extend(_check(rule, index, body, header_time_ms))
    return sorted(findings, key=lambda f: 0 if f.severity == "error" else 1)


def _rules(rules: dict[str, Any]) -> list[dict[str, Any]]:
    items = rules.get("rules", [])
    if not isinstance(items, list):
        raise FormatError("regime.rules: must be a list")
    for index, rule in enumerate(items):
        where = f"regime.rules[{index}]"
        if not isinstance(rule, dict) or rule.get("kind") not in RULE_KINDS:
            raise FormatError(f"{where}.kind: one of {', '.join(RULE_KINDS)}")
        if rule.get("severity") not in ("warning", "error"):
            raise FormatError(f"{where}.severity: warning or error")
        if not isinstance(rule.get("category"), str):
            raise FormatError(f"{where}.category: a category code, 'domain.*' or '*'")
    return items


def _applies(rule: dict[str, Any], body: dict[str, Any]) -> bool:
    if body.get("msg_type") not in rule.get("msg_types", ("Alert", "Update")):
        return False
    wanted, category = str(rule["category"]), str(body.get("category", ""))
    if wanted == "*":
        return True
    if wanted.endswith(".*"):
        return category.startswith(wanted[:-1])
    return category == wanted


def _get(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _check(rule: dict[str, Any], index: int, body: dict[str, Any], now: int) -> list[Finding]:
    rule_id = str(rule.get("id", f"rule-{index}"))
    severity: Severity = rule["severity"]
    kind = rule["kind"]
    if kind == "required":
        return [
            Finding(rule_id, severity, f"{path} is required by the regime", path)
            for path in rule.get("fields", [])
            if _get(body, path) is None
        ]
    if kind == "lead_time":
        path, minimum = rule["field"], int(rule["min_ms"])
        when = _get(body, path)
        if not isinstance(when, int):
            return [
                Finding(
                    rule_id, severity, f"{path} is missing; the lead time cannot be checked", path
                )
            ]
        if when - now < minimum:
            return [
                Finding(
                    rule_id,
                    severity,
                    f"{path} is {_duration(when - now)} after the notice; the regime asks for at "
                    f"least {_duration(minimum)}",
                    path,
                )
            ]
        return []
    start, end = _get(body, rule["start"]), _get(body, rule["end"])
    if isinstance(start, int) and isinstance(end, int) and end - start > int(rule["max_ms"]):
        return [
            Finding(
                rule_id,
                severity,
                f"{rule['start']}..{rule['end']} lasts {_duration(end - start)}; the regime allows "
                f"{_duration(int(rule['max_ms']))}",
                rule["end"],
            )
        ]
    return []


def _duration(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms >= DAY:
        return f"{sign}{ms / DAY:.1f} days"
    if ms >= HOUR:
        return f"{sign}{ms / HOUR:.1f} h"
    return f"{sign}{ms / 60000:.1f} min"
