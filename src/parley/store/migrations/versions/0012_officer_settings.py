"""Officer settings: each officer's language, time zone and alarm, for the pages.

One row per officer who changed anything (``parley.node.settings``); an officer without a row
has the defaults, so an existing store needs no data here. Nothing in it is in any log.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officer_settings",
        sa.Column("officer", sa.String(64), primary_key=True),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("sound", sa.Boolean, nullable=False),
        sa.Column("alarm_severity", sa.String(16), nullable=False),
        sa.Column("alarm_exercise", sa.Boolean, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("officer_settings")
