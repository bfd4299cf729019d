"""Bodies are served by exactly the audience rule of ``Header.readable_by``, on every log held."""

from __future__ import annotations

from parley.core.entry import parse_header
from parley.node.federation.items import readable
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.store import logs


def test_the_stored_audience_rule_is_header_readable_by(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    us.append([
        kit.check(1), kit.hotline("JP", "for JP"),
        Draft("check", "Exercise", {"nonce": "1" * 32, "deadlines": {}}, ("JP", "KR"), "RED"),
        Draft("check", "Exercise", {"nonce": "2" * 32, "deadlines": {}}, "ALL", "CLEAR"),
        Draft("check", "Exercise", {"nonce": "3" * 32, "deadlines": {}}, ("KR",), "AMBER+STRICT"),
    ])  # fmt: skip
    kit.pin(us, jp)
    pull(jp, kit.pin(jp, us), kit.MemoryLog(us, "JP"))
    with jp.store.read() as conn:
        held = list(logs.iter_log(conn, "US")) + list(logs.iter_log(conn, "JP"))
    assert len({(e.audience, e.tlp) for e in held}) >= 5
    for stored in held:
        header = parse_header(stored.leaf)
        for reader in (None, "US", "JP", "KR", "CN"):
            assert readable(stored, reader) == header.readable_by(reader), (stored.seq, reader)
