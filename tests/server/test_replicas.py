"""Two server processes on one database, as replicas behind a proxy would run (PostgreSQL; the login
limit also on one SQLite file, which a restarted server or the CLI shares the same way)."""

from __future__ import annotations

import concurrent.futures
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from piclient.server.db import default_url
from tests.server.conftest import database_url
from tests.server.helpers import (
    PASSWORD,
    AlertReceiver,
    RunningServer,
    auth,
    jpeg,
    login,
    send_heartbeat,
    start_server,
    upload_screenshot,
)
from tests.server.postgres import PostgresCluster


@pytest.fixture
def replicas(tmp_path: Path, postgres: PostgresCluster) -> Iterator[tuple[RunningServer, RunningServer,
                                                                           AlertReceiver]]:
    url = postgres.new_database()
    receiver = AlertReceiver()
    options = ("--heartbeat-seconds", "1", "--alert-check-seconds", "0.2", "--alert-webhook", f"{receiver.url}/hook")
    first = start_server(tmp_path / "a", url, *options)
    second = start_server(tmp_path / "b", url, *options)
    try:
        yield first, second, receiver
    finally:
        first.stop()
        second.stop()
        receiver.close()


def test_a_key_pressed_on_one_replica_reaches_a_long_poll_on_the_other(replicas: tuple) -> None:
    first, second, _ = replicas
    first.set_password()
    name, token = first.add_device()
    from piclient.server.devices import list_devices

    device_id = next(row.id for row in first.db.read_sync(list_devices) if row.name == name)
    session, csrf = login(second)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        polling = pool.submit(requests.get, f"{first.url}/api/v1/commands?wait=20", headers=auth(token), timeout=30)
        time.sleep(0.5)
        started = time.monotonic()
        queued = session.post(f"{second.url}/api/dash/devices/{device_id}/commands",
                              json={"type": "key", "args": {"name": "ok"}}, headers={"X-CSRF-Token": csrf}, timeout=10)
        reply = polling.result(timeout=25)
        waited = time.monotonic() - started
    assert [c["id"] for c in reply.json()["commands"]] == [queued.json()["command"]["id"]]
    assert waited < 3  # the other replica re-reads the database every half second


def test_a_picture_taken_on_one_replica_reaches_a_page_stream_on_the_other(replicas: tuple) -> None:
    import json

    first, second, _ = replicas
    first.set_password()
    name, token = first.add_device()
    send_heartbeat(second, token)
    session, _ = login(first)
    device_id = next(d["id"] for d in session.get(f"{first.url}/api/dash/devices", timeout=10).json()["devices"]
                     if d["name"] == name)
    stream = session.get(f"{first.url}/api/dash/devices/{device_id}/events", stream=True, timeout=30)
    lines = stream.iter_lines(decode_unicode=True)

    def next_device_event() -> dict:
        for line in lines:  # bounded by the stream's 30 s read timeout
            if line.startswith("data: {\"device\""):
                return json.loads(line[len("data: "):])
        raise AssertionError("the stream ended")

    try:
        assert next_device_event()["device"]["screenshot"] is None
        # The page asked the box for a picture now; the box (polling the other replica) takes it.
        commands = send_heartbeat(second, token).json()["commands"]
        assert [(c["type"], c["args"]) for c in commands] == [("screenshot", {"live": True})]
        started = time.monotonic()
        assert upload_screenshot(second, token, jpeg()).status_code == 200
        event = next_device_event()
        while event["device"]["screenshot"] is None:
            event = next_device_event()
        waited = time.monotonic() - started
    finally:
        stream.close()
    assert waited < 3  # each stream re-reads the database every half second with PostgreSQL


def test_an_offline_alert_is_sent_once_however_many_replicas_watch(replicas: tuple) -> None:
    first, second, receiver = replicas
    name, token = first.add_device()
    send_heartbeat(second, token)
    assert receiver.wait_for(lambda: any(e["device"] == name for e in receiver.events()), timeout=10)
    time.sleep(1.0)
    assert [e["event"] for e in receiver.events() if e["device"] == name] == ["offline"]


# --- the login limit is shared ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    url = database_url(request, request.param) or default_url(tmp_path)
    first = start_server(tmp_path / "a", url)
    second = start_server(tmp_path / "b", url)
    first.set_password()
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def try_password(server: RunningServer, password: str) -> int:
    # The login form's token only has to match its cookie; a fresh pair per attempt keeps them independent.
    token = secrets.token_urlsafe(16)
    reply = requests.post(f"{server.url}/login", data={"csrf": token, "password": password},
                          headers={"Cookie": f"piclient_login={token}"}, timeout=30, allow_redirects=False)
    return reply.status_code


def test_login_failures_on_one_replica_count_on_the_other(two_servers: tuple[RunningServer, RunningServer]) -> None:
    first, second = two_servers
    assert [try_password(first, "wrong") for _ in range(3)] == [401] * 3
    assert [try_password(second, "wrong") for _ in range(2)] == [401] * 2
    assert try_password(first, "wrong") == 429
    assert try_password(second, PASSWORD) == 429


def test_a_login_on_one_replica_clears_its_address_on_the_other(
        two_servers: tuple[RunningServer, RunningServer]) -> None:
    first, second = two_servers
    assert [try_password(first, "wrong") for _ in range(4)] == [401] * 4
    assert try_password(second, PASSWORD) == 303
    assert [try_password(first, "wrong") for _ in range(5)] == [401] * 5
    assert try_password(first, "wrong") == 429


def test_a_burst_of_guesses_across_replicas_gets_five_password_checks_in_all(
        two_servers: tuple[RunningServer, RunningServer]) -> None:
    first, second = two_servers
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(try_password, [first, second] * 8, ["wrong"] * 16))
    assert sorted(statuses) == [401] * 5 + [429] * 11


def test_a_jobs_progress_written_by_a_worker_elsewhere_reaches_a_library_stream(replicas: tuple) -> None:
    import json

    from piclient.server import jobs

    first, second, _ = replicas
    first.set_password()
    # The worker: another process on the same database (beside the second replica, say).
    job_id = second.db.write_sync(jobs.enqueue, "/films/Spring.Day.2001.mkv", {}, time.time())
    assert second.db.write_sync(jobs.claim, "elsewhere", time.time()).id == job_id
    session, _ = login(first)
    stream = session.get(f"{first.url}/api/dash/library/events", stream=True, timeout=30)
    lines = stream.iter_lines(decode_unicode=True)

    def next_jobs_html() -> str:
        for line in lines:  # bounded by the stream's 30 s read timeout
            if line.startswith("data: {\"html\""):
                return json.loads(line[len("data: "):])["html"]
        raise AssertionError("the stream ended")

    try:
        assert 'data-state="running"' in next_jobs_html()
        assert second.db.write_sync(jobs.report, job_id, "elsewhere", "transcode", 0.4, time.time())
        html = next_jobs_html()
        while "transcode 40 %" not in html:
            html = next_jobs_html()
    finally:
        stream.close()
