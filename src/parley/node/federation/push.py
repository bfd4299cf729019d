"""Push: an add-checkpoint submission that carries the entries it adds (protocol s6.2).

``POST /fed/v1/push`` is the C2SP tlog-witness add-checkpoint submission (``submission``) from a
pinned peer about its own log, with the entries from ``old`` to the checkpoint's size as
``get-entries`` items, as JSON::

    {"submission": "<add-checkpoint body>", "entries": [{"leaf_input": ..., "body": ...}, ...]}

``build_body`` writes it (the author's side) and ``receive`` reads and applies it (the peer's
side): one module owns the form. The entries are verified exactly as fetched ones and stored in
the transaction that records and cosigns the checkpoint; what cannot be taken whole is left to
the pull, which asks the author only for the rest. A delivery hop costs one request and one
durable commit instead of two of each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from parley.core.errors import (
    BadSubmissionError,
    ConcurrentIngestError,
    NotAuthorizedError,
    PeerProtocolError,
)
from parley.node.federation import ingest, submission
from parley.node.federation.items import entry_item
from parley.node.federation.peer_client import Fetched, decode_item
from parley.node.federation.pull import POLL_MS, Hint, verify_push
from parley.node.node import Node
from parley.store import logs
from parley.store import peers as peer_rows

PUSH_MAX_ENTRIES = 64
PUSH_MAX_BYTES = 512 * 1024
PUSH_MAX_DEPTH = 3  # {"entries": [{"leaf_input": "..."}]}: an object, a list, an object


def build_body(submitted: bytes, stored: list[logs.StoredEntry], reader: str) -> bytes:
    """A push body: the add-checkpoint ``submitted``, and the entries as ``reader`` may see them."""
    entries = [entry_item(entry, reader) for entry in stored]
    return json.dumps({"submission": submitted.decode("utf-8"), "entries": entries}).encode()


def parse_body(body: bytes) -> Any:
    """The JSON document of a push body, within ``PUSH_MAX_BYTES`` and ``PUSH_MAX_DEPTH``.

    orjson refuses invalid UTF-8 and lone surrogates, and stops at 1024 levels on its own (no
    recursion to exhaust); the depth a push may have is much smaller, and checked after.
    """
    if len(body) > PUSH_MAX_BYTES:
        raise BadSubmissionError(f"push body is over {PUSH_MAX_BYTES} bytes")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise _too_deep() from exc
        raise BadSubmissionError(f"push body is not JSON: {exc}") from exc
    if _depth(doc) > PUSH_MAX_DEPTH:
        raise _too_deep()
    return doc


def _too_deep() -> BadSubmissionError:
    return BadSubmissionError(f"push body nests deeper than {PUSH_MAX_DEPTH} levels")


def _depth(doc: Any) -> int:
    """How deeply lists and objects nest in ``doc`` (iterative: no recursion on hostile input)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        value, level = todo.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level <= PUSH_MAX_DEPTH:  # deeper than that is refused anyway
                todo.extend((child, level + 1) for child in children)
    return deepest


@dataclass(frozen=True)
class Pushed:
    """What a push did: the cosignature, and the entries stored with it (else: the hint)."""

    party: str
    hint: Hint
    line: str
    stored: ingest.Stored | None


def _parts(caller: str | None, body: bytes) -> tuple[bytes, list[Fetched]]:
    """The submission and the entries of a push body, its caller checked against its origin."""
    doc = parse_body(body)
    submitted = doc.get("submission") if isinstance(doc, dict) else None
    items = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(submitted, str) or not isinstance(items, list):
        raise BadSubmissionError("push body needs 'submission' (text) and 'entries' (a list)")
    if len(items) > PUSH_MAX_ENTRIES:
        raise BadSubmissionError(f"push carries {len(items)} entries, over {PUSH_MAX_ENTRIES}")
    raw = submitted.encode("utf-8")
    old, _proof, _note, claimed = submission.parse_claimed(raw)
    party = claimed.origin.rsplit("/", 1)[-1]
    if caller is None or caller != party:
        raise NotAuthorizedError(
            f"a push about {party}'s log must come from {party} itself, signed by its http key"
        )
    try:
        pushed = [decode_item(item, "push entry") for item in items]
    except PeerProtocolError as exc:
        raise BadSubmissionError(exc.message) from exc
    if old + len(pushed) > claimed.size:
        raise BadSubmissionError(
            f"push carries {len(pushed)} entries from {old}, beyond the checkpoint's size "
            f"{claimed.size}"
        )
    return raw, pushed


def receive(
    node: Node,
    caller: str | None,
    body: bytes,
    now: int,
    cache: ingest.CursorCache | None = None,
) -> Pushed:
    """``submission.receive`` for a push: the submission, and the entries it carries.

    Only a pinned peer may push, and only about its own log. With the server's cursor ``cache``
    the entries are verified first (``pull.verify_push``) and stored in the transaction that
    records and cosigns the checkpoint: one durable commit per hop, and the cosignature leaves
    only once both are on disk. Entries that cannot be taken so stay in the hint, for the pull.
    """
    raw, pushed = _parts(caller, body)
    submitted = submission.check(node, raw)
    hint = Hint(submitted.note, submitted.old, submitted.proof, pushed)
    verified = None if cache is None else verify_push(node, submitted.peer, hint, cache)
    stored = None
    with node.store.write() as tx:
        line = submission.record(node, tx, submitted, now)
        if line is not None and verified is not None:
            try:
                with tx.begin_nested():
                    page, target = verified.page, verified.target
                    stored = ingest.store_page(node, tx, page, target=target, refused=True, now=now)
            except ConcurrentIngestError:
                stored = None  # a pull stored them meanwhile, or some of them
            if stored is not None:
                peer_rows.record_success(tx, submitted.party, now, POLL_MS)
    if line is None:
        raise submission.equivocated(submitted)
    if stored is not None and verified is not None and cache is not None:
        cache.keep(verified.cursor)
    return Pushed(submitted.party, hint, line, stored)
