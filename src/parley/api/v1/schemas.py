"""Request and reply bodies shared by the ``/api/v1`` routes (Pydantic, strict at the edge)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A request body: unknown fields are refused, naming them."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An RFC 9457 problem document: every error of the API."""

    type: str = Field(description="A stable URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="The input field at fault, if one is.")
    hint: str | None = Field(None, description="What to do about it.")


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text}
    for status, text in {
        400: "Invalid input (the field is named)",
        401: "No valid credentials",
        403: "Role, scope or CSRF token does not allow it",
        404: "No such thing",
        409: "Conflicts with existing state, or an Idempotency-Key reused",
        413: "Request body too large",
        422: "Refused by a rule of the network",
        429: "Too many requests (Retry-After says when to retry)",
    }.items()
}


class SignedHeader(BaseModel):
    """A signed entry header (docs/protocol.md s3), with its reference ``PARTY:SEQ``."""

    ref: str
    v: int
    network: str
    policy: str
    party: str
    node: str
    seq: int
    time: int
    kind: str
    status: str
    audience: str | list[str]
    tlp: str
    body_hash: str
    body_size: int
    kid: str
    sig: str
