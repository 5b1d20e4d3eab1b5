"""Hostile input from a box or a browser: refused at the door with a clear 400, never a 500, never stored."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.server.helpers import RunningServer, auth, heartbeat_body, jpeg, login, now_playing, send_heartbeat
from tests.server.test_device_api import device_id_of, queue

LONE_SURROGATE = '"\\ud800"'


def post_raw(server: RunningServer, token: str, path: str, body: str, headers: dict | None = None) -> requests.Response:
    return requests.post(server.url + path, data=body.encode(),
                         headers={**auth(token), "Content-Type": "application/json", **(headers or {})}, timeout=30)


def heartbeat_with(raw_title: str) -> str:
    """A heartbeat body whose now_playing title is ``raw_title``, spliced in as raw JSON text."""
    marker = "TITLE-" + uuid.uuid4().hex
    body = heartbeat_body(tv={"state": "running", "screen": "player",
                              "now_playing": now_playing("spring-day", marker, position=5)})
    return json.dumps(body).replace(f'"{marker}"', raw_title)


def assert_refused(reply: requests.Response, words: str) -> None:
    assert reply.status_code == 400, reply.text
    assert words in reply.json()["error"], reply.json()


@pytest.mark.parametrize(("raw", "words"), [
    (LONE_SURROGATE, "lone surrogate"),
    ('"\\udc00 tail"', "lone surrogate"),
    ("NaN", "not a finite number"),
    ("Infinity", "not a finite number"),
    ("-Infinity", "not a finite number"),
    ("1e999", "not a finite number"),
    ("9223372036854775808", "integer"),
    ("-9223372036854775809", "integer"),
    ("[" * 40 + "]" * 40, "nested"),
    ("[" * 974 + "]" * 974, "nested"),
    ('"a\\u0000b"', "NUL"),
], ids=["surrogate", "low-surrogate", "nan", "inf", "-inf", "1e999", "2^63", "-2^63-1", "depth-40", "depth-974",
        "nul"])
def test_a_heartbeat_with_hostile_json_is_refused_and_not_stored(server: RunningServer, raw: str, words: str) -> None:
    name, token = server.add_device()
    assert_refused(post_raw(server, token, "/api/v1/heartbeat", heartbeat_with(raw)), words)
    session, _csrf = login(server)
    listing = session.get(f"{server.url}/api/dash/devices", timeout=10)
    assert listing.status_code == 200
    mine = next(d for d in listing.json()["devices"] if d["name"] == name)
    assert mine["status"] == "never"


def test_a_hundred_thousand_brackets_are_a_400_not_a_500(server: RunningServer) -> None:
    _, token = server.add_device()
    for path in ("/api/v1/heartbeat", "/api/v1/progress"):
        assert_refused(post_raw(server, token, path, "[" * 100_000), "nested")


def test_a_surrogate_pair_written_as_escapes_is_one_good_character(server: RunningServer) -> None:
    name, token = server.add_device()
    reply = post_raw(server, token, "/api/v1/heartbeat", heartbeat_with('"\\ud83c\\udfac film"'))
    assert reply.status_code == 200, reply.text
    session, _csrf = login(server)
    mine = next(d for d in session.get(f"{server.url}/api/dash/devices", timeout=10).json()["devices"]
                if d["name"] == name)
    assert mine["now_playing"].startswith("\U0001f3ac film")


def test_a_progress_id_with_a_lone_surrogate_or_a_nul_is_a_400(server: RunningServer) -> None:
    _, token = server.add_device()
    for bad, words in (("\\ud800", "lone surrogate"), ("a\\u0000b", "NUL")):
        body = '{"id": "x", "items": [{"id": "ID", "position": 1, "duration": 10, "updated_at": 1}]}'.replace("ID", bad)
        assert_refused(post_raw(server, token, "/api/v1/progress", body), words)


def test_a_command_result_with_a_lone_surrogate_is_a_400(server: RunningServer) -> None:
    name, token = server.add_device()
    command_id = queue(server, name, "reload")
    for body in ('{"ok": true, "result": {"x": "\\ud800"}}', '{"ok": false, "error": "\\udfff"}'):
        assert_refused(post_raw(server, token, f"/api/v1/commands/{command_id}/result", body), "lone surrogate")
    heartbeat = heartbeat_body(results=[{"command_id": command_id, "ok": True, "result": {"x": "MARK"}}])
    raw = json.dumps(heartbeat).replace('"MARK"', LONE_SURROGATE)
    assert_refused(post_raw(server, token, "/api/v1/heartbeat", raw), "lone surrogate")


@pytest.mark.parametrize("taken_at", ["-inf", "inf", "nan", "1e999", "-1e999"])
def test_a_screenshot_with_a_non_finite_time_is_a_400(server: RunningServer, taken_at: str) -> None:
    _, token = server.add_device()
    reply = requests.post(f"{server.url}/api/v1/screenshots", data=jpeg(), timeout=10,
                          headers={**auth(token), "Content-Type": "image/jpeg", "X-Record-Id": uuid.uuid4().hex,
                                   "X-Taken-At": taken_at, "X-Reason": "demand"})
    assert_refused(reply, "X-Taken-At")


def test_a_device_id_past_two_to_the_63_is_a_400(server: RunningServer) -> None:
    session, csrf = login(server)
    huge = str(2 ** 63)
    for method, path in [("GET", f"/devices/{huge}"), ("GET", f"/api/dash/devices/{huge}"),
                         ("POST", f"/api/dash/devices/{huge}/commands"), ("POST", f"/api/dash/devices/{huge}/live"),
                         ("GET", f"/screenshots/{huge}.jpg"), ("GET", f"/devices/{huge}/logs/abc.txt")]:
        reply = session.request(method, server.url + path, json={"type": "reload"}, headers={"X-CSRF-Token": csrf},
                                timeout=10)
        assert reply.status_code == 400, (method, path, reply.status_code, reply.text)


def test_a_dashboard_command_with_hostile_json_is_a_400(server: RunningServer) -> None:
    name, _token = server.add_device()
    session, csrf = login(server)
    device_id = device_id_of(server, name)
    reply = session.post(f"{server.url}/api/dash/devices/{device_id}/commands", timeout=10,
                         data=b'{"type": "message", "args": {"text": "\\ud800"}}',
                         headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert_refused(reply, "lone surrogate")


def test_a_good_heartbeat_still_goes_through(server: RunningServer) -> None:
    _, token = server.add_device()
    assert send_heartbeat(server, token).status_code == 200


def test_box_text_loses_control_and_bidi_characters_and_sits_in_bdi(server: RunningServer) -> None:
    name, token = server.add_device()
    title = "Spring\u202e gnirpS\u2066\x07\x1b[31m\x85 day\u200f"
    reply = send_heartbeat(server, token, tv={"state": "running", "screen": "somewhere\u202e",
                                              "now_playing": now_playing("spring-day", title, phase="playing")})
    assert reply.status_code == 200
    session, _csrf = login(server)
    mine = next(d for d in session.get(f"{server.url}/api/dash/devices", timeout=10).json()["devices"]
                if d["name"] == name)
    assert mine["now_playing"] == "Spring gnirpS[31m day"
    assert mine["screen"] == "somewhere"
    page = session.get(f"{server.url}/", timeout=10).text
    assert '<bdi>Spring gnirpS[31m day</bdi>' in page
    device_page = session.get(f"{server.url}/devices/{device_id_of(server, name)}", timeout=10).text
    assert '<bdi>Spring gnirpS[31m day</bdi>' in device_page


def test_box_logs_lose_control_and_bidi_characters_but_keep_their_lines_and_tabs(server: RunningServer) -> None:
    name, token = server.add_device()
    queue(server, name, "upload_logs")
    log = ("12:00\tagent: ok\n"
           "12:01\tagent: sent \u202egnp.\u2066exe\u2069 \x1b[31mred\x1b[0m\x07\x85\u200f\n"
           "12:02\ttv: 50%\rtv: 100%\r\n"
           "12:03\tend\n")
    reply = requests.put(f"{server.url}/api/v1/logs/bidi?offset=0", data=log.encode(), headers=auth(token),
                         timeout=10)
    assert reply.status_code == 200, reply.text
    shown = ("12:00\tagent: ok\n"
             "12:01\tagent: sent gnp.exe [31mred[0m\n"
             "12:02\ttv: 50%\ntv: 100%\n"
             "12:03\tend\n")
    session, _csrf = login(server)
    device_id = device_id_of(server, name)
    page = session.get(f"{server.url}/devices/{device_id}", timeout=10).text
    assert f'<pre class="log" id="log-tail">{shown}</pre>' in page
    assert session.get(f"{server.url}/devices/{device_id}/logs/bidi.txt", timeout=10).text == shown


@pytest.mark.parametrize("wait", ["nan", "inf", "-inf", "1e999", "soon"])
def test_a_long_poll_with_a_non_finite_wait_is_a_400(server: RunningServer, wait: str) -> None:
    _, token = server.add_device()
    reply = requests.get(f"{server.url}/api/v1/commands", params={"wait": wait}, headers=auth(token), timeout=30)
    assert_refused(reply, "wait")


def test_ids_in_the_path_that_are_not_text_are_client_errors(server: RunningServer) -> None:
    _, token = server.add_device()
    for method, path in [("POST", "/api/v1/commands/%ED%A0%80/result"), ("PUT", "/api/v1/logs/%ED%A0%80?offset=0"),
                         ("GET", "/api/v1/logs/%ED%A0%80"), ("POST", "/api/v1/commands/%00/result")]:
        reply = requests.request(method, server.url + path, json={"ok": True}, headers=auth(token), timeout=10)
        assert 400 <= reply.status_code < 500, (method, path, reply.status_code, reply.text)
