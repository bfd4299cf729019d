"""Rotating this node's own keys: the identity key by pre-rotation, purpose keys freely.

DESIGN.md (Keys) and docs/protocol.md §3. An **identity rotation** hands the identity over to
the next identity key that the statement in force committed to (``next_identity``): the
administrator brings that key back from offline storage, the node refuses it unless its hash is
the commitment, and appends a ``key`` entry signed by both the old and the new identity key.
The new statement commits to a fresh next key, written to ``offline/next-identity.pem`` for the
administrator to move offline again. A **purpose rotation** certifies a fresh ``log``,
``witness`` or ``http`` key in a statement signed by the identity in force; the commitment
stays. Either statement is checked with the verifier's own rule (``KeyStatement.check_follows``)
before anything is written, so a refused rotation changes nothing.

A rotation changes two durable things, the log (database) and the key files, which cannot be
committed together. The order keeps every key that the log certifies on disk at every moment:

1. check (commitment, key files readable, identity file holds the identity in force);
2. stage each new private key beside its final path as ``<name>.pem.new`` (0600, fsynced);
3. append the ``key`` entry (one durable commit under the single-writer lock);
4. move the staged files over the final ones (``os.replace``, then fsync of the directory).

Killed before 3, the staged files are stale: the log still certifies the old keys, which are
still in place. Killed between 3 and 4, the log certifies keys that live only in the staged
files: the node opens and serves, but appending fails (the ``log`` key file no longer holds the
certified key) until ``recover`` moves them into place. ``recover`` decides from the log alone:
a staged key that the statement in force certifies (or commits to, for the next identity) is
installed; any other staged key is discarded. Every ``parley key`` command runs it first, and
``parley key recover`` runs it alone. Rotations (and recoveries) hold an exclusive lock file in
``keys/`` so that one never discards what another is about to commit.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.core.entry import Header
from parley.core.errors import ConflictError, KeyFileError, ParleyError, VerificationError
from parley.core.keys import KeyStatement, PublicKey, SigningKey, commitment
from parley.node.home import PassphraseSource, read_key_file, write_key_file
from parley.node.log import Draft, LocalLog
from parley.node.node import Node

STAGED_SUFFIX = ".new"
LOCK_NAME = ".rotation.lock"


@dataclass(frozen=True)
class Rotation:
    """What a rotation appended and which keys it retired and certified."""

    header: Header
    purpose: str  # "identity", "log", "witness" or "http"
    retired: PublicKey
    certified: PublicKey
    next_identity_path: Path | None = None  # identity rotations: where the fresh next key is
    recovered: tuple[str, ...] = ()  # what ``recover`` did first


def rotate_identity(
    node: Node, passphrase: PassphraseSource, next_key: Path | None, now: int
) -> Rotation:
    """Rotate the identity key to the committed next key read from ``next_key``."""
    secrets = _Passphrases(passphrase)
    with rotation_lock(node):
        recovered = tuple(recover(node, secrets))
        current = node.context().statement
        old = _identity_in_force(node, current, secrets)
        source = next_key or node.home.next_identity_path
        new = read_key_file(source, secrets)
        _check_committed(new.public, current, source)
        fresh = SigningKey.generate()
        current.identity_rotation(0, new.public, commitment(fresh.public.raw))  # refuse early

        def body(seq: int) -> dict[str, Any]:
            statement = current.identity_rotation(seq, new.public, commitment(fresh.public.raw))
            return statement.signed_body(new, old)

        staged = [
            _stage(node.home.key_path("identity"), new, secrets.of(node.home.key_path("identity"))),
            _stage(node.home.next_identity_path, fresh, secrets.of(source)),
        ]
        header = _commit(node, secrets, body, now, {}, staged)
    return Rotation(
        header, "identity", old.public, new.public, node.home.next_identity_path, recovered
    )


def rotate_purpose(node: Node, passphrase: PassphraseSource, purpose: str, now: int) -> Rotation:
    """Certify a fresh ``purpose`` key under the identity in force; retire the old one."""
    secrets = _Passphrases(passphrase)
    with rotation_lock(node):
        recovered = tuple(recover(node, secrets))
        current = node.context().statement
        identity = _identity_in_force(node, current, secrets)
        fresh = SigningKey.generate()
        current.purpose_rotation(0, purpose, fresh.public)  # refuse early

        def body(seq: int) -> dict[str, Any]:
            return current.purpose_rotation(seq, purpose, fresh.public).signed_body(identity)

        path = node.home.key_path(purpose)
        staged = [_stage(path, fresh, secrets.of(path))]
        header = _commit(node, secrets, body, now, {purpose: fresh}, staged)
    return Rotation(header, purpose, current.purposes[purpose], fresh.public, None, recovered)


def recover(node: Node, passphrase: PassphraseSource) -> list[str]:
    """Finish or undo an interrupted rotation from what the log certifies; say what was done.

    Callers that rotate hold ``rotation_lock`` already; ``recover_now`` takes it.
    """
    statement = node.context().statement
    in_force = {"identity": statement.identity, **statement.purposes}
    done: list[str] = []
    for name, key in in_force.items():
        done += _settle(node.home.key_path(name), commitment(key.raw), passphrase)
    done += _settle(node.home.next_identity_path, statement.next_identity, passphrase)
    return done


def recover_now(node: Node, passphrase: PassphraseSource) -> list[str]:
    """``recover`` under the rotation lock (``parley key recover``)."""
    with rotation_lock(node):
        return recover(node, _Passphrases(passphrase))


@contextmanager
def rotation_lock(node: Node) -> Iterator[None]:
    """Hold the node's rotation lock (an exclusive ``flock`` on ``keys/.rotation.lock``)."""
    path = node.home.keys_dir / LOCK_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConflictError(
                "another key rotation is running on this node",
                hint="wait for it to finish, then check with 'parley node info'",
            ) from exc
        yield
    finally:
        os.close(fd)


def staged_path(path: Path) -> Path:
    """Where a new key file is staged beside ``path`` until the ``key`` entry is committed."""
    return path.with_name(path.name + STAGED_SUFFIX)


class _Passphrases:
    """A passphrase source asked at most once per file (a prompt should not repeat itself)."""

    def __init__(self, source: PassphraseSource) -> None:
        self._source = source
        self._known: dict[str, bytes | None] = {}

    def __call__(self, path: str) -> bytes | None:
        if path not in self._known:
            self._known[path] = self._source(path)
        return self._known[path]

    def of(self, path: Path) -> bytes | None:
        """The passphrase of an encrypted key file, None for a plain one (or none at all).

        A new key file is protected like the one it replaces.
        """
        try:
            encrypted = b"ENCRYPTED" in path.read_bytes()
        except FileNotFoundError:
            return None
        return self(str(path)) if encrypted else None


def _identity_in_force(
    node: Node, current: KeyStatement, passphrase: PassphraseSource
) -> SigningKey:
    key = node.home.load_key("identity", passphrase)
    if key.public != current.identity:
        raise KeyFileError(
            f"{node.home.key_path('identity')} does not hold the identity key in force "
            f"({current.identity.kid})",
            hint="restore the key file from a backup; if the key is lost, see 'Key rotation and "
            "compromise' in docs/operations.md",
        )
    return key


def _check_committed(new: PublicKey, current: KeyStatement, source: Path) -> None:
    """The pre-rotation check, with a message for the administrator who brought the file."""
    if commitment(new.raw) == current.next_identity:
        return
    if new == current.identity:
        problem = "holds the identity key in force, not the next one"
    else:
        problem = (
            f"holds key {new.kid}, not the next identity key {current.next_identity[:16]} that "
            "the key statement in force commits to"
        )
    raise VerificationError(
        f"{source} {problem}: refusing to rotate (nothing was changed)",
        hint="bring back the next-identity file written by 'parley init' or by the last "
        "'parley key rotate', and pass it with --next-key",
    )


def _stage(path: Path, key: SigningKey, passphrase: bytes | None) -> tuple[Path, Path]:
    staged = staged_path(path)
    staged.parent.mkdir(mode=0o700, exist_ok=True)
    write_key_file(staged, key, passphrase)
    return staged, path


def _commit(
    node: Node,
    passphrase: PassphraseSource,
    body: Callable[[int], dict[str, Any]],
    now: int,
    staged_keys: dict[str, SigningKey],
    staged: list[tuple[Path, Path]],
) -> Header:
    """Append the key entry, then install the staged files (steps 3 and 4)."""
    try:
        header = _append(node, passphrase, body, now, staged_keys)
    except Exception:
        recover(node, passphrase)  # committed or not, the log decides what the staged files become
        raise
    _install(staged)
    return header


def _append(
    node: Node,
    passphrase: PassphraseSource,
    body: Callable[[int], dict[str, Any]],
    now: int,
    staged_keys: dict[str, SigningKey],
) -> Header:
    """Append the key entry, signed by the log key it certifies (a staged one on a log rotation).

    A ``LocalLog`` of its own, so the staged key never enters the node's cached keys. It loads
    a key first to check it against the statement in force (the key file), and again when the
    new statement certifies another one (the staged key).
    """
    loaded: set[str] = set()

    def load(purpose: str) -> SigningKey:
        if purpose in staged_keys and purpose in loaded:
            return staged_keys[purpose]
        loaded.add(purpose)
        return node.home.load_key(purpose, passphrase)

    log = LocalLog(node.store, node.party, node.network, load, origin=node.log.origin)
    (header,) = log.append([Draft("key", "Actual", body)], now)
    return header


def _install(staged: list[tuple[Path, Path]]) -> None:
    """Move committed keys into place: each rename is atomic, each directory fsynced."""
    for source, target in staged:
        os.replace(source, target)
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _settle(path: Path, wanted: str, passphrase: PassphraseSource) -> list[str]:
    """Install the staged copy of ``path`` if the log wants that key (by its hash); else drop it."""
    staged = staged_path(path)
    if not staged.exists():
        return []
    if path.exists() and commitment(read_key_file(path, passphrase).public.raw) == wanted:
        return _discard(staged)
    try:
        key = read_key_file(staged, passphrase)
    except ParleyError as exc:
        raise KeyFileError(
            f"{staged} is unreadable and {path} does not hold the key the log certifies",
            hint="restore the key from a backup, or see 'Key rotation and compromise' in "
            "docs/operations.md",
        ) from exc
    if commitment(key.public.raw) != wanted:
        return _discard(staged)
    _install([(staged, path)])
    return [f"installed {path} (finishing a rotation that the log had committed)"]


def _discard(staged: Path) -> list[str]:
    staged.unlink()
    _fsync_dir(staged.parent)
    return [f"discarded {staged} (left by a rotation that was never committed)"]
