"""Rows of officer settings: language, time zone and alarm, one row per officer.

Values arrive checked by ``parley.node.settings``; this module only keeps them. An officer
without a row has the service's defaults. ``put`` writes the whole row inside the caller's write
transaction, which holds the single-writer lock, so updating and then inserting cannot race.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import officer_settings


@dataclass(frozen=True)
class SettingsRecord:
    """One officer's row: every setting and when it last changed (ms)."""

    officer: str
    lang: str
    time_zone: str
    sound: bool
    alarm_severity: str
    alarm_exercise: bool
    updated: int


def settings_of(conn: Connection, officer: str) -> SettingsRecord | None:
    """The row of ``officer``, or None when it never changed a setting."""
    row = conn.execute(
        select(officer_settings).where(officer_settings.c.officer == officer)
    ).first()
    return None if row is None else SettingsRecord(**row._mapping)


def put(tx: Writing, record: SettingsRecord) -> None:
    """Insert or replace the row of ``record.officer``."""
    values = asdict(record)
    changed = tx.execute(
        update(officer_settings).where(officer_settings.c.officer == record.officer).values(values)
    )
    if changed.rowcount == 0:
        tx.execute(insert(officer_settings).values(values))
