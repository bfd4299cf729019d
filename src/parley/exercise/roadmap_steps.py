"""Scenario ``roadmap`` steps, done through ``parley.node.roadmaps`` as ``parley roadmap`` does.

A step drafts a road map version (``document``: a JSON file beside the scenario; ``due``: step
ids to seconds after the draft, written into the document as due times), signs one, attests a
step, confirms or disputes an attestation, or answers a dispute (docs/protocol.md §7.2). The
entry a step acts on (``of``) is named by the scenario step that wrote it.

A road map entry counts from its witnessed time only, so a step that acts on another party's
entry waits until its node holds that entry witnessed (or, for an attestation, until the road
map is in force there). The service refuses until then; the step tries again every half second,
for at most ``WAIT_S``, and then reports the service's last refusal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from parley.core import merkle
from parley.core.entry import Header
from parley.core.errors import InvalidEntryError, NotFoundError
from parley.exercise import scenario as sc
from parley.node import roadmaps
from parley.node.node import Node, now_ms

STATUS = "Exercise"
WAIT_S = 60.0
RETRY_S = 0.5

Sleep = Callable[[float], None]


def document(step: sc.Roadmap, base_dir: Path, now: int) -> dict[str, Any]:
    """The document file of a ``draft`` step, with its due times set from ``now``."""
    path = (base_dir / (step.document or "")).resolve()
    body: dict[str, Any] = orjson.loads(path.read_bytes())
    for item in body.get("steps", []):
        if item.get("id") in step.due:
            item["due"] = {"by": now + int(step.due[item["id"]] * 1000)}
    return body


def perform(
    node: Node, step: sc.Roadmap, named: str | None, base_dir: Path, sleep: Sleep
) -> tuple[str, str]:
    """Do ``step`` at ``node`` (``named``: the entry of its ``of`` step); the entry written."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            header = _once(node, step, named, base_dir)
            return header.ref, merkle.leaf_hash(header.leaf).hex()
        except (InvalidEntryError, NotFoundError):
            if time.monotonic() > deadline:
                raise
            sleep(RETRY_S)


def _once(node: Node, step: sc.Roadmap, named: str | None, base_dir: Path) -> Header:
    now = now_ms()
    text = None if step.text is None else {"en": step.text}
    evidence = [{"sha256": digest} for digest in step.evidence]
    if step.do == "draft":
        audience = None if step.to == "ALL" else ",".join(sorted({*step.to, step.party}))
        body = document(step, base_dir, now)
        return roadmaps.draft(node, body, STATUS, now, replaces=named, to=audience, tlp=step.tlp)
    if named is None:
        raise InvalidEntryError(f"a {step.do} step names the entry it acts on (of)")
    if step.do == "sign":
        return roadmaps.sign(node, named, now)
    if step.do == "attest":
        return roadmaps.attest(node, named, step.step or "", evidence, text, now)
    if step.do in ("confirm", "dispute"):
        return roadmaps.answer_attestation(node, named, step.do, evidence, text, now)
    return roadmaps.answer_dispute(node, named, text, evidence, now)
