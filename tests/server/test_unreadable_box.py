"""One box's bad rows (stored before the door was strict) cost its own card, never the page for every family."""

from __future__ import annotations

import json
import time
import uuid

import sqlalchemy as sa

from piclient.server.schema import commands, devices, screenshots
from tests.server.helpers import RunningServer, jpeg, login, send_heartbeat, upload_screenshot
from tests.server.test_device_api import device_id_of

DEEP = "[" * 974 + "]" * 974


def store_bad_rows(server: RunningServer, device_id: int, heartbeat: str) -> None:
    now = time.time()

    def write(conn: sa.Connection) -> None:
        conn.execute(devices.update().where(devices.c.id == device_id)
                     .values(last_heartbeat=heartbeat, last_seen=now, online_since=now, last_sent_at=now))
        conn.execute(commands.insert().values(id=uuid.uuid4().hex, device_id=device_id, type="reload", args="{}",
                                              status="done", created_at=now, expires_at=now + 60,
                                              result='{"x": "\\ud800"}'))

    server.db.write_sync(write)


def test_a_box_with_bad_stored_rows_shows_as_unreadable_and_every_other_box_still_shows(
        server: RunningServer) -> None:
    good_name, good_token = server.add_device()
    assert send_heartbeat(server, good_token).status_code == 200
    bad = {}
    for kind, raw in [
        ("surrogate", json.dumps({"id": "x", "tv": {"now_playing": {"id": "a", "title_id": "a",
                                                                    "title": {"en": "TITLE"}}}})
         .replace('"TITLE"', '"\\ud800"')),
        ("deep", json.dumps({"id": "x", "agent": {"refused": "DEEP"}}).replace('"DEEP"', DEEP)),
    ]:
        name, _token = server.add_device()
        store_bad_rows(server, device_id_of(server, name), raw)
        bad[kind] = name
    # A screenshot stamped -inf, as the server stored it before X-Taken-At had to be finite.
    shot_name, shot_token = server.add_device()
    assert send_heartbeat(server, shot_token).status_code == 200
    assert upload_screenshot(server, shot_token, jpeg()).status_code == 200
    shot_device = device_id_of(server, shot_name)
    server.db.write_sync(lambda conn: conn.execute(screenshots.update().where(screenshots.c.device_id == shot_device)
                                                   .values(taken_at=float("-inf"))))
    bad["shot"] = shot_name

    session, _csrf = login(server)
    listing = session.get(f"{server.url}/api/dash/devices", timeout=10)
    assert listing.status_code == 200, listing.text
    by_name = {d["name"]: d for d in listing.json()["devices"]}
    assert by_name[good_name]["status"] == "online"
    # A lone surrogate is mended where box text is cleaned; the other two cannot be shown at all.
    assert by_name[bad["surrogate"]]["now_playing"].startswith("\ufffd")
    assert {kind: by_name[name]["status"] for kind, name in bad.items()} == {
        "surrogate": "online", "deep": "unreadable", "shot": "unreadable"}
    page = session.get(f"{server.url}/", timeout=10)
    assert page.status_code == 200
    assert good_name in page.text and "sent something the dashboard cannot show" in page.text
    for name in [good_name, *bad.values()]:
        device_id = device_id_of(server, name)
        assert session.get(f"{server.url}/devices/{device_id}", timeout=10).status_code == 200, name
        assert session.get(f"{server.url}/api/dash/devices/{device_id}", timeout=10).status_code == 200, name
