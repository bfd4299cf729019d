"""The tables of a node's database (SQLAlchemy Core), the same on SQLite and PostgreSQL.

One ``entries`` table holds every entry the node keeps: its own log and the logs of its peers
(mirrors), keyed by ``(party, seq)``. ``ingest`` is the local ingest sequence, assigned under the
single-writer lock, by which every listing pages. ``tree_nodes`` holds the hashes of the perfect
subtrees of each log (RFC 9162), so any proof is read, never recomputed from leaves.
Changes go through Alembic migrations in ``parley/store/migrations``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

log_state = Table(
    "log_state",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("last_time", BigInteger, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ingest", BigInteger, nullable=False, unique=True),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("audience", Text, nullable=False),
    Column("tlp", String(16), nullable=False),
    Column("body", LargeBinary, nullable=True),
    Column("salt", LargeBinary(32), nullable=True),
    Column("flag", String(64), nullable=True),
    Column("stored_at", BigInteger, nullable=False),
)
Index("entries_leaf_hash", entries.c.leaf_hash)

tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("node_id", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("time", BigInteger, nullable=False),
)

officers = Table(
    "officers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("token_hash", Text, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("officer", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
)

NODE_LEVEL_SHIFT = 48


def node_key(level: int, index: int) -> int:
    """Pack a perfect-subtree id (level, index) into one integer key (level < 64, index < 2^48)."""
    return (level << NODE_LEVEL_SHIFT) | index
