"""What the TV plays reaches the dashboard, through every real part and the one shared contract.

A real `piclient server` hosting a series published by the pipeline (with a Korean subtitle),
a real launcher playing it through libmpv on SDL's dummy driver, a real agent between them, and the
dashboard in Debian's chromium. Before the shared protocol models, this is where the box said
"Nothing playing" while a film played: the launcher and the agent disagreed on a key.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from piclient.demo.clips import publish_clips
from piclient.protocol import LauncherStatus
from piclient.publish import catalog_file
from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.browser import needs_chromium
from tests.launcher import Launcher, write_config
from tests.server.helpers import PASSWORD, RunningServer, running_server
from tests.waiting import wait_until

pytestmark = [needs_chromium, pytest.mark.timeout(240)]

DEVICE = "Living room"
SERIES = "우리 동네"
SERIES_ID = "spring"
EPISODE = "spring-s01e02"  # the id the pipeline gives it
EPISODE_TITLE = "봄이 와요"
LINE = "해가 떠요"
FILM_S = 60
# The box reports every 5 s until the page makes it live, then every second: long enough that only
# live mode explains a page that follows the film, short enough that live mode starts soon.
HEARTBEAT_S = 5
WAIT_MS = 40_000


@dataclass
class Box:
    server: RunningServer
    launcher: Launcher
    agent: AgentProcess


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    publish_clips(root, [
        {"seconds": 4, "label": "episode 1", "color": "navy", "series": SERIES_ID, "episode": 1},
        # One cue over nearly the whole film: whenever the page looks, that line is on the TV.
        {"seconds": FILM_S, "label": "episode 2", "color": "black", "cues": {"ko": [(0.5, FILM_S - 0.5, LINE)]},
         "series": SERIES_ID, "episode": 2, "title_ko": EPISODE_TITLE},
    ])
    catalog_file.update(root, _name_the_series)
    return root


def _name_the_series(doc: dict[str, Any]) -> None:
    series = catalog_file.find_title(doc, SERIES_ID)
    assert series is not None
    series["title"] = {"ko": SERIES}  # the pipeline titles a series with the name it was published under


@pytest.fixture
def box(tmp_path: Path, library: Path) -> Iterator[Box]:
    directory = tmp_path / "box"
    directory.mkdir()
    with (running_server(tmp_path, None, "--library", str(library),
                         "--heartbeat-seconds", str(HEARTBEAT_S)) as server,
          contextlib.ExitStack() as stack):
        server.set_password()
        _name, token = server.add_device(DEVICE)
        # The launcher streams from the server's /library/, which needs the device token.
        config = write_config(directory, "")
        with config.open("a", encoding="utf-8") as handle:
            handle.write(f"server:\n  url: {json.dumps(server.url)}\n  token: {json.dumps(token)}\n"
                         "player:\n  audio_output: 'null'\n  hwdec: 'no'\n  readahead_seconds: 8\n")
        launcher = Launcher(directory, config)
        stack.callback(launcher.stop)
        agent = AgentProcess(directory, write_agent_config(directory, server.url, token=token, name=DEVICE,
                                                           heartbeat_seconds=HEARTBEAT_S, screenshot_seconds=30))
        stack.callback(agent.terminate)
        yield Box(server, launcher, agent)


def log_in(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(url + "/")


def dashboard_json(page: Any, url: str, device_id: str) -> dict[str, Any]:
    """The dashboard's own JSON for the box, fetched with the page's session."""
    reply = page.request.get(f"{url}/api/dash/devices/{device_id}")
    assert reply.ok, reply.text()
    return reply.json()["device"]


def test_a_film_playing_on_the_tv_shows_on_the_dashboard_with_its_position_and_subtitle_line(
        box: Box, phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    url = box.server.url
    box.launcher.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == 1, timeout=30)
    reply = box.launcher.ctl.request("play", id=EPISODE)
    assert reply["ok"], reply
    # What the launcher itself says, read with the model the agent reads it with.
    status = LauncherStatus.read(box.launcher.wait_for(
        lambda s: (s["now_playing"] or {}).get("sub_text") == LINE, timeout=40))
    assert status.now_playing is not None
    assert (status.now_playing.id, status.now_playing.title_id) == (EPISODE, SERIES_ID)
    assert (status.now_playing.season, status.now_playing.episode) == (1, 2)

    log_in(page, url)
    card = page.locator("li.device").filter(has=page.get_by_role("heading", name=DEVICE, exact=True))
    # The list: title, episode and where it is, without opening the box's page.
    expect(card.locator('[data-field="now_playing"] .np-title')).to_contain_text(SERIES, timeout=WAIT_MS)
    expect(card.locator('[data-field="now_playing"] .np-episode')).to_contain_text("S1 E2")
    expect(card.locator('[data-field="now_playing"] .np-sub-text')).to_have_text(LINE, timeout=WAIT_MS)

    card.locator("a.device-link").click()
    device_id = page.locator("body").get_attribute("data-device")
    playing = page.locator("#now-playing")
    expect(playing.locator(".np-title strong")).to_have_text(SERIES, timeout=WAIT_MS)
    expect(playing.locator(".np-episode")).to_have_text(f"S1 E2 · {EPISODE_TITLE}")
    expect(playing.locator(".np-sub-text")).to_have_text(LINE, timeout=WAIT_MS)
    expect(playing.locator(".np-subtitle")).to_contain_text("한국어")
    expect(playing.locator(".np-rendition")).to_contain_text("p · ")
    expect(playing.locator(".np-duration")).to_have_text("1:00")
    expect(playing.locator(".np-bar")).to_be_visible()
    # Looked up each time: the script swaps the partial in as it changes, every second while live.
    page.wait_for_function("() => (document.querySelector('#now-playing .np-bar') || {}).value > 0",
                           timeout=WAIT_MS)

    # Opening the page made the box live: it reports every second and the position moves on.
    wait_until(lambda: "live mode for" in box.agent.log(), 30, "the agent in live mode")
    expect(page.locator("#now-playing .np-position")).not_to_have_text("0:00", timeout=WAIT_MS)
    first = page.locator("#now-playing .np-position").inner_text()
    expect(page.locator("#now-playing .np-position")).not_to_have_text(first, timeout=WAIT_MS)
    device = dashboard_json(page, url, device_id)
    assert device["live"] is True and device["np"]["sub_text"] == LINE, device
    assert device["np"]["title"] == SERIES and device["np"]["state"] in ("playing", "paused"), device

    # Paused with the dashboard's remote: the page says so.
    page.click('[data-key="playpause"]')
    box.launcher.wait_for(lambda s: (s["now_playing"] or {}).get("paused") is True, timeout=20)
    expect(playing.locator(".np-state")).to_have_text("paused", timeout=WAIT_MS)
    box.agent.check()
