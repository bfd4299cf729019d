"""Deadlines: tracked deadline clocks and the communication checks this node sent.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_clocks",
        sa.Column("entry_party", sa.String(8), primary_key=True),
        sa.Column("entry_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("addressee", sa.String(8), primary_key=True),
        sa.Column("clock", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("within", sa.BigInteger, nullable=False),
        sa.Column("due", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answered", sa.BigInteger, nullable=True),
        sa.Column("escalated", sa.BigInteger, nullable=True),
        sa.Column("checked", sa.BigInteger, nullable=False),
    )
    op.create_index("deadline_clocks_due", "deadline_clocks", ["state", "due"])
    op.create_table(
        "communication_checks",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("peer", sa.String(8), nullable=False),
        sa.Column("sent", sa.BigInteger, nullable=False),
    )
    op.create_index("communication_checks_peer", "communication_checks", ["peer", "sent"])


def downgrade() -> None:
    op.drop_index("communication_checks_peer", "communication_checks")
    op.drop_table("communication_checks")
    op.drop_index("deadline_clocks_due", "deadline_clocks")
    op.drop_table("deadline_clocks")
