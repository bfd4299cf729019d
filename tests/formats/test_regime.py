"""Regime rules as data: lead times, required fields, durations; warnings and errors."""

from __future__ import annotations

from typing import Any

import pytest

from parley.formats.areas import circle_area
from parley.formats.categories import DAY, HOUR
from parley.formats.errors import FormatError
from parley.formats.notification import new_notification
from parley.formats.regime import DEFAULT_REGIME, Finding, check_regime

T0 = 1_767_225_600_000
AREA = circle_area("40.0", "124.0", "50", "impact area")


def launch(window_start: int, window_end: int | None = None) -> dict[str, Any]:
    details = {
        "vehicle": "ballistic-missile",
        "window_start": window_start,
        "window_end": window_end or window_start + 2 * HOUR,
        "launch_area": AREA,
        "hazard_areas": [AREA],
    }
    return new_notification(
        category="military.launch-notice",
        identifier="L-1",
        sender="mod",
        sent_ms=T0,
        status="Exercise",
        headline="Launch notice",
        urgency="Future",
        severity="Moderate",
        certainty="Likely",
        areas=[AREA],
        details=details,
    )


def test_launch_notice_24_hours_ahead_passes() -> None:
    assert check_regime(launch(T0 + 25 * HOUR), T0, DEFAULT_REGIME) == []


def test_late_launch_notice_is_an_error() -> None:
    findings = check_regime(launch(T0 + 6 * HOUR), T0, DEFAULT_REGIME)
    assert findings == [
        Finding(
            "launch-notice-lead-time",
            "error",
            "details.window_start is 6.0 h after the notice; the regime asks for at least 1.0 days",
            "details.window_start",
        )
    ]
    assert findings[0].to_dict()["severity"] == "error"


def test_long_window_is_a_warning_and_errors_come_first() -> None:
    findings = check_regime(launch(T0 + HOUR, T0 + 30 * DAY), T0, DEFAULT_REGIME)
    assert [f.severity for f in findings] == ["error", "warning"]
    assert findings[1].rule == "launch-window-length"


def test_exercise_lead_time_and_required_fields_are_configurable() -> None:
    body = new_notification(
        category="military.exercise-notice",
        identifier="E-1",
        sender="mod",
        sent_ms=T0,
        status="Actual",
        headline="Exercise",
        urgency="Future",
        severity="Minor",
        certainty="Likely",
        areas=[AREA],
        details={"start": T0 + 10 * DAY, "end": T0 + 12 * DAY},
    )
    assert [f.severity for f in check_regime(body, T0, DEFAULT_REGIME)] == ["warning"]
    rules = {
        "rules": [
            {
                "id": "lead",
                "kind": "lead_time",
                "category": "military.*",
                "field": "details.start",
                "min_ms": 7 * DAY,
                "severity": "error",
            },
            {
                "id": "size",
                "kind": "required",
                "category": "*",
                "fields": ["details.personnel"],
                "severity": "warning",
            },
        ]
    }
    assert [(f.rule, f.severity) for f in check_regime(body, T0, rules)] == [("size", "warning")]


def test_rules_apply_to_alerts_and_updates_only_by_default() -> None:
    body = launch(T0 + HOUR)
    body["msg_type"] = "Cancel"
    assert check_regime(body, T0, DEFAULT_REGIME) == []


@pytest.mark.parametrize(
    "rules, message",
    [
        ({"rules": {}}, "regime.rules: must be a list"),
        ({"rules": [{"kind": "vibes", "severity": "error", "category": "*"}]}, "kind"),
        ({"rules": [{"kind": "required", "severity": "fatal", "category": "*"}]}, "severity"),
    ],
)
def test_malformed_rules_are_refused(rules: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        check_regime(launch(T0 + 25 * HOUR), T0, rules)
