"""The library: maintainer tokens, tus uploads and the publish job queue.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# A frozen copy of the types, so later edits of schema.py never change what this revision did.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "maintainer_tokens",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("completed_at", sa.Float),
    )
    op.create_table(
        "publish_jobs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("film", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("upload_id", sa.String(32)),
        sa.Column("state", sa.String(10), nullable=False),
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
    )
    op.create_index("ix_publish_jobs_state", "publish_jobs", ["state", "id"])


def downgrade() -> None:
    op.drop_table("publish_jobs")
    op.drop_table("uploads")
    op.drop_table("maintainer_tokens")
