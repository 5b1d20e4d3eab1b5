"""Sessions end with the password that made them, and on "log out everywhere"."""

from __future__ import annotations

from tests.server.helpers import PASSWORD, RunningServer, login


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
