"""Replication, receipts, wake-ups and the nonce cache on both engines (SQLite, PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest

from parley.core.errors import RequestSignatureError
from parley.node.federation import submission
from parley.node.federation.http_signatures import (
    IncomingRequest,
    Recipient,
    RequestSigner,
    RequestVerifier,
)
from parley.node.federation.pull import pull
from parley.node.messaging import receipts
from parley.node.node import now_ms
from parley.store import logs


def test_replication_round_trip_on_each_engine(network, kit, database) -> None:  # type: ignore[no-untyped-def]
    databases = {} if database is None else {"JP": database}
    nodes = network("US", "JP", databases=databases)
    us, jp = nodes["US"], nodes["JP"]
    kit.pin(us, jp)
    peer = kit.pin(jp, us)
    us.append([kit.check(1), kit.hotline("JP", "hello")])
    with us.store.read() as conn:
        note = logs.latest_checkpoint(conn, "US")
    assert note is not None
    _party, hint, _line = submission.receive(jp, submission.build_body(0, [], note[1]), now_ms())
    report = pull(jp, peer, kit.MemoryLog(us, "JP"), hint=hint)
    assert report.stored == us.size() and report.receipts == 2
    receipts.acknowledge(jp, "US:4", "duty", "seen", now_ms())
    header, rows = receipts.status(jp, "US:4")
    assert header.ref == "US:4" and rows[0].status == "acknowledged"
    request = httpx.Request("GET", "http://127.0.0.1:1/fed/v1/get-sth", headers={"parley-to": "JP"})
    key = us.log.key("http")
    RequestSigner(key).sign(request)
    verifier = RequestVerifier(jp.store)
    incoming = IncomingRequest("GET", str(request.url), dict(request.headers))
    keys = {key.kid: ("US", key.public)}
    me = Recipient("JP", ("http://127.0.0.1:1",))
    assert verifier.verify(incoming, b"", keys, now_ms(), me) is not None
    with pytest.raises(RequestSignatureError, match="replayed"):
        verifier.verify(incoming, b"", keys, now_ms(), me)
