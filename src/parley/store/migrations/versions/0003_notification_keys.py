"""Notifications: the idempotency key and incident of every notification this node wrote.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_keys",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("key", sa.LargeBinary(32), primary_key=True),
        sa.Column("identifier", sa.Text, nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("sent", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("incident", sa.BigInteger, nullable=False),
    )
    op.create_index("notification_keys_seq", "notification_keys", ["party", "seq"], unique=True)
    op.create_index("notification_keys_incident", "notification_keys", ["party", "incident"])


def downgrade() -> None:
    op.drop_index("notification_keys_incident", "notification_keys")
    op.drop_index("notification_keys_seq", "notification_keys")
    op.drop_table("notification_keys")
