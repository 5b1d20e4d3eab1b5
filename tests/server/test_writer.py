"""The group-commit writer: batches, isolation of a failing write, durability before the reply."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from piclient.server import migrate
from piclient.server.db import Database, default_url
from piclient.server.schema import settings
from piclient.server.writer import WriterClosed


def put(conn: sa.Connection, key: str) -> str:
    conn.execute(settings.insert().values(key=key, value="v"))
    return key


def fail(_conn: sa.Connection) -> None:
    raise ValueError("this write is bad")


def keys(db: Database) -> set[str]:
    return set(db.read_sync(lambda conn: conn.execute(sa.select(settings.c.key)).scalars().all()))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(default_url(tmp_path))
    migrate.upgrade(database.writer_engine)
    database.start()
    yield database
    database.close()


def test_concurrent_writes_share_commits_and_all_land(db: Database) -> None:
    async def main() -> list[str]:
        return await asyncio.gather(*(db.write(put, f"k{i}") for i in range(200)))

    assert sorted(asyncio.run(main())) == sorted(f"k{i}" for i in range(200))
    assert keys(db) >= {f"k{i}" for i in range(200)}
    assert db.writer.batches < 200  # some commits carried several writes


def test_a_failing_write_fails_alone(db: Database) -> None:
    async def main() -> list[object]:
        return await asyncio.gather(db.write(put, "before"), db.write(fail), db.write(put, "after"),
                                    db.write(put, "before"), return_exceptions=True)

    before, bad, after, duplicate = asyncio.run(main())
    assert (before, after) == ("before", "after")
    assert isinstance(bad, ValueError) and isinstance(duplicate, sa.exc.IntegrityError)
    assert {"before", "after"} <= keys(db)


def put_all(conn: sa.Connection, items: list[str]) -> list[str]:
    for item in items:
        if item == "bad":
            raise ValueError("bad item")
        put(conn, item)
    return items


def test_grouped_writes_are_retried_one_by_one_when_the_group_fails(db: Database) -> None:
    async def main() -> list[object]:
        return await asyncio.gather(*(db.writer.submit_grouped(put_all, key) for key in ("g1", "bad", "g2")),
                                    return_exceptions=True)

    good, bad, other = asyncio.run(main())
    assert (good, other) == ("g1", "g2") and isinstance(bad, ValueError)
    assert {"g1", "g2"} <= keys(db)


def test_a_closed_writer_refuses_new_writes(tmp_path: Path) -> None:
    database = Database(default_url(tmp_path))
    migrate.upgrade(database.writer_engine)
    database.start()
    database.close()
    with pytest.raises(WriterClosed):
        asyncio.run(database.write(put, "late"))
