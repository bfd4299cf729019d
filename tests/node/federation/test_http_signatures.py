"""Signed federation requests (RFC 9421): what the receiver accepts, and every replay it refuses."""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from pathlib import Path

import httpx
import pytest
from http_message_signatures import HTTPMessageSigner, algorithms
from sqlalchemy import func, select

from parley.core.errors import ParleyError, RequestSignatureError
from parley.core.keys import SigningKey
from parley.node.federation.http_signatures import (
    COVERED,
    FLUSH_S,
    TAG,
    IncomingRequest,
    Recipient,
    RequestSigner,
    RequestVerifier,
    _Keys,
)
from parley.node.node import now_ms
from parley.store.engine import Store, sqlite_url
from parley.store.schema import nonces

URL = "http://127.0.0.1:8701/fed/v1/get-entries?start=0&end=9"
ME = Recipient("JP", ("http://127.0.0.1:8701",))  # the verifying node


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(sqlite_url(tmp_path / "node.db"))
    store.migrate()
    return store


@pytest.fixture
def cn_key() -> SigningKey:
    return SigningKey.generate()


def signed(
    key: SigningKey,
    method: str = "GET",
    url: str = URL,
    content: bytes | None = None,
    created: dt.datetime | None = None,
    to: str = "JP",
) -> httpx.Request:
    request = httpx.Request(method, url, content=content, headers={"parley-to": to})
    RequestSigner(key).sign(request, created=created)
    return request


def incoming(request: httpx.Request, url: str | None = None) -> IncomingRequest:
    return IncomingRequest(request.method, url or str(request.url), dict(request.headers))


VERIFIERS: weakref.WeakKeyDictionary[Store, RequestVerifier] = weakref.WeakKeyDictionary()


def verifier_of(store: Store) -> RequestVerifier:
    """One verifier per store, as one server process holds one."""
    if store not in VERIFIERS:
        VERIFIERS[store] = RequestVerifier(store, skew_ms=30_000)
    return VERIFIERS[store]


def verify(
    store: Store,
    key: SigningKey,
    request: IncomingRequest,
    body: bytes = b"",
    recipient: Recipient = ME,
) -> object:
    keys = {key.kid: ("CN", key.public)}
    return verifier_of(store).verify(request, body, keys, now_ms(), recipient)


def test_a_signed_request_authenticates_its_peer(store: Store, cn_key: SigningKey) -> None:
    request = signed(cn_key)
    caller = verify(store, cn_key, incoming(request))
    assert getattr(caller, "party", None) == "CN"
    assert 'tag="parley-fed/v2"' in request.headers["signature-input"]
    assert (
        '("@method" "@authority" "@target-uri" "parley-to")' in request.headers["signature-input"]
    )


def test_replayed_request_attack(store: Store, cn_key: SigningKey) -> None:
    request = signed(cn_key)
    verify(store, cn_key, incoming(request))
    with pytest.raises(RequestSignatureError, match="replayed"):
        verify(store, cn_key, incoming(request))


def test_replay_to_another_worker_attack(store: Store, cn_key: SigningKey) -> None:
    """The nonce cache is written behind to the database: a second worker sees the first's."""
    request = signed(cn_key)
    verify(store, cn_key, incoming(request))
    deadline = time.monotonic() + 5
    while _stored_nonces(store) == 0 and time.monotonic() < deadline:
        time.sleep(FLUSH_S / 5)  # the write-behind thread, within FLUSH_S
    assert _stored_nonces(store) == 1
    other_worker = Store(store.url)
    with pytest.raises(RequestSignatureError, match="replayed"):
        verify(other_worker, cn_key, incoming(request))


def test_replay_after_a_restart_attack(store: Store, cn_key: SigningKey) -> None:
    request = signed(cn_key)
    verify(store, cn_key, incoming(request))
    verifier_of(store).flush()  # what a stopping server does
    restarted = RequestVerifier(Store(store.url), skew_ms=30_000)
    with pytest.raises(RequestSignatureError, match="replayed"):
        restarted.verify(incoming(request), b"", {cn_key.kid: ("CN", cn_key.public)}, now_ms(), ME)


def test_authentication_does_not_wait_for_the_write_lock(store: Store, cn_key: SigningKey) -> None:
    """A log commit in progress holds the write lock; a signed request is checked meanwhile."""
    holding, done = threading.Event(), threading.Event()

    def commit_in_progress() -> None:
        with store.write():
            holding.set()
            done.wait(timeout=30)

    holder = threading.Thread(target=commit_in_progress)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        caller = verify(store, cn_key, incoming(signed(cn_key)))
        assert getattr(caller, "party", None) == "CN"
        assert _stored_nonces(store) == 0  # written behind, once the lock is free
    finally:
        done.set()
        holder.join()
    verifier_of(store).flush()
    assert _stored_nonces(store) == 1


def _stored_nonces(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(nonces)).scalar_one())


def test_stale_request_attack(store: Store, cn_key: SigningKey) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with pytest.raises(RequestSignatureError, match="age|created"):
        verify(store, cn_key, incoming(signed(cn_key, created=old)))


def test_request_from_the_future_attack(store: Store, cn_key: SigningKey) -> None:
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    with pytest.raises(RequestSignatureError, match="future"):
        verify(store, cn_key, incoming(signed(cn_key, created=ahead)))


def test_retargeted_request_attack(store: Store, cn_key: SigningKey) -> None:
    request = signed(cn_key)
    elsewhere = URL.replace("end=9", "end=999")
    with pytest.raises(RequestSignatureError):
        verify(store, cn_key, incoming(request, elsewhere))


def test_swapped_body_attack(store: Store, cn_key: SigningKey) -> None:
    request = signed(cn_key, "POST", URL, b"old 0\n\ncheckpoint\n")
    with pytest.raises(RequestSignatureError, match="Content-Digest|digest"):
        verify(store, cn_key, incoming(request), b"old 9\n\nanother\n")


def test_signature_without_nonce_is_refused(store: Store, cn_key: SigningKey) -> None:
    request = httpx.Request("GET", URL, headers={"parley-to": "JP"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys({cn_key.kid: cn_key.private}, {})
    )
    signer.sign(request, key_id=cn_key.kid, label="parley", tag=TAG, covered_component_ids=COVERED)
    with pytest.raises(RequestSignatureError, match="nonce"):
        verify(store, cn_key, incoming(request))


def test_signature_by_a_key_of_no_peer_is_anonymous(store: Store, cn_key: SigningKey) -> None:
    stranger = SigningKey.generate()
    assert verify(store, cn_key, incoming(signed(stranger))) is None


def test_signature_by_a_peer_key_for_another_peer_fails(store: Store, cn_key: SigningKey) -> None:
    """A forged signature under a pinned peer's key id is refused, never served anonymously."""
    request = signed(SigningKey.generate())
    forged = request.headers["signature-input"].split("keyid=")[0]
    rest = request.headers["signature-input"].split("keyid=")[1].split(";", 1)[1]
    headers = dict(request.headers)
    headers["signature-input"] = f'{forged}keyid="{cn_key.kid}";{rest}'
    with pytest.raises(RequestSignatureError):
        verify(store, cn_key, IncomingRequest("GET", URL, headers))


def test_request_signed_for_another_node_is_refused_whatever_its_host_header(
    store: Store, cn_key: SigningKey
) -> None:
    """The authority is checked against the receiver's own URLs, never the Host header."""
    to_kr = signed(cn_key, url=URL.replace("8701", "8702"), to="KR")
    headers = dict(to_kr.headers) | {"host": "127.0.0.1:8701"}
    relayed = IncomingRequest("GET", URL, headers)  # as the receiving server parsed it
    with pytest.raises(RequestSignatureError, match="addressed to KR, not to JP"):
        verify(store, cn_key, relayed)


def test_request_to_this_address_for_another_party_is_refused(
    store: Store, cn_key: SigningKey
) -> None:
    """Two nodes behind one address: the covered Parley-To keeps their requests apart."""
    with pytest.raises(RequestSignatureError, match="addressed to 'KR', not to JP"):
        verify(store, cn_key, incoming(signed(cn_key, to="KR")))


def test_rewritten_recipient_header_breaks_the_signature(store: Store, cn_key: SigningKey) -> None:
    request = signed(cn_key, url=URL.replace("8701", "8702"), to="KR")
    headers = dict(request.headers) | {"parley-to": "JP"}
    with pytest.raises(RequestSignatureError, match="does not verify as a request to this node"):
        verify(store, cn_key, IncomingRequest("GET", URL, headers))


def test_signature_under_the_retired_tag_is_refused_by_name(
    store: Store, cn_key: SigningKey
) -> None:
    request = httpx.Request("GET", URL, headers={"parley-to": "JP"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys({cn_key.kid: cn_key.private}, {})
    )
    signer.sign(
        request,
        key_id=cn_key.kid,
        label="parley",
        tag="parley-fed/v1",
        nonce="n1",
        created=dt.datetime.now(dt.UTC),
        covered_component_ids=("@method", "@target-uri"),
    )
    with pytest.raises(RequestSignatureError, match="parley-fed/v1.*parley-fed/v2"):
        verify(store, cn_key, incoming(request))


def test_a_signature_older_than_the_skew_tolerance_is_refused(
    store: Store, cn_key: SigningKey
) -> None:
    """One bound: ``created`` within the tolerance (30 s here) of now, not twice that."""
    late = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=45)
    with pytest.raises(RequestSignatureError, match="age"):
        verify(store, cn_key, incoming(signed(cn_key, created=late)))
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)
    assert verify(store, cn_key, incoming(signed(cn_key, created=recent))) is not None


def test_a_request_without_a_recipient_is_not_signed(cn_key: SigningKey) -> None:
    with pytest.raises(ParleyError, match="names no recipient"):
        RequestSigner(cn_key).sign(httpx.Request("GET", URL))
