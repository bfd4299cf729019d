"""Workers: the worker-process table, shared rate-limit buckets, and log-growth notifications.

On PostgreSQL a trigger on ``checkpoints`` sends ``NOTIFY parley_log, '<party>'`` in every
transaction that stores a checkpoint, whichever process appends (a server worker or a CLI
command); PostgreSQL delivers it at commit to every worker that listens
(``parley.api.workers``). SQLite has no notifications: its single server process polls.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE FUNCTION parley_notify_log() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_log', NEW.party);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER checkpoints_notify_log AFTER INSERT ON checkpoints
FOR EACH ROW EXECUTE FUNCTION parley_notify_log()
"""


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("pid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("started", sa.BigInteger, nullable=False),
        sa.Column("heartbeat", sa.BigInteger, nullable=False),
        sa.Column("leading", sa.Boolean, nullable=False),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("millitokens", sa.BigInteger, nullable=False),
        sa.Column("stamp", sa.BigInteger, nullable=False),
    )
    op.create_index("rate_buckets_stamp", "rate_buckets", ["stamp"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER checkpoints_notify_log ON checkpoints")
        op.execute("DROP FUNCTION parley_notify_log()")
    op.drop_index("rate_buckets_stamp", "rate_buckets")
    op.drop_table("rate_buckets")
    op.drop_table("workers")
