"""``/api/v1/me/settings``: the caller's own settings for the pages (``parley.node.settings``).

Any authenticated caller, by session or by token, reads and changes the settings of its own
officer, never another's: the officer is the caller's, never a parameter. ``PUT`` takes any
subset of the fields; a field left out keeps its value, and ``null`` is refused (leave the
field out instead). A session's ``PUT`` echoes its CSRF token like every change of state
(``auth``), and each change is in the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from parley.api.v1.auth import Caller, audit, node_of
from parley.api.v1.schemas import PROBLEMS, Strict
from parley.core.errors import InvalidEntryError
from parley.node import settings
from parley.node.node import now_ms

router = APIRouter(tags=["settings"], responses=PROBLEMS)

# The service's values as the document states them; tests/api/v1 checks they agree.
Lang = Literal["en", "ja", "ko", "zh", "ru"]
AlarmSeverity = Literal["Minor", "Moderate", "Severe", "Extreme"]
TimeZone = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$",
        description="An IANA time zone (`UTC`, `Asia/Tokyo`, `Europe/Moscow`).",
    ),
]
Flag = Annotated[bool, Field(strict=True)]


class SettingsView(BaseModel):
    """An officer's settings; ``updated`` (ms) is null while they are the defaults."""

    lang: Lang
    time_zone: str
    sound: bool
    alarm_severity: AlarmSeverity = Field(
        description="The least severity of a notification that sounds the alarm."
    )
    alarm_exercise: bool = Field(description="Whether an exercise sounds the alarm too.")
    updated: int | None


def _value_or_absent(schema: dict[str, Any]) -> None:
    """State each field as its value only: absent keeps the setting, and null is refused."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)
        kinds = [kind for kind in field.pop("anyOf", []) if kind != {"type": "null"}]
        if len(kinds) == 1:
            field.update(kinds[0])


class SettingsChange(Strict):
    """Any subset of the settings; what is left out stays as it is."""

    model_config = ConfigDict(json_schema_extra=_value_or_absent)

    lang: Lang | None = None
    time_zone: TimeZone | None = None
    sound: Flag | None = None
    alarm_severity: AlarmSeverity | None = None
    alarm_exercise: Flag | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Defaults are not validated, so only a null that was sent reaches here.
        if value is None:
            raise ValueError("leave the field out to keep its value; null is no setting")
        return value


@router.get("/me/settings", response_model=SettingsView)
def my_settings(request: Request, principal: Caller) -> dict[str, Any]:
    """The caller's settings (the defaults until it changes one)."""
    return settings.settings_of(node_of(request).store, principal.officer).to_dict()


@router.put("/me/settings", response_model=SettingsView)
def change_settings(wanted: SettingsChange, request: Request, principal: Caller) -> dict[str, Any]:
    """Change some of the caller's settings; its settings after."""
    fields = wanted.model_dump(exclude_unset=True)
    try:
        changed = settings.change(node_of(request).store, principal.officer, now_ms(), **fields)
    except InvalidEntryError as exc:
        if exc.field is not None and not exc.field.startswith("body."):
            exc.field = f"body.{exc.field}"
        raise
    audit(request, principal, {"settings": fields})
    return changed.to_dict()
