"""Replaying a scenario on real nodes: each step becomes a signed entry at its party's node.

Steps run at their ``at`` offsets (seconds from the start). Every entry carries status
Exercise. Deadlines come from the network policy in force at the sending node. The runner
keeps, per step id, the entry it produced, so later steps can reference it exactly
(``PARTY:SEQ`` and leaf hash). Native notifications, STIX imports, hotline phrases,
acknowledgements and replies go through the node's own services (``parley.exercise.actions``);
a step that answers a peer's entry waits until its node holds it. An ``expect-miss`` step
appends nothing: it is an expectation the summary checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.core import merkle
from parley.core.deadlines import deadlines_for
from parley.core.entry import Header
from parley.core.errors import ConflictError, InvalidEntryError, ParleyError
from parley.exercise import actions, roadmap_steps
from parley.exercise import scenario as sc
from parley.node import assistance
from parley.node.log import Draft
from parley.node.messaging.drafting import check_draft
from parley.node.node import Node

STATUS = "Exercise"


@dataclass
class StepResult:
    """What one replayed step did: the entries it wrote (``PARTY:SEQ``), or why it failed."""

    number: int
    step: sc.Step
    refs: list[str]
    error: str | None = None


@dataclass
class ScenarioRun:
    """Runs one scenario against opened nodes (party -> Node)."""

    scenario: sc.Scenario
    nodes: dict[str, Node]
    base_dir: Path
    produced: dict[str, tuple[str, str]] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)
    sleep: Callable[[float], None] = time.sleep

    def run(
        self,
        on_step: Callable[[StepResult], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[StepResult]:
        """Replay every step in order, each at its offset; report each to ``on_step``."""
        self.sleep = sleep
        started = time.monotonic()
        for number, step in enumerate(self.scenario.steps, start=1):
            delay = step.at - (time.monotonic() - started)
            if delay > 0:
                sleep(delay)
            result = self.run_step(number, step)
            self.results.append(result)
            if on_step is not None:
                on_step(result)
        return self.results

    def run_step(self, number: int, step: sc.Step) -> StepResult:
        """Replay one step at its party's node."""
        node = self.nodes.get(step.party)
        if node is None:
            return StepResult(number, step, [], f"no node for party {step.party}")
        try:
            written = self._perform(node, step)
        except ParleyError as exc:
            return StepResult(number, step, [], str(exc))
        if step.id is not None and written:
            self.produced[step.id] = written[0]
        return StepResult(number, step, [ref for ref, _ in written])

    def _perform(self, node: Node, step: sc.Step) -> list[tuple[str, str]]:
        if isinstance(step, sc.ExpectMiss):
            return []
        if isinstance(step, sc.Notify):
            return actions.notify(node, step)
        if isinstance(step, sc.Update | sc.Cancel):
            ref = self._entry_ref(step.of)["ref"]
            if isinstance(step, sc.Update):
                return actions.update(node, step, ref)
            return actions.cancel(node, step, ref)
        if isinstance(step, sc.ImportStix):
            return actions.import_stix(node, step, (self.base_dir / step.file).resolve())
        if isinstance(step, sc.Hotline):
            answered = None if step.reply_to is None else self._held_ref(node, step.reply_to)
            return actions.hotline(node, step, answered)
        if isinstance(step, sc.Ack):
            return actions.ack(node, step, self._held_ref(node, step.of))
        if isinstance(step, sc.Reply):
            return actions.reply(node, step, self._held_ref(node, step.of))
        if isinstance(step, sc.Assist):
            return [_ref(self._assist(node, step))]
        if isinstance(step, sc.Roadmap):
            named = None if step.of is None else self._entry_ref(step.of)["ref"]
            return [roadmap_steps.perform(node, step, named, self.base_dir, self.sleep)]
        return [_ref(header) for header in node.append(self._drafts(node, step))]

    def _held_ref(self, node: Node, step_id: str) -> str:
        """The entry of step ``step_id``, once ``node`` holds it (it may still be on its way)."""
        ref = self._entry_ref(step_id)["ref"]
        actions.wait_until_held(node, ref, self.sleep)
        return ref

    def _drafts(self, node: Node, step: sc.Inquiry | sc.Assistance | sc.ImportCap) -> list[Draft]:
        to: Any = "ALL" if step.to == "ALL" else sorted({*step.to, step.party})
        body: dict[str, Any]
        if isinstance(step, sc.Inquiry):
            body = {
                "about": self._entry_ref(step.about),
                "question": step.question,
                "deadlines": self._deadlines(node, "inquiry", step.reply_within * 1000),
            }
            return [check_draft("inquiry", STATUS, body, to, step.tlp)]
        if isinstance(step, sc.Assistance):
            body = {
                "type": step.type,
                "resources": [r.model_dump(exclude_none=True) for r in step.resources],
                "deadlines": self._deadlines(node, "assistance", None),
            }
            for name in ("incident", "refers_to"):
                target = getattr(step, name)
                if target is not None:
                    body[name] = self._entry_ref(target)
            if step.text:
                body["text"] = step.text
            return [check_draft("assistance", STATUS, body, to, step.tlp)]
        return self._import_cap(node, step, to)

    def _import_cap(self, node: Node, step: sc.ImportCap, to: Any) -> list[Draft]:
        from parley.node.notifications.importing import notification_drafts_from_cap

        path = (self.base_dir / step.file).resolve()
        return notification_drafts_from_cap(
            node,
            path.read_bytes(),
            status=STATUS,
            audience=to,
            tlp=step.tlp,
            category=step.category,
        )

    def _assist(self, node: Node, step: sc.Assist) -> Header:
        """One lifecycle step through the assistance service, once its references are held."""
        body: dict[str, Any] = {
            "type": step.type,
            "resources": [line.model_dump(exclude_none=True) for line in step.resources],
            "takes": [take.model_dump() for take in step.takes],
        }
        for name, target in (
            ("incident", step.incident),
            ("request", step.request),
            ("refers_to", step.offer),
        ):
            if target is not None:
                self._held_ref(node, target)
                body[name] = self._entry_ref(target)
        extra = {"answer": step.answer, "deployment": step.deployment, "text": step.text}
        body.update({k: v for k, v in extra.items() if v is not None})
        if step.beyond_request:
            body["beyond_request"] = True
        to = None if step.to == "ALL" else ",".join(sorted({*step.to, step.party}))
        # A step may rest on another party's entry that is still on its way (a report needs the
        # requester's requisition): the lifecycle refuses it until then, so wait, bounded.
        deadline = time.monotonic() + actions.HELD_TIMEOUT_S
        while True:
            try:
                return assistance.step(node, body, STATUS, to=to, tlp=step.tlp)
            except ConflictError:
                if time.monotonic() > deadline:
                    raise
                self.sleep(actions.POLL_S)

    def _entry_ref(self, step_id: str) -> dict[str, str]:
        if step_id not in self.produced:
            raise InvalidEntryError(f"step {step_id!r} produced no entry to refer to")
        ref, leaf_hash = self.produced[step_id]
        return {"ref": ref, "leaf_hash": leaf_hash}

    @staticmethod
    def _deadlines(node: Node, deadline_class: str, acknowledged: int | None) -> dict[str, int]:
        return deadlines_for(node.context().policy.document, deadline_class, acknowledged)


def _ref(header: Header) -> tuple[str, str]:
    return header.ref, merkle.leaf_hash(header.leaf).hex()
