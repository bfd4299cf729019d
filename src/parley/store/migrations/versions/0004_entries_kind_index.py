"""Index entries by (party, kind): the key and policy history of a log is read at every start.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("entries_party_kind", "entries", ["party", "kind", "seq"])


def downgrade() -> None:
    op.drop_index("entries_party_kind", "entries")
