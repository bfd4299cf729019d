"""Per-peer quotas and size limits from the network policy (DESIGN.md, Federation).

The policy sets, for every member, how many entries, how many body bytes and how many
addressed entries it may write per minute, and the largest body. A peer's validly signed entry
that breaks one of these cannot be dropped from a log that is verified in order, so it is
stored header-only, flagged (``over-quota`` or ``policy-breach``), never receipted, and an
``observation`` records the breach. The pull from that peer then pauses for a window, so a
flooding peer is slowed, while its tree is still verified entry by entry.

The rate is measured on the entries' signed ``time``, in a sliding window of one minute: what
the author did, the same at every node, and not a burst of catch-up after an outage. So that
the rate cannot be dodged by claiming times ahead, an entry whose time is ahead of this node's
clock by more than the policy's skew tolerance is handled the same way (flag ``clock-skew``).
Key and policy entries count but are never flagged: the log cannot be verified without them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import Connection

from parley.core.entry import ADDRESSED_KINDS, Header, parse_header
from parley.core.policy import PolicyDocument
from parley.store import entries as entry_rows
from parley.store.entries import EntryFlag

WINDOW_MS = 60_000
NEVER_FLAGGED = frozenset({"key", "policy"})


@dataclass
class QuotaWindow:
    """The last minute (by signed time) of one peer's log, with running totals."""

    entries_per_minute: int
    bytes_per_minute: int
    addressed_per_minute: int
    body_limit: int
    future_limit: int | None = None  # now + the policy's clock-skew tolerance
    recent: deque[tuple[int, int, bool]] = field(default_factory=deque)
    count: int = 0
    size: int = 0
    addressed: int = 0

    @classmethod
    def restore(
        cls,
        conn: Connection,
        party: str,
        last_time: int,
        policy: PolicyDocument,
        now: int | None = None,
    ) -> QuotaWindow:
        """The window of ``party``'s last minute before ``last_time``, from stored entries."""
        quotas = policy.quotas
        future = None if now is None else now + policy.skew_tolerance_ms
        window = cls(
            quotas.entries_per_minute,
            quotas.bytes_per_minute,
            quotas.addressed_per_minute,
            policy.limits.body_bytes,
            future,
        )
        for leaf in entry_rows.leaves_since(conn, party, last_time - WINDOW_MS):
            window._push(parse_header(leaf))
        return window

    def reset_clock(self, policy: PolicyDocument, now: int) -> None:
        """Reuse the window at a later time (and under the policy in force then)."""
        quotas = policy.quotas
        self.entries_per_minute = quotas.entries_per_minute
        self.bytes_per_minute = quotas.bytes_per_minute
        self.addressed_per_minute = quotas.addressed_per_minute
        self.body_limit = policy.limits.body_bytes
        self.future_limit = now + policy.skew_tolerance_ms

    def _push(self, header: Header) -> None:
        addressed = header.kind in ADDRESSED_KINDS
        self.recent.append((header.time, header.body_size, addressed))
        self.count += 1
        self.size += header.body_size
        self.addressed += addressed
        while self.recent and self.recent[0][0] <= header.time - WINDOW_MS:
            _time, size, was_addressed = self.recent.popleft()
            self.count -= 1
            self.size -= size
            self.addressed -= was_addressed

    def admit(self, header: Header) -> tuple[str, str] | None:
        """Count the entry; return ``(flag, reason)`` if it breaks a quota or a limit."""
        self._push(header)
        if header.kind in NEVER_FLAGGED:
            return None
        if self.future_limit is not None and header.time > self.future_limit:
            return EntryFlag.CLOCK_SKEW, (
                f"time {header.time} is ahead of this node's clock by more than the policy's "
                "tolerance"
            )
        if header.body_size > self.body_limit:
            return EntryFlag.POLICY_BREACH, (
                f"body of {header.body_size} bytes over the policy's limit of {self.body_limit}"
            )
        if self.count > self.entries_per_minute:
            return EntryFlag.OVER_QUOTA, (
                f"over the quota of {self.entries_per_minute} entries per minute"
            )
        if self.size > self.bytes_per_minute:
            return EntryFlag.OVER_QUOTA, (
                f"over the quota of {self.bytes_per_minute} body bytes per minute"
            )
        if header.kind in ADDRESSED_KINDS and self.addressed > self.addressed_per_minute:
            return EntryFlag.OVER_QUOTA, (
                f"over the quota of {self.addressed_per_minute} addressed entries per minute"
            )
        return None
