"""The API authenticates a peer pinned a moment ago, not only after its key cache expires."""

from __future__ import annotations

import time

import httpx

from parley.api.peer_auth import UNKNOWN_KEY_RECHECK_S, Authenticator
from parley.node.federation.http_signatures import IncomingRequest, RequestSigner


def test_a_peer_pinned_just_now_is_authenticated_not_served_as_anonymous(network, kit) -> None:  # type: ignore[no-untyped-def]
    nodes = network("US", "JP")
    us, jp = nodes["US"], nodes["JP"]
    auth = Authenticator(jp)
    assert auth.keys() == {}  # cached: nobody pinned yet
    kit.pin(jp, us)
    time.sleep(UNKNOWN_KEY_RECHECK_S)  # the cache is older than the recheck bound, not 1 s
    request = httpx.Request(
        "GET", "http://127.0.0.1:8702/fed/v1/get-entries?start=0&end=1", headers={"parley-to": "JP"}
    )
    RequestSigner(us.log.key("http")).sign(request)
    caller = auth.verify(
        IncomingRequest(request.method, str(request.url), dict(request.headers)),
        b"",
        "http://127.0.0.1:8702",
    )
    assert caller is not None and caller.party == "US"
