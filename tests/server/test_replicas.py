"""Two server processes on one PostgreSQL database, as replicas behind a proxy would run."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.server.helpers import AlertReceiver, RunningServer, auth, login, send_heartbeat, start_server
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


def test_an_offline_alert_is_sent_once_however_many_replicas_watch(replicas: tuple) -> None:
    first, second, receiver = replicas
    name, token = first.add_device()
    send_heartbeat(second, token)
    assert receiver.wait_for(lambda: any(e["device"] == name for e in receiver.events()), timeout=10)
    time.sleep(1.0)
    assert [e["event"] for e in receiver.events() if e["device"] == name] == ["offline"]
