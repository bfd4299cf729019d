"""Signed notes, Parley checkpoints and witness cosignatures, in the formats C2SP fixes.

* C2SP signed-note (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank line, then
  signature lines ``— <key name> base64(key ID || signature)`` (an em dash, U+2014). The key ID is
  ``SHA-256(key name || 0x0A || signature type || public key)[:4]``; Ed25519 is type 0x01. Verifier
  keys ("vkeys") are written ``<name>+<hex key ID>+base64(type || public key)``.
* C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text of a tree head is the origin, the
  tree size in decimal and the base64 root hash, one per line, and no extension line: the form
  every default-configured C2SP witness cosigns (protocol s6). Logs begun before that form carry
  one extension line, ``time <ms>`` (the log's time, integer milliseconds UTC); they keep it, and
  a verifier accepts both forms forever (signed history is never rewritten). Checkpoints are
  signed by the node's ``log`` key under the log's origin (``origin_problem`` says which).
* C2SP tlog-cosignature, ``cosignature/v1`` (c2sp.org/tlog-cosignature): a witness signs the
  lines ``cosignature/v1`` and ``time <seconds>`` followed by the checkpoint text, with Ed25519
  (signature type 0x04); its signature line carries
  ``key ID || timestamp (u64 big-endian) || signature``.

Security invariants:

* A note's text means nothing until a signature by a trusted key verifies: ``open_checkpoint``
  checks the signature before it parses the body.
* Parsing is strict and bounded: at most ``MAX_NOTE_BYTES`` bytes and ``MAX_SIGNATURES`` signature
  lines, valid UTF-8, no control characters but newline, canonical base64, so one note has one
  byte form. Anything else is refused with a ``VerificationError`` that says what is wrong.
* Signature lines from unknown keys (name and key ID not both matching) are kept but ignored; a
  line from a known key that fails to verify rejects the whole note (signed-note, "Signatures").
* The format of a signed checkpoint can never change: ``Checkpoint.parse_body`` accepts exactly
  the bytes ``Checkpoint.body`` writes, in either form, and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from parley.core.errors import InvalidEntryError, VerificationError

__all__ = [
    "COSIGNATURE_HEADER",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "SIGNATURE_COSIGNATURE_V1",
    "SIGNATURE_ED25519",
    "Checkpoint",
    "Note",
    "NoteSignature",
    "VerifierKey",
    "add_signature_lines",
    "cosign",
    "cosigner_vkey",
    "deployment_origin",
    "cosignature_message",
    "cosignatures_in",
    "key_hash",
    "open_checkpoint",
    "open_log_checkpoint",
    "origin_for",
    "origin_parts",
    "parse_cosigner_vkey",
    "parse_note",
    "parse_signature_line",
    "parse_vkey",
    "sign_checkpoint",
    "sign_note",
    "verify_cosignature",
    "verify_note",
    "vkey",
    "witness_name_for",
]

SIGNATURE_ED25519: Final = 0x01
SIGNATURE_COSIGNATURE_V1: Final = 0x04
MAX_NOTE_BYTES: Final = 1 << 20
MAX_SIGNATURES: Final = 100
COSIGNATURE_HEADER: Final = b"cosignature/v1\n"
MAX_TIMESTAMP: Final = 2**63 - 1
KEY_HASH_SIZE: Final = 4
ROOT_SIZE: Final = 32
ED25519_KEY_SIZE: Final = 32
ED25519_SIGNATURE_SIZE: Final = 64
ORIGIN_PREFIX: Final = "parley/"
DEPLOYMENT_SUFFIX: Final = ".parley.invalid"

_SIGNATURE_PREFIX: Final = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_KID = re.compile(r"[0-9a-f]{16}")
_ORIGIN_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SUPPORTED_TYPES: Final = (SIGNATURE_ED25519, SIGNATURE_COSIGNATURE_V1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    """Decode standard, padded, canonical base64 (RFC 4648 s4) or refuse."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{what} is not valid base64: {text[:60]!r}") from exc
    if _b64(data) != text:
        raise VerificationError(f"{what} is not canonical base64: {text[:60]!r}")
    return data


def _is_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no '+', no control character (signed-note, "Format")."""
    return bool(name) and not any(c.isspace() or c == "+" or c < " " for c in name)


def key_hash(name: str, signature_type: int, public_key_raw: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || signature type || public key)[:4]."""
    material = name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key_raw
    return hashlib.sha256(material).digest()[:KEY_HASH_SIZE]


class VerifierKey(NamedTuple):
    """A parsed verifier key: whom it names and the Ed25519 key it holds."""

    name: str
    key_hash: bytes
    signature_type: int
    public_key: bytes


def vkey(name: str, public_key_raw: bytes, signature_type: int = SIGNATURE_ED25519) -> str:
    """The verifier key string ``<name>+<hex key ID>+<base64(type || public key)>``."""
    if not _is_key_name(name):
        raise InvalidEntryError(f"invalid key name {name!r}: no spaces, '+' or control characters")
    if signature_type not in _SUPPORTED_TYPES or len(public_key_raw) != ED25519_KEY_SIZE:
        raise InvalidEntryError("a vkey needs signature type 0x01 or 0x04 and a 32-byte key")
    encoded = _b64(bytes([signature_type]) + public_key_raw)
    return f"{name}+{key_hash(name, signature_type, public_key_raw).hex()}+{encoded}"


def cosigner_vkey(name: str, public_key_raw: bytes) -> str:
    """A witness's vkey: C2SP tlog-cosignature type 0x04, the key ID computed over 0x04."""
    return vkey(name, public_key_raw, SIGNATURE_COSIGNATURE_V1)


def parse_cosigner_vkey(text: str) -> VerifierKey:
    """Parse a witness's vkey: only an Ed25519 ``cosignature/v1`` key (type 0x04) is one."""
    parsed = parse_vkey(text)
    if parsed.signature_type != SIGNATURE_COSIGNATURE_V1:
        raise VerificationError(
            f"{parsed.name}+{parsed.key_hash.hex()} is a signed-note key of type "
            f"0x{parsed.signature_type:02x}, not an Ed25519 cosignature/v1 witness key (0x04)",
            hint="a C2SP witness publishes its vkey as <name>+<key ID>+base64(0x04 || key); "
            "ask its operator for that one",
        )
    return parsed


def parse_vkey(text: str) -> VerifierKey:
    """Parse a verifier key string, checking its key ID; only Ed25519 types 0x01 and 0x04."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise VerificationError(f"a vkey is <name>+<key id>+<key>, got {text[:80]!r}")
    name, hash_hex, encoded = parts
    if not _is_key_name(name):
        raise VerificationError(f"invalid key name in vkey: {name!r}")
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise VerificationError(f"the key ID of a vkey is 8 lowercase hex digits, got {hash_hex!r}")
    material = _unb64(encoded, "vkey key material")
    if not material or material[0] not in _SUPPORTED_TYPES:
        kind = f"0x{material[0]:02x}" if material else "none"
        raise VerificationError(
            f"unsupported vkey signature type {kind}: Parley checks Ed25519 note keys (0x01) and "
            f"Ed25519 cosignature/v1 witness keys (0x04) only",
            hint="other types (such as the ML-DSA cosignatures C2SP describes) count only once "
            "the network policy names them",
        )
    public_key = material[1:]
    if len(public_key) != ED25519_KEY_SIZE:
        raise VerificationError(f"an Ed25519 vkey holds 32 bytes of key, got {len(public_key)}")
    expected = key_hash(name, material[0], public_key)
    if expected.hex() != hash_hex:
        raise VerificationError(f"vkey key ID {hash_hex} does not match its key ({expected.hex()})")
    return VerifierKey(name, expected, material[0], public_key)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID and the signature bytes after it."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        """The line as it appears in a note, newline included."""
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64(self.key_hash + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note: its text (final newline included) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        """The note as text: text, blank line, signature lines."""
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)


def _check_characters(text: str, what: str) -> None:
    match = _CONTROL.search(text)
    if match is not None:
        raise VerificationError(
            f"{what} contains control character {match.group()!r} at position {match.start()}",
        )


def _as_text(note: str | bytes) -> str:
    """Check size and encoding of a whole note and return it as ``str``."""
    if len(note) > MAX_NOTE_BYTES:
        raise VerificationError(f"note is larger than the limit of {MAX_NOTE_BYTES} bytes")
    try:
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        size = len(note) if isinstance(note, bytes) else len(note.encode("utf-8"))
    except UnicodeError as exc:
        raise VerificationError("note is not valid UTF-8") from exc
    if size > MAX_NOTE_BYTES:
        raise VerificationError(f"note is {size} bytes, over the limit of {MAX_NOTE_BYTES}")
    _check_characters(text, "note")
    return text


def parse_signature_line(line: str) -> NoteSignature:
    """Parse one ``— <name> <base64>`` signature line, which must end in a newline."""
    if not line.endswith("\n") or "\n" in line[:-1]:
        raise VerificationError(f"a signature line is one line ending in a newline: {line[:80]!r}")
    _check_characters(line, "signature line")
    if not line.startswith(_SIGNATURE_PREFIX):
        raise VerificationError(
            f"a signature line starts with an em dash and a space: {line[:80]!r}"
        )
    fields = line[len(_SIGNATURE_PREFIX) : -1].split(" ")
    if len(fields) != 2 or not _is_key_name(fields[0]):
        raise VerificationError(f"a signature line is '\u2014 <key name> <base64>': {line[:80]!r}")
    payload = _unb64(fields[1], f"signature of {fields[0]}")
    if len(payload) <= KEY_HASH_SIZE:
        raise VerificationError(f"signature of {fields[0]} is too short ({len(payload)} bytes)")
    return NoteSignature(fields[0], payload[:KEY_HASH_SIZE], payload[KEY_HASH_SIZE:])


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into text and signature lines, without verifying anything."""
    text = _as_text(note)
    if not text.endswith("\n"):
        raise VerificationError("a note must end with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise VerificationError("a note needs a blank line between its text and its signatures")
    lines = text[split + 2 : -1].split("\n") if len(text) > split + 2 else []
    if not lines:
        raise VerificationError("a note needs at least one signature line")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(
            f"note has {len(lines)} signatures, over the limit of {MAX_SIGNATURES}"
        )
    return Note(text[: split + 1], tuple(parse_signature_line(line + "\n") for line in lines))


def _check_note_text(text: str) -> bytes:
    """Check text that is about to be signed and return its UTF-8 bytes."""
    if not text.endswith("\n"):
        raise InvalidEntryError("the text of a note must end with a newline")
    try:
        data = text.encode("utf-8")
        _check_characters(text, "note text")
    except (UnicodeError, VerificationError) as exc:
        raise InvalidEntryError(
            f"the text of a note must be UTF-8 without control characters: {exc}",
        ) from exc
    if len(data) > MAX_NOTE_BYTES:
        raise InvalidEntryError(f"the text of a note is limited to {MAX_NOTE_BYTES} bytes")
    return data


def _ed25519_verifies(public_key_raw: bytes, signature: bytes, message: bytes) -> bool:
    if len(public_key_raw) != ED25519_KEY_SIZE or len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _public_raw(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes_raw()


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` with an Ed25519 (type 0x01) key and return the whole note."""
    data = _check_note_text(text)
    if not _is_key_name(key_name):
        raise InvalidEntryError(
            f"invalid key name {key_name!r}: no spaces, '+' or control characters"
        )
    signature = NoteSignature(
        key_name,
        key_hash(key_name, SIGNATURE_ED25519, _public_raw(private_key)),
        private_key.sign(data),
    )
    return Note(text, (signature,)).to_text()


def verify_note(note: str | bytes | Note, key_name: str, public_key_raw: bytes) -> str:
    """Return the text of ``note`` once its Ed25519 signature by the named key verifies."""
    parsed = note if isinstance(note, Note) else parse_note(note)
    expected = key_hash(key_name, SIGNATURE_ED25519, public_key_raw)
    known = f"{key_name}+{expected.hex()}"
    matching = [s for s in parsed.signatures if s.name == key_name and s.key_hash == expected]
    if not matching:
        raise VerificationError(
            f"the note has no signature by key {known}",
            hint="check that the note comes from this log and that its key is pinned correctly",
        )
    data = parsed.text.encode("utf-8")
    for signature in matching:
        if not _ed25519_verifies(public_key_raw, signature.signature, data):
            raise VerificationError(f"the signature by key {known} does not verify")
    return parsed.text


def _origin_part_ok(part: str) -> bool:
    return _ORIGIN_PART.fullmatch(part) is not None


def _check_parts(network: str, party: str) -> None:
    for what, part in (("network", network), ("party", party)):
        if not _origin_part_ok(part):
            raise InvalidEntryError(
                f"invalid {what} name {part!r} for an origin: 1-64 of A-Z a-z 0-9 . _ -, "
                f"starting with a letter or digit",
            )


def origin_for(network: str, party: str) -> str:
    """The legacy origin ``parley/<network>/<party>`` of logs begun before deployment origins.

    Two deployments that keep one network name share it; new logs take ``deployment_origin``.
    """
    _check_parts(network, party)
    return f"{ORIGIN_PREFIX}{network}/{party}"


def deployment_origin(network: str, party: str, first_identity_kid: str) -> str:
    """A new log's origin, chosen once at ``init``: ``<kid>.parley.invalid/<network>/<party>``.

    A schema-less URL (C2SP tlog-checkpoint) unique across deployments: ``<kid>`` is the key id
    of the node's first identity key (protocol s2), which no rotation changes. ``.invalid``
    (RFC 6761) says that the host names nothing to resolve. Stored by the node, never recomputed.
    """
    _check_parts(network, party)
    if _KID.fullmatch(first_identity_kid) is None:
        raise InvalidEntryError(f"{first_identity_kid!r} is not a key id (16 hex digits)")
    return f"{first_identity_kid}{DEPLOYMENT_SUFFIX}/{network}/{party}"


def origin_parts(origin: str) -> tuple[str, str] | None:
    """(network, party) that a valid origin of either form names, else None."""
    parts = origin.split("/")
    if len(parts) != 3 or not all(map(_origin_part_ok, parts[1:])):
        return None
    host = parts[0]
    legacy = host + "/" == ORIGIN_PREFIX
    deployed = (
        host.endswith(DEPLOYMENT_SUFFIX)
        and _KID.fullmatch(host.removesuffix(DEPLOYMENT_SUFFIX)) is not None
    )
    return (parts[1], parts[2]) if legacy or deployed else None


def witness_name(network: str, party: str) -> str:
    """The legacy key name of a member node's ``witness`` key (protocol §6.1)."""
    return f"parley/{network}/witness/{party}"


def witness_name_for(origin: str) -> str:
    """The witness key name of the node whose log has ``origin``: the same rule as the origin.

    ``parley/<network>/witness/<party>`` beside a legacy origin,
    ``<kid>.parley.invalid/<network>/witness/<party>`` beside a deployment origin.
    """
    parts = origin_parts(origin)
    if parts is None:
        raise InvalidEntryError(f"{origin[:80]!r} is not a Parley log origin")
    host = origin.split("/", 1)[0]
    return f"{host}/{parts[0]}/witness/{parts[1]}"


def _origin_problem(origin: str) -> str | None:
    if origin_parts(origin) is not None:
        return None
    return (
        f"checkpoint origin {origin[:80]!r} is neither parley/<network>/<party> nor "
        f"<kid>.parley.invalid/<network>/<party>"
    )


def open_log_checkpoint(
    note: str | bytes, network: str, party: str, log_key: bytes, held_origin: str | None = None
) -> Checkpoint:
    """Verify a checkpoint of ``party``'s log on ``network``, under the origin its text names.

    The origin must be of either form for that network and party and, once a checkpoint of the
    log is held, equal to the origin held (one origin per log, never recomputed); the log's
    signature must verify under it as key name.
    """
    text = note.decode("utf-8", "replace") if isinstance(note, bytes) else note
    origin = text.split("\n", 1)[0]
    if origin_parts(origin) != (network, party):
        raise VerificationError(
            f"checkpoint origin {origin[:80]!r} is not an origin of {party}'s log on {network}"
        )
    if held_origin is not None and origin != held_origin:
        raise VerificationError(
            f"checkpoint origin {origin[:80]!r} differs from the origin {held_origin!r} held for "
            f"{party}'s log: a log keeps one origin"
        )
    return open_checkpoint(note, origin, log_key)


def _parse_decimal(text: str, what: str) -> int:
    if _DECIMAL.fullmatch(text) is None or int(text) > MAX_TIMESTAMP:
        raise VerificationError(
            f"{what} must be a decimal number without leading zeros, "
            f"at most 2**63-1: {text[:40]!r}",
        )
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """A Parley tree head: origin, tree size, root hash and the log's time in ms (UTC)."""

    origin: str
    size: int
    root: bytes
    time_ms: int | None = None
    """The legacy ``time <ms>`` extension line, or None for the extension-free form."""

    def __post_init__(self) -> None:
        problem = _origin_problem(self.origin)
        if problem is None and not 0 <= self.size <= MAX_TIMESTAMP:
            problem = f"tree size {self.size} is outside 0..2**63-1"
        if problem is None and len(self.root) != ROOT_SIZE:
            problem = f"root hash is {ROOT_SIZE} bytes, got {len(self.root)}"
        if problem is None and self.time_ms is not None and not 0 <= self.time_ms <= MAX_TIMESTAMP:
            problem = f"checkpoint time {self.time_ms} ms is outside 0..2**63-1"
        if problem is not None:
            raise InvalidEntryError(problem)

    def body(self) -> bytes:
        """The note text: origin, size, base64 root (and a legacy ``time <ms>``), one per line."""
        text = f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"
        if self.time_ms is not None:
            text += f"time {self.time_ms}\n"
        return text.encode()

    def log_time(self, last_entry_time: int) -> int:
        """The log's time at this checkpoint (protocol s6).

        Its ``time`` line where it has one, else the time of its last entry (0 for the empty
        tree), which the log signed too.
        """
        if self.time_ms is not None:
            return self.time_ms
        return last_entry_time if self.size else 0

    @classmethod
    def parse_body(cls, body: bytes) -> Checkpoint:
        """Parse exactly the bytes ``body`` writes; anything else is a ``VerificationError``."""
        try:
            text = body.decode("ascii")
        except UnicodeError as exc:
            raise VerificationError("a Parley checkpoint is ASCII text") from exc
        if not text.endswith("\n"):
            raise VerificationError("a checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) not in (3, 4):
            raise VerificationError(
                f"a Parley checkpoint has 3 lines (origin, size, root), or 4 with the legacy "
                f"'time <ms>' line, got {len(lines)}",
            )
        origin, size_line, root_line = lines[:3]
        problem = _origin_problem(origin)
        if problem is not None:
            raise VerificationError(problem)
        size = _parse_decimal(size_line, "tree size")
        root = _unb64(root_line, "root hash")
        if len(root) != ROOT_SIZE:
            raise VerificationError(f"root hash is {ROOT_SIZE} bytes, got {len(root)}")
        if len(lines) == 3:
            return cls(origin, size, root)
        time_line = lines[3]
        if not time_line.startswith("time "):
            raise VerificationError(
                f"the only extension line a Parley checkpoint may carry is the legacy "
                f"'time <ms>', got {time_line[:40]!r}"
            )
        return cls(origin, size, root, _parse_decimal(time_line[5:], "checkpoint time"))


def sign_checkpoint(cp: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note (the key name is the origin by convention)."""
    return sign_note(cp.body().decode("ascii"), key_name, private_key)


def claimed_checkpoint(note: str | bytes) -> Checkpoint:
    """The checkpoint a note claims, its signatures not checked.

    For a note verified when it was stored, or to read the size a peer claims before anything
    is trusted. The one parser of a checkpoint's body out of a whole note.
    """
    return Checkpoint.parse_body(parse_note(note).text.encode("utf-8"))


@functools.lru_cache(maxsize=256)
def open_checkpoint(note: str | bytes, key_name: str, public_key_raw: bytes) -> Checkpoint:
    """Verify the log's signature on a checkpoint note, then parse its body.

    A pure function of its arguments, remembered for the last few: a delivery checks one
    note against one key several times (the submission, its target, the last page), and a
    failure raises each time (lru_cache keeps results only).
    """
    text = verify_note(note, key_name, public_key_raw)
    return Checkpoint.parse_body(text.encode("utf-8"))


def cosignature_message(checkpoint_body: bytes, time_s: int) -> bytes:
    """What a ``cosignature/v1`` signs: header line, ``time <s>`` line, checkpoint text."""
    return COSIGNATURE_HEADER + f"time {time_s}\n".encode() + checkpoint_body


def cosign(
    checkpoint_body: bytes, witness_name: str, private_key: Ed25519PrivateKey, time_s: int
) -> str:
    """A witness's ``cosignature/v1`` signature line on a checkpoint body, made at ``time_s``."""
    try:
        _check_note_text(checkpoint_body.decode("utf-8"))
    except UnicodeError as exc:
        raise InvalidEntryError("a checkpoint body is UTF-8 text") from exc
    if not _is_key_name(witness_name):
        raise InvalidEntryError(f"invalid witness name {witness_name!r}")
    if not 0 <= time_s <= MAX_TIMESTAMP:
        raise InvalidEntryError(f"cosignature time {time_s} is outside 0..2**63-1")
    stamp = time_s.to_bytes(8, "big")
    signature = private_key.sign(cosignature_message(checkpoint_body, time_s))
    hash_ = key_hash(witness_name, SIGNATURE_COSIGNATURE_V1, _public_raw(private_key))
    return NoteSignature(witness_name, hash_, stamp + signature).line()


def _cosignature_time(checkpoint_body: bytes, signature: NoteSignature, public_key: bytes) -> int:
    """Verify one cosignature (key already matched) and return its timestamp in seconds."""
    if len(signature.signature) != 8 + ED25519_SIGNATURE_SIZE:
        raise VerificationError(
            f"cosignature by {signature.name} is {len(signature.signature)} bytes after its key ID,"
            f" not 72 (timestamp and Ed25519 signature)",
        )
    time_s = int.from_bytes(signature.signature[:8], "big")
    if time_s > MAX_TIMESTAMP:
        raise VerificationError(f"cosignature by {signature.name} has a time beyond 2**63-1")
    message = cosignature_message(checkpoint_body, time_s)
    if not _ed25519_verifies(public_key, signature.signature[8:], message):
        raise VerificationError(f"the cosignature by witness {signature.name} does not verify")
    return time_s


def verify_cosignature(
    checkpoint_body: bytes, line: str, witness_name: str, public_key_raw: bytes
) -> int:
    """Verify a witness's signature line on a checkpoint body; return its time in seconds."""
    signature = parse_signature_line(line)
    expected = key_hash(witness_name, SIGNATURE_COSIGNATURE_V1, public_key_raw)
    if signature.name != witness_name or signature.key_hash != expected:
        raise VerificationError(
            f"the line is by key {signature.name}+{signature.key_hash.hex()}, "
            f"not by witness key {witness_name}+{expected.hex()}",
        )
    return _cosignature_time(checkpoint_body, signature, public_key_raw)


def cosignatures_in(note: str | bytes, witnesses: Mapping[str, bytes]) -> dict[str, int]:
    """Verified cosignature times in ``note``, by witness name (the earliest if several).

    Witnesses without a line are absent from the result; a line that names a known witness key
    and fails to verify rejects the note. This does not check the log's own signature: open the
    checkpoint with ``open_checkpoint`` as well.
    """
    parsed = parse_note(note)
    body = parsed.text.encode("utf-8")
    times: dict[str, int] = {}
    for name, public_key in witnesses.items():
        expected = key_hash(name, SIGNATURE_COSIGNATURE_V1, public_key)
        for signature in parsed.signatures:
            if signature.name == name and signature.key_hash == expected:
                time_s = _cosignature_time(body, signature, public_key)
                times[name] = min(time_s, times.get(name, time_s))
    return times


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """``note`` with the given signature lines appended; lines already present are not repeated."""
    parsed = parse_note(note)
    signatures = list(parsed.signatures)
    for line in lines:
        signature = parse_signature_line(line)
        if signature not in signatures:
            signatures.append(signature)
    if len(signatures) > MAX_SIGNATURES:
        raise VerificationError(f"a note holds at most {MAX_SIGNATURES} signatures")
    combined = Note(parsed.text, tuple(signatures)).to_text()
    _as_text(combined)
    return combined
