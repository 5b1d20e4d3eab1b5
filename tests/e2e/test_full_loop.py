"""The whole loop with every part real: a key pressed in the dashboard moves the TV, and the dashboard sees it.

A real `piclient server` (SQLite, a small library), a real launcher on SDL's dummy driver, a real
`piclient agent` between them, and Debian's chromium driven by Playwright. Nothing is faked; every
wait is on a condition with a bound.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from piclient.control.client import ControlClient, ControlUnavailable
from piclient.demo.dashboard_shots import MAX_BYTES, take_dashboard_screenshots
from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.browser import needs_chromium
from tests.catalogs import film, write_catalog
from tests.launcher import Launcher, status_at, write_config
from tests.server.helpers import PASSWORD, RunningServer, running_server
from tests.waiting import wait_until

pytestmark = [needs_chromium, pytest.mark.timeout(150)]

DEVICE = "Living room"
TITLES = 5
# What the agent's restart_tv_command runs: starts a launcher in the background, like `systemctl restart`.
START_LAUNCHER = Path(__file__).parents[1] / "agent" / "start_launcher.py"
# The page refreshes every 2 s and a box in live mode sends a picture every 3 s: a few rounds of that.
PICTURE_WAIT_MS = 30_000
STATE_WAIT_MS = 20_000

# The picture an <img> shows, fetched again through the page's own session (one id is one picture forever).
SHOWN_PICTURE = """async img => {
  const response = await fetch(img.src, {credentials: "same-origin"});
  const bytes = await response.arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return {id: Number(img.dataset.shotId), status: response.status, size: bytes.byteLength,
          width: img.naturalWidth,
          sha256: Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, "0")).join("")};
}"""
IMAGE_LOADED = "img => img.complete && img.naturalWidth > 0"
NEWER_PICTURE = "([img, id]) => Number(img.dataset.shotId) > id && img.complete && img.naturalWidth > 0"


@dataclass
class Box:
    """One server and one box (launcher + agent) sharing a data directory, as on a real Pi."""

    server: RunningServer
    directory: Path
    launcher: Launcher
    agent: AgentProcess
    restarted_pid_file: Path

    def home(self, timeout: float = 20) -> dict[str, Any]:
        """The launcher's status once it shows the catalog the agent synced from the server."""
        return self.launcher.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == TITLES,
                                      timeout)

    def launcher_status(self) -> dict[str, Any] | None:
        """Whichever launcher listens on the box's socket now (the first or a restarted one)."""
        return status_at(self.directory / "tv.sock")


def _poster(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 300), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())


def _library(root: Path) -> Path:
    titles = []
    for n in range(1, TITLES + 1):
        _poster(root / "posters" / f"film-{n}.jpg", (40 * n, 80, 200 - 30 * n))
        titles.append(film(f"film-{n}", f"영화 {n}", f"Film {n}", poster=f"posters/film-{n}.jpg"))
    write_catalog(root / "catalog.json", titles)
    return root


def _stop_restarted_launcher(pid_file: Path, socket: Path) -> None:
    if not pid_file.exists():
        return
    try:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    except ProcessLookupError:
        return
    client = ControlClient(socket, timeout=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.request("status")
        except ControlUnavailable:
            return
        time.sleep(0.1)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    library = _library(tmp_path / "library")
    directory = tmp_path / "box"
    directory.mkdir()
    # Heartbeats every second, asked by the server too (its reply sets the box's pace).
    with (running_server(tmp_path, None, "--library", str(library), "--heartbeat-seconds", "1") as server,
          contextlib.ExitStack() as stack):
        server.set_password()
        _name, token = server.add_device(DEVICE)
        # No catalog source of its own: the agent syncs the server's catalog into the shared data directory.
        config = write_config(directory, "")
        pid_file = directory / "tv-restarted.pid"
        restart = [sys.executable, str(START_LAUNCHER), str(config), str(pid_file),
                   str(directory / "tv-restarted.log")]
        # Stopped in reverse: the agent first, so nothing restarts the TV while it is being stopped.
        stack.callback(_stop_restarted_launcher, pid_file, directory / "tv.sock")
        launcher = Launcher(directory, config)
        stack.callback(launcher.stop)
        agent_config = write_agent_config(directory, server.url, token=token, name=DEVICE,
                                          heartbeat_seconds=1, screenshot_seconds=2, restart_tv_command=restart)
        agent = AgentProcess(directory, agent_config)
        stack.callback(agent.terminate)
        yield Box(server, directory, launcher, agent, pid_file)


@pytest.fixture
def page(phone_page: Any) -> Any:
    return phone_page


def shown_picture(page: Any) -> dict[str, Any]:
    picture = page.locator("#screenshot").evaluate(SHOWN_PICTURE)
    assert picture["status"] == 200 and picture["size"] > 0, picture
    return picture


def next_picture(page: Any, after: dict[str, Any]) -> dict[str, Any]:
    """The first picture the page shows after ``after`` (by id); waits at most PICTURE_WAIT_MS."""
    shot = page.locator("#screenshot").element_handle()
    page.wait_for_function(NEWER_PICTURE, arg=[shot, after["id"]], timeout=PICTURE_WAIT_MS)
    return shown_picture(page)


def steady_picture(page: Any) -> dict[str, Any]:
    """A picture of a screen that has stopped changing: two pictures in a row with the same bytes."""
    deadline = time.monotonic() + PICTURE_WAIT_MS / 1000
    previous = shown_picture(page)
    while time.monotonic() < deadline:
        current = next_picture(page, previous)
        if current["sha256"] == previous["sha256"]:
            return current
        previous = current
    raise AssertionError(f"the TV picture on the dashboard kept changing for {PICTURE_WAIT_MS / 1000:g} s")


def reload_until_visible(page: Any, locator: Any, timeout_s: float = 20) -> None:
    # The device list adds a first picture only when the page is loaded again (its script only swaps one in).
    deadline = time.monotonic() + timeout_s
    while locator.count() == 0:
        assert time.monotonic() < deadline, f"{locator} did not appear within {timeout_s:g} s"
        page.wait_for_timeout(500)
        page.reload()
    locator.first.wait_for(state="visible")


def test_a_key_pressed_in_the_dashboard_moves_the_tv_and_the_dashboard_sees_the_new_picture(
        box: Box, page: Any) -> None:
    from playwright.sync_api import expect

    started = box.home()["focus"]["focused"]

    # Log in and find the box online, with a picture of its screen.
    page.goto(box.server.url + "/")
    expect(page).to_have_url(f"{box.server.url}/login?next=/")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page).to_have_url(f"{box.server.url}/")
    card = page.locator("li.device").filter(has=page.get_by_role("heading", name=DEVICE, exact=True))
    expect(card.locator(".badge")).to_have_text("Online", timeout=STATE_WAIT_MS)
    thumb = card.locator("img.thumb")
    reload_until_visible(page, thumb)
    page.wait_for_function(IMAGE_LOADED, arg=thumb.element_handle())

    # Its page: the picture loads and stops changing (the launcher shows its home screen).
    card.locator("a.device-link").click()
    expect(page.locator("h1")).to_have_text(DEVICE)
    shot = page.locator("#screenshot")
    expect(shot).to_be_visible()
    page.wait_for_function(IMAGE_LOADED, arg=shot.element_handle())
    expect(page.locator("#tv-screen")).to_have_text("Home (posters)", timeout=STATE_WAIT_MS)
    before = steady_picture(page)
    assert before["width"] == 960

    # RIGHT on the virtual remote reaches the launcher through server and agent ...
    page.click('[data-key="right"]')
    expect(page.locator("#send-status")).to_contain_text("Sent: Right")
    moved = box.launcher.wait_for(lambda s: s["focus"].get("focused") != started, timeout=15)
    assert moved["focus"]["column"] == 1, moved["focus"]
    key_row = page.locator("#commands li").filter(has_text="Key: Right")
    expect(key_row).to_contain_text("done", timeout=STATE_WAIT_MS)

    # ... and a newer picture on the page shows the changed screen.
    deadline = time.monotonic() + PICTURE_WAIT_MS / 1000
    after = next_picture(page, before)
    while after["sha256"] == before["sha256"]:
        assert time.monotonic() < deadline, "no picture of the moved focus reached the dashboard"
        after = next_picture(page, after)
    assert after["id"] > before["id"] and after["width"] == 960

    # The TV app stops: the agent says so, and the dashboard shows it.
    box.launcher.stop()
    warnings = page.locator("#warnings")
    expect(warnings).to_contain_text("TV app crashed", timeout=STATE_WAIT_MS)

    # "Restart TV app" (after its confirmation) brings it back.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-command="restart_tv"]')
    expect(page.locator("#send-status")).to_contain_text("Sent: Restart TV app")
    wait_until(box.launcher_status, timeout=30, what="a restarted launcher answering")
    restart_row = page.locator("#commands li").filter(has_text="Restart TV app")
    expect(restart_row).to_contain_text("done", timeout=40_000)
    expect(warnings).not_to_contain_text("TV app crashed", timeout=STATE_WAIT_MS)
    expect(page.locator("#tv-screen")).to_have_text("Home (posters)", timeout=STATE_WAIT_MS)
    box.agent.check()


def test_the_docs_pictures_of_the_dashboard_show_the_box_and_its_real_screen(box: Box, tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api")
    box.home()
    out = tmp_path / "pictures"
    saved = take_dashboard_screenshots(box.server.url, PASSWORD, DEVICE, out)
    assert [p.name for p in saved] == ["dashboard-list.png", "dashboard-device.png"]
    for path in saved:
        data = path.read_bytes()
        assert 0 < len(data) <= MAX_BYTES, (path.name, len(data))
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            assert image.width in (412, 824), image.size  # a phone's width, at 1x or 2x
    box.agent.check()
