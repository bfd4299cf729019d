"""Federation endpoints beyond the RFC 6962-shaped log routes: wake-ups and witnessing.

* ``POST /fed/v1/add-checkpoint`` (C2SP tlog-witness): a peer submits its new checkpoint with a
  consistency proof; verified, it wakes the pull of that peer
  (``parley.node.federation.submission``), and the answer is this node's cosignature line
  (C2SP tlog-cosignature).
* ``POST /fed/v1/push``: the same submission by the log's author, carrying the entries it adds;
  verified as a pull would, they are stored with the cosignature record in one commit, and what
  cannot be taken so is left to the pull (``parley.node.federation.push``).
* ``GET /fed/v1/checkpoint``: this node's latest checkpoint with the cosignatures it holds;
  ``GET /fed/v1/witnessed/<party>``: what this node last cosigned for a log (gossip);
  ``GET /fed/v1/witnessed``: all of them at once, by party.

The mirrors, ``GET /fed/v1/mirror/<party>/{get-sth, get-sth-consistency, get-proof-by-hash,
get-entries}``, are the author's RFC 6962-shaped routes mounted a second time
(``parley.api.log_api``).

The two routes that take a body have their limits in ``BODY_LIMITS`` (``parley.api.limits``
enforces them before a byte is read); a push from an anonymous caller is refused before its
body is read at all.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from parley.api.log_api import PartyPath
from parley.api.problems import require_peer
from parley.api.workers import runtime_of
from parley.core.errors import NotFoundError, SizeConflictError
from parley.node.federation import submission, witnessing
from parley.node.federation.pull import Hint
from parley.node.federation.push import PUSH_MAX_BYTES, Pushed
from parley.node.federation.push import receive as receive_push
from parley.node.node import Node, now_ms
from parley.node.runtime import HandOver
from parley.node.runtime.submissions import SIZE_MEDIA_TYPE
from parley.store import witnessing as witness_rows

router = APIRouter(prefix="/fed/v1")
BODY_LIMITS = {  # bytes; every other route takes none (``parley.api.limits``)
    ("POST", "/fed/v1/add-checkpoint"): submission.MAX_REQUEST,
    ("POST", "/fed/v1/push"): PUSH_MAX_BYTES,
}


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


@router.post("/add-checkpoint")
async def add_checkpoint(request: Request) -> Response:
    """C2SP tlog-witness: verify a peer's checkpoint, wake its pull, answer the cosignature."""
    import anyio

    node = _node(request)
    body = await request.body()
    try:
        party, hint, line = await anyio.to_thread.run_sync(submission.receive, node, body, now_ms())
    except SizeConflictError as exc:
        return size_conflict(exc.size)
    return _woken(request, party, hint, line)


@router.post("/push")
async def push(request: Request) -> Response:
    """``add-checkpoint`` from the log's author, with the entries it adds (``federation.push``)."""
    import anyio

    node = _node(request)
    caller = require_peer(request, "a push")  # the log's author, checked once its body is read
    body = await request.body()
    runtime = runtime_of(request.app)  # the leader's stores what came; others leave it

    def receive() -> tuple[Pushed, HandOver | None]:
        pushed = receive_push(node, caller, body, now_ms(), runtime.cursors)
        stored = pushed.stored
        if stored is None or stored.observations or not stored.receipts:
            return pushed, None
        return pushed, runtime.prepare_hand_over(pushed.party, stored.receipts)

    try:
        pushed, hand_over = await anyio.to_thread.run_sync(receive)
    except SizeConflictError as exc:
        return size_conflict(exc.size)
    if pushed.stored is None:
        return _woken(request, pushed.party, pushed.hint, pushed.line)
    if hand_over is not None:
        runtime.handed_over(hand_over)  # its receipts go to the pusher at once
    elif pushed.stored.observations:
        runtime.log_grew()  # this node's log grew: announce it now
    return Response(pushed.line, status_code=200, media_type="text/plain; charset=utf-8")


def size_conflict(size: int) -> Response:
    """C2SP tlog-witness's 409: the recorded size, Content-Type exactly ``text/x.tlog.size``.

    Starlette adds ``; charset=utf-8`` to any ``text/`` media type it is given, so the header
    is set by hand.
    """
    return Response(
        f"{size}\n".encode("ascii"), status_code=409, headers={"content-type": SIZE_MEDIA_TYPE}
    )


def _woken(request: Request, party: str, hint: Hint, line: str) -> Response:
    """Wake the pull of ``party`` and answer with this node's cosignature."""
    runtime_of(request.app).wake(party, hint)
    return Response(line, status_code=200, media_type="text/plain; charset=utf-8")


@router.get("/checkpoint")
def checkpoint(request: Request) -> Response:
    """The latest checkpoint of this node's log with every cosignature held on it (signed note)."""
    node = _node(request)
    with node.store.read() as conn:
        note = witnessing.cosigned_checkpoint(conn, node.party)
    if note is None:
        raise NotFoundError("this node has no checkpoint yet")
    return Response(note, media_type="text/plain; charset=utf-8")


@router.get("/witnessed")
def witnessed_all(request: Request) -> dict[str, str]:
    """Every log's checkpoint this node last cosigned, by party (one request per gossip round)."""
    with _node(request).store.read() as conn:
        return {row.party: row.note for row in witness_rows.all_witnessed(conn)}


@router.get("/witnessed/{party}")
def witnessed(request: Request, party: PartyPath) -> Response:
    """The checkpoint of ``party``'s log that this node last cosigned, with its cosignature."""
    with _node(request).store.read() as conn:
        row = witness_rows.get_witnessed(conn, party)
    if row is None:
        raise NotFoundError(f"this node has cosigned no checkpoint of {party}'s log")
    return Response(row.note, media_type="text/plain; charset=utf-8")


monitor_router = APIRouter()


@monitor_router.get("/{origin_hash}/checkpoint")
def monitored(
    request: Request, origin_hash: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]
) -> Response:
    """C2SP tlog-witness's monitoring endpoint, beside ``/fed/v1/witnessed/<party>``.

    The latest checkpoint cosigned for the origin whose SHA-256 is ``origin_hash`` (lower-case
    hex), with this node's cosignature.
    """
    with _node(request).store.read() as conn:
        note = witnessing.witnessed_by_origin(conn, origin_hash)
    if note is None:
        raise NotFoundError(f"this node has cosigned no checkpoint of origin hash {origin_hash}")
    return Response(note, media_type="text/plain; charset=utf-8")
