"""A road map's state recomputed offline from the parties' log exports (``parley roadmap verify``).

docs/protocol.md §7.2 and §9. Workflow, top to bottom:

1. each export is verified whole (``parley.core.verify.verify_log``: every signature, the tree
   against every checkpoint, every body against its hash); a tampered export stops everything
   with the verifier's message, naming the file;
2. the policy in force is the latest ``policy`` entry of the logs, and every export must agree
   on it; the key statements of each log give the members' witness keys;
3. witnessed times come from the cosignatures in the exported checkpoint notes
   (``parley.core.witnessed``), under the policy's quorum k;
4. the road map entries with bodies are fed, with those times, to
   ``parley.core.roadmap.roadmap_state`` as of ``at`` (default: the latest witnessed time in
   the exports).

No node, network or clock is involved: anyone holding the exports gets the same state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from parley.core import roadmap_body as rb
from parley.core.entry import Body, parse_header
from parley.core.errors import ParleyError, VerificationError
from parley.core.keys import KeyStatement
from parley.core.merkle import leaf_hash
from parley.core.policy import SignedPolicy
from parley.core.roadmap import RoadmapEntry, RoadmapState, roadmap_state
from parley.core.verify import verify_log
from parley.core.witnessed import witnessed_times
from parley.node.export import ExportReader


@dataclass
class _Log:
    """What one verified export contributes."""

    party: str
    times: list[int] = field(default_factory=list)
    statements: list[KeyStatement] = field(default_factory=list)
    policies: list[SignedPolicy] = field(default_factory=list)
    roadmap: list[tuple[int, str, str, Body]] = field(default_factory=list)  # seq, ref, hash, body
    notes: list[str] = field(default_factory=list)


def _read(path: Path) -> _Log:
    reader = ExportReader(path)
    head = reader.head()
    log = _Log(str(head.get("party")))

    def items() -> Iterator[tuple[bytes, Body | None]]:
        for leaf, body in reader.entries():
            yield leaf, body
            header = parse_header(leaf)  # verified by verify_log before this line runs
            log.times.append(header.time)
            if body is None:
                continue
            if header.kind == "key":
                log.statements.append(KeyStatement.from_body(body.value()))
            elif header.kind == "policy":
                log.policies.append(SignedPolicy.from_body(body.value()))
            elif header.kind == "roadmap":
                log.roadmap.append((header.seq, header.ref, leaf_hash(leaf).hex(), body))

    try:
        report = verify_log(items(), reader.notes())
    except ParleyError as exc:
        raise VerificationError(
            f"{path}: {exc.message}", hint="this export does not verify"
        ) from exc
    if report.size != head.get("size") or report.party != log.party:
        raise VerificationError(f"{path}: the export's first line does not describe its log")
    log.notes = list(reader.notes())
    return log


@dataclass(frozen=True)
class Recomputed:
    """The entries and times read from verified exports."""

    entries: list[RoadmapEntry]
    latest: int | None  # the latest witnessed time of any entry in the exports
    parties: tuple[str, ...]

    def roots(self) -> list[str]:
        """The version 1 documents among the entries."""
        return [
            e.ref
            for e in self.entries
            if isinstance(e.body, rb.Document) and e.body.replaces is None
        ]


def read_exports(paths: Sequence[Path]) -> Recomputed:
    """Verify every export and collect the road map entries with their witnessed times."""
    logs = [_read(path) for path in paths]
    parties = [log.party for log in logs]
    if len(set(parties)) != len(parties):
        raise VerificationError(f"two exports of one log among {', '.join(parties)}")
    policies = {log.policies[-1].document.hash: log.policies[-1] for log in logs if log.policies}
    if len(policies) != 1:
        raise VerificationError("the exports do not agree on the policy in force")
    (policy,) = policies.values()
    times = witnessed_times(
        {log.party: log.notes for log in logs},
        {log.party: log.statements for log in logs},
        policy.document,
        {log.party: log.times for log in logs},
    )
    entries: list[RoadmapEntry] = []
    latest: int | None = None
    for log in logs:
        witnessed = times[log.party]
        known = [t for t in witnessed.times if t is not None]
        if known:
            latest = max(known) if latest is None else max(latest, *known)
        for seq, ref, leaf_hex, body in log.roadmap:
            try:
                entry = RoadmapEntry.read(ref, leaf_hex, witnessed.time_of(seq), body.value())
            except ParleyError:
                continue  # a malformed body counts for nothing, as at a node
            if entry is not None:
                entries.append(entry)
    return Recomputed(entries, latest, tuple(parties))


def recompute(paths: Sequence[Path], root: str | None, at: int | None) -> RoadmapState:
    """The state of road map ``root`` (the only one, if None) as of ``at`` (default: latest)."""
    found = read_exports(paths)
    roots = found.roots()
    if root is None:
        if len(roots) != 1:
            listed = ", ".join(roots) or "none"
            raise VerificationError(f"the exports hold {len(roots)} road maps ({listed}); name one")
        root = roots[0]
    elif root not in roots:
        raise VerificationError(f"{root} is not the first version of a road map in the exports")
    when = found.latest if at is None else at
    if when is None:
        raise VerificationError("nothing in the exports is witnessed; give --at")
    return roadmap_state(found.entries, root, when)
