"""Federation: pinned peers, peer sync status, signed-request nonces, receipt index, webhooks.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("identity", sa.LargeBinary(32), nullable=False),
        sa.Column("tls_spki", sa.String(64), nullable=True),
        sa.Column("key_statement", sa.Text, nullable=False),
        sa.Column("added", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "peer_status",
        sa.Column("party", sa.String(8), primary_key=True),
        sa.Column("remote_size", sa.BigInteger, nullable=True),
        sa.Column("remote_note", sa.Text, nullable=True),
        sa.Column("last_attempt", sa.BigInteger, nullable=True),
        sa.Column("last_success", sa.BigInteger, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.BigInteger, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("held", sa.Text, nullable=True),
        sa.Column("pending_bodies", sa.Integer, nullable=False),
    )
    op.create_table(
        "nonces",
        sa.Column("nonce", sa.String(128), primary_key=True),
        sa.Column("party", sa.String(8), nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("nonces_expires", "nonces", ["expires"])
    op.create_table(
        "receipts",
        sa.Column("entry_party", sa.String(8), primary_key=True),
        sa.Column("entry_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("by_party", sa.String(8), primary_key=True),
        sa.Column("type", sa.String(16), primary_key=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("receipt_seq", sa.BigInteger, nullable=False),
        sa.Column("claimed", sa.BigInteger, nullable=False),
        sa.Column("stored_at", sa.BigInteger, nullable=True),
        sa.Column("observed", sa.BigInteger, nullable=False),
        sa.Column("officer", sa.String(100), nullable=True),
        sa.Column("reply", sa.Text, nullable=True),
    )

    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.BigInteger, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered", sa.BigInteger, nullable=True),
    )
    op.create_index("webhook_outbox_due", "webhook_outbox", ["status", "next_attempt"])


def downgrade() -> None:
    op.drop_index("webhook_outbox_due", "webhook_outbox")
    op.drop_table("webhook_outbox")
    op.drop_table("webhooks")
    op.drop_index("nonces_expires", "nonces")
    for name in ("receipts", "nonces", "peer_status", "peers"):
        op.drop_table(name)
