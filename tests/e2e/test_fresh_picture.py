"""Opening a box's page shows what the TV shows now, not what it showed at the last heartbeat.

A real `piclient server`, a real agent and a real launcher (SDL's dummy driver), and the dashboard in
Debian's chromium. The agent heartbeats once an hour and takes no scheduled pictures: a picture taken
after the page opened can only have come through the command poll the box always holds.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from PIL import Image

from piclient.server.schema import screenshots
from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.browser import needs_chromium
from tests.catalogs import film, write_catalog
from tests.launcher import Launcher, write_config
from tests.server.helpers import (
    PASSWORD,
    RunningServer,
    device_id,
    held_polls,
    login,
    send_heartbeat,
    start_server,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(180)

DEVICE = "Living room"
HOURLY = 3600
WAIT_S = 20  # far below the hourly heartbeat: only the held poll can bring a picture this soon


@dataclass
class Box:
    server: RunningServer
    launcher: Launcher
    agent: AgentProcess
    library: Path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    titles = []
    for n in range(1, 4):
        poster = root / "posters" / f"film-{n}.jpg"
        poster.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.new("RGB", (200, 300), (60 * n, 90, 140)).save(buffer, "JPEG")
        poster.write_bytes(buffer.getvalue())
        titles.append(film(f"film-{n}", f"영화 {n}", f"Film {n}", poster=f"posters/film-{n}.jpg"))
    write_catalog(root / "catalog.json", titles)
    return root


def serve(data_dir: Path, library: Path, listen: str = "127.0.0.1:0") -> RunningServer:
    # The server sets the boxes' pace: an hour, so no heartbeat can explain a fresh picture.
    return start_server(data_dir, None, "--library", str(library), "--heartbeat-seconds", str(HOURLY), listen=listen)


@pytest.fixture
def box(tmp_path: Path, library: Path) -> Iterator[Box]:
    directory = tmp_path / "box"
    directory.mkdir()
    made = Box(serve(tmp_path / "server-data", library), None, None, library)  # type: ignore[arg-type]
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: made.server.stop())  # the one running at the end: a test may restart it
        made.server.set_password()
        _name, token = made.server.add_device(DEVICE)
        made.launcher = Launcher(directory, write_config(directory, ""))
        stack.callback(made.launcher.stop)
        made.agent = AgentProcess(directory, write_agent_config(directory, made.server.url, token=token, name=DEVICE,
                                                                heartbeat_seconds=HOURLY, screenshot_seconds=0))
        stack.callback(made.agent.terminate)
        yield made


def ready(box: Box) -> int:
    """The box's id, once the launcher shows its home screen and the agent holds its command poll."""
    box.launcher.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == 3, timeout=30)
    wait_until(lambda: held_polls(box.server) == 1, 30, "the agent's held command poll")
    box.agent.check()
    return device_id(box.server, DEVICE)


def taken_at(server: RunningServer, shot_id: int) -> float:
    def read(conn: sa.Connection) -> float:
        return float(conn.execute(sa.select(screenshots.c.taken_at).where(screenshots.c.id == shot_id)).scalar_one())

    return server.db.read_sync(read)


def newest_shot(server: RunningServer, after: float) -> int | None:
    def read(conn: sa.Connection) -> int | None:
        return conn.execute(sa.select(sa.func.max(screenshots.c.id)).where(screenshots.c.taken_at >= after)).scalar()

    return server.db.read_sync(read)


def server_clock(server: RunningServer) -> float:
    """Now on the server's clock (it stamps the pictures), to the whole second below."""
    date = requests.get(f"{server.url}/login", timeout=10).headers["date"]
    return email.utils.parsedate_to_datetime(date).timestamp()


SHOWN = """() => { const img = document.getElementById('screenshot');
  return img && !img.hidden && img.complete && img.naturalWidth > 0 ? Number(img.dataset.shotId) : 0; }"""


@needs_chromium
def test_opening_a_boxs_page_shows_a_picture_taken_after_it_opened_and_the_list_follows_without_polling(
        box: Box, phone_page: Any) -> None:
    page = phone_page
    url = box.server.url
    ident = ready(box)
    _kitchen, kitchen_token = box.server.add_device("Kitchen")
    page.goto(url + "/")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(url + "/")
    # The list: a box that was never heard from reports, its card turns online, and the page asked
    # for nothing (its poll is only the fallback while the stream is down).
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if "/api/dash/devices" in request.url
            and not request.url.endswith("/events") else None)
    kitchen = page.locator("li.device").filter(has=page.get_by_role("heading", name="Kitchen", exact=True))
    assert "status-online" not in (kitchen.get_attribute("class") or "")
    assert send_heartbeat(box.server, kitchen_token).status_code == 200
    page.wait_for_function("(card) => card.className.includes('status-online')", arg=kitchen.element_handle(),
                           timeout=WAIT_S * 1000)
    assert polled == []

    opened = server_clock(box.server)
    page.goto(f"{url}/devices/{ident}")
    wait_until(lambda: (shown := page.evaluate(SHOWN)) and taken_at(box.server, shown) >= opened, WAIT_S,
               "the page showing a picture taken after it opened")
    page.screenshot(path=str(box.agent.directory / "fresh-picture.png"))
    box.agent.check()


def test_after_a_server_restart_the_box_holds_its_poll_again_and_an_opened_page_gets_a_fresh_picture(
        box: Box) -> None:
    ready(box)
    address = box.server.url.removeprefix("http://")
    data_dir = box.server.data_dir
    box.server.stop()
    box.server = serve(data_dir, box.library, listen=address)
    wait_until(lambda: held_polls(box.server) == 1, 30, "the agent's poll held by the new server")
    session, _ = login(box.server)
    opened = server_clock(box.server)
    with session.get(f"{box.server.url}/api/dash/devices/{device_id(box.server, DEVICE)}/events", stream=True,
                     timeout=30):
        wait_until(lambda: newest_shot(box.server, opened), WAIT_S, "a picture taken after the page opened")
    box.agent.check()
