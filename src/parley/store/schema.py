"""The tables of a node's database (SQLAlchemy Core), the same on SQLite and PostgreSQL.

One ``entries`` table holds every entry the node keeps: its own log and the logs of its peers
(mirrors), keyed by ``(party, seq)``. ``ingest`` is the local ingest sequence, assigned under the
single-writer lock, by which every listing pages. ``tree_nodes`` holds the hashes of the perfect
subtrees of each log (RFC 9162), so any proof is read, never recomputed from leaves.
Changes go through Alembic migrations in ``parley/store/migrations``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

log_state = Table(
    "log_state",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("last_time", BigInteger, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ingest", BigInteger, nullable=False, unique=True),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("audience", Text, nullable=False),
    Column("tlp", String(16), nullable=False),
    Column("body", LargeBinary, nullable=True),
    Column("salt", LargeBinary(32), nullable=True),
    Column("flag", String(64), nullable=True),
    Column("stored_at", BigInteger, nullable=False),
)
Index("entries_leaf_hash", entries.c.leaf_hash)
Index("entries_party_kind", entries.c.party, entries.c.kind, entries.c.seq)

tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("node_id", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("time", BigInteger, nullable=False),
)

officers = Table(
    "officers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_step", BigInteger, nullable=True),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("officer", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
)

NODE_LEVEL_SHIFT = 48


def node_key(level: int, index: int) -> int:
    """Pack a perfect-subtree id (level, index) into one integer key (level < 64, index < 2^48)."""
    return (level << NODE_LEVEL_SHIFT) | index


# Federation (migration 0002): pinned peers, their sync state, the replay cache of signed
# requests, and the index of receipts (who answered which entry, when).

peers = Table(
    "peers",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("url", Text, nullable=False),
    Column("identity", LargeBinary(32), nullable=False),
    Column("tls_spki", String(64), nullable=True),
    Column("key_statement", Text, nullable=False),
    Column("added", BigInteger, nullable=False),
)

peer_status = Table(
    "peer_status",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("remote_size", BigInteger, nullable=True),
    Column("remote_note", Text, nullable=True),
    Column("last_attempt", BigInteger, nullable=True),
    Column("last_success", BigInteger, nullable=True),
    Column("failures", Integer, nullable=False),
    Column("next_attempt", BigInteger, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("held", Text, nullable=True),
    Column("pending_bodies", Integer, nullable=False, default=0),
)

nonces = Table(
    "nonces",
    metadata,
    Column("nonce", String(128), primary_key=True),
    Column("party", String(8), nullable=False),
    Column("expires", BigInteger, nullable=False),
)
Index("nonces_expires", nonces.c.expires)

receipts = Table(
    "receipts",
    metadata,
    Column("entry_party", String(8), primary_key=True),
    Column("entry_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("by_party", String(8), primary_key=True),
    Column("type", String(16), primary_key=True),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("receipt_seq", BigInteger, nullable=False),
    Column("claimed", BigInteger, nullable=False),
    Column("stored_at", BigInteger, nullable=True),
    Column("observed", BigInteger, nullable=False),
    Column("officer", String(100), nullable=True),
    Column("reply", Text, nullable=True),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", BigInteger, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("delivered", BigInteger, nullable=True),
)
Index("webhook_outbox_due", webhook_outbox.c.status, webhook_outbox.c.next_attempt)

# Notifications (migration 0003): the idempotency key of each notification this node wrote
# (``key`` = SHA-256 of its CAP identifier, sender and sent time, so that identifiers of any
# length fit a unique index on every engine) and the incident it belongs to: the seq of the
# first message of its chain (an Alert, or a message whose references were not found here).

notification_keys = Table(
    "notification_keys",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("key", LargeBinary(32), primary_key=True),
    Column("identifier", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("sent", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("incident", BigInteger, nullable=False),
)
Index("notification_keys_seq", notification_keys.c.party, notification_keys.c.seq, unique=True)
Index("notification_keys_incident", notification_keys.c.party, notification_keys.c.incident)

# Witnessing (migration 0005): cosignatures on checkpoints of any log this node holds (its own
# and its peers'), what this node last cosigned per log (served to peers as gossip), the
# external C2SP witnesses an administrator added, and detected equivocations.

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("root", LargeBinary(32), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("line", Text, nullable=False),
)
Index("cosignatures_witness", cosignatures.c.party, cosignatures.c.witness, cosignatures.c.size)

witnessed = Table(
    "witnessed",
    metadata,
    Column("party", String(8), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("cosigned", BigInteger, nullable=False),
)

external_witnesses = Table(
    "external_witnesses",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("url", Text, nullable=False),
    Column("vkey", Text, nullable=False),
    Column("added", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
)

equivocations = Table(
    "equivocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("party", String(8), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("detected", BigInteger, nullable=False),
    Column("entry_seq", BigInteger, nullable=True),
)
Index("equivocations_party", equivocations.c.party)

# Deadlines (migration 0006): one row per tracked clock (delivered, acknowledged) of an
# addressed entry, per addressee: the deadline it states, its due time (witnessed time plus
# deadline once witnessed, claimed time before), its state (open, met, late, missed) and when
# it was escalated (``parley.node.messaging.deadlines``); and the communication checks this node
# sent, one per peer and round (``parley.node.messaging.checks``).

deadline_clocks = Table(
    "deadline_clocks",
    metadata,
    Column("entry_party", String(8), primary_key=True),
    Column("entry_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("addressee", String(8), primary_key=True),
    Column("clock", String(16), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("within", BigInteger, nullable=False),
    Column("due", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("answered", BigInteger, nullable=True),
    Column("escalated", BigInteger, nullable=True),
    Column("checked", BigInteger, nullable=False),
)
Index("deadline_clocks_due", deadline_clocks.c.state, deadline_clocks.c.due)

communication_checks = Table(
    "communication_checks",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("peer", String(8), nullable=False),
    Column("sent", BigInteger, nullable=False),
)
Index("communication_checks_peer", communication_checks.c.peer, communication_checks.c.sent)

# Worker processes (migration 0007): one row per ``parley serve`` worker, refreshed every second,
# saying which one leads (runs the background jobs); rows silent for a while are removed
# (``parley.api.workers``). The anonymous rate limit's token buckets, shared by the workers of a
# node on PostgreSQL (``parley.api.peer_auth``). Neither is part of any log.

workers = Table(
    "workers",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("pid", Integer, primary_key=True, autoincrement=False),
    Column("started", BigInteger, nullable=False),
    Column("heartbeat", BigInteger, nullable=False),
    Column("leading", Boolean, nullable=False),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("millitokens", BigInteger, nullable=False),
    Column("stamp", BigInteger, nullable=False),
)
Index("rate_buckets_stamp", rate_buckets.c.stamp)

# Officer access (migration 0008): scoped API tokens (only the SHA-256 of the 256-bit secret is
# kept), browser sessions (the SHA-256 of the cookie value, with the CSRF token), replies kept for
# ``Idempotency-Key`` repeats, and the live events that are not log entries (escalations,
# break-glass releases, peer alerts), numbered under the single-writer lock so that the live
# stream resumes without a gap. The officers table gains a TOTP factor (``totp_secret``) and the
# last time step it accepted, so a code is never accepted twice. None of this is in any log.

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("officer", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("label", String(100), nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=True),
    Column("revoked", BigInteger, nullable=True),
    Column("last_used", BigInteger, nullable=True),
)
Index("api_tokens_officer", api_tokens.c.officer)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("officer", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("ended", BigInteger, nullable=True),
)
Index("sessions_officer", sessions.c.officer)

idempotent_replies = Table(
    "idempotent_replies",
    metadata,
    Column("caller", String(100), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("reply", Text, nullable=True),
    Column("created", BigInteger, nullable=False),
)

live_events = Table(
    "live_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("officer", String(64), nullable=True),
    Column("data", Text, nullable=False),
)

# Subscriptions (migration 0009): the areas an officer (or one of its script tokens) watches,
# with the categories and the minimum severity wanted; a deleted subscription keeps its row
# (``deleted`` set) so that its matches still name it. And each match of a notification held
# here with a subscription, in the order found, which the stream pages by ``id``
# (``parley.node.subscriptions``).

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(64), nullable=False),
    Column("token_id", String(128), nullable=True),
    Column("area", Text, nullable=False),
    Column("categories", Text, nullable=False),
    Column("min_severity", String(16), nullable=False),
    Column("label", Text, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("deleted", BigInteger, nullable=True),
)
Index("subscriptions_owner", subscriptions.c.owner, subscriptions.c.id)

subscription_matches = Table(
    "subscription_matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription", Integer, nullable=False),
    Column("entry_party", String(8), nullable=False),
    Column("entry_seq", BigInteger, nullable=False),
    Column("ingest", BigInteger, nullable=False),
    Column("matched", BigInteger, nullable=False),
)
Index(
    "subscription_matches_entry",
    subscription_matches.c.subscription,
    subscription_matches.c.entry_party,
    subscription_matches.c.entry_seq,
    unique=True,
)

# Two-person release (migration 0010): a notification prepared by one officer and waiting for a
# second to release it. It is local and unsigned: ``request`` holds what ``lifecycle.notify``
# will be given (its fields, audience and TLP) as JSON text, and nothing is in any log until the
# release signs it (``ref``). ``state`` is pending, released or withdrawn; a break-glass release
# keeps its reason here and in the audit trail, never in the signed body.
pending_releases = Table(
    "pending_releases",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("created", BigInteger, nullable=False),
    Column("prepared_by", String(64), nullable=False),
    Column("prepared_role", String(32), nullable=False),
    Column("category", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("request", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("released_by", String(64), nullable=True),
    Column("released_role", String(32), nullable=True),
    Column("released_at", BigInteger, nullable=True),
    Column("break_glass_reason", Text, nullable=True),
    Column("ref", String(32), nullable=True),
    Column("withdrawn_by", String(64), nullable=True),
    Column("withdrawn_at", BigInteger, nullable=True),
)
Index("pending_releases_state", pending_releases.c.state, pending_releases.c.created)

# Search (migration 0011): the full-text index of the entries whose body this node holds
# (``parley.node.search``, terms from ``parley.formats.textsearch``). ``search_docs`` keeps the
# text each entry was indexed with (to confirm a candidate and cut a snippet), ``search_terms``
# one posting per distinct term and entry (SQLite: a table without rowid, so the postings are
# the primary-key B-tree itself), ``search_pending`` the entries indexed once their pending body
# arrives. All three are derived from ``entries`` and can be rebuilt from it.

# SQLite: ``INTEGER PRIMARY KEY`` is the rowid itself, so a lookup by ingest is one B-tree.
ROWID = BigInteger().with_variant(Integer, "sqlite")

search_docs = Table(
    "search_docs",
    metadata,
    Column("ingest", ROWID, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
)

search_terms = Table(
    "search_terms",
    metadata,
    Column("term", String(64), primary_key=True),
    Column("ingest", BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

search_pending = Table(
    "search_pending",
    metadata,
    Column("ingest", ROWID, primary_key=True, autoincrement=False),
)

# Officer settings (migration 0012): what the pages show an officer in (language, time zone)
# and when they sound the alarm. A row exists once its officer changed something; without one
# the officer has the defaults of ``parley.node.settings``. None of this is in any log.

officer_settings = Table(
    "officer_settings",
    metadata,
    Column("officer", String(64), primary_key=True),
    Column("lang", String(8), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("sound", Boolean, nullable=False),
    Column("alarm_severity", String(16), nullable=False),
    Column("alarm_exercise", Boolean, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

# TAXII 2.1 (migration 0013): the STIX objects of the cyber notifications whose body this node
# holds (``parley.node.taxii.index``), one row per object and version, derived from ``entries``.
# ``seq`` is the local object sequence, assigned under the single-writer lock when the body is
# stored, by which every TAXII listing pages; ``date_added`` (microseconds) grows strictly with
# it. A collection is an (audience, status) pair of the entries (``taxii_collections``);
# ``taxii_status`` keeps the status resource of each TAXII write.

taxii_objects = Table(
    "taxii_objects",
    metadata,
    Column("seq", ROWID, primary_key=True, autoincrement=False),
    Column("date_added", BigInteger, nullable=False),
    Column("collection", String(36), nullable=False),
    Column("party", String(8), nullable=False),
    Column("entry_seq", BigInteger, nullable=False),
    Column("tlp", String(16), nullable=False),
    Column("stix_id", String(300), nullable=False),
    Column("type", String(250), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("spec_version", String(8), nullable=False),
    Column("object", LargeBinary, nullable=False),
)
Index("taxii_objects_collection", taxii_objects.c.collection, taxii_objects.c.seq)
Index(
    "taxii_objects_versions",
    taxii_objects.c.collection,
    taxii_objects.c.stix_id,
    taxii_objects.c.version,
)
Index("taxii_objects_date_added", taxii_objects.c.date_added)

taxii_collections = Table(
    "taxii_collections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("audience", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
)

taxii_status = Table(
    "taxii_status",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("officer", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("resource", Text, nullable=False),
)
