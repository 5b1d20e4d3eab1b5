"""The command poll every box holds open: answered at once by news for it, one per box, and no
command handed to a connection that is gone."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.server.helpers import RunningServer, auth, device_id, held_polls, login, send_heartbeat
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(90)

HOLD = 50  # as long as a box asks: every answer below comes far sooner, or the test fails


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        yield executor


def hold_poll(server: RunningServer, token: str, pool: concurrent.futures.ThreadPoolExecutor,
              query: str = "") -> concurrent.futures.Future[requests.Response]:
    """A box's poll, started and seen held by the server before this returns."""
    before = held_polls(server)
    future = pool.submit(requests.get, f"{server.url}/api/v1/commands?wait={HOLD}{query}", headers=auth(token),
                         timeout=HOLD + 10)
    wait_until(lambda: held_polls(server) > before or future.done(), 10, "the poll held by the server")
    return future


def answered(future: concurrent.futures.Future[requests.Response]) -> dict[str, Any]:
    reply = future.result(timeout=10)  # far sooner than HOLD: only the news can have answered it
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_opening_a_boxs_page_answers_its_held_poll_at_once_with_a_picture_to_take(
        server: RunningServer, pool: concurrent.futures.ThreadPoolExecutor) -> None:
    name, token = server.add_device()
    session, _ = login(server)
    poll = hold_poll(server, token, pool, "&live=0")
    page = session.get(f"{server.url}/api/dash/devices/{device_id(server, name)}/events", stream=True, timeout=30)
    try:
        reply = answered(poll)
    finally:
        page.close()
    assert [(c["type"], c["args"]) for c in reply["commands"]] == [("screenshot", {"live": True})]
    assert reply["live"]["until"] > time.time()


def test_the_pages_live_fallback_answers_a_held_poll_with_live_mode(
        server: RunningServer, pool: concurrent.futures.ThreadPoolExecutor) -> None:
    name, token = server.add_device()
    session, csrf = login(server)
    poll = hold_poll(server, token, pool, "&live=0")
    assert session.post(f"{server.url}/api/dash/devices/{device_id(server, name)}/live",
                        headers={"X-CSRF-Token": csrf}, timeout=10).status_code == 200
    reply = answered(poll)
    assert reply["commands"] == [] and reply["live"]["until"] > time.time()


def test_a_box_that_does_not_know_it_is_live_hears_it_at_once_and_one_that_knows_is_held(
        server: RunningServer) -> None:
    name, token = server.add_device()
    session, csrf = login(server)
    session.post(f"{server.url}/api/dash/devices/{device_id(server, name)}/live", headers={"X-CSRF-Token": csrf},
                 timeout=10)
    started = time.monotonic()
    reply = requests.get(f"{server.url}/api/v1/commands?wait={HOLD}&live=0", headers=auth(token), timeout=HOLD + 10)
    assert time.monotonic() - started < HOLD / 2
    assert reply.json()["live"] is not None
    started = time.monotonic()
    reply = requests.get(f"{server.url}/api/v1/commands?wait=1&live=1", headers=auth(token), timeout=10)
    assert time.monotonic() - started >= 0.9  # nothing new for this box: held to the end
    assert reply.json()["live"] is not None


def test_a_second_poll_from_the_same_box_replaces_the_first_which_answers_empty(
        server: RunningServer, pool: concurrent.futures.ThreadPoolExecutor) -> None:
    name, token = server.add_device()
    first = hold_poll(server, token, pool)
    second = pool.submit(requests.get, f"{server.url}/api/v1/commands?wait={HOLD}", headers=auth(token),
                         timeout=HOLD + 10)
    assert answered(first) == {"commands": [], "live": None}
    assert held_polls(server) >= 1 and not second.done()
    command = queue_key(server, name)
    assert [c["id"] for c in answered(second)["commands"]] == [command]


def queue_key(server: RunningServer, name: str) -> str:
    session, csrf = login(server)
    reply = session.post(f"{server.url}/api/dash/devices/{device_id(server, name)}/commands",
                         json={"type": "key", "args": {"name": "up"}}, headers={"X-CSRF-Token": csrf}, timeout=10)
    return str(reply.json()["command"]["id"])


def test_a_poll_whose_connection_closed_takes_no_command_with_it(server: RunningServer) -> None:
    # A proxy cutting an idle connection, or a box restarting: the command waits for the next poll
    # instead of being marked delivered to nobody (and offered again only after its lease).
    name, token = server.add_device()
    before = held_polls(server)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as box:
        box.sendall(f"GET /api/v1/commands?wait={HOLD} HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: Bearer {token}\r\n\r\n".encode())
        wait_until(lambda: held_polls(server) == before + 1, 10, "the poll held")
    wait_until(lambda: held_polls(server) == before, 10, "the server noticing the closed connection")
    command = queue_key(server, name)
    reply = requests.get(f"{server.url}/api/v1/commands?wait=0", headers=auth(token), timeout=10)
    assert [c["id"] for c in reply.json()["commands"]] == [command]


def events(response: requests.Response) -> Iterator[tuple[str, Any]]:
    name = ""
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: "):])


def test_the_device_list_stream_sends_every_box_and_follows_a_heartbeat(server: RunningServer) -> None:
    name, token = server.add_device()
    session, _ = login(server)
    with session.get(f"{server.url}/api/dash/devices/events", stream=True, timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        received = events(stream)
        kind, first = next(received)
        assert kind == "devices"
        card = next(d for d in first["devices"] if d["name"] == name)
        assert card["status"] != "online"
        send_heartbeat(server, token)
        for _kind, later in received:  # bounded by the stream's read timeout and the test's
            card = next(d for d in later["devices"] if d["name"] == name)
            if card["status"] == "online":
                break
        assert card["status"] == "online"
