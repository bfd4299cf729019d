"""A node home: its configuration file, its key files and (by default) its SQLite database.

Layout::

    HOME/parley.toml                 party, name, network, language, database URL, listen address
    HOME/keys/{identity,log,witness,http}.pem   PKCS#8, mode 0600, optionally encrypted
    HOME/offline/next-identity.pem   the pre-rotation key: move it offline after init
    HOME/parley.db                   SQLite (WAL) unless the config names PostgreSQL

Key files are refused when any group or other permission bit is set: whoever can read them
can speak for the party.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.core.entry import check_network, check_party
from parley.core.errors import ConflictError, KeyFileError, ParleyError
from parley.core.keys import PURPOSES, SigningKey

CONFIG_NAME = "parley.toml"
DEFAULT_PORT = 8700
# The language a node reads and writes in when parley.toml names none ([node] lang = "ja").
DEFAULT_LANGUAGES = {"JP": "ja", "CN": "zh", "KR": "ko", "RU": "ru"}
LANG_RE = re.compile(r"^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$")
PassphraseSource = Callable[[str], bytes | None]


@dataclass(frozen=True)
class NodeConfig:
    party: str
    name: str
    network: str
    database: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    lang: str | None = None

    @property
    def language(self) -> str:
        """The node's language (BCP 47): ``lang`` if set, else the party's (JP ja, ..., en)."""
        return self.lang or DEFAULT_LANGUAGES.get(self.party, "en")

    def to_toml(self) -> dict[str, Any]:
        node = {"party": self.party, "name": self.name, "network": self.network}
        if self.lang is not None:
            node["lang"] = self.lang
        return {
            "node": node,
            "database": {"url": self.database},
            "server": {"host": self.host, "port": self.port},
        }


def no_passphrase(_path: str) -> bytes | None:
    return None


class NodeHome:
    """Paths and files of one node's home folder."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def keys_dir(self) -> Path:
        return self.path / "keys"

    @property
    def next_identity_path(self) -> Path:
        return self.path / "offline" / "next-identity.pem"

    def default_database(self) -> str:
        return f"sqlite+pysqlite:///{self.path / 'parley.db'}"

    def exists(self) -> bool:
        return self.config_path.exists()

    def create(self, config: NodeConfig) -> None:
        check_party(config.party)
        check_network(config.network)
        if self.exists() or (self.path / "keys").exists():
            raise ConflictError(
                f"{self.path} already holds a node; refusing to overwrite it",
                hint="choose another folder, or remove this one if you really mean to",
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.keys_dir.mkdir(mode=0o700, exist_ok=False)
        self.next_identity_path.parent.mkdir(mode=0o700, exist_ok=True)
        self.config_path.write_text(tomli_w.dumps(config.to_toml()), encoding="utf-8")

    def load_config(self) -> NodeConfig:
        if not self.exists():
            raise ParleyError(
                f"no node at {self.path} (missing {CONFIG_NAME})",
                hint="create one with 'parley init DIR --party XX', or pass --home",
            )
        try:
            doc = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
            node, database, server = doc["node"], doc["database"], doc.get("server", {})
            return NodeConfig(
                party=check_party(node["party"]),
                name=str(node["name"]),
                network=check_network(node["network"]),
                database=str(database["url"]),
                host=str(server.get("host", "127.0.0.1")),
                port=int(server.get("port", DEFAULT_PORT)),
                lang=_language(node.get("lang")),
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ParleyError(f"{self.config_path}: invalid configuration ({exc})") from exc

    def key_path(self, purpose: str) -> Path:
        return self.keys_dir / f"{purpose}.pem"

    def write_key(self, path: Path, key: SigningKey, passphrase: bytes | None) -> None:
        write_key_file(path, key, passphrase)

    def load_key(self, purpose: str, passphrase: PassphraseSource) -> SigningKey:
        return read_key_file(self.key_path(purpose), passphrase)

    def load_keys(self, passphrase: PassphraseSource) -> dict[str, SigningKey]:
        return {name: self.load_key(name, passphrase) for name in ("identity", *PURPOSES)}


def _language(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not LANG_RE.match(value):
        raise ValueError(f"[node] lang = {value!r} is not a language tag such as ja or zh-Hans")
    return value


def write_key_file(path: Path, key: SigningKey, passphrase: bytes | None) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def read_key_file(path: Path, passphrase: PassphraseSource) -> SigningKey:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} is missing") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o})",
            hint=f"chmod 600 {path}",
        )
    pem = path.read_bytes()
    secret = passphrase(str(path)) if b"ENCRYPTED" in pem else None
    try:
        key = serialization.load_pem_private_key(pem, password=secret)
    except (ValueError, TypeError) as exc:
        problem = "wrong passphrase" if secret else "unreadable key"
        raise KeyFileError(f"key file {path}: {problem}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
    return SigningKey(key)
