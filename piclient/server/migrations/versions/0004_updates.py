"""Published bundles and the version each device is offered.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundles",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("python", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("published_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("offered_version", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("offered_version")
    op.drop_table("bundles")
