"""Quotas from the policy: a flooding peer's entries are verified, stored header-only, flagged,
never receipted, observed once per run, and its pull pauses."""

from __future__ import annotations

from parley.core.entry import Body, parse_header
from parley.node.federation.pull import pull
from parley.store import logs
from parley.store.entries import EntryFlag

QUOTAS = {"entries_per_minute": 600, "bytes_per_minute": 1_000_000, "addressed_per_minute": 4}


def test_flooding_attack_is_stored_header_only_flagged_and_observed(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", quotas=QUOTAS)
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(us, jp)
    us.append([kit.check(n) for n in range(10)])  # ten addressed entries within one minute
    report = pull(jp, kit.pin(jp, us), kit.MemoryLog(us, "JP"))
    assert report.throttled and report.breaches == 6 and report.receipts == 4
    with jp.store.read() as conn:
        held = list(logs.iter_log(conn, "US"))
        mine = [(parse_header(e.leaf), e) for e in logs.iter_log(conn, "JP")]
    flagged = [e.seq for e in held if e.flag == EntryFlag.OVER_QUOTA]
    assert flagged == list(range(7, 13))
    assert all(e.body is None and e.salt is None for e in held if e.flag == EntryFlag.OVER_QUOTA)
    assert len(held) == us.size()  # the whole tree is verified and held all the same
    receipted = {
        Body(e.salt or b"", e.body or b"").value()["entry"]["ref"]
        for h, e in mine
        if h.kind == "receipt"
    }
    assert receipted == {f"US:{seq}" for seq in range(3, 7)}
    (observation,) = [
        Body(e.salt or b"", e.body or b"").value() for h, e in mine if h.kind == "observation"
    ]
    assert observation["type"] == EntryFlag.OVER_QUOTA and observation["entry"]["ref"] == "US:7"
    assert "6 entries (US:7..US:12)" in observation["detail"]
    assert "4 addressed entries per minute" in observation["detail"]


def test_quota_window_spans_pulls(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", quotas=QUOTAS)
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(us, jp)
    peer = kit.pin(jp, us)
    us.append([kit.check(n) for n in range(3)])
    assert pull(jp, peer, kit.MemoryLog(us, "JP")).breaches == 0
    us.append([kit.check(n) for n in range(3, 6)])  # within the same minute: 6 > 4
    report = pull(jp, peer, kit.MemoryLog(us, "JP"))
    assert report.breaches == 2 and report.receipts == 1


def test_entries_from_the_future_attack_cannot_dodge_the_quota(network, kit) -> None:  # type: ignore[no-untyped-def]
    """Claiming times ahead of the clock would spread a flood thin: such entries are flagged."""
    from parley.node.node import now_ms

    nodes = network("US", "JP", quotas=QUOTAS)
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(us, jp)
    us.append([kit.check(1)], now=now_ms() + 3_600_000)  # an hour ahead
    report = pull(jp, kit.pin(jp, us), kit.MemoryLog(us, "JP"))
    assert report.breaches == 1 and report.receipts == 0
    with jp.store.read() as conn:
        assert logs.get_entry(conn, "US", 3).flag == EntryFlag.CLOCK_SKEW  # type: ignore[union-attr]
    # reported as what it broke, never as "over quota"
    assert report.breach_flags == {EntryFlag.CLOCK_SKEW: 1}
    assert report.breach_summary() == "1 entry stored header-only (1 clock-skew)"
