"""Uploads with no new byte for the set time go with their files; the clock is the test's."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from piclient.server import abandoned_uploads, migrate
from piclient.server.db import Database, default_url
from piclient.server.maintainers import add_token
from piclient.server.schema import uploads
from piclient.server.uploads import incoming_dir, partial_path
from tests.server.helpers import RunningServer, login, running_server
from tests.waiting import wait_until

DAY = 86400.0
NOW = 1_800_000_000.0
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(default_url(tmp_path))
    migrate.upgrade(database.writer_engine)
    database.start()
    try:
        yield database
    finally:
        database.close()


def add_upload(db: Database, data: Path, upload_id: str, *, created: float, last_byte: float | None,
               completed: float | None = None, **meta: str) -> None:
    """An upload row; its partial file (when ``last_byte``) with that modification time, or its finished folder."""
    meta = {"filename": f"{upload_id}.mkv", **meta}
    db.write_sync(lambda conn: conn.execute(uploads.insert().values(
        id=upload_id, length=100, metadata=json.dumps(meta), owner="laptop", created_at=created,
        completed_at=completed)))
    if completed is not None:
        incoming_dir(data, upload_id).mkdir(parents=True)
        (incoming_dir(data, upload_id) / meta["filename"]).write_bytes(b"whole")
    elif last_byte is not None:
        part = partial_path(data, upload_id)
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"half")
        os.utime(part, (last_byte, last_byte))


def left(db: Database) -> list[str]:
    return sorted(db.read_sync(lambda conn: conn.execute(sa.select(uploads.c.id)).scalars().all()))


def sweep(db: Database, data: Path, now: float = NOW) -> list[str]:
    return asyncio.run(abandoned_uploads.sweep(db, data, 7, now))


def test_an_upload_with_no_new_byte_for_a_week_goes_with_its_file_and_a_recent_one_stays(
        db: Database, tmp_path: Path) -> None:
    add_upload(db, tmp_path, "a" * 32, created=NOW - 30 * DAY, last_byte=NOW - 8 * DAY)
    # Started long ago, but a byte came yesterday: still going, however slowly.
    add_upload(db, tmp_path, "b" * 32, created=NOW - 30 * DAY, last_byte=NOW - 1 * DAY)
    # Created, then not one byte, and no file left either: its creation is its last sign of life.
    add_upload(db, tmp_path, "c" * 32, created=NOW - 8 * DAY, last_byte=None)
    add_upload(db, tmp_path, "d" * 32, created=NOW - 1 * DAY, last_byte=None)

    assert sorted(sweep(db, tmp_path)) == ["a" * 32 + ".mkv", "c" * 32 + ".mkv"]

    assert left(db) == ["b" * 32, "d" * 32]
    assert not partial_path(tmp_path, "a" * 32).exists()
    assert partial_path(tmp_path, "b" * 32).read_bytes() == b"half"


def test_the_set_time_decides_and_a_second_sweep_finds_nothing_more(db: Database, tmp_path: Path) -> None:
    add_upload(db, tmp_path, "a" * 32, created=NOW - 8 * DAY, last_byte=NOW - 6 * DAY)

    assert sweep(db, tmp_path) == []
    assert sweep(db, tmp_path, now=NOW + 1.5 * DAY) == ["a" * 32 + ".mkv"]
    assert sweep(db, tmp_path, now=NOW + 1.5 * DAY) == []
    assert left(db) == []


def test_an_upload_being_written_right_now_is_left_alone(db: Database, tmp_path: Path) -> None:
    add_upload(db, tmp_path, "a" * 32, created=NOW - 30 * DAY, last_byte=NOW - 8 * DAY)
    with open(partial_path(tmp_path, "a" * 32), "ab") as patch:
        fcntl.flock(patch, fcntl.LOCK_EX)  # what a PATCH holds while its body arrives

        assert sweep(db, tmp_path) == []

    assert left(db) == ["a" * 32]
    assert sweep(db, tmp_path) == ["a" * 32 + ".mkv"]


def test_a_bundle_never_published_and_a_subtitle_whose_film_is_gone_are_removed_but_a_finished_film_stays(
        db: Database, tmp_path: Path) -> None:
    film, film_gone, bundle, sub_kept, sub_orphan = (c * 32 for c in "12345")
    add_upload(db, tmp_path, film, created=NOW - 40 * DAY, last_byte=None, completed=NOW - 30 * DAY)
    add_upload(db, tmp_path, film_gone, created=NOW - 40 * DAY, last_byte=NOW - 20 * DAY)
    add_upload(db, tmp_path, bundle, created=NOW - 9 * DAY, last_byte=None, completed=NOW - 8 * DAY,
               filename="piclient-2.0.bundle", kind="bundle")
    add_upload(db, tmp_path, sub_kept, created=NOW - 40 * DAY, last_byte=None, completed=NOW - 39 * DAY,
               filename="kept.srt", film=film)
    add_upload(db, tmp_path, sub_orphan, created=NOW - 40 * DAY, last_byte=None, completed=NOW - 39 * DAY,
               filename="orphan.srt", film=film_gone)

    assert sorted(sweep(db, tmp_path)) == sorted([film_gone + ".mkv", "piclient-2.0.bundle", "orphan.srt"])

    assert left(db) == sorted([film, sub_kept])
    assert not incoming_dir(tmp_path, bundle).exists() and not incoming_dir(tmp_path, sub_orphan).exists()
    assert (incoming_dir(tmp_path, film) / f"{film}.mkv").exists()


def _meta(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def test_the_library_page_stops_listing_an_abandoned_upload_and_its_url_answers_404(server: RunningServer) -> None:
    token = server.db.write_sync(add_token, f"laptop-{os.urandom(4).hex()}")
    headers = {**TUS, "Authorization": f"Bearer {token}"}
    name = f"given-up-{os.urandom(3).hex()}.mkv"
    created = requests.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
        **headers, "Upload-Length": "1000", "Upload-Metadata": _meta(filename=name)})
    assert created.status_code == 201, created.text
    url = f"{server.url}{created.headers['Location']}"
    patched = requests.patch(url, data=b"x" * 400, timeout=10, headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204, patched.text
    session, _csrf = login(server)
    assert name in session.get(f"{server.url}/api/dash/library/jobs", timeout=10).json()["html"]

    database = Database(server.database_url)
    database.start()
    try:
        assert asyncio.run(abandoned_uploads.sweep(database, server.data_dir, 7, time.time() + 6 * DAY)) == []
        removed = asyncio.run(abandoned_uploads.sweep(database, server.data_dir, 7, time.time() + 8 * DAY))
    finally:
        database.close()

    assert name in removed
    assert name not in session.get(f"{server.url}/api/dash/library/jobs", timeout=10).json()["html"]
    assert requests.head(url, headers=headers, timeout=10).status_code == 404
    late = requests.patch(url, data=b"x" * 100, timeout=10, headers={
        **headers, "Upload-Offset": "400", "Content-Type": "application/offset+octet-stream"})
    assert late.status_code == 404
    assert not partial_path(server.data_dir, created.headers["Location"].rsplit("/", 1)[-1]).exists()


def test_the_servers_periodic_clean_up_removes_an_upload_left_for_longer_than_its_flag_says(tmp_path: Path) -> None:
    with running_server(tmp_path, None, "--cleanup-seconds", "0.2", "--abandoned-upload-days", "3") as server:
        token = server.db.write_sync(add_token, "phone")
        headers = {**TUS, "Authorization": f"Bearer {token}"}
        created = requests.post(f"{server.url}/api/v1/uploads/", timeout=10, headers={
            **headers, "Upload-Length": "1000", "Upload-Metadata": _meta(filename="piclient-3.0.bundle",
                                                                       kind="bundle")})
        url = f"{server.url}{created.headers['Location']}"
        upload_id = url.rsplit("/", 1)[-1]
        requests.patch(url, data=b"x" * 300, timeout=10, headers={
            **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}).raise_for_status()
        # Its clock is the server's own: the upload is made old rather than the clock made late.
        then = time.time() - 4 * DAY
        server.db.write_sync(lambda conn: conn.execute(
            uploads.update().where(uploads.c.id == upload_id).values(created_at=then)))
        assert requests.head(url, headers=headers, timeout=10).status_code == 200  # its last byte is new
        os.utime(partial_path(server.data_dir, upload_id), (then, then))

        wait_until(lambda: requests.head(url, headers=headers, timeout=10).status_code == 404, timeout=20,
                   what="the abandoned upload removed")
        assert not partial_path(server.data_dir, upload_id).exists()
