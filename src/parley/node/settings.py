"""An officer's settings for the pages: language, time zone and alarm.

Each officer reads and changes its own (``/api/v1/me/settings``); one that never changed any
has the defaults of ``Settings``. Every value is checked here before it is kept, and a refusal
(``InvalidEntryError``) names the field and what it may be, and changes nothing:

* ``lang``: one of ``LANGS``, the languages of the hotline phrases and of search;
* ``time_zone``: an IANA zone exactly as this host's time-zone database names it. A name is
  looked up in ``zoneinfo.available_timezones()``, never opened as a path, so ``../../etc/passwd``
  or ``/etc/localtime`` is only a name that is not there; the host's own ``localtime`` and
  ``posixrules`` are files, not zones, and are refused too;
* ``alarm_severity``: the least CAP severity that sounds the alarm (``ALARM_SEVERITIES``;
  ``Unknown`` is no threshold);
* ``sound`` and ``alarm_exercise`` (whether an exercise sounds it too): booleans.
"""

from __future__ import annotations

import dataclasses
import functools
import zoneinfo
from dataclasses import dataclass

from parley.core.errors import InvalidEntryError
from parley.formats.body_schema import SEVERITIES
from parley.formats.phrases import LANGUAGES
from parley.store import settings as rows
from parley.store.engine import Store

LANGS = LANGUAGES  # ("en", "ja", "ko", "zh", "ru")
ALARM_SEVERITIES = tuple(s for s in reversed(SEVERITIES) if s != "Unknown")  # least first
HOST_FILES = frozenset({"localtime", "posixrules"})  # in the database's folder, not zones


@dataclass(frozen=True)
class Settings:
    """One officer's settings; ``updated`` (ms) is None while they are the defaults."""

    lang: str = "en"
    time_zone: str = "UTC"
    sound: bool = True
    alarm_severity: str = "Severe"
    alarm_exercise: bool = False
    updated: int | None = None

    def to_dict(self) -> dict[str, object]:
        """The settings as JSON."""
        return dataclasses.asdict(self)


FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if f.name != "updated")


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA zones of this host's time-zone database (read once)."""
    return frozenset(zoneinfo.available_timezones() - HOST_FILES)


def settings_of(store: Store, officer: str) -> Settings:
    """The settings of ``officer``: its own, or the defaults."""
    with store.read() as conn:
        found = rows.settings_of(conn, officer)
    return Settings() if found is None else _from_record(found)


def change(store: Store, officer: str, now: int, **fields: object) -> Settings:
    """Change some of ``officer``'s settings (the others stay); its settings after."""
    for name, value in fields.items():
        _check(name, value)
    if not fields:
        return settings_of(store, officer)
    with store.write() as tx:
        found = rows.settings_of(tx, officer)
        current = Settings() if found is None else _from_record(found)
        # The values are checked above; replace cannot know their types from **fields.
        changed = dataclasses.replace(current, **fields, updated=now)  # type: ignore[arg-type]
        rows.put(
            tx,
            rows.SettingsRecord(
                officer,
                changed.lang,
                changed.time_zone,
                changed.sound,
                changed.alarm_severity,
                changed.alarm_exercise,
                now,
            ),
        )
    return changed


def _check(name: str, value: object) -> None:
    """Refuse a value ``name`` may not take, naming the field and what it may be."""
    if name not in FIELDS:
        raise InvalidEntryError(
            f"{name}: no such setting; the settings are {', '.join(FIELDS)}", field=name
        )
    if name in ("sound", "alarm_exercise"):
        if not isinstance(value, bool):
            raise InvalidEntryError(f"{name}: must be true or false", field=name)
    elif name == "lang" and value not in LANGS:
        raise InvalidEntryError(f"lang: {value!r} is none of {', '.join(LANGS)}", field=name)
    elif name == "alarm_severity" and value not in ALARM_SEVERITIES:
        raise InvalidEntryError(
            f"alarm_severity: {value!r} is none of {', '.join(ALARM_SEVERITIES)}", field=name
        )
    elif name == "time_zone" and (not isinstance(value, str) or value not in time_zones()):
        raise InvalidEntryError(
            f"time_zone: {value!r} is no IANA time zone",
            field=name,
            hint="name one as the tz database does, e.g. UTC, Asia/Tokyo, Europe/Moscow",
        )


def _from_record(record: rows.SettingsRecord) -> Settings:
    return Settings(
        record.lang,
        record.time_zone,
        record.sound,
        record.alarm_severity,
        record.alarm_exercise,
        record.updated,
    )
