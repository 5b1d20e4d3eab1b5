"""The server's tables, written once with SQLAlchemy Core so SQLite and PostgreSQL share every query.

Times are epoch seconds (floats): the box sends them that way, and they sort and subtract the same
on both databases. Alembic migrations in ``migrations/`` create these tables; keep them in step.
"""

from __future__ import annotations

import sqlalchemy as sa

# SQLite only autoincrements a plain INTEGER primary key; PostgreSQL gets a 64-bit one.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

devices = sa.Table(
    "devices", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
    sa.Column("rejected_at", sa.Float),  # last request that came with this device's revoked token
    sa.Column("last_seen", sa.Float),
    sa.Column("online_since", sa.Float),
    sa.Column("last_ip", sa.String(64)),
    sa.Column("last_heartbeat", sa.Text),  # the newest heartbeat (by the box's clock) as sent, JSON
    sa.Column("last_sent_at", sa.Float),
    sa.Column("tv_bad_streak", sa.Integer, nullable=False, server_default="0"),
    sa.Column("offline_alerted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("tv_alerted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("live_until", sa.Float),
    sa.Column("offered_version", sa.String(64)),  # the bundle this box should run (docs/updates.md)
)

heartbeats = sa.Table(
    "heartbeats", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
    sa.Column("tv_state", sa.String(20)),
    sa.Column("cpu_temp_c", sa.Float),
    sa.Column("wifi_dbm", sa.Float),
    sa.Column("mem_total", sa.BigInteger),
    sa.Column("mem_available", sa.BigInteger),
    sa.Column("load1", sa.Float),
    sa.UniqueConstraint("device_id", "record_id", name="uq_heartbeats_device_record"),
    sa.Index("ix_heartbeats_device_received", "device_id", "received_at"),
    sa.Index("ix_heartbeats_received", "received_at"),
)

commands = sa.Table(
    "commands", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("args", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | done | failed | expired
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float),
    sa.Column("deliveries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completed_at", sa.Float),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Index("ix_commands_device_status", "device_id", "status", "created_at"),
)

screenshots = sa.Table(
    "screenshots", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(100), nullable=False),  # made by the server, never from the request
    sa.Column("taken_at", sa.Float),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("reason", sa.String(10), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.UniqueConstraint("device_id", "record_id", name="uq_screenshots_device_record"),
    sa.Index("ix_screenshots_device_received", "device_id", "received_at"),
)

progress = sa.Table(
    "progress", metadata,
    sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.Float, nullable=False),
    sa.Column("duration", sa.Float),
    sa.Column("watched", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

log_uploads = sa.Table(
    "log_uploads", metadata,
    sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("upload_id", sa.String(64), primary_key=True),
    sa.Column("file_name", sa.String(100), nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("ip", sa.String(64)),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # offline | online | tv_failing | tv_recovered
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index("ix_alerts_device_created", "device_id", "created_at"),
)

settings = sa.Table(
    "settings", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Dashboard login attempts still inside the rate limit's window (ratelimit.py). In the database, not in
# memory, so replicas share one quota.
login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("ip", sa.String(64)),  # NULL once a login from that address succeeded: counts overall only
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_login_failures_ip_at", "ip", "at"),
    sa.Index("ix_login_failures_at", "at"),
)

# Maintainer tokens for the upload API (`piclient server add-maintainer-token`): never a box's token.
maintainer_tokens = sa.Table(
    "maintainer_tokens", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

# tus uploads (uploads.py); the bytes are in DATA/uploads/<id>.part until the last one arrives.
uploads = sa.Table(
    "uploads", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),  # the Upload-Metadata pairs, decoded, as JSON
    sa.Column("owner", sa.String(100), nullable=False),  # the maintainer token's name, or "dashboard"
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("completed_at", sa.Float),
)

# The packaging queue (jobs.py): any server or worker process claims a job with a lease it renews.
publish_jobs = sa.Table(
    "publish_jobs", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("film", sa.Text, nullable=False),  # the source file's path on the server
    sa.Column("options", sa.Text, nullable=False),  # titles, series, subtitle paths... as JSON
    sa.Column("upload_id", sa.String(32)),
    sa.Column("state", sa.String(10), nullable=False),  # queued | running | done | failed
    sa.Column("stage", sa.String(20)),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("worker", sa.String(100)),
    sa.Column("lease_until", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_publish_jobs_state", "state", "id"),
)

bundles = sa.Table(
    "bundles", metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("file_name", sa.String(100), nullable=False),  # made by the server from the checked version
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("signature", sa.String(200), nullable=False),  # Ed25519 over the SHA-256 (piclient.update.signing)
    sa.Column("python", sa.String(16), nullable=False),
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("published_at", sa.Float, nullable=False),
)
