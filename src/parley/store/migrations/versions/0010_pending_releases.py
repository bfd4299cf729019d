"""Two-person release: notifications prepared by one officer, waiting for a second.

A pending release is local and unsigned; it enters the log only when it is released.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_releases",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("prepared_by", sa.String(64), nullable=False),
        sa.Column("prepared_role", sa.String(32), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_role", sa.String(32), nullable=True),
        sa.Column("released_at", sa.BigInteger, nullable=True),
        sa.Column("break_glass_reason", sa.Text, nullable=True),
        sa.Column("ref", sa.String(32), nullable=True),
        sa.Column("withdrawn_by", sa.String(64), nullable=True),
        sa.Column("withdrawn_at", sa.BigInteger, nullable=True),
    )
    op.create_index("pending_releases_state", "pending_releases", ["state", "created"])


def downgrade() -> None:
    op.drop_index("pending_releases_state", "pending_releases")
    op.drop_table("pending_releases")
