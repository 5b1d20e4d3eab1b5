"""The login limit's policy, on a real database of each kind: the record is shared through it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from piclient.server.db import Database, default_url
from piclient.server.ratelimit import LoginLimiter
from piclient.server.schema import login_failures
from tests.server.conftest import database_url
from tests.server.helpers import migrated_database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, request.param) or default_url(tmp_path)


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    with migrated_database(url) as database:
        yield database


def rows(db: Database) -> int:
    return db.read_sync(lambda conn: conn.execute(sa.select(sa.func.count()).select_from(login_failures)).scalar())


def test_an_address_waits_after_five_failures_until_the_window_passes(db: Database) -> None:
    limiter = LoginLimiter(per_ip=5, overall=100, window_s=300)
    for second in range(5):
        assert db.write_sync(limiter.admit, "1.2.3.4", 1000 + second).retry_after == 0
    refused = db.write_sync(limiter.admit, "1.2.3.4", 1010)
    assert refused.retry_after == 290 and refused.attempt_id is None
    assert db.write_sync(limiter.admit, "5.6.7.8", 1010).retry_after == 0
    assert db.read_sync(limiter.retry_after, "1.2.3.4", 1301) == 0


def test_failures_from_many_addresses_delay_the_next_attempts_instead_of_refusing_them(db: Database) -> None:
    limiter = LoginLimiter(per_ip=5, overall=30, window_s=300, delay_s=3)
    for n in range(30):
        admitted = db.write_sync(limiter.admit, f"10.0.0.{n}", 1000)
        assert admitted.retry_after == 0 and admitted.delay == 0
    told = db.write_sync(limiter.admit, "192.0.2.1", 1001)
    assert told.retry_after == 0 and told.delay == 3 and told.attempt_id is None
    assert rows(db) == 30  # not counted until it has waited
    after_waiting = db.write_sync(lambda conn: limiter.admit(conn, "192.0.2.1", 1004, waited=True))
    assert after_waiting.retry_after == 0 and after_waiting.delay == 0 and after_waiting.attempt_id is not None
    # A browser that logged in before does not wait at all.
    known = db.write_sync(lambda conn: limiter.admit(conn, "192.0.2.2", 1004, known=True))
    assert known.delay == 0 and known.attempt_id is not None


def test_a_known_browser_still_meets_the_per_address_limit(db: Database) -> None:
    limiter = LoginLimiter(per_ip=2, overall=30, window_s=300)
    for _ in range(2):
        db.write_sync(lambda conn: limiter.admit(conn, "198.51.100.1", 1000, known=True))
    refused = db.write_sync(lambda conn: limiter.admit(conn, "198.51.100.1", 1001, known=True))
    assert refused.retry_after == 299


def test_a_success_clears_only_its_own_address(db: Database) -> None:
    limiter = LoginLimiter(per_ip=2, overall=5, window_s=300)
    for ip in ("a", "b", "b"):
        db.write_sync(limiter.admit, ip, 1000)
    success = db.write_sync(limiter.admit, "a", 1000)
    db.write_sync(limiter.succeeded, "a", success.attempt_id)
    assert db.read_sync(limiter.retry_after, "a", 1001) == 0
    assert db.read_sync(limiter.retry_after, "b", 1001) > 0
    # The success itself is taken back; a's earlier failure still counts toward the overall limit.
    assert rows(db) == 3
    db.write_sync(limiter.admit, "c", 1001)
    db.write_sync(limiter.admit, "d", 1001)
    assert db.write_sync(limiter.admit, "a", 1002).delay > 0


def test_the_table_stays_bounded_under_a_flood_of_addresses(db: Database) -> None:
    limiter = LoginLimiter(per_ip=5, overall=30, window_s=300)
    for n in range(400):
        db.write_sync(limiter.admit, f"ip{n}", 1000 + n)
    # Refused attempts add nothing, and rows that left the window go with the next attempt.
    assert rows(db) <= 30


def test_concurrent_attempts_from_two_replicas_never_run_more_checks_than_the_limit(url: str, db: Database) -> None:
    limiter = LoginLimiter(per_ip=5, overall=30, window_s=300)
    other = Database(url)  # a second engine and writer thread, as a second replica has

    async def main() -> list[float]:
        db.start()
        other.start()
        replies = await asyncio.gather(*(replica.write(limiter.admit, "198.51.100.7", 1000.0 + n / 100)
                                         for n in range(24) for replica in (db, other)))
        return [reply.retry_after for reply in replies]

    try:
        waits = asyncio.run(main())
    finally:
        other.close()
    assert waits.count(0.0) == 5
    assert rows(db) == 5
