"""The first schema: devices, heartbeats, commands, screenshots, progress, logs, sessions, alerts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A frozen copy of the types, so later edits of schema.py never change what this revision did.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _device_fk() -> sa.Column:
    return sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
        sa.Column("rejected_at", sa.Float),
        sa.Column("last_seen", sa.Float),
        sa.Column("online_since", sa.Float),
        sa.Column("last_ip", sa.String(64)),
        sa.Column("last_heartbeat", sa.Text),
        sa.Column("last_sent_at", sa.Float),
        sa.Column("tv_bad_streak", sa.Integer, nullable=False, server_default="0"),
        sa.Column("offline_alerted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("tv_alerted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("live_until", sa.Float),
    )
    op.create_table(
        "heartbeats",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _device_fk(),
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
    )
    op.create_index("ix_heartbeats_device_received", "heartbeats", ["device_id", "received_at"])
    op.create_index("ix_heartbeats_received", "heartbeats", ["received_at"])
    op.create_table(
        "commands",
        sa.Column("id", sa.String(32), primary_key=True),
        _device_fk(),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("deliveries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed_at", sa.Float),
        sa.Column("result", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_commands_device_status", "commands", ["device_id", "status", "created_at"])
    op.create_table(
        "screenshots",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _device_fk(),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(100), nullable=False),
        sa.Column("taken_at", sa.Float),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("reason", sa.String(10), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.UniqueConstraint("device_id", "record_id", name="uq_screenshots_device_record"),
    )
    op.create_index("ix_screenshots_device_received", "screenshots", ["device_id", "received_at"])
    op.create_table(
        "progress",
        sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("position", sa.Float, nullable=False),
        sa.Column("duration", sa.Float),
        sa.Column("watched", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "log_uploads",
        sa.Column("device_id", sa.BigInteger, sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("upload_id", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.String(100), nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("ip", sa.String(64)),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _device_fk(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_alerts_device_created", "alerts", ["device_id", "created_at"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("settings", "alerts", "sessions", "log_uploads", "progress", "screenshots", "commands",
                  "heartbeats", "devices"):
        op.drop_table(table)
