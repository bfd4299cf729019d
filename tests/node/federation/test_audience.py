"""Bodies are served by exactly the audience rule of ``Header.readable_by``, on every log held.

One rule (``parley.core.entry.readable_by``, DESIGN.md invariant 4) decides for a parsed header
and for a stored row alike; these tests hold the stored-row path (``items.readable``, and what
``entry_item`` serves) to the header's answer, on rows a real pull stored and on every shape of
audience, TLP, author and reader hypothesis draws.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from parley.core.entry import ALL, TLP_LABELS, Audience, Header, parse_header
from parley.node.federation.items import entry_item, readable
from parley.node.federation.pull import pull
from parley.node.log import Draft
from parley.store import logs

PARTIES = ("US", "JP", "KR", "CN", "RU", "KP")
parties = st.sampled_from(PARTIES)
audiences: st.SearchStrategy[Audience] = st.just(ALL) | st.lists(
    parties, min_size=1, max_size=4, unique=True
).map(lambda named: tuple(sorted(named)))
readers = st.none() | parties


def stored_as_the_store_keeps_it(header: Header) -> logs.StoredEntry:
    """The row ingest writes for ``header``: audience as ``"ALL"`` or ``"A,B"``, with a body."""
    audience = ALL if header.audience == ALL else ",".join(header.audience)
    return logs.StoredEntry(
        party=header.party,
        seq=header.seq,
        ingest=1,
        leaf=b"{}",
        leaf_hash=b"\0" * 32,
        kind=header.kind,
        time=header.time,
        body=b"{}",
        salt=b"\1" * 32,
        flag=None,
        audience=audience,
        tlp=header.tlp,
    )


TEMPLATE = Header(
    network="parley-test",
    policy="0" * 64,
    party="US",
    node="US",
    seq=0,
    time=0,
    kind="check",
    status="Exercise",
    audience=ALL,
    tlp="GREEN",
    body_hash="0" * 64,
    body_size=2,
    kid="0" * 16,
    sig="",
)


@given(author=parties, audience=audiences, tlp=st.sampled_from(TLP_LABELS), reader=readers)
def test_a_stored_row_is_readable_exactly_when_its_header_is(
    author: str, audience: Audience, tlp: str, reader: str | None
) -> None:
    header = replace(TEMPLATE, party=author, node=author, audience=audience, tlp=tlp)
    stored = stored_as_the_store_keeps_it(header)
    assert readable(stored, reader) == header.readable_by(reader)
    served = entry_item(stored, reader)
    assert ("body" in served) == ("salt" in served) == header.readable_by(reader)


@given(author=parties, audience=audiences, tlp=st.sampled_from(TLP_LABELS), reader=readers)
def test_readers_see_only_what_they_may(
    author: str, audience: Audience, tlp: str, reader: str | None
) -> None:
    """Invariant 4, stated without the rule's code: who reads a body, and who never does."""
    header = replace(TEMPLATE, party=author, node=author, audience=audience, tlp=tlp)
    public = audience == ALL and tlp == "CLEAR"
    if reader is None:
        assert header.readable_by(reader) == public  # anonymous callers: ALL + CLEAR only
    elif reader == author or audience == ALL:
        assert header.readable_by(reader)
    else:
        assert header.readable_by(reader) == (reader in audience)


def test_the_stored_audience_rule_is_header_readable_by(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP", "KR")
    us, jp = nodes["US"], nodes["JP"]
    us.append(
        [
            kit.check(1),
            kit.hotline("JP", "for JP"),
            Draft("check", "Exercise", {"nonce": "1" * 32, "deadlines": {}}, ("JP", "KR"), "RED"),
            Draft("check", "Exercise", {"nonce": "2" * 32, "deadlines": {}}, "ALL", "CLEAR"),
            Draft(
                "check", "Exercise", {"nonce": "3" * 32, "deadlines": {}}, ("KR",), "AMBER+STRICT"
            ),
        ]
    )
    kit.pin(us, jp)
    pull(jp, kit.pin(jp, us), kit.MemoryLog(us, "JP"))
    with jp.store.read() as conn:
        held = list(logs.iter_log(conn, "US")) + list(logs.iter_log(conn, "JP"))
    assert len({(e.audience, e.tlp) for e in held}) >= 5
    for stored in held:
        header = parse_header(stored.leaf)
        for reader in (None, "US", "JP", "KR", "CN"):
            assert readable(stored, reader) == header.readable_by(reader), (stored.seq, reader)
