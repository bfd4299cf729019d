"""Exponential backoff shared by the per-peer pulls and the webhook sender."""

from __future__ import annotations

import random

BACKOFF_MAX_S = 3600


def backoff_ms(failures: int) -> int:
    """1, 2, 4 ... seconds after the 1st, 2nd, 3rd ... failure, up to an hour, 10% jitter."""
    base = min(2 ** max(failures - 1, 0), BACKOFF_MAX_S) * 1000
    return int(base * (0.9 + 0.2 * random.random()))  # noqa: S311 - jitter, not secrecy
