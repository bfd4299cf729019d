"""Witnessing: cosignatures, what this node cosigned, external witnesses, equivocations.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(200), primary_key=True),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
    )
    op.create_index("cosignatures_witness", "cosignatures", ["party", "witness", "size"])
    op.create_table(
        "witnessed",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("cosigned", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "external_witnesses",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("vkey", sa.Text, nullable=False),
        sa.Column("added", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_table(
        "equivocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("party", sa.String(8), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("detected", sa.BigInteger, nullable=False),
        sa.Column("entry_seq", sa.BigInteger, nullable=True),
    )
    op.create_index("equivocations_party", "equivocations", ["party"])


def downgrade() -> None:
    op.drop_index("equivocations_party", "equivocations")
    op.drop_table("equivocations")
    op.drop_table("external_witnesses")
    op.drop_table("witnessed")
    op.drop_index("cosignatures_witness", "cosignatures")
    op.drop_table("cosignatures")
