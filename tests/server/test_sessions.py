"""Sessions end with the password that made them, and on "log out everywhere"."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.server.helpers import PASSWORD, RunningServer, login, running_server


def still_in(server: RunningServer, session) -> bool:
    return session.get(f"{server.url}/api/dash/devices", timeout=10).status_code == 200


def test_changing_the_password_ends_every_session(server: RunningServer) -> None:
    phone, _ = login(server)
    laptop, _ = login(server)
    assert still_in(server, phone) and still_in(server, laptop)
    server.set_password("a whole new password")
    try:
        assert not still_in(server, phone)
        assert not still_in(server, laptop)
    finally:
        server.set_password(PASSWORD)
    assert still_in(server, login(server)[0])


def test_log_out_everywhere_ends_the_other_sessions_too(server: RunningServer) -> None:
    lost_phone, _ = login(server)
    laptop, csrf = login(server)
    reply = laptop.post(f"{server.url}/logout?everywhere=1", data={"csrf": csrf}, allow_redirects=False, timeout=10)
    assert reply.status_code == 303
    assert not still_in(server, lost_phone)
    assert not still_in(server, laptop)


def test_log_out_everywhere_needs_the_csrf_token(server: RunningServer) -> None:
    phone, _ = login(server)
    laptop, _csrf = login(server)
    reply = laptop.post(f"{server.url}/logout?everywhere=1", data={}, allow_redirects=False, timeout=10)
    assert reply.status_code == 403
    assert still_in(server, phone)


def test_the_page_offers_log_out_everywhere(server: RunningServer) -> None:
    session, _ = login(server)
    assert 'formaction="/logout?everywhere=1"' in session.get(f"{server.url}/", timeout=10).text


def attempt(server: RunningServer, session: requests.Session, password: str, ip: str) -> requests.Response:
    headers = {"X-Forwarded-For": ip}
    page = session.get(f"{server.url}/login", headers=headers, timeout=10).text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return session.post(f"{server.url}/login", data={"csrf": token, "password": password, "next": "/"},
                        headers=headers, timeout=30, allow_redirects=False)


def test_strangers_failing_from_many_addresses_cannot_lock_the_maintainer_out(tmp_path: Path) -> None:
    with running_server(tmp_path, None, "--trust-proxy", "127.0.0.1") as server:
        server.set_password()
        own_phone = requests.Session()
        assert attempt(server, own_phone, PASSWORD, "198.51.100.10").status_code == 303
        stranger = requests.Session()
        for n in range(30):  # the whole global quota, five guesses from each of six addresses
            assert attempt(server, stranger, "guess", f"203.0.113.{n // 5}").status_code == 401
        # Each address is still held to its own limit...
        assert attempt(server, stranger, "guess", "203.0.113.0").status_code == 429
        # ...but the maintainer gets in: at once from a browser that logged in before, after a short
        # wait in the queue from a new one.
        assert attempt(server, own_phone, PASSWORD, "198.51.100.10").status_code == 303
        assert attempt(server, requests.Session(), PASSWORD, "192.0.2.77").status_code == 303


def known(server: RunningServer, browser: requests.Session) -> bool:
    """Whether the server would let ``browser`` skip the global login queue."""
    from piclient.server import browsers

    mark = browser.cookies.get(browsers.COOKIE, path="/login")
    assert mark, "a login leaves the known-browser mark"
    return server.db.read_sync(browsers.recognised, mark, time.time())


def test_a_new_password_makes_every_browser_a_stranger_to_the_login_queue(server: RunningServer) -> None:
    lost_phone, _ = login(server)
    assert known(server, lost_phone)
    server.set_password("a whole new password")
    try:
        assert not known(server, lost_phone)
        laptop, _ = login(server, "a whole new password")
        assert known(server, laptop)  # a login with the new password is known again
    finally:
        server.set_password(PASSWORD)


def test_log_out_everywhere_makes_every_browser_a_stranger_to_the_login_queue(server: RunningServer) -> None:
    lost_phone, _ = login(server)
    laptop, csrf = login(server)
    assert known(server, lost_phone) and known(server, laptop)
    laptop.post(f"{server.url}/logout?everywhere=1", data={"csrf": csrf}, allow_redirects=False, timeout=10)
    assert not known(server, lost_phone)
    assert not known(server, laptop)
