"""A Pi has no clock battery: a box time in the year 2100 must not freeze its state or her watch position."""

from __future__ import annotations

import time

import requests

from piclient.server.schema import devices
from tests.server.helpers import RunningServer, auth, jpeg, login, send_heartbeat
from tests.server.test_device_api import device_id_of

YEAR_2100 = 4102444800.0


def dashboard_entry(server: RunningServer, name: str) -> dict:
    session, _csrf = login(server)
    listing = session.get(f"{server.url}/api/dash/devices", timeout=10).json()["devices"]
    return next(d for d in listing if d["name"] == name)


def test_a_heartbeat_from_the_year_2100_does_not_freeze_the_box_state(server: RunningServer) -> None:
    name, token = server.add_device()
    crashed = {"state": "crashed", "detail": "from the future", "errors": []}
    assert send_heartbeat(server, token, sent_at=YEAR_2100, tv=crashed).status_code == 200
    seen = dashboard_entry(server, name)
    assert seen["tv_state"] == "crashed"
    assert any(w["key"] == "w_clock_ahead" for w in seen["warnings"]), seen["warnings"]
    assert send_heartbeat(server, token, tv={"state": "running", "screen": "home"}).status_code == 200
    seen = dashboard_entry(server, name)
    assert seen["tv_state"] == "running"
    assert not any(w["key"].startswith("w_clock") for w in seen["warnings"])


def test_a_spooled_heartbeat_from_an_hour_ago_still_does_not_replace_the_state(server: RunningServer) -> None:
    name, token = server.add_device()
    assert send_heartbeat(server, token, tv={"state": "running", "screen": "home"}).status_code == 200
    old = {"state": "crashed", "errors": []}
    assert send_heartbeat(server, token, sent_at=time.time() - 3600, tv=old).status_code == 200
    assert dashboard_entry(server, name)["tv_state"] == "running"


def test_a_state_stored_from_the_future_before_the_fix_gives_way(server: RunningServer) -> None:
    name, token = server.add_device()
    assert send_heartbeat(server, token, tv={"state": "crashed", "errors": []}).status_code == 200
    device_id = device_id_of(server, name)
    server.db.write_sync(lambda conn: conn.execute(devices.update().where(devices.c.id == device_id)
                                                   .values(last_sent_at=YEAR_2100)))
    assert send_heartbeat(server, token, tv={"state": "running", "screen": "home"}).status_code == 200
    assert dashboard_entry(server, name)["tv_state"] == "running"


def progress(server: RunningServer, token: str, position: float, updated_at: float) -> requests.Response:
    body = {"id": "p", "items": [{"id": "spring-day", "position": position, "duration": 3600,
                                  "updated_at": updated_at}]}
    return requests.post(f"{server.url}/api/v1/progress", json=body, headers=auth(token), timeout=10)


def test_progress_stamped_in_2100_does_not_freeze_her_position(server: RunningServer) -> None:
    _, token = server.add_device()
    assert progress(server, token, 100, YEAR_2100).status_code == 200
    held = requests.get(f"{server.url}/api/v1/progress", headers=auth(token), timeout=10).json()["items"][0]
    assert held["updated_at"] <= time.time()
    assert progress(server, token, 900, time.time() + 1).json()["changed"] == 1
    held = requests.get(f"{server.url}/api/v1/progress", headers=auth(token), timeout=10).json()["items"][0]
    assert held["position"] == 900


def test_a_screenshot_taken_in_2100_counts_as_taken_when_it_arrived(server: RunningServer) -> None:
    name, token = server.add_device()
    headers = {**auth(token), "Content-Type": "image/jpeg", "X-Record-Id": "shot2100",
               "X-Taken-At": str(YEAR_2100), "X-Reason": "demand"}
    assert requests.post(f"{server.url}/api/v1/screenshots", data=jpeg(), headers=headers,
                         timeout=10).status_code == 200
    assert dashboard_entry(server, name)["screenshot"]["taken"] == "taken just now"
