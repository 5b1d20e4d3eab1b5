"""The command queue leases what it delivers: offered once, again only if no result came within the lease.

Run on SQLite and on PostgreSQL, with an explicit ``now`` instead of sleeping through the lease.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from piclient.server import commands as cq
from piclient.server.db import Database, default_url
from piclient.server.devices import add_device
from piclient.server.schema import commands, devices
from tests.server.conftest import database_url
from tests.server.helpers import migrated_database

NOW = 1_800_000_000.0
LEASE = cq.REDELIVER_AFTER_S


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = database_url(request, request.param) or default_url(tmp_path_factory.mktemp("commands-sqlite"))
    with migrated_database(url) as database:
        yield database


def new_device(db: Database) -> int:
    """A fresh device per test, so tests sharing the module's database do not see each other's commands."""
    def add(conn: sa.Connection) -> int:
        name = f"box-{conn.execute(sa.select(sa.func.count()).select_from(devices)).scalar_one()}"
        add_device(conn, name)
        return conn.execute(sa.select(devices.c.id).where(devices.c.name == name)).scalar_one()

    return db.write_sync(add)


def queue(db: Database, device_id: int, kind: str = "key", args: dict[str, Any] | None = None,
          at: float = NOW) -> str:
    args = {"name": "ok"} if args is None and kind == "key" else args or {}
    return db.write_sync(cq.queue_command, device_id, kind, cq.validate(kind, args), at)["id"]


def deliver(db: Database, device_id: int, at: float) -> list[str]:
    return [c["id"] for c in db.write_sync(cq.deliver_pending, device_id, at)]


def deliveries(db: Database, command_id: str) -> int:
    return db.read_sync(lambda conn: conn.execute(
        sa.select(commands.c.deliveries).where(commands.c.id == command_id)).scalar_one())


def test_back_to_back_deliveries_carry_a_command_once(db: Database) -> None:
    device = new_device(db)
    command = queue(db, device)
    assert db.read_sync(cq.has_pending, device, NOW)
    assert deliver(db, device, NOW) == [command]
    # The next long-poll starts a moment later, before the box has sent the result.
    assert not db.read_sync(cq.has_pending, device, NOW + 0.2)
    assert deliver(db, device, NOW + 0.2) == []
    assert deliver(db, device, NOW + LEASE - 1) == []
    assert deliveries(db, command) == 1


def test_a_delivered_command_is_offered_again_once_its_lease_ends_and_the_lease_starts_anew(db: Database) -> None:
    device = new_device(db)
    command = queue(db, device)
    deliver(db, device, NOW)
    # The long-poll learns when to look again instead of waiting for its periodic re-check.
    assert db.read_sync(cq.next_offer_at, device, NOW + 1) == pytest.approx(NOW + LEASE)
    assert db.read_sync(cq.has_pending, device, NOW + LEASE)
    assert deliver(db, device, NOW + LEASE) == [command]  # the first reply was lost: retried
    assert deliver(db, device, NOW + LEASE + 1) == []
    assert db.read_sync(cq.next_offer_at, device, NOW + LEASE + 1) == pytest.approx(NOW + 2 * LEASE)
    assert deliveries(db, command) == 2


def test_a_result_closes_a_leased_command_for_good(db: Database) -> None:
    device = new_device(db)
    command = queue(db, device, "restart_tv")  # lives an hour: the lease ends many times over
    deliver(db, device, NOW)
    assert db.write_sync(cq.apply_result, device, command, True, {}, None, NOW + 2)
    for later in (NOW + LEASE, NOW + 10 * LEASE):
        assert not db.read_sync(cq.has_pending, device, later)
        assert db.read_sync(cq.next_offer_at, device, later) is None
        assert deliver(db, device, later) == []
    assert deliveries(db, command) == 1


def test_a_leased_command_does_not_hold_back_a_newer_one(db: Database) -> None:
    device = new_device(db)
    first = queue(db, device)
    deliver(db, device, NOW)
    second = queue(db, device, "message", {"text": "dinner at six"}, at=NOW + 1)
    assert db.read_sync(cq.has_pending, device, NOW + 2)
    assert deliver(db, device, NOW + 2) == [second]
    assert deliver(db, device, NOW + LEASE) == [first]


def test_heartbeat_batches_follow_the_same_lease_as_long_polls(db: Database) -> None:
    polled, beating = new_device(db), new_device(db)
    by_poll, by_beat = queue(db, polled), queue(db, beating)
    assert deliver(db, polled, NOW) == [by_poll]

    def batch(at: float) -> dict[int, list[str]]:
        found: dict[int, list[dict[str, Any]]] = db.write_sync(cq.deliver_pending_many, [polled, beating], at)
        return {device: [c["id"] for c in cmds] for device, cmds in found.items() if cmds}

    # A heartbeat right after the long-poll does not carry the long-poll's command again.
    assert batch(NOW + 1) == {beating: [by_beat]}
    assert batch(NOW + 2) == {}
    assert batch(NOW + LEASE) == {polled: [by_poll]}
    assert batch(NOW + LEASE + 1) == {beating: [by_beat]}
    assert deliveries(db, by_poll) == deliveries(db, by_beat) == 2


def test_a_command_that_expires_within_its_lease_is_not_waited_for(db: Database) -> None:
    device = new_device(db)
    queue(db, device)  # a key press lives 2 minutes
    deliver(db, device, NOW + cq.TTL["key"] - 5)
    assert db.read_sync(cq.next_offer_at, device, NOW + cq.TTL["key"] - 4) is None


def test_one_look_finds_every_held_poll_with_news_a_due_command_or_live_mode_it_has_not_seen(db: Database) -> None:
    from piclient.server import poll_watch

    quiet, keyed, leased, going_live, known_live = (new_device(db) for _ in range(5))
    queue(db, keyed)
    queue(db, leased)
    deliver(db, leased, NOW - 1)  # under its lease: not news until the lease ends
    for device_id, until in ((going_live, NOW + 60), (known_live, NOW + 60)):
        db.write_sync(lambda conn, d=device_id, u=until: conn.execute(
            devices.update().where(devices.c.id == d).values(live_until=u)))
    # Past one chunk of ids: the look is split, not one query too large for the database.
    held: dict[int, float | None] = {n: None for n in range(10_000_000, 10_000_000 + poll_watch.CHUNK + 5)}
    held.update({quiet: None, keyed: None, leased: None, going_live: None, known_live: NOW + 60})
    assert db.read_sync(poll_watch.news, held, NOW) == sorted([keyed, going_live])
    assert db.read_sync(poll_watch.news, held, NOW + LEASE) == sorted([keyed, leased, going_live])
