"""Officer access: scoped tokens, sessions, TOTP, idempotent replies, live events.

The one argon2-hashed script token per officer (``officers.token_hash``) cannot become a scoped
token: only its hash is known. It is revoked here (the column goes); presenting it afterwards is
refused with a message that says so and how to issue a scoped token (``parley user token NAME
--scope ...``). On PostgreSQL a trigger on ``live_events`` sends ``NOTIFY parley_live`` so the
live stream of every worker hears of an event at its commit.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE FUNCTION parley_notify_live() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_live', NEW.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER live_events_notify AFTER INSERT ON live_events
FOR EACH ROW EXECUTE FUNCTION parley_notify_live()
"""


def upgrade() -> None:
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("token_hash")
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_step", sa.BigInteger, nullable=True))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=True),
        sa.Column("revoked", sa.BigInteger, nullable=True),
        sa.Column("last_used", sa.BigInteger, nullable=True),
    )
    op.create_index("api_tokens_officer", "api_tokens", ["officer"])
    op.create_table(
        "sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
        sa.Column("ended", sa.BigInteger, nullable=True),
    )
    op.create_index("sessions_officer", "sessions", ["officer"])
    op.create_table(
        "idempotent_replies",
        sa.Column("caller", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("reply", sa.Text, nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "live_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("officer", sa.String(64), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER live_events_notify ON live_events")
        op.execute("DROP FUNCTION parley_notify_live()")
    op.drop_table("live_events")
    op.drop_table("idempotent_replies")
    op.drop_index("sessions_officer", "sessions")
    op.drop_table("sessions")
    op.drop_index("api_tokens_officer", "api_tokens")
    op.drop_table("api_tokens")
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("totp_step")
        batch.drop_column("totp_secret")
        batch.add_column(sa.Column("token_hash", sa.Text, nullable=True))
