"""Migrations bring a database made by an older release to exactly the schema the code declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from piclient.server import migrate
from piclient.server.db import Database, default_url
from piclient.server.devices import add_device
from piclient.server.schema import devices, login_failures, metadata
from tests.server.conftest import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url(request, request.param) or default_url(tmp_path))
    try:
        yield database
    finally:
        database.close()


def upgrade_to(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    with db.writer_engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def test_a_database_from_the_first_release_gains_the_login_failures_table_and_keeps_its_data(db: Database) -> None:
    upgrade_to(db, "0001")
    db.write_sync(add_device, "Living room")
    migrate.upgrade(db.writer_engine)
    assert db.read_sync(lambda conn: conn.execute(sa.select(devices.c.name)).scalars().all()) == ["Living room"]
    db.write_sync(lambda conn: conn.execute(login_failures.insert().values(ip="192.0.2.1", at=1.0)))
    with db.reader.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        indexes = {index["name"] for index in sa.inspect(conn).get_indexes("login_failures")}
    assert differences == []
    assert indexes == {"ix_login_failures_ip_at", "ix_login_failures_at"}
