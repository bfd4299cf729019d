"""Subscriptions: the areas officers watch, and the matches of notifications with them.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(128), nullable=True),
        sa.Column("area", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("min_severity", sa.String(16), nullable=False),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.BigInteger, nullable=True),
    )
    op.create_index("subscriptions_owner", "subscriptions", ["owner", "id"])
    op.create_table(
        "subscription_matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription", sa.Integer, nullable=False),
        sa.Column("entry_party", sa.String(8), nullable=False),
        sa.Column("entry_seq", sa.BigInteger, nullable=False),
        sa.Column("ingest", sa.BigInteger, nullable=False),
        sa.Column("matched", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "subscription_matches_entry",
        "subscription_matches",
        ["subscription", "entry_party", "entry_seq"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("subscription_matches_entry", "subscription_matches")
    op.drop_table("subscription_matches")
    op.drop_index("subscriptions_owner", "subscriptions")
    op.drop_table("subscriptions")
