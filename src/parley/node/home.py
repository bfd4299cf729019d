"""A node home: its configuration file, its key files and (by default) its SQLite database.

Layout::

    HOME/parley.toml                 party, name, network, language, database URL, listen address,
                                     the node's own public URLs, the release categories
    HOME/keys/{identity,log,witness,http}.pem   PKCS#8, mode 0600, optionally encrypted
    HOME/offline/next-identity.pem   the pre-rotation key: move it offline after init
    HOME/parley.db                   SQLite (WAL) unless the config names PostgreSQL

The home is private to the account that runs the node: the folder is 0700 and every file in it
0600. Key files are refused when any group or other permission bit is set: whoever can read them
can speak for the party. The home folder and its SQLite database are refused the same way
(``check_private``): the database holds every body this node may read, RED ones too, and the
officers' password hashes.

A relative SQLite path in ``[database] url`` (the default, ``sqlite+pysqlite:///parley.db``) is
relative to the home, so a copied or moved home opens its own database; an absolute path is
used as written.

``[release] categories`` names the categories whose Actual notifications need two officers
(``parley.node.notifications.release``): exact codes (``geo.tsunami``) or every code of a domain
(``nuclear.*``). A code or domain that is not a category is refused when the file is read, and so
is any other key in ``[release]``: a misspelt rule must never switch two-person release off.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from parley.core.checkpoint import origin_parts
from parley.core.entry import check_network, check_party
from parley.core.errors import ConfigurationError, ConflictError, KeyFileError
from parley.core.keys import PURPOSES, SigningKey
from parley.formats.categories import is_category_pattern, matches_category

CONFIG_NAME = "parley.toml"
DEFAULT_PORT = 8700
# The default database: SQLite in the home, written relative to it (resolved at load time).
HOME_DATABASE = "sqlite+pysqlite:///parley.db"
LOOSE_BITS = stat.S_IRWXG | stat.S_IRWXO
# The language a node reads and writes in when parley.toml names none ([node] lang = "ja").
DEFAULT_LANGUAGES = {"JP": "ja", "CN": "zh", "KR": "ko", "RU": "ru"}
LANG_RE = re.compile(r"^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$")
PassphraseSource = Callable[[str], bytes | None]


@dataclass(frozen=True)
class NodeConfig:
    """What ``parley.toml`` says: the party, network, database, listen address, URLs, origin."""

    party: str
    name: str
    network: str
    database: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    lang: str | None = None
    # The node's public URLs (``[server] url``): a signed request must be addressed to one.
    urls: tuple[str, ...] = ()
    # The log's origin, chosen once by ``parley init`` (protocol s6) and never recomputed;
    # None in homes made before deployment origins: their log keeps parley/<network>/<party>.
    origin: str | None = None
    # ``[release] categories``: codes or ``domain.*`` whose Actual notifications need two officers.
    release_categories: tuple[str, ...] = ()

    @property
    def language(self) -> str:
        """The node's language (BCP 47): ``lang`` if set, else the party's (JP ja, ..., en)."""
        return self.lang or DEFAULT_LANGUAGES.get(self.party, "en")

    def to_toml(self) -> dict[str, Any]:
        """The configuration as TOML: ``[node]``, ``[database]``, ``[server]``, ``[release]``."""
        node = {"party": self.party, "name": self.name, "network": self.network}
        if self.lang is not None:
            node["lang"] = self.lang
        if self.origin is not None:
            node["origin"] = self.origin
        server: dict[str, Any] = {"host": self.host, "port": self.port}
        if self.urls:
            server["url"] = list(self.urls)
        tables: dict[str, Any] = {
            "node": node,
            "database": {"url": self.database},
            "server": server,
        }
        if self.release_categories:
            tables["release"] = {"categories": list(self.release_categories)}
        return tables

    def needs_release(self, category: str) -> bool:
        """Whether ``category`` is one of the release categories (exact, or by ``domain.*``)."""
        return matches_category(self.release_categories, category)


def check_release_categories(value: Any) -> tuple[str, ...]:
    """``[release] categories``: category codes or ``domain.*``; unknown ones are named."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(
            f"[release] categories = {value!r} is not a list of category codes",
            hint='e.g. categories = ["nuclear.*", "geo.tsunami"]',
        )
    unknown = [pattern for pattern in value if not is_category_pattern(pattern)]
    if unknown:
        raise ConfigurationError(
            f"[release] categories: {', '.join(map(repr, unknown))} "
            f"{'is not a category' if len(unknown) == 1 else 'are not categories'}",
            hint="give codes such as geo.tsunami or domains such as nuclear.* "
            "('parley categories' lists them)",
        )
    return tuple(dict.fromkeys(value))


def _origin(value: Any, network: str, party: str) -> str | None:
    """``[node] origin``: absent in older homes; else an origin of this node's log."""
    if value is None:
        return None
    if not isinstance(value, str) or origin_parts(value) != (network, party):
        raise ValueError(
            f"[node] origin = {value!r} is not an origin of {party}'s log on {network}"
        )
    return value


def check_urls(value: Any) -> tuple[str, ...]:
    """``[server] url``: one URL or a list of them, each ``http(s)://HOST[:PORT]``, normalised.

    These are the URLs peers reach this node under and sign their requests for; a signed
    request addressed to any other URL is refused, so each must be exactly scheme and authority.
    """
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple):
        raise ConfigurationError(
            f"[server] url = {value!r} is not a URL or a list of URLs",
            hint='e.g. url = ["https://jp.example:8700"]',
        )
    return tuple(_check_url(item) for item in values)


def _check_url(value: Any) -> str:
    hint = "give scheme, host and optional port only, e.g. https://jp.example:8700"
    if not isinstance(value, str):
        raise ConfigurationError(f"[server] url: {value!r} is not a URL", hint=hint)
    parts = urllib.parse.urlsplit(value.strip())
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "?" in value
        or "#" in value
    ):
        raise ConfigurationError(
            f"[server] url: {value!r} is not an http(s) URL of this node", hint=hint
        )
    return f"{parts.scheme}://{parts.netloc}"


def database_to_write(database: str | None) -> str:
    """The ``[database] url`` to write at init: the home's own SQLite file, or ``database``.

    A relative SQLite path given on the command line names a file relative to where the
    command ran, so it is written absolute: in parley.toml a relative path means the home.
    """
    if database is None:
        return HOME_DATABASE
    return _sqlite_relative_to(database, Path.cwd())


def _sqlite_relative_to(url: str, folder: Path) -> str:
    """``url`` with a relative SQLite file path made absolute under ``folder``; others as given."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"[database] url = {url!r} is not a database URL",
            hint="e.g. postgresql+psycopg://parley@db/parley",
        ) from exc
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not path or path.startswith((":", "file:")):
        return url
    if Path(path).is_absolute():
        return url
    return parsed.set(database=str(folder / path)).render_as_string(hide_password=False)


def no_passphrase(_path: str) -> bytes | None:
    """A passphrase source for plain key files: it has no passphrase to give."""
    return None


class NodeHome:
    """Paths and files of one node's home folder."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    @property
    def config_path(self) -> Path:
        """``HOME/parley.toml``."""
        return self.path / CONFIG_NAME

    @property
    def keys_dir(self) -> Path:
        """``HOME/keys``, the folder of the identity and purpose key files."""
        return self.path / "keys"

    @property
    def next_identity_path(self) -> Path:
        """``HOME/offline/next-identity.pem``, the pre-rotation key to move offline after init."""
        return self.path / "offline" / "next-identity.pem"

    def resolve_database(self, url: str) -> str:
        """``url`` with a relative SQLite path made absolute under the home."""
        return _sqlite_relative_to(url, self.path)

    def sqlite_files(self, url: str) -> list[Path]:
        """The SQLite database file of ``url`` and its -wal and -shm files, those that exist."""
        parsed = make_url(url)
        database = parsed.database or ""
        if parsed.get_backend_name() != "sqlite" or not database or database.startswith(":"):
            return []
        main = Path(database)
        files = [main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm")]
        return [path for path in files if path.exists()]

    def check_private(self, config: NodeConfig) -> None:
        """Refuse a home folder or SQLite database that other local users could read."""
        folder_mode = stat.S_IMODE(self.path.stat().st_mode)
        if folder_mode & LOOSE_BITS:
            raise KeyFileError(
                f"node home {self.path} is open to other users (mode {folder_mode:o}): it holds "
                "the keys and the database",
                hint=f"chmod 700 {self.path}",
            )
        for path in self.sqlite_files(config.database):
            file_mode = stat.S_IMODE(path.stat().st_mode)
            if file_mode & LOOSE_BITS:
                raise KeyFileError(
                    f"database file {path} is readable by others (mode {file_mode:o}): it holds "
                    "every body this node may read and the officers' password hashes",
                    hint=f"chmod 600 {path}",
                )

    def exists(self) -> bool:
        """Whether a node's configuration file is here."""
        return self.config_path.exists()

    def create(self, config: NodeConfig) -> None:
        """Make the home folder (0700), its key folders and ``parley.toml``; never over a node."""
        check_party(config.party)
        check_network(config.network)
        check_urls(list(config.urls))
        if self.exists() or (self.path / "keys").exists():
            raise ConflictError(
                f"{self.path} already holds a node; refusing to overwrite it",
                hint="choose another folder, or remove this one if you really mean to",
            )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.chmod(0o700)  # an existing folder, or one made under a loose umask
        self.keys_dir.mkdir(mode=0o700, exist_ok=False)
        self.next_identity_path.parent.mkdir(mode=0o700, exist_ok=True)
        write_private(self.config_path, tomli_w.dumps(config.to_toml()).encode("utf-8"))

    def load_config(self) -> NodeConfig:
        """Read and check ``parley.toml``, with a relative SQLite path resolved under the home."""
        if not self.exists():
            raise ConfigurationError(
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
                database=self.resolve_database(str(database["url"])),
                host=str(server.get("host", "127.0.0.1")),
                port=int(server.get("port", DEFAULT_PORT)),
                lang=_language(node.get("lang")),
                urls=self._urls(server.get("url", [])),
                origin=_origin(node.get("origin"), node["network"], node["party"]),
                release_categories=self._release(doc.get("release", {})),
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{self.config_path}: invalid configuration ({exc})") from exc

    def _release(self, table: Any) -> tuple[str, ...]:
        try:
            if not isinstance(table, dict):
                raise ConfigurationError("[release] must be a table")
            other = sorted(set(table) - {"categories"})
            if other:
                raise ConfigurationError(
                    f"[release]: unknown key {', '.join(other)}", hint="the one key is categories"
                )
            return check_release_categories(table.get("categories", []))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.config_path}: {exc.message}", hint=exc.hint) from exc

    def _urls(self, value: Any) -> tuple[str, ...]:
        try:
            return check_urls(value)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.config_path}: {exc.message}", hint=exc.hint) from exc

    def key_path(self, purpose: str) -> Path:
        """The key file of ``purpose`` (identity, log, witness or http)."""
        return self.keys_dir / f"{purpose}.pem"

    def write_key(self, path: Path, key: SigningKey, passphrase: bytes | None) -> None:
        """Write ``key`` to a new private key file at ``path``, encrypted under ``passphrase``."""
        write_key_file(path, key, passphrase)

    def load_key(self, purpose: str, passphrase: PassphraseSource) -> SigningKey:
        """Read the private key of ``purpose``, asking ``passphrase`` if its file is encrypted."""
        return read_key_file(self.key_path(purpose), passphrase)

    def load_keys(self, passphrase: PassphraseSource) -> dict[str, SigningKey]:
        """The identity key and every purpose key, by name."""
        return {name: self.load_key(name, passphrase) for name in ("identity", *PURPOSES)}


def _language(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not LANG_RE.match(value):
        raise ValueError(f"[node] lang = {value!r} is not a language tag such as ja or zh-Hans")
    return value


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by this account alone (0600, even if it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def write_key_file(path: Path, key: SigningKey, passphrase: bytes | None) -> None:
    """Write ``key`` as PKCS#8 PEM to a new file (0600, fsynced); refuse to overwrite one."""
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
    """Read an Ed25519 private key, refusing a file that other users could read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} is missing") from exc
    if mode & LOOSE_BITS:
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
