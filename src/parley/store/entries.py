"""Entry flags and the entry queries of federation (pending bodies, recent leaves, indexes).

``entries.flag`` says why a stored entry of a peer's log (or of the own log after a restore)
has no body, or was stored header-only: ``EntryFlag`` is its one list of values. An entry that
breaks the policy is flagged by its breach (``over-quota``, ``policy-breach``, ``clock-skew``,
``deadline-bounds``); a body that did not come is ``body-pending`` (to fetch from the author),
``body-withheld`` (the author refused it) or ``body-lost`` (no peer held it at a restore).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from parley.store.engine import Writing
from parley.store.schema import communication_checks, entries, notification_keys


class EntryFlag(StrEnum):
    """Why a stored entry has no body (the values of ``entries.flag``)."""

    BODY_WITHHELD = "body-withheld"
    BODY_PENDING = "body-pending"
    BODY_LOST = "body-lost"
    OVER_QUOTA = "over-quota"
    POLICY_BREACH = "policy-breach"
    CLOCK_SKEW = "clock-skew"
    DEADLINE_BOUNDS = "deadline-bounds"


def flagged_seqs(conn: Connection, party: str, flag: EntryFlag, limit: int) -> list[int]:
    """The first ``limit`` seqs of ``party``'s log flagged ``flag``, ascending."""
    rows = conn.execute(
        select(entries.c.seq)
        .where(entries.c.party == party, entries.c.flag == flag.value)
        .order_by(entries.c.seq)
        .limit(limit)
    )
    return [row.seq for row in rows]


def count_flagged(conn: Connection, party: str, flag: EntryFlag) -> int:
    """How many entries of ``party``'s log are flagged ``flag``."""
    query = select(func.count()).where(entries.c.party == party, entries.c.flag == flag.value)
    return int(conn.execute(query).scalar_one())


def set_flag(tx: Writing, party: str, seq: int, flag: EntryFlag | None) -> None:
    """Set (or clear) the flag of one stored entry."""
    where = (entries.c.party == party) & (entries.c.seq == seq)
    tx.execute(update(entries).where(where).values(flag=None if flag is None else flag.value))


def leaves_since(conn: Connection, party: str, after_time: int) -> list[bytes]:
    """The leaves of ``party``'s entries whose signed time is after ``after_time``, by seq."""
    rows = conn.execute(
        select(entries.c.leaf)
        .where(entries.c.party == party, entries.c.time > after_time)
        .order_by(entries.c.seq)
    )
    return [row.leaf for row in rows]


def insert_notification_keys(tx: Writing, rows: Sequence[dict[str, Any]]) -> None:
    """Store rebuilt ``notification_keys`` rows (a restore of the own log)."""
    if rows:
        tx.execute(insert(notification_keys), list(rows))


def insert_communication_checks(tx: Writing, rows: Sequence[dict[str, Any]]) -> None:
    """Store rebuilt ``communication_checks`` rows (a restore of the own log)."""
    if rows:
        tx.execute(insert(communication_checks), list(rows))
