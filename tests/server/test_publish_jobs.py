"""The packaging queue on SQLite and PostgreSQL: one job goes to one worker, and a dead one's comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.server import jobs
from piclient.server.db import Database, default_url
from tests.server.conftest import database_url
from tests.server.helpers import migrated_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(database_url(request, request.param) or default_url(tmp_path)) as database:
        yield database


def test_two_workers_never_get_the_same_job(db: Database) -> None:
    first = db.write_sync(jobs.enqueue, "/in/a.mkv", {"title_en": "A"}, 100.0)
    second = db.write_sync(jobs.enqueue, "/in/b.mkv", {}, 101.0)
    a = db.write_sync(jobs.claim, "worker-a", 102.0)
    b = db.write_sync(jobs.claim, "worker-b", 102.0)
    assert (a.id, b.id) == (first, second) and a.options == {"title_en": "A"}
    assert db.write_sync(jobs.claim, "worker-c", 103.0) is None


def test_a_dead_workers_job_is_taken_over_and_the_old_worker_can_no_longer_write(db: Database) -> None:
    job_id = db.write_sync(jobs.enqueue, "/in/a.mkv", {}, 100.0)
    db.write_sync(jobs.claim, "worker-a", 100.0, 60.0)
    assert db.write_sync(jobs.report, job_id, "worker-a", "encode", 0.3, 130.0, 60.0)
    assert db.write_sync(jobs.claim, "worker-b", 180.0) is None  # the lease was renewed at 130 s
    taken = db.write_sync(jobs.claim, "worker-b", 191.0)
    assert taken is not None and taken.id == job_id and taken.attempts == 2
    assert not db.write_sync(jobs.report, job_id, "worker-a", "encode", 0.5, 192.0)
    assert not db.write_sync(jobs.finish, job_id, "worker-a", 193.0, result={})
    assert db.write_sync(jobs.finish, job_id, "worker-b", 194.0, error="film.mkv is not a video file")
    shown = db.read_sync(jobs.get, job_id)
    assert shown["state"] == "failed" and shown["error"] == "film.mkv is not a video file"


def test_a_job_that_keeps_killing_its_worker_is_failed_not_retried_forever(db: Database) -> None:
    job_id = db.write_sync(jobs.enqueue, "/in/a.mkv", {}, 0.0)
    for attempt in range(jobs.MAX_ATTEMPTS):
        assert db.write_sync(jobs.claim, f"w{attempt}", 1000.0 * attempt, 10.0).id == job_id
    assert db.write_sync(jobs.claim, "last", 10_000.0) is None
    assert "several times" in db.read_sync(jobs.get, job_id)["error"]


def test_a_stopping_worker_gives_its_job_back_to_the_queue(db: Database) -> None:
    job_id = db.write_sync(jobs.enqueue, "/in/a.mkv", {}, 0.0)
    db.write_sync(jobs.claim, "leaving", 1.0)
    assert db.write_sync(jobs.release, job_id, "leaving", 2.0)
    again = db.write_sync(jobs.claim, "next", 3.0)
    assert again is not None and again.id == job_id and again.attempts == 1
