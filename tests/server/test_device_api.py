"""The box's API against a real server process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import io
import time
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from piclient.protocol import CommandResult
from tests.server.helpers import (
    RunningServer,
    auth,
    heartbeat_body,
    jpeg,
    login,
    send_heartbeat,
    start_server,
    upload_screenshot,
)


def queue(server: RunningServer, device_name: str, kind: str, args: dict | None = None) -> str:
    session, csrf = login(server)
    device_id = device_id_of(server, device_name)
    reply = session.post(f"{server.url}/api/dash/devices/{device_id}/commands", json={"type": kind, "args": args or {}},
                         headers={"X-CSRF-Token": csrf}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["command"]["id"]


def device_id_of(server: RunningServer, name: str) -> int:
    from piclient.server.devices import list_devices

    return next(row.id for row in server.db.read_sync(list_devices) if row.name == name)


# --- tokens ---------------------------------------------------------------------------------------


def test_a_heartbeat_with_a_good_token_is_answered_with_the_interval_and_no_commands(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = send_heartbeat(server, token)
    assert reply.status_code == 200
    assert reply.json() == {"ok": True, "commands": [], "live": None, "heartbeat_seconds": 30}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer not-a-token"}])
def test_missing_or_wrong_tokens_are_refused_with_401(server: RunningServer, headers: dict) -> None:
    for method, path in [("POST", "/api/v1/heartbeat"), ("GET", "/api/v1/commands"), ("GET", "/api/v1/catalog"),
                         ("GET", "/api/v1/progress"), ("GET", "/library/catalog.json"),
                         ("POST", "/api/v1/screenshots"), ("PUT", "/api/v1/logs/x?offset=0")]:
        reply = requests.request(method, server.url + path, json=heartbeat_body(), headers=headers, timeout=10)
        assert reply.status_code == 401, (method, path)
        assert "error" in reply.json()


def test_a_revoked_token_stops_working_at_once(server: RunningServer) -> None:
    name, token = server.add_device()
    assert send_heartbeat(server, token).status_code == 200
    server.revoke_device(name)
    reply = send_heartbeat(server, token)
    assert reply.status_code == 401
    assert reply.json() == {"error": "this device's token was revoked"}
    assert requests.get(f"{server.url}/api/v1/progress", headers=auth(token), timeout=10).status_code == 401


# --- heartbeats and bodies ------------------------------------------------------------------------


def test_a_heartbeat_sent_twice_is_stored_once(server: RunningServer) -> None:
    name, token = server.add_device()
    record = uuid.uuid4().hex
    assert send_heartbeat(server, token, record_id=record).status_code == 200
    assert send_heartbeat(server, token, record_id=record).status_code == 200
    from sqlalchemy import func, select

    from piclient.server.schema import heartbeats

    device_id = device_id_of(server, name)
    count = server.db.read_sync(lambda conn: conn.execute(
        select(func.count()).select_from(heartbeats).where(heartbeats.c.device_id == device_id)).scalar())
    assert count == 1


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_malformed_json_is_a_400_that_says_what_is_wrong(server: RunningServer, body: bytes) -> None:
    _, token = server.add_device()
    reply = requests.post(f"{server.url}/api/v1/heartbeat", data=body,
                          headers={**auth(token), "Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("malformed JSON")


def test_a_heartbeat_without_a_record_id_is_a_400(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = requests.post(f"{server.url}/api/v1/heartbeat", json={"sent_at": 1}, headers=auth(token), timeout=10)
    assert reply.status_code == 400
    assert "id" in reply.json()["error"]


def test_a_json_body_over_256_kib_is_a_413(server: RunningServer) -> None:
    _, token = server.add_device()
    body = heartbeat_body(padding="x" * (257 * 1024))
    reply = requests.post(f"{server.url}/api/v1/heartbeat", json=body, headers=auth(token), timeout=10)
    assert reply.status_code == 413


def test_garbage_inside_a_valid_heartbeat_is_tolerated(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = send_heartbeat(server, token, system={"cpu_temp_c": "hot", "load": "x", "wifi": [1]}, tv=None,
                           device=7, results=[1, {"command_id": None}], future_field={"kept": True})
    assert reply.status_code == 200


# --- commands -------------------------------------------------------------------------------------


def test_a_command_is_delivered_once_per_lease_until_its_result_arrives_and_then_never_again(
        server: RunningServer) -> None:
    # Redelivery after the lease is covered with an explicit clock in test_commands.py.
    name, token = server.add_device()
    command_id = queue(server, name, "key", {"name": "ok"})
    first = send_heartbeat(server, token).json()["commands"]
    second = send_heartbeat(server, token).json()["commands"]
    assert first == [{"id": command_id, "type": "key", "args": {"name": "ok"}}]
    assert second == []  # leased: the box has it and has not answered yet
    done = send_heartbeat(server, token, results=[{"command_id": command_id, "ok": True, "result": {"x": 1},
                                                   "error": None}])
    assert done.json()["commands"] == []
    assert send_heartbeat(server, token).json()["commands"] == []
    # A late duplicate of the result does not overwrite the first.
    again = requests.post(f"{server.url}/api/v1/commands/{command_id}/result",
                          json={"ok": False, "result": {}, "error": "late"}, headers=auth(token), timeout=10)
    assert again.json() == {"ok": True, "stored": False}


def test_a_result_can_be_posted_directly(server: RunningServer) -> None:
    name, token = server.add_device()
    command_id = queue(server, name, "screenshot")
    reply = requests.post(f"{server.url}/api/v1/commands/{command_id}/result",
                          json={"ok": True, "result": {"id": "abc"}, "error": None}, headers=auth(token), timeout=10)
    assert reply.json() == {"ok": True, "stored": True}
    assert requests.get(f"{server.url}/api/v1/commands", headers=auth(token), timeout=10).json()["commands"] == []


def test_a_result_that_does_not_fit_the_protocol_is_a_400_naming_the_field_and_stores_nothing(
        server: RunningServer) -> None:
    name, token = server.add_device()
    command_id = queue(server, name, "screenshot")
    url = f"{server.url}/api/v1/commands/{command_id}/result"
    for body, field in (({"result": {}}, "ok"), ({"ok": "maybe"}, "ok"), ({"ok": False, "error": ["x"]}, "error")):
        reply = requests.post(url, json=body, headers=auth(token), timeout=10)
        assert reply.status_code == 400, body
        assert reply.json()["error"].startswith(f"the result does not fit the protocol: {field}:"), reply.json()
    # Nothing stored: the real result still counts.
    good = requests.post(url, json=CommandResult(ok=True, result={"id": "abc"}).wire(), headers=auth(token),
                         timeout=10)
    assert good.json() == {"ok": True, "stored": True}


def test_a_long_poll_returns_promptly_when_a_command_is_queued(server: RunningServer) -> None:
    name, token = server.add_device()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        polling = pool.submit(requests.get, f"{server.url}/api/v1/commands?wait=20", headers=auth(token), timeout=30)
        time.sleep(0.5)
        command_id = queue(server, name, "key", {"name": "up"})
        reply = polling.result(timeout=25)
        elapsed = time.monotonic() - started
    assert [c["id"] for c in reply.json()["commands"]] == [command_id]
    assert elapsed < 5


def test_back_to_back_long_polls_carry_a_command_once_and_do_not_wake_for_it_again(server: RunningServer) -> None:
    name, token = server.add_device()
    command_id = queue(server, name, "key", {"name": "left"})
    url = f"{server.url}/api/v1/commands"
    first = requests.get(f"{url}?wait=5", headers=auth(token), timeout=15).json()["commands"]
    started = time.monotonic()
    second = requests.get(f"{url}?wait=1", headers=auth(token), timeout=15).json()["commands"]
    waited = time.monotonic() - started
    assert [c["id"] for c in first] == [command_id]
    assert second == []
    assert waited >= 0.9  # the leased command did not end the wait early
    assert send_heartbeat(server, token).json()["commands"] == []
    stored = requests.post(f"{url}/{command_id}/result", json={"ok": True, "result": {}, "error": None},
                           headers=auth(token), timeout=10)
    assert stored.json() == {"ok": True, "stored": True}


def test_a_long_poll_without_commands_waits_and_returns_empty(server: RunningServer) -> None:
    _, token = server.add_device()
    started = time.monotonic()
    reply = requests.get(f"{server.url}/api/v1/commands?wait=1", headers=auth(token), timeout=10)
    assert reply.json() == {"commands": [], "live": None}
    assert 0.9 <= time.monotonic() - started < 5


def test_live_mode_reaches_the_box_in_the_heartbeat_reply(server: RunningServer) -> None:
    name, token = server.add_device()
    session, csrf = login(server)
    device_id = device_id_of(server, name)
    assert session.post(f"{server.url}/api/dash/devices/{device_id}/live", headers={"X-CSRF-Token": csrf},
                        timeout=10).status_code == 200
    live = send_heartbeat(server, token).json()["live"]
    assert live["poll_seconds"] == 1 and live["screenshot_seconds"] == 3
    assert 170 < live["until"] - time.time() <= 180


def test_one_device_cannot_see_or_answer_another_devices_commands(server: RunningServer) -> None:
    name_a, token_a = server.add_device()
    _, token_b = server.add_device()
    command_id = queue(server, name_a, "reboot")
    assert send_heartbeat(server, token_b).json()["commands"] == []
    assert requests.get(f"{server.url}/api/v1/commands", headers=auth(token_b), timeout=10).json()["commands"] == []
    stolen = requests.post(f"{server.url}/api/v1/commands/{command_id}/result", json={"ok": True},
                           headers=auth(token_b), timeout=10)
    assert stolen.status_code == 404
    # Nor through a heartbeat's results: A still gets its command.
    send_heartbeat(server, token_b, results=[{"command_id": command_id, "ok": True}])
    assert [c["id"] for c in send_heartbeat(server, token_a).json()["commands"]] == [command_id]


# --- progress -------------------------------------------------------------------------------------


def test_progress_keeps_the_newest_entry_per_title_and_belongs_to_one_device(server: RunningServer) -> None:
    _, token_a = server.add_device()
    _, token_b = server.add_device()
    url = f"{server.url}/api/v1/progress"
    newer = {"id": "spring-day", "position": 1200.5, "duration": 5400, "watched": False, "updated_at": 2000.0}
    older = {"id": "spring-day", "position": 10, "duration": 5400, "watched": False, "updated_at": 1000.0}
    other = {"id": "autumn", "position": 0, "duration": None, "watched": True, "updated_at": 1500.0}
    assert requests.post(url, json={"items": [newer, other]}, headers=auth(token_a), timeout=10).status_code == 200
    assert requests.post(url, json={"items": [older]}, headers=auth(token_a), timeout=10).status_code == 200
    items = requests.get(url, headers=auth(token_a), timeout=10).json()["items"]
    assert sorted(items, key=lambda i: i["id"]) == [other, newer]
    assert requests.get(url, headers=auth(token_b), timeout=10).json() == {"items": []}


def test_a_bad_progress_item_is_a_400_naming_it(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = requests.post(f"{server.url}/api/v1/progress", json={"items": [{"id": "a", "position": -1}]},
                          headers=auth(token), timeout=10)
    assert reply.status_code == 400
    assert "items[0].position" in reply.json()["error"]


# --- screenshots ----------------------------------------------------------------------------------


def test_a_screenshot_is_stored_once_without_its_metadata(server: RunningServer) -> None:
    name, token = server.add_device()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x9286] = "a comment"  # UserComment
    record = uuid.uuid4().hex
    data = jpeg(1920, 1080, exif=exif.tobytes())
    assert upload_screenshot(server, token, data, record_id=record).json() == {"ok": True, "id": record}
    assert upload_screenshot(server, token, data, record_id=record).status_code == 200
    files = list((server.data_dir / "screenshots").rglob("*.jpg"))
    device_id = device_id_of(server, name)
    mine = [f for f in files if f.parent.name == str(device_id)]
    assert len(mine) == 1
    with Image.open(mine[0]) as image:
        assert image.size == (960, 540)
        assert not image.getexif() and "exif" not in image.info
    assert b"SecretCam" not in mine[0].read_bytes()


def test_a_screenshot_over_2_mb_is_a_413(server: RunningServer) -> None:
    _, token = server.add_device()
    assert upload_screenshot(server, token, b"\xff\xd8" + b"0" * (2 * 1024 * 1024)).status_code == 413


def test_a_screenshot_that_is_not_an_image_is_refused(server: RunningServer) -> None:
    _, token = server.add_device()
    assert upload_screenshot(server, token, b"<html>hello</html>").status_code == 400
    assert upload_screenshot(server, token, jpeg(), content_type="text/html").status_code == 415
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert upload_screenshot(server, token, gif.getvalue()).status_code == 400


def test_a_screenshot_record_id_cannot_name_a_path(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = upload_screenshot(server, token, jpeg(), record_id="../../etc/passwd")
    assert reply.status_code == 400
    assert not (server.data_dir.parent / "etc").exists()


# --- logs -----------------------------------------------------------------------------------------


def test_a_log_upload_resumes_from_what_the_server_holds(server: RunningServer) -> None:
    name, token = server.add_device()
    queue(server, name, "upload_logs")
    url = f"{server.url}/api/v1/logs/up-1"
    assert requests.put(f"{url}?offset=0", data=b"hello ", headers=auth(token), timeout=10).json() == {"received": 6}
    # The reply to a retried chunk was lost: the server says where to resume.
    again = requests.put(f"{url}?offset=0", data=b"hello ", headers=auth(token), timeout=10)
    assert again.status_code == 409 and again.json()["received"] == 6
    assert requests.put(f"{url}?offset=6", data=b"world", headers=auth(token), timeout=10).json() == {"received": 11}
    assert requests.get(url, headers=auth(token), timeout=10).json()["received"] == 11
    assert requests.post(f"{url}/done", headers=auth(token), timeout=10).json() == {"ok": True, "received": 11}
    closed = requests.put(f"{url}?offset=11", data=b"more", headers=auth(token), timeout=10)
    assert closed.status_code == 409


def test_a_log_chunk_over_256_kib_is_a_413(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = requests.put(f"{server.url}/api/v1/logs/big?offset=0", data=b"x" * (256 * 1024 + 1),
                         headers=auth(token), timeout=10)
    assert reply.status_code == 413


def test_log_uploads_of_one_device_are_invisible_to_another(server: RunningServer) -> None:
    name_a, token_a = server.add_device()
    _, token_b = server.add_device()
    queue(server, name_a, "upload_logs")
    url = f"{server.url}/api/v1/logs/shared-name"
    requests.put(f"{url}?offset=0", data=b"secret", headers=auth(token_a), timeout=10)
    assert requests.get(url, headers=auth(token_b), timeout=10).json()["received"] == 0
    assert requests.post(f"{url}/done", headers=auth(token_b), timeout=10).status_code == 404


def test_a_log_upload_id_cannot_be_a_path(server: RunningServer) -> None:
    _, token = server.add_device()
    reply = requests.put(f"{server.url}/api/v1/logs/..%2F..%2Fx?offset=0", data=b"x", headers=auth(token),
                         timeout=10)
    assert reply.status_code in (400, 404)


# --- catalog and library --------------------------------------------------------------------------


def test_the_catalog_has_an_etag_and_answers_304_when_unchanged(server: RunningServer) -> None:
    _, token = server.add_device()
    first = requests.get(f"{server.url}/api/v1/catalog", headers=auth(token), timeout=10)
    assert first.status_code == 200 and first.json() == {"version": 1, "titles": []}
    etag = first.headers["ETag"]
    second = requests.get(f"{server.url}/api/v1/catalog", headers={**auth(token), "If-None-Match": etag}, timeout=10)
    assert second.status_code == 304


def test_library_files_are_served_with_etag_and_ranges(server: RunningServer) -> None:
    _, token = server.add_device()
    url = f"{server.url}/library/posters/spring-day.jpg"
    whole = requests.get(url, headers=auth(token), timeout=10)
    assert whole.status_code == 200 and len(whole.content) == 256 * 40
    part = requests.get(url, headers={**auth(token), "Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    cached = requests.get(url, headers={**auth(token), "If-None-Match": whole.headers["ETag"]}, timeout=10)
    assert cached.status_code == 304


@pytest.mark.parametrize("path", ["../server.log", "..%2Fdata%2Fpiclient.db", "%2E%2E/%2E%2E/etc/passwd",
                                  "posters/../../data/piclient.db", ".complete", "posters//spring-day.jpg",
                                  "%2Fetc%2Fpasswd", "posters\\..\\catalog.json"])
def test_library_paths_cannot_leave_the_library(server: RunningServer, path: str) -> None:
    _, token = server.add_device()
    reply = requests.get(f"{server.url}/library/{path}", headers=auth(token), timeout=10)
    assert reply.status_code == 404
    assert b"SQLite" not in reply.content and b"root:" not in reply.content


# --- metrics --------------------------------------------------------------------------------------


def test_metrics_count_devices_and_heartbeats(server: RunningServer) -> None:
    _, token = server.add_device()
    send_heartbeat(server, token)
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(lines["piclient_devices"]) >= 1
    assert float(lines["piclient_devices_online"]) >= 1
    assert float(lines['piclient_heartbeats_received_total{stored="true"}']) >= 1
    assert any(key.startswith("piclient_http_request_duration_seconds_bucket{") and 'route="heartbeat"' in key
               for key in lines)


def test_a_late_spooled_heartbeat_joins_the_history_without_replacing_the_current_state(
        server: RunningServer) -> None:
    name, token = server.add_device()
    send_heartbeat(server, token, sent_at=2000.0, tv={"state": "running", "screen": "home"})
    send_heartbeat(server, token, sent_at=1000.0, tv={"state": "crashed", "screen": "player"})
    session, _ = login(server)
    device = session.get(f"{server.url}/api/dash/devices/{device_id_of(server, name)}", timeout=10).json()["device"]
    assert (device["screen"], device["tv_state"]) == ("Home (posters)", "running")


def test_a_going_down_heartbeat_gets_no_commands(server: RunningServer) -> None:
    name, token = server.add_device()
    queue(server, name, "screenshot")
    assert send_heartbeat(server, token, going_down=True).json()["commands"] == []
    assert len(send_heartbeat(server, token).json()["commands"]) == 1


def test_stopping_the_server_answers_open_long_polls_at_once(tmp_path: Path) -> None:
    own = start_server(tmp_path / "server-data", None)
    try:
        _, token = own.add_device()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            polling = pool.submit(requests.get, f"{own.url}/api/v1/commands?wait=20", headers=auth(token), timeout=30)
            time.sleep(0.5)  # the poll is waiting inside the server
            started = time.monotonic()
            own.process.terminate()
            own.process.wait(10)
            stopped_in = time.monotonic() - started
            reply = polling.result(timeout=10)
        assert reply.status_code == 200 and reply.json()["commands"] == []
        assert stopped_in < 3, f"shutdown waited {stopped_in:.1f} s for the long-poll"
        assert "Cancel" not in own.log() and "Traceback" not in own.log()
    finally:
        own.stop()
