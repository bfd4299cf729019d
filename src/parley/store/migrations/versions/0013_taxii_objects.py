"""TAXII 2.1: an index of the STIX objects of held cyber notifications, collections, statuses.

``taxii_objects`` holds one row per STIX object (and version) of each cyber notification whose
body this node holds, in the local object sequence ``seq`` by which TAXII pages (keyset, never
OFFSET); ``taxii_collections`` names each (audience, status) pair; ``taxii_status`` keeps the
status resource of each TAXII write. All of it is derived from ``entries`` and from TAXII
requests; nothing here is in any log. Cyber notifications stored before this migration are
indexed afterwards, page by page, by ``parley.node.taxii.index.catch_up``: the migration records
the range of ingest sequences to go through in ``meta`` (``taxii.backfill``).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "taxii_objects",
        sa.Column("seq", ROWID, primary_key=True, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, nullable=False),
        sa.Column("collection", sa.String(36), nullable=False),
        sa.Column("party", sa.String(8), nullable=False),
        sa.Column("entry_seq", sa.BigInteger, nullable=False),
        sa.Column("tlp", sa.String(16), nullable=False),
        sa.Column("stix_id", sa.String(300), nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("spec_version", sa.String(8), nullable=False),
        sa.Column("object", sa.LargeBinary, nullable=False),
    )
    op.create_index("taxii_objects_collection", "taxii_objects", ["collection", "seq"])
    op.create_index("taxii_objects_versions", "taxii_objects", ["collection", "stix_id", "version"])
    op.create_index("taxii_objects_date_added", "taxii_objects", ["date_added"])
    op.create_table(
        "taxii_collections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "taxii_status",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO meta (key, value) SELECT 'taxii.backfill', '-1,' || CAST(MAX(ingest) AS "
        "VARCHAR(20)) FROM entries HAVING MAX(ingest) IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DELETE FROM meta WHERE key = 'taxii.backfill'")
    op.drop_table("taxii_status")
    op.drop_table("taxii_collections")
    op.drop_table("taxii_objects")
