"""Log exports and entry proofs: self-contained files that verify without a node.

A log export is JSON Lines. The first line describes the log; then one line per entry in seq
order (the exact leaf bytes, with body and salt where this node holds them), then one line per
checkpoint note, carrying the witnesses' cosignature lines this node holds on it after the log's
own signature. The key history travels inside the log itself (its ``key`` entries, with
bodies), so ``parley verify log FILE`` needs nothing else; cosignatures count only for a reader
who checks them against witness keys it trusts (``parley.core.witnessed``). See
docs/protocol.md, Exports.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Connection

from parley.core import merkle
from parley.core.checkpoint import MAX_SIGNATURES, Checkpoint, add_signature_lines, parse_note
from parley.core.entry import Body, format_ref, parse_ref
from parley.core.errors import InvalidEntryError, NotFoundError, VerificationError
from parley.store import logs, witnessing
from parley.store.engine import Store

EXPORT_FORMAT = "parley-log-export"
PROOF_FORMAT = "parley-entry-proof"
MAX_LINE = 64 * 1024 * 1024


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidEntryError(f"{what}: expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise InvalidEntryError(f"{what}: not valid base64") from exc


def entry_record(stored: logs.StoredEntry, *, with_body: bool) -> dict[str, Any]:
    """One entry line of an export or entry proof: seq, leaf, and body and salt if given."""
    record: dict[str, Any] = {"seq": stored.seq, "leaf": _b64(stored.leaf)}
    if with_body and stored.body is not None:
        record["body"] = _b64(stored.body)
        record["salt"] = _b64(stored.salt)
    return record


def body_of(record: dict[str, Any], what: str) -> Body | None:
    """The salted ``Body`` an export record carries, or None when it carries none."""
    if record.get("body") is None:
        return None
    return Body(_unb64(record.get("salt"), f"{what} salt"), _unb64(record["body"], f"{what} body"))


def write_export(
    store: Store, party: str, handle: BinaryIO, progress: Callable[[int], None] | None = None
) -> int:
    """Write the whole log of ``party`` as held by this node; return the entry count."""
    with store.read() as conn:
        state = logs.get_state(conn, party)
        if state is None:
            raise NotFoundError(f"no log of {party} in this node")
        head = {"format": EXPORT_FORMAT, "v": 1, "party": party, "size": state.size}
        handle.write(orjson.dumps(head) + b"\n")
        count = 0
        for stored in logs.iter_log(conn, party):
            if stored.seq >= state.size:
                break
            record = {"type": "entry", **entry_record(stored, with_body=True)}
            handle.write(orjson.dumps(record) + b"\n")
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(count)
        for note in logs.iter_checkpoints(conn, party):
            cosigned = with_cosignatures(conn, party, note)
            handle.write(orjson.dumps({"type": "checkpoint", "note": cosigned}) + b"\n")
    return count


def with_cosignatures(conn: Connection, party: str, note: str) -> str:
    """``note`` with the cosignature lines this node holds on it appended (C2SP signed-note).

    Only cosignatures on this very tree (same size and root) are added, so every line verifies
    against the note's text; at most as many as the note can hold (``MAX_SIGNATURES``).
    """
    parsed = parse_note(note)
    checkpoint = Checkpoint.parse_body(parsed.text.encode("utf-8"))
    held = witnessing.cosignatures_at(conn, party, checkpoint.size)
    lines = [c.line for c in held if c.root == checkpoint.root]
    room = MAX_SIGNATURES - len(parsed.signatures)
    return add_signature_lines(note, lines[:room]) if lines else note


@dataclass
class ExportReader:
    """Reads an export file lazily: entries stream, checkpoints are collected first."""

    path: Path

    def head(self) -> dict[str, Any]:
        """The export's first line, which names the log (party, size); refused unless an export."""
        with self.path.open("rb") as handle:
            first = handle.readline(MAX_LINE)
        head = self._parse(first, 1)
        if head.get("format") != EXPORT_FORMAT or head.get("v") != 1:
            raise VerificationError(f"{self.path}: not a Parley log export (line 1)")
        return head

    def notes(self) -> Iterator[str]:
        """Checkpoint notes in file order (ascending size, as ``write_export`` writes them)."""
        for number, record in self._records():
            if record.get("type") == "checkpoint":
                note = record.get("note")
                if not isinstance(note, str):
                    raise VerificationError(f"{self.path} line {number}: checkpoint without note")
                yield note

    def entries(self) -> Iterator[tuple[bytes, Body | None]]:
        """The ``(leaf, body or None)`` of every entry line, in file order (seq order)."""
        for number, record in self._records():
            if record.get("type") == "entry":
                where = f"{self.path} line {number}"
                try:
                    yield _unb64(record.get("leaf"), f"{where} leaf"), body_of(record, where)
                except InvalidEntryError as exc:
                    raise VerificationError(str(exc)) from exc

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        with self.path.open("rb") as handle:
            handle.readline(MAX_LINE)
            for number, line in enumerate(handle, start=2):
                yield number, self._parse(line, number)

    def _parse(self, line: bytes, number: int) -> dict[str, Any]:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise VerificationError(f"{self.path} line {number}: not valid JSON") from exc
        if not isinstance(value, dict):
            raise VerificationError(f"{self.path} line {number}: expected a JSON object")
        return value


def build_proof(store: Store, ref: str) -> dict[str, Any]:
    """An entry with its inclusion proof, the latest checkpoint and the key history."""
    party, seq = parse_ref(ref)
    with store.read() as conn:
        latest = logs.latest_checkpoint(conn, party)
        stored = logs.get_entry(conn, party, seq)
        if latest is None or stored is None or seq >= latest[0]:
            raise NotFoundError(f"entry {ref} is not in a checkpoint of this node")
        size, note = latest

        def get_nodes(ids: Any) -> dict[merkle.NodeId, bytes]:
            return logs.get_nodes(conn, party, ids)

        def proved(item: logs.StoredEntry) -> dict[str, Any]:
            record = entry_record(item, with_body=True)
            path = merkle.inclusion_proof(item.seq, size, get_nodes)
            record["inclusion"] = [_b64(h) for h in path]
            return record

        history = logs.key_and_policy_entries(conn, party)
        keys = [proved(item) for item in history if item.seq < size]
        return {
            "format": PROOF_FORMAT,
            "v": 1,
            "ref": format_ref(party, seq),
            "checkpoint": note,
            "entry": proved(stored),
            "history": keys,
        }
