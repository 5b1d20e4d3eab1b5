"""The maintainer's dashboard over HTTP: login, sessions, CSRF, pages and the page script's calls."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.server.helpers import (
    PASSWORD,
    RunningServer,
    auth,
    jpeg,
    login,
    now_playing,
    running_server,
    send_heartbeat,
    start_server,
    upload_screenshot,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("dash") / "data")
    running.set_password()
    try:
        yield running
    finally:
        running.stop()


def device_id(server: RunningServer, name: str) -> int:
    from piclient.server.devices import list_devices

    return next(row.id for row in server.db.read_sync(list_devices) if row.name == name)


def form_token(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


# --- without a session ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/devices/1", "/screenshots/1.jpg", "/devices/1/logs/x.txt"])
def test_pages_without_login_redirect_to_the_login_page(server: RunningServer, path: str) -> None:
    reply = requests.get(server.url + path, allow_redirects=False, timeout=10)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/dash/devices"), ("GET", "/api/dash/devices/1"),
                                              ("POST", "/api/dash/devices/1/commands"),
                                              ("POST", "/api/dash/devices/1/live")])
def test_dashboard_calls_without_login_are_401(server: RunningServer, method: str, path: str) -> None:
    reply = requests.request(method, server.url + path, json={"type": "reboot"}, timeout=10)
    assert reply.status_code == 401
    assert reply.json() == {"error": "log in first"}


def test_a_device_token_does_not_open_the_dashboard(server: RunningServer) -> None:
    _, token = server.add_device()
    assert requests.get(f"{server.url}/api/dash/devices", headers=auth(token), timeout=10).status_code == 401


# --- logging in -----------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_the_right_one_sets_a_strict_cookie(server: RunningServer) -> None:
    session = requests.Session()
    token = form_token(session.get(f"{server.url}/login", timeout=10).text)
    wrong = session.post(f"{server.url}/login", data={"csrf": token, "password": "nope"}, timeout=10,
                         allow_redirects=False)
    assert wrong.status_code == 401
    assert "piclient_session" not in session.cookies
    token = form_token(wrong.text)
    right = session.post(f"{server.url}/login", data={"csrf": token, "password": PASSWORD, "next": "/devices/1"},
                         timeout=10, allow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/devices/1"
    cookie = next(c for c in right.headers["set-cookie"].split(", piclient") if "session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_a_login_post_without_the_forms_token_is_refused(server: RunningServer) -> None:
    # What a page on another site could send: no login cookie, no matching form token.
    reply = requests.post(f"{server.url}/login", data={"csrf": "guess", "password": PASSWORD}, timeout=10,
                          allow_redirects=False)
    assert reply.status_code == 400
    assert "piclient_session" not in reply.headers.get("set-cookie", "")


def test_the_login_redirect_never_leaves_the_site(server: RunningServer) -> None:
    session = requests.Session()
    token = form_token(session.get(f"{server.url}/login", timeout=10).text)
    reply = session.post(f"{server.url}/login", data={"csrf": token, "password": PASSWORD,
                                                      "next": "//evil.example/"}, timeout=10, allow_redirects=False)
    assert reply.headers["location"] == "/"
    language = requests.get(f"{server.url}/lang/ko?next=https://evil.example/", allow_redirects=False, timeout=10)
    assert language.headers["location"] == "/"


def test_logging_out_ends_the_session(server: RunningServer) -> None:
    session, csrf = login(server)
    assert session.post(f"{server.url}/logout", data={}, allow_redirects=False, timeout=10).status_code == 403
    assert session.post(f"{server.url}/logout", data={"csrf": csrf}, allow_redirects=False,
                        timeout=10).status_code == 303
    assert session.get(f"{server.url}/api/dash/devices", timeout=10).status_code == 401


def test_login_attempts_are_rate_limited(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        server.set_password()
        session = requests.Session()
        token = form_token(session.get(f"{server.url}/login", timeout=10).text)
        statuses = []
        for _ in range(7):
            reply = session.post(f"{server.url}/login", data={"csrf": token, "password": "wrong"}, timeout=10)
            statuses.append(reply.status_code)
            token = form_token(reply.text)  # every login page comes with a fresh form token
        assert statuses == [401] * 5 + [429] * 2
        assert int(reply.headers["retry-after"]) > 0
        # Even the right password waits: otherwise the limit would tell a guesser when they are right.
        late = session.post(f"{server.url}/login", data={"csrf": token, "password": PASSWORD}, timeout=10,
                            allow_redirects=False)
        assert late.status_code == 429


def test_the_session_cookie_is_secure_behind_a_trusted_tls_proxy_only(tmp_path: Path,
                                                                        server: RunningServer) -> None:
    def cookie_of(target: RunningServer) -> str:
        headers = {"X-Forwarded-Proto": "https"}
        token = form_token(requests.get(f"{target.url}/login", headers=headers, timeout=10).text)
        # Sent by hand: a cookie jar would rightly keep a Secure cookie off this plain-HTTP hop.
        reply = requests.post(f"{target.url}/login", data={"csrf": token, "password": PASSWORD},
                              headers={**headers, "Cookie": f"piclient_login={token}"}, timeout=10,
                              allow_redirects=False)
        assert reply.status_code == 303
        return reply.headers["set-cookie"]

    assert "Secure" not in cookie_of(server)
    with running_server(tmp_path, None, "--trust-proxy", "127.0.0.1") as proxied:
        proxied.set_password()
        assert "Secure" in cookie_of(proxied)


# --- CSRF -----------------------------------------------------------------------------------------


def test_dashboard_posts_need_the_sessions_csrf_token(server: RunningServer) -> None:
    name, _ = server.add_device()
    session, csrf = login(server)
    url = f"{server.url}/api/dash/devices/{device_id(server, name)}/commands"
    assert session.post(url, json={"type": "screenshot"}, timeout=10).status_code == 403
    assert session.post(url, json={"type": "screenshot"}, headers={"X-CSRF-Token": "x" * 43},
                        timeout=10).status_code == 403
    other, _ = login(server)  # another session's token is no good either
    assert other.post(url, json={"type": "screenshot"}, headers={"X-CSRF-Token": csrf}, timeout=10).status_code == 403
    assert session.post(url, json={"type": "screenshot"}, headers={"X-CSRF-Token": csrf},
                        timeout=10).status_code == 200


def test_a_command_outside_the_vocabulary_is_refused(server: RunningServer) -> None:
    name, _ = server.add_device()
    session, csrf = login(server)
    url = f"{server.url}/api/dash/devices/{device_id(server, name)}/commands"
    for body in ({"type": "shell", "args": {"cmd": "rm -rf /"}}, {"type": "key", "args": {"name": "explode"}},
                 {"type": "reboot", "args": {"now": True}}, {"type": "message", "args": {"text": ""}}):
        assert session.post(url, json=body, headers={"X-CSRF-Token": csrf}, timeout=10).status_code == 400
    missing = session.post(f"{server.url}/api/dash/devices/999999/commands", json={"type": "reboot"},
                           headers={"X-CSRF-Token": csrf}, timeout=10)
    assert missing.status_code == 404


# --- pages ----------------------------------------------------------------------------------------


def test_the_device_list_shows_state_screenshot_playing_and_warnings(server: RunningServer) -> None:
    name, token = server.add_device()
    system = {"cpu_temp_c": 81.0, "throttled": {"under_voltage_now": True}, "mem_total": 100, "mem_available": 50}
    tv = {"state": "unresponsive", "now_playing": now_playing(position=754, duration=5400, paused=True)}
    assert send_heartbeat(server, token, system=system, tv=tv).status_code == 200
    assert upload_screenshot(server, token, jpeg()).status_code == 200
    session, _ = login(server)
    page = session.get(f"{server.url}/", headers={"Accept-Language": "en"}, timeout=10).text
    card = page.split(f"<h2>{name}</h2>", 1)[1].split("</li>\n", 1)[0]
    assert 'class="badge online"' in card
    playing = card.split('data-field="now_playing">', 1)[1]
    assert "<strong><bdi>봄날</bdi></strong>" in playing and ">paused<" in playing
    assert '<span class="np-position">12:34</span> / <span class="np-duration">1:30:00</span>' in playing
    assert "Under-voltage now" in card and "CPU hot: 81 °C" in card and "TV app not responding" in card
    shot = re.search(r'<img class="thumb" src="(/screenshots/\d+\.jpg)"', page.split(f"<h2>{name}</h2>")[0]
                     .rsplit('<li class="device', 1)[1]).group(1)
    image = session.get(server.url + shot, timeout=10)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"


def test_a_catalog_the_box_cannot_refresh_is_a_warning_with_its_kind(server: RunningServer) -> None:
    name, token = server.add_device()
    session, _ = login(server)

    def card(catalog: dict) -> str:
        tv = {"state": "running", "screen": "home", "catalog": catalog}
        assert send_heartbeat(server, token, tv=tv).status_code == 200
        page = session.get(f"{server.url}/", headers={"Accept-Language": "en"}, timeout=10).text
        return page.split(f"<h2>{name}</h2>", 1)[1].split("</li>\n", 1)[0]

    refused = card({"titles": 12, "error": "the server refused the device token (HTTP 401)", "error_kind": "setup"})
    assert "Films list not refreshed: the box&#39;s settings need a look" in refused
    did = device_id(server, name)
    warning = session.get(f"{server.url}/api/dash/devices/{did}", timeout=10).json()["device"]["warnings"][0]
    assert warning["detail"] == "the server refused the device token (HTTP 401)"
    assert "Films list not refreshed" not in card({"titles": 12, "error": None, "error_kind": None})


def test_the_device_page_has_the_remote_charts_commands_and_logs(server: RunningServer) -> None:
    name, token = server.add_device()
    for temp in (50, 55, 60):
        send_heartbeat(server, token, system={"cpu_temp_c": temp, "wifi": {"signal_dbm": -60},
                                              "mem_total": 100, "mem_available": 40},
                       device={"name": "Living room", "version": "0.1.0", "uptime_s": 3 * 86400},
                       tv={"state": "running", "screen": "home", "uptime_s": 2 * 3600})
    session, csrf = login(server)
    did = device_id(server, name)
    session.post(f"{server.url}/api/dash/devices/{did}/commands", json={"type": "upload_logs"},
                 headers={"X-CSRF-Token": csrf}, timeout=10)
    requests.put(f"{server.url}/api/v1/logs/l1?offset=0", data=b"agent: hello from the box\n", headers=auth(token),
                 timeout=10)
    session.post(f"{server.url}/api/dash/devices/{did}/commands", json={"type": "key", "args": {"name": "left"}},
                 headers={"X-CSRF-Token": csrf}, timeout=10)
    page = session.get(f"{server.url}/devices/{did}", timeout=10).text
    for key in ("up", "down", "left", "right", "ok", "back", "playpause", "red", "green", "yellow", "blue"):
        assert f'data-key="{key}"' in page
    assert page.count('<svg class="spark"') == 3
    assert "agent: hello from the box" in page
    assert "Key: Left" in page
    # The box has been up three days; the TV app restarted two hours ago.
    assert re.search(r"Box up: 3\sd\b.*TV app up: <span id=\"tv-uptime\">2\sh</span>", page, re.S), page
    full = session.get(f"{server.url}/devices/{did}/logs/l1.txt", timeout=10)
    assert full.text == "agent: hello from the box\n"
    detail = session.get(f"{server.url}/api/dash/devices/{did}", timeout=10).json()
    assert detail["device"]["status"] == "online" and detail["commands"][0]["what"] == "Key: Left"


def test_the_dashboard_speaks_korean_when_the_browser_asks_and_the_toggle_overrides(server: RunningServer) -> None:
    session, _ = login(server)
    korean = session.get(f"{server.url}/", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}, timeout=10)
    assert "<h1>기기</h1>" in korean.text and '<html lang="ko">' in korean.text
    session.get(f"{server.url}/lang/en?next=/", timeout=10)
    english = session.get(f"{server.url}/", headers={"Accept-Language": "ko"}, timeout=10)
    assert "<h1>Devices</h1>" in english.text


def test_screenshot_urls_take_only_numbers(server: RunningServer) -> None:
    session, _ = login(server)
    for path in ("/screenshots/../piclient.db", "/screenshots/..%2Fpiclient.db", "/screenshots/1%2F..%2F..%2Fx.jpg",
                 "/screenshots/999999.jpg", "/screenshots/-1.jpg"):
        reply = session.get(server.url + path, timeout=10)
        assert reply.status_code == 404, path
        assert b"SQLite" not in reply.content


def test_requests_with_unknown_or_revoked_tokens_show_as_warnings(server: RunningServer) -> None:
    name, token = server.add_device()
    send_heartbeat(server, token)
    server.revoke_device(name)
    send_heartbeat(server, token)
    send_heartbeat(server, "made-up-token")
    session, _ = login(server)
    page = session.get(f"{server.url}/", headers={"Accept-Language": "en"}, timeout=10).text
    assert "requests with an unknown device token" in page
    card = page.split(f"<h2>{name}</h2>", 1)[1].split("</li>\n", 1)[0]
    assert "Token revoked" in card and "A revoked token was used" in card


def test_every_page_forbids_framing_and_outside_scripts(server: RunningServer) -> None:
    reply = requests.get(f"{server.url}/login", timeout=10)
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert reply.headers["x-frame-options"] == "DENY"
    assert "http" not in re.sub(r'href="/[^"]*"|src="/[^"]*"', "", reply.text.split("<body", 1)[0]).replace(
        "http-equiv", "")


def _device_page(server: RunningServer, session: requests.Session, name: str, lang: str = "en") -> tuple[str, dict]:
    did = device_id(server, name)
    page = session.get(f"{server.url}/devices/{did}", headers={"Accept-Language": lang}, timeout=10).text
    data = session.get(f"{server.url}/api/dash/devices/{did}", headers={"Accept-Language": lang}, timeout=10).json()
    return page, data


def test_old_problems_age_out_and_each_warning_keeps_the_boxs_own_words_one_tap_away(server: RunningServer) -> None:
    name, token = server.add_device()
    now = time.time()
    errors = [{"time": now - 3600, "level": "warning", "message": "mpv command seek failed: an hour ago"},
              {"time": now - 60, "level": "error", "message": "stream broke a minute ago"}]
    refused = {"status": 401, "message": "unknown device token", "since": now - 100, "resolved_at": None}
    send_heartbeat(server, token, sent_at=now, agent={"refused": refused},
                   tv={"state": "running", "screen": "player", "errors": errors})
    session, _ = login(server)
    page, data = _device_page(server, session, name)
    warnings = {w["key"]: w for w in data["device"]["warnings"]}
    assert warnings["w_errors"]["text"] == "The TV app noted 1 problem(s) in the last 15 min"
    assert "stream broke a minute ago" in warnings["w_errors"]["detail"]
    assert "an hour ago" not in warnings["w_errors"]["detail"]
    assert warnings["w_refused_token"]["detail"] == "HTTP 401: unknown device token"
    assert "{'" not in page and "{&#39;" not in page  # no Python reprs
    assert "<details><summary><bdi>The TV app noted 1 problem(s)" in page
    assert data["device"]["screen"] == "Playing"
    # Once the last one is old too, the warning is gone.
    send_heartbeat(server, token, sent_at=now + 900, tv={"state": "running", "screen": "home", "errors": errors})
    _, data = _device_page(server, session, name)
    assert "w_errors" not in {w["key"] for w in data["device"]["warnings"]}
    assert data["device"]["screen"] == "Home (posters)"


def test_commands_read_as_sentences_with_the_raw_result_one_tap_away(server: RunningServer) -> None:
    name, token = server.add_device()
    send_heartbeat(server, token)
    session, csrf = login(server)
    did = device_id(server, name)
    for kind, args in (("key", {"name": "green"}), ("restart_tv", {}), ("upload_logs", {"since_s": 3600})):
        session.post(f"{server.url}/api/dash/devices/{did}/commands", json={"type": kind, "args": args},
                     headers={"X-CSRF-Token": csrf}, timeout=10)
    offered = send_heartbeat(server, token).json()["commands"]
    logs = next(c for c in offered if c["type"] == "upload_logs")
    requests.post(f"{server.url}/api/v1/commands/{logs['id']}/result", headers=auth(token), timeout=10,
                  json={"ok": True, "result": {"upload_id": "u1", "bytes": 20480, "chunks": 1}})
    page, data = _device_page(server, session, name)
    assert [c["what"] for c in data["commands"]] == ["Fetch logs", "Restart TV app", "Key: Green"]
    assert data["commands"][0]["outcome"] == "20 KB of logs" and '"upload_id": "u1"' in data["commands"][0]["detail"]
    assert '{"button"' not in page and ">restart_tv<" not in page
    korean, data = _device_page(server, session, name, "ko")
    assert [c["what"] for c in data["commands"]] == ["로그 가져오기", "TV 앱 다시 시작", "리모컨: 초록"]


def test_the_status_line_does_not_say_online_twice(server: RunningServer) -> None:
    name, token = server.add_device()
    send_heartbeat(server, token)
    session, _ = login(server)
    _, data = _device_page(server, session, name)
    assert data["device"]["status_label"] == "Online"
    assert data["device"]["status_text"].startswith("for ") and "online" not in data["device"]["status_text"].lower()


def test_only_the_buttons_of_commands_the_box_carries_out_are_offered(server: RunningServer) -> None:
    name, token = server.add_device()
    session, _ = login(server)
    send_heartbeat(server, token)  # an agent that does not list its commands: every button
    page, _ = _device_page(server, session, name)
    assert 'data-command="reboot"' in page and 'data-command="restart_tv"' in page
    send_heartbeat(server, token, device={"name": "Demo TV", "commands": ["screenshot", "key", "message", "reload",
                                                                          "restart_tv", "upload_logs"]})
    page, _ = _device_page(server, session, name)
    assert 'data-command="reboot"' not in page and 'data-command="restart_tv"' in page
