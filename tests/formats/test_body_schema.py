"""The notification body's ``release`` object: roles of the officers who released an Alert."""

from __future__ import annotations

from typing import Any

import pytest

from parley.core.canonical import canonical_bytes
from parley.formats.errors import FormatError
from parley.formats.notification import follow_up, validate_notification
from tests.formats.test_notification import HASH, nuclear

TWO = {"prepared_by": "duty-officer", "released_by": "admin"}


def released(release: Any) -> dict[str, Any]:
    body = nuclear()
    body["release"] = release
    return body


@pytest.mark.parametrize(
    "release",
    [TWO, {**TWO, "break_glass": True}, {"prepared_by": "admin", "released_by": "admin"}],
)
def test_an_alert_names_the_roles_that_released_it(release: dict[str, Any]) -> None:
    body = released(release)
    validate_notification(body)
    assert canonical_bytes(body)  # in the signed subset


@pytest.mark.parametrize(
    "release, message",
    [
        ("duty-officer", "body.release: must be an object"),
        ({"released_by": "admin"}, "body.release.prepared_by: missing is not an officer's role"),
        ({**TWO, "released_by": "Alice Tanaka"}, "body.release.released_by: 'Alice Tanaka'"),
        ({**TWO, "released_by": 3}, "body.release.released_by: 3 is not an officer's role"),
        ({**TWO, "break_glass": False}, "body.release.break_glass: must be true"),
        ({**TWO, "reason": "night shift"}, "body.release.reason: unknown field"),
    ],
)
def test_a_bad_release_is_refused_naming_its_field(release: Any, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        validate_notification(released(release))
    assert message in str(caught.value)


def test_a_later_version_may_add_to_the_release_in_lenient_mode() -> None:
    validate_notification(released({**TWO, "witness": "admin"}), strict=False)


def test_only_the_alert_carries_the_release_and_its_follow_ups_drop_it() -> None:
    alert = released(TWO)
    update = follow_up(
        alert,
        msg_type="Update",
        previous_ref="JP:5",
        previous_leaf_hash=HASH,
        identifier="u-1",
        sent_ms=alert["sent"] + 1000,
    )
    assert "release" not in update
    update["release"] = TWO
    with pytest.raises(FormatError, match="body.release: an Update carries no release"):
        validate_notification(update)
