"""Body schemas: each kind accepts a valid body and refuses a wrong one, naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from parley.core.bodies import SCHEMAS, validate_body
from parley.core.canonical import canonical_bytes
from parley.core.entry import KINDS
from parley.core.errors import InvalidEntryError

LEAF = "ab" * 32
REF = {"ref": "KR:12", "leaf_hash": LEAF}
DEADLINES = {"delivered_within": 60_000, "acknowledged_within": 900_000}

VALID: dict[str, list[dict[str, Any]]] = {
    "receipt": [
        {"type": "delivered", "entry": REF, "stored_at": 1_750_000_000_000},
        {"type": "acknowledged", "entry": REF, "officer": "duty-officer", "reply": "Received."},
    ],
    "hotline": [
        {"to": "KR", "text": "Do you read us?", "deadlines": {}},
        {
            "to": "KR",
            "phrase": "comm.check",
            "params": {"time": "12:00"},
            "catalogue": LEAF,
            "rendering": {"lang": "en", "text": "Communication check at 12:00."},
            "in_reply_to": REF,
            "deadlines": DEADLINES,
        },
    ],
    "inquiry": [{"about": REF, "question": "Is the plume moving north?", "deadlines": DEADLINES}],
    "reply": [
        {"inquiry": REF, "text": "No, it is stationary."},
        {"inquiry": REF, "text": "Update follows.", "deadlines": {"acknowledged_within": 1}},
    ],
    "check": [{"nonce": "0123456789abcdef" * 2, "deadlines": DEADLINES}],
    "assistance": [
        {
            "type": "request",
            "incident": REF,
            "deadlines": DEADLINES,
            "resources": [
                {"kind": "dosimeter", "quantity": "200", "unit": "pcs"},
                {"kind": "water", "quantity": "1.5", "unit": "t", "description": "bottled"},
            ],
        },
        {"type": "offer", "refers_to": REF, "text": "We can send a team."},
        {"type": "status", "status": "en route"},
    ],
    "roadmap": [
        {
            "type": "roadmap",
            "title": "Joint exercise",
            "steps": [
                {"id": "plan", "party": "JP", "title": "Plan", "due": 1},
                {"id": "run-1", "party": "KR", "title": "Run", "after": ["plan"]},
            ],
        },
        {"type": "attest", "roadmap": REF, "step": "plan", "text": "Done."},
    ],
    "evidence": [
        {
            "type": "equivocation",
            "party": "KR",
            "log_key": "A" * 43 + "=",
            "checkpoints": ["note one", "note two"],
            "proof": [],
            "detail": "two roots for size 12",
        },
    ],
    "observation": [
        {"type": "body-withheld", "party": "KR", "entry": REF, "detail": "403 on get-body"},
        {"type": "clock-skew", "party": "CN", "detail": "+45 s"},
    ],
}

# (kind, path to change, new value or ... to delete, field the error must name)
WRONG: list[tuple[str, str, Any, str]] = [
    ("receipt", "type", "read", "type"),
    ("receipt", "entry.ref", "kr:12", "entry.ref"),
    ("receipt", "entry.ref", "KR:12\n", "entry.ref"),
    ("receipt", "entry.leaf_hash", "AB" * 32, "entry.leaf_hash"),
    ("receipt", "entry", ..., "entry"),
    ("receipt", "stored_at", -1, "stored_at"),
    ("receipt", "stored_at", "1", "stored_at"),
    ("receipt", "extra", 1, "extra"),
    ("hotline", "to", "kr", "to"),
    ("hotline", "deadlines", ..., "deadlines"),
    ("hotline", "deadlines.delivered_within", -5, "deadlines.delivered_within"),
    ("hotline", "deadlines.delivered_within", True, "deadlines.delivered_within"),
    ("hotline", "catalogue", "xyz", "catalogue"),
    ("hotline", "params", {"a": 1}, "params.a"),
    ("hotline", "text", "x" * 20_001, "text"),
    ("inquiry", "about", ..., "about"),
    ("inquiry", "question", "", "question"),
    ("reply", "inquiry", "KR:12", "inquiry"),
    ("reply", "text", 5, "text"),
    ("check", "nonce", "0123", "nonce"),
    ("check", "nonce", "G" * 32, "nonce"),
    ("check", "deadlines", None, "deadlines"),
    ("assistance", "type", "steal", "type"),
    (
        "assistance",
        "resources",
        [{"kind": "water", "quantity": "1,5", "unit": "t"}],
        "resources.0.quantity",
    ),
    (
        "assistance",
        "resources",
        [{"kind": "water", "quantity": 1.5, "unit": "t"}],
        "resources.0.quantity",
    ),
    ("assistance", "resources", [{"kind": "", "quantity": "1", "unit": "t"}], "resources.0.kind"),
    ("roadmap", "type", "plan", "type"),
    ("roadmap", "steps", [{"id": "Plan", "party": "JP", "title": "x"}], "steps.0.id"),
    ("roadmap", "steps", [{"id": "p", "party": "JP"}], "steps.0.title"),
    ("evidence", "checkpoints", ["only one"], "checkpoints"),
    ("evidence", "party", "K", "party"),
    ("evidence", "type", "rumour", "type"),
    ("observation", "type", "gossip", "type"),
    ("observation", "detail", ..., "detail"),
    ("observation", "entry", {"ref": "KR:1"}, "entry.leaf_hash"),
]


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


def test_every_non_notification_kind_has_a_schema() -> None:
    """notification is CAP-shaped (parley.formats); key and policy have their own modules."""
    assert set(SCHEMAS) == set(KINDS) - {"notification", "key", "policy"}
    assert set(VALID) == set(SCHEMAS)


@pytest.mark.parametrize(
    ("kind", "body"),
    [(kind, body) for kind, bodies in VALID.items() for body in bodies],
    ids=[f"{kind}-{i}" for kind, bodies in VALID.items() for i in range(len(bodies))],
)
def test_valid_body_is_accepted(kind: str, body: dict[str, Any]) -> None:
    validate_body(kind, body)
    assert canonical_bytes(body)  # every example is signable JSON


@pytest.mark.parametrize(
    ("kind", "path", "value", "field"),
    WRONG,
    ids=[f"{kind}-{path}" for kind, path, _, _ in WRONG],
)
def test_wrong_body_is_refused_naming_the_field(
    kind: str, path: str, value: Any, field: str
) -> None:
    body = changed(VALID[kind][0], path, value)
    with pytest.raises(InvalidEntryError, match=f"^{kind} body {field}: "):
        validate_body(kind, body)


@pytest.mark.parametrize(
    ("kind", "body", "problem"),
    [
        ("receipt", {"type": "delivered", "entry": REF, "officer": "x"}, "carries no officer"),
        ("receipt", {"type": "delivered", "entry": REF, "reply": "ok"}, "carries no officer"),
        ("hotline", {"to": "KR", "deadlines": {}}, "needs a phrase or free text"),
        ("hotline", {"to": "KR", "text": "", "deadlines": {}}, "needs a phrase or free text"),
        (
            "hotline",
            {"to": "KR", "phrase": "comm.check", "deadlines": {}},
            "needs the catalogue hash and the sender's rendering",
        ),
    ],
)
def test_incoherent_body_is_refused_with_the_rule(
    kind: str, body: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidEntryError, match=f"^{kind} body body: .*{problem}"):
        validate_body(kind, body)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
@pytest.mark.parametrize("body", [None, [], "text", 5])
def test_body_that_is_not_an_object_is_refused(kind: str, body: Any) -> None:
    with pytest.raises(InvalidEntryError, match=f"^{kind} body "):
        validate_body(kind, body)


@pytest.mark.parametrize("kind", ["notification", "key", "policy", "launch-notice"])
def test_kinds_without_a_schema_here_are_refused(kind: str) -> None:
    with pytest.raises(InvalidEntryError, match="has no body schema in this module"):
        validate_body(kind, {})
