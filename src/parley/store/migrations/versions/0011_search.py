"""Search: the full-text index of held entries (texts, postings, entries awaiting their body).

Derived data only: ``parley.node.search`` fills the tables from ``entries`` past its cursor in
``meta`` (``search.ingest``), so an existing store is indexed by the running node after this
migration, and dropping the tables with the cursor loses nothing.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# SQLite: ``INTEGER PRIMARY KEY`` is the rowid itself, so a lookup by ingest is one B-tree.
ROWID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("ingest", ROWID, primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(64), primary_key=True),
        sa.Column("ingest", sa.BigInteger, primary_key=True, autoincrement=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_pending",
        sa.Column("ingest", ROWID, primary_key=True, autoincrement=False),
    )


def downgrade() -> None:
    op.drop_table("search_pending")
    op.drop_table("search_terms")
    op.drop_table("search_docs")
    op.execute("DELETE FROM meta WHERE key = 'search.ingest'")
