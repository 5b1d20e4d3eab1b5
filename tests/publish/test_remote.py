"""publish --server: upload with tuspy, a worker packages it, the catalog names it; and the inbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from piclient.server import jobs
from piclient.server.commands import deliver_pending
from piclient.server.devices import add_device
from piclient.server.maintainers import add_token
from piclient.server.schema import devices
from piclient.server.worker import Inbox, Worker, tell_boxes
from tests.publish.sources import make_film
from tests.server.conftest import make_library
from tests.server.helpers import migrated_database, running_server
from tests.waiting import wait_until


@pytest.mark.slow
def test_publish_to_a_server_uploads_and_waits_for_the_packaging(sources: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    with running_server(tmp_path, None, "--library", str(library)) as server:
        token = server.db.write_sync(add_token, "laptop")
        done = subprocess.run(
            [sys.executable, "-m", "piclient", "publish", str(sources / "episode.mp4"), "--server", server.url,
             "--series", "Winter Sonata", "--episode", "3", "--subs", str(sources / "episode.smi")],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "PICLIENT_TOKEN": token, "XDG_CACHE_HOME": str(tmp_path / "cache")})
        assert done.returncode == 0, done.stderr + server.log()
    assert "published winter-sonata-s01e03: 360p; subtitles ko, en" in done.stdout
    assert "uploading" in done.stderr
    titles = json.loads((library / "catalog.json").read_text())["titles"]
    assert [t["id"] for t in titles] == ["winter-sonata"]
    assert not any((server.data_dir / "incoming").iterdir())  # the packaged source is not kept twice


def test_the_inbox_takes_a_film_only_once_its_copy_has_held_still(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    now = [1000.0]
    with migrated_database(f"sqlite:///{tmp_path / 'db.sqlite'}") as db:
        watcher = Inbox(inbox, tmp_path / "data", clock=lambda: now[0], stable_s=30)
        film = make_film(inbox / "Spring.Day.2001.mkv", seconds=2)
        (inbox / "Spring.Day.2001.ko.srt").write_text("1\n00:00:00,500 --> 00:00:01,500\n안녕\n", encoding="utf-8")
        assert watcher.scan(db) == []  # first seen
        now[0] += 20
        with film.open("ab") as still_copying:
            still_copying.write(b"\0" * 10)
        assert watcher.scan(db) == []  # it grew: the clock starts again
        now[0] += 29
        assert watcher.scan(db) == []
        now[0] += 2
        assert watcher.scan(db) == []  # 31 s since first seen, but only 11 s since it last changed
        now[0] += 30
        (job_id,) = watcher.scan(db)
        assert not film.exists()
        claimed = db.write_sync(_claim)
        assert claimed.id == job_id and claimed.film.endswith("/Spring.Day.2001.mkv")
        assert claimed.options["title_en"] == "Spring Day" and claimed.options["year"] == 2001
        assert [Path(p).name for p in claimed.options["subtitles"]] == ["Spring.Day.2001.ko.srt"]


def _claim(conn: sa.Connection) -> jobs.Job | None:
    return jobs.claim(conn, "test", 10_000.0)


def test_a_worker_marks_a_file_that_is_not_a_film_as_failed_with_the_reason(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mkv"
    fake.write_text("a text file")
    with migrated_database(f"sqlite:///{tmp_path / 'db.sqlite'}") as db:
        job_id = db.write_sync(jobs.enqueue, str(fake), {}, 1.0)
        worker = Worker(db, tmp_path / "library", tmp_path / "data")
        assert worker.run_once() and not worker.run_once()
        job = db.read_sync(jobs.get, job_id)
    assert job["state"] == "failed" and "holiday.mkv is not a video file" in job["error"]
    assert not (tmp_path / "library" / "catalog.json").exists()



def test_a_worker_asked_to_stop_puts_its_job_back(sources: Path, tmp_path: Path) -> None:
    with migrated_database(f"sqlite:///{tmp_path / 'db.sqlite'}") as db:
        job_id = db.write_sync(jobs.enqueue, str(sources / "episode.mp4"), {}, 1.0)
        stop = threading.Event()
        stop.set()
        assert not Worker(db, tmp_path / "library", tmp_path / "data").run_once(stop)
        assert db.read_sync(jobs.get, job_id)["state"] == "queued"


def test_the_boxes_are_told_to_reload_when_a_title_is_ready(tmp_path: Path) -> None:
    with migrated_database(f"sqlite:///{tmp_path / 'db.sqlite'}") as db:
        box = db.write_sync(add_device, "Living room")
        assert box
        assert db.write_sync(tell_boxes, 5.0) == 1
        device_id = db.read_sync(lambda c: c.execute(sa.select(devices.c.id)).scalar())
        offered = db.write_sync(deliver_pending, device_id, 6.0)
    assert [c["type"] for c in offered] == ["reload"]


@pytest.mark.slow
def test_a_film_dropped_into_the_servers_inbox_is_packaged_by_itself(sources: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with running_server(tmp_path, None, "--library", str(library), "--inbox", str(inbox), "--inbox-settle", "2"):
        shutil.copy(sources / "episode.mp4", inbox / "Sea.Walk.2020.mp4")
        shutil.copy(sources / "spring.en.srt", inbox / "Sea.Walk.2020.en.srt")
        titles = wait_until(lambda: json.loads((library / "catalog.json").read_text())["titles"], timeout=300,
                            what="the inbox film in the catalog")
    assert titles[0]["id"] == "sea-walk-2020" and titles[0]["year"] == 2020
    assert [s["language"] for s in titles[0]["subtitles"]] == ["en"]
    assert not any(inbox.iterdir())
