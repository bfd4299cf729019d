"""Witnessed time recomputed from exported data: cosigned checkpoints and certified witness keys.

docs/protocol.md §6.1 (witnessed time) and §9 (exports carry cosignatures). A node computes
witnessed times from the cosignatures it keeps in its store
(``parley.node.federation.witnessing``); this module applies the same rule to what log exports
hold, so that anyone with the exports can recompute them (and the compliance scoreboard, §12)
without a node:

* The witnesses that count on the log of party L are the members of the policy other than L,
  under the witness names of their logs' origins (protocol s6.1), and the external witnesses the
  policy names. A member's witness keys are those certified by the key statements of its own log
  (every one of them: a cosignature is not positioned in the witness's log, so a rotated
  witness key's earlier cosignatures keep counting, as they do at a node). The statements must
  be rooted at the identity the policy lists for the member, or they are refused.
* Every cosignature line is verified (C2SP ``cosignature/v1``). A line by a name that is not a
  counted witness, or by a key of that name that the witness was never certified for, is
  skipped; a line by a counted witness's key that does not verify refuses the whole note, as
  ``parley.node.federation.witnessing.verified_cosignatures`` refuses it at ingest.
* Witnessed time of entry ``seq``: each counted witness's earliest cosignature time on a
  checkpoint of size > seq; the k-th smallest of these (k = ``witness_quorum``), in ms; with
  fewer than k, not yet witnessed (None). With k = 0, the time line of the first checkpoint
  that contains the entry.

Security invariant: this module checks cosignatures only. The notes must come from an export
that ``parley.core.verify.verify_log`` accepted, which checks the log's own signature on every
checkpoint and its root against the entries (the time line that k = 0 relies on).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from parley.core.checkpoint import (
    SIGNATURE_COSIGNATURE_V1,
    Checkpoint,
    key_hash,
    parse_note,
    parse_vkey,
    verify_cosignature,
    witness_name,
    witness_name_for,
)
from parley.core.errors import VerificationError
from parley.core.keys import KeyStatement
from parley.core.policy import PolicyDocument

__all__ = [
    "Witness",
    "WitnessedLog",
    "counted_witnesses",
    "note_cosignatures",
    "witnessed_log",
    "witnessed_times",
]

MS_PER_S = 1000


@dataclass(frozen=True)
class Witness:
    """A witness that counts: its key name, every key it may cosign with, the member it is."""

    name: str
    keys: frozenset[bytes]
    party: str | None  # None for an external witness the policy names

    def key_for(self, key_id: bytes) -> bytes | None:
        """The certified key whose C2SP key ID is ``key_id``, if any."""
        for key in self.keys:
            if key_hash(self.name, SIGNATURE_COSIGNATURE_V1, key) == key_id:
                return key
        return None


@dataclass(frozen=True)
class WitnessedLog:
    """Witnessed times of one log, per held checkpoint size (ascending)."""

    party: str
    sizes: tuple[int, ...]
    times: tuple[int | None, ...]  # witnessed time of the entries first contained at sizes[i]

    def time_of(self, seq: int) -> int | None:
        """Witnessed time (ms) of entry ``seq``, or None while it is not witnessed."""
        index = bisect.bisect_right(self.sizes, seq)
        return self.times[index] if index < len(self.sizes) else None


def counted_witnesses(
    policy: PolicyDocument,
    statements: Mapping[str, Iterable[KeyStatement]],
    origins: Mapping[str, str] | None = None,
) -> dict[str, Witness]:
    """The witnesses ``policy`` counts, by name, with the keys members' statements certify.

    ``statements`` holds each member's key statements as its verified log carries them; a
    member without statements has no known key and none of its lines can count.
    """
    found: dict[str, Witness] = {}
    for member in policy.members:
        chain = list(statements.get(member.party, ()))
        if not chain:
            continue
        if member.identity_key not in {s.identity for s in chain}:
            raise VerificationError(
                f"the key statements of {member.party} never name the identity the policy lists"
                f" for it ({member.identity_key.kid})",
                hint="verify the member's log export pinned to the identity in the policy",
            )
        if any(s.party != member.party for s in chain):
            raise VerificationError(f"a key statement among {member.party}'s names another party")
        origin = (origins or {}).get(member.party)
        name = (
            witness_name(policy.network, member.party)
            if origin is None
            else witness_name_for(origin)
        )
        keys = frozenset(s.purposes["witness"].raw for s in chain)
        found[name] = Witness(name, keys, member.party)
    for external in policy.witnesses:
        parsed = parse_vkey(external.vkey)
        if parsed.signature_type != SIGNATURE_COSIGNATURE_V1:
            raise VerificationError(f"external witness {parsed.name} has no cosignature/v1 vkey")
        found[parsed.name] = Witness(parsed.name, frozenset({parsed.public_key}), None)
    return found


def note_cosignatures(
    note: str, witnesses: Mapping[str, Witness]
) -> tuple[Checkpoint, dict[str, int]]:
    """The checkpoint in ``note`` and its verified cosignature times (ms) by witness name."""
    parsed = parse_note(note)
    body = parsed.text.encode("utf-8")
    checkpoint = Checkpoint.parse_body(body)
    times: dict[str, int] = {}
    for signature in parsed.signatures:
        witness = witnesses.get(signature.name)
        key = None if witness is None else witness.key_for(signature.key_hash)
        if key is None:
            continue  # the log's own line, an unknown witness, a key never certified
        try:
            time_s = verify_cosignature(body, signature.line(), signature.name, key)
        except VerificationError as exc:
            where = f"checkpoint {checkpoint.origin} of size {checkpoint.size}"
            raise VerificationError(f"{where}: {exc.message}") from exc
        time_ms = time_s * MS_PER_S
        times[signature.name] = min(time_ms, times.get(signature.name, time_ms))
    return checkpoint, times


def witnessed_log(
    party: str,
    notes: Iterable[str],
    witnesses: Mapping[str, Witness],
    quorum: int,
    entry_times: Sequence[int] = (),
) -> WitnessedLog:
    """Witnessed times of ``party``'s log from its verified checkpoint notes (any order).

    ``entry_times`` are the header times of the log's entries by seq: at k = 0 the log's own
    time stands, and an extension-free checkpoint states it only through its last entry.
    """
    counted = {name: w for name, w in witnesses.items() if w.party != party}
    held: dict[int, tuple[int | None, dict[str, int]]] = {}
    for note in notes:
        checkpoint, times = note_cosignatures(note, counted)
        if checkpoint.origin.rsplit("/", 1)[-1] != party:
            raise VerificationError(f"checkpoint {checkpoint.origin} is not of {party}'s log")
        if checkpoint.size in held:
            raise VerificationError(f"two checkpoints of {party}'s log for size {checkpoint.size}")
        last = checkpoint.size - 1
        own = (
            checkpoint.log_time(entry_times[last])
            if 0 <= last < len(entry_times)
            else checkpoint.time_ms
        )
        held[checkpoint.size] = (own, times)
    sizes = sorted(held)
    earliest: dict[str, int] = {}
    results: list[int | None] = []
    for size in reversed(sizes):  # each witness's earliest time over this size and larger ones
        time_ms, times = held[size]
        for name, cosigned in times.items():
            earliest[name] = min(cosigned, earliest.get(name, cosigned))
        ordered = sorted(earliest.values())
        if quorum == 0:
            results.append(time_ms)
        else:
            results.append(ordered[quorum - 1] if len(ordered) >= quorum else None)
    return WitnessedLog(party, tuple(sizes), tuple(reversed(results)))


def witnessed_times(
    notes: Mapping[str, Iterable[str]],
    statements: Mapping[str, Iterable[KeyStatement]],
    policy: PolicyDocument,
    entry_times: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, WitnessedLog]:
    """Witnessed times of every log in ``notes`` (party -> its exported checkpoint notes).

    ``statements`` are the key statements found in the exports (party -> statements in seq
    order); ``policy`` gives the members, the external witnesses and the quorum k;
    ``entry_times`` the header times of each log's entries by seq (needed at k = 0 for
    extension-free checkpoints, protocol s6.1).
    """
    listed = {party: list(held) for party, held in notes.items()}
    origins = {party: held[0].split("\n", 1)[0] for party, held in listed.items() if held}
    witnesses = counted_witnesses(policy, statements, origins)
    quorum = policy.witness_quorum
    times = entry_times or {}
    return {
        party: witnessed_log(party, held, witnesses, quorum, times.get(party, ()))
        for party, held in listed.items()
    }
