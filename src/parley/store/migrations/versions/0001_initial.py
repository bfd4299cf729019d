"""Initial schema: entries, tree nodes, checkpoints, log state, officers, audit trail.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "log_state",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("last_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ingest", sa.BigInteger, nullable=False, unique=True),
        sa.Column("leaf", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("tlp", sa.String(16), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("salt", sa.LargeBinary(32), nullable=True),
        sa.Column("flag", sa.String(64), nullable=True),
        sa.Column("stored_at", sa.BigInteger, nullable=False),
    )
    op.create_index("entries_leaf_hash", "entries", ["leaf_hash"])
    op.create_table(
        "tree_nodes",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("node_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "officers",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    for name in ("audit", "officers", "checkpoints", "tree_nodes", "entries", "log_state", "meta"):
        op.drop_table(name)
