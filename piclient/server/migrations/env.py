"""Alembic environment: migrations always run on a connection the server hands in (see ``migrate.py``)."""

from __future__ import annotations

from alembic import context

from piclient.server.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
