"""``/api/v1``: the node itself: peers, health, compliance, its log, evidence bundles.

Each route calls the service the CLI command named in its docstring calls. Releasing a held
peer is an administrator's and lands in the audit trail, as does an evidence export (a signed
document leaving the node, as ``parley evidence export`` records it); the rest only read.

* **Compliance**: a caller whose clearance lacks AMBER (an observer) gets the public figures
  (ALL + CLEAR traffic) only; the service decides (``compliance.scoreboard``).
* **Evidence**: the bundle is exactly what ``parley evidence export`` writes, so
  ``parley verify bundle`` checks the reply as saved. A caller that may not read the entry's
  body gets it without the body and without any acknowledgement carrying a reply
  (``evidence.build_bundle``); the ``Parley-Body`` and ``Parley-Left-Out`` headers say so.
* **Verifying the log** reads the whole stored log and changes nothing: ``POST`` because it is
  work done on request, not a resource; a log that fails answers ``ok: false`` with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from parley.api.v1 import inputs
from parley.api.v1.auth import allowed, audit, node_of
from parley.api.v1.inputs import PartyPath, RefPath
from parley.api.v1.node_models import (
    EvidenceBundle,
    HealthView,
    LogPage,
    LogVerification,
    LogView,
    PeerView,
    Scoreboard,
)
from parley.api.v1.schemas import PROBLEMS
from parley.core.errors import VerificationError
from parley.node import evidence, health
from parley.node.access import Action, Principal
from parley.node.federation import peers
from parley.node.messaging import compliance
from parley.node.node import now_ms

router = APIRouter(tags=["node"], responses=PROBLEMS)

Reader = Annotated[Principal, Depends(allowed(Action.READ))]
Administrator = Annotated[Principal, Depends(allowed(Action.ADMINISTER))]

BODY_HEADER = "Parley-Body"
LEFT_OUT_HEADER = "Parley-Left-Out"
MAX_LOG_PAGE = 500


def _peer(state: health.PeerState, now: int) -> dict[str, Any]:
    return state.to_dict() | {"cosignature_age": state.cosignature_age(now)}


@router.get("/peers", response_model=list[PeerView])
def peer_list(request: Request, principal: Reader) -> list[dict[str, Any]]:
    """Each pinned peer: health, lag, last checkpoint, cosignatures, held (`parley peers list`)."""
    now = now_ms()
    return [_peer(state, now) for state in health.peer_states(node_of(request))]


@router.post("/peers/{party}/release", response_model=PeerView)
def release_peer(party: PartyPath, request: Request, principal: Administrator) -> dict[str, Any]:
    """Resume pulling from a peer held after an equivocation (`parley peers release`)."""
    node = node_of(request)
    party = inputs.party(node, party, "path.party")
    peers.get_peer(node.store, party)
    was_held = next((s.held for s in health.peer_states(node) if s.party == party), None)
    peers.release(node.store, party)
    audit(request, principal, {"party": party, "was_held": was_held})
    (state,) = [s for s in health.peer_states(node) if s.party == party]
    return _peer(state, now_ms())


@router.get("/health", response_model=HealthView)
def node_health(request: Request, principal: Reader) -> dict[str, Any]:
    """Peers, open deadlines, missed and late ones, alerts (`parley status`)."""
    return health.health(node_of(request), now_ms()).to_dict()


@router.get("/compliance", response_model=Scoreboard)
def scoreboard(
    request: Request,
    principal: Reader,
    public: Annotated[bool, Query(description="Only ALL + CLEAR traffic.")] = False,
) -> dict[str, Any]:
    """Per party: median and p95 time to deliver and to acknowledge, misses (`parley compliance`).

    Public figures only for a caller without AMBER clearance.
    """
    return compliance.scoreboard(
        node_of(request), now_ms(), public_only=public, clearance=principal.clearance
    )


@router.get("/log", response_model=LogView)
def log_state(request: Request, principal: Reader) -> dict[str, Any]:
    """The node's own log: size, root, latest checkpoint with the cosignatures held on it."""
    return health.log_state(node_of(request)).to_dict()


@router.get("/log/entries", response_model=LogPage)
def log_entries(
    request: Request,
    principal: Reader,
    before: Annotated[
        int | None, Query(ge=0, description="Entries with a lower seq only (the `next` of a page).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE, description="At most this many.")] = 50,
) -> dict[str, Any]:
    """Headers of the own log's entries, newest first (`parley log show`)."""
    return health.log_entries(node_of(request), before, limit).to_dict()


@router.post("/log/verify", response_model=LogVerification)
def verify_log(request: Request, principal: Reader) -> dict[str, Any]:
    """Verify the stored log: signatures, tree, bodies, checkpoints (`parley verify log`)."""
    node = node_of(request)
    try:
        report = health.verify_stored_log(node)
    except VerificationError as exc:
        return {
            "ok": False,
            "party": node.party,
            "network": None,
            "size": None,
            "root": None,
            "checkpoints": None,
            "bodies": None,
            "error": exc.message,
        }
    return {
        "ok": True,
        "party": report.party,
        "network": report.network,
        "size": report.size,
        "root": report.root.hex(),
        "checkpoints": report.checkpoints,
        "bodies": report.bodies,
        "error": None,
    }


@router.get(
    "/evidence/{ref}",
    response_model=EvidenceBundle,
    responses={
        200: {
            "headers": {
                BODY_HEADER: {
                    "description": "`included`, or `left-out` (asked for, not held here, or "
                    "above the caller's clearance).",
                    "schema": {"type": "string"},
                },
                LEFT_OUT_HEADER: {
                    "description": "Acknowledgements left out with the body (they carry a "
                    "reply), comma-separated; absent when none.",
                    "schema": {"type": "string"},
                },
            }
        }
    },
)
def evidence_bundle(
    ref: RefPath,
    request: Request,
    principal: Reader,
    without_body: Annotated[
        bool, Query(description="Leave the body out, and acknowledgements with a reply.")
    ] = False,
) -> JSONResponse:
    """The entry, its receipts, proofs and key histories (`parley evidence export`)."""
    node = node_of(request)
    ref = inputs.reference(node, ref, "path.ref")
    left_out: list[str] = []
    bundle = evidence.build_bundle(
        node, ref, with_body=not without_body, left_out=left_out, clearance=principal.clearance
    )
    included = "body" in bundle["entry"]["entry"]
    audit(request, principal, {"ref": ref, "body": included, "left_out": left_out})
    headers = {BODY_HEADER: "included" if included else "left-out"}
    if left_out:
        headers[LEFT_OUT_HEADER] = ",".join(left_out)
    return JSONResponse(bundle, headers=headers)
