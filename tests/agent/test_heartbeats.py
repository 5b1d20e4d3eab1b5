"""A real agent process beside a real launcher, reporting to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import io
import itertools
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from piclient import __version__
from piclient.catalog.cache import CatalogCache
from tests.agent.agent_process import AgentProcess
from tests.agent.protocol_server import ProtocolServer
from tests.launcher import Launcher
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)

StartAgent = Callable[..., AgentProcess]


def catalog_shown(tv: Launcher) -> dict[str, Any]:
    return tv.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == 5, timeout=15)


def latest(server: ProtocolServer, predicate: Callable[[dict[str, Any]], Any], timeout: float = 10) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((h for h in reversed(server.heartbeat_list()) if predicate(h)), None)
    return server.wait_for(find, timeout, "a matching heartbeat")


def test_the_agent_fills_the_launchers_cache_from_the_server_with_the_token(
        tmp_path: Path, server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent()
    status = catalog_shown(tv)
    assert status["catalog"]["source"] == f"{server.url}/api/v1/catalog"
    posters = server.requests_to("/library/posters/")
    assert len(posters) == 5 and all(p.status == 200 for p in posters)  # 401 without the token
    cache = CatalogCache(tmp_path / "data")
    catalog = cache.load()
    assert catalog is not None
    assert all(t.poster and t.poster.startswith(f"{server.url}/library/posters/") for t in catalog.titles)
    wait_until(lambda: all(cache.poster_ready(t.poster) for t in catalog.titles if t.poster), 10, "posters")


def test_a_heartbeat_tells_who_the_box_is_what_the_tv_shows_and_how_healthy_it_is(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent()
    catalog_shown(tv)
    tv.key("right")
    focused = tv.status()["focus"]["focused"]
    beat = latest(server, lambda h: h.get("tv", {}).get("focused") == focused)
    assert beat["device"]["name"] == "Living room"
    assert beat["device"]["version"] == __version__
    assert beat["device"]["uptime_s"] > 0
    assert (beat["going_down"], beat["live"]) == (False, False)
    assert beat["tv"]["state"] == "running"
    assert beat["tv"]["screen"] == "home"
    # The TV app's own age, not the machine's: a restarted app is younger than its box.
    assert 0 < beat["tv"]["uptime_s"] < beat["device"]["uptime_s"]
    assert beat["tv"]["now_playing"] is None
    assert isinstance(beat["tv"]["errors"], list)
    assert beat["cec"]["adapter"] == "disabled"  # the test launcher runs without CEC
    # The test launcher draws off-screen: its screenshots are not a TV's picture, and the heartbeat says so.
    assert beat["tv"]["display"] == {"driver": "dummy", "real": False, "error": None}
    system = beat["system"]
    assert len(system["load"]) == 3
    assert system["mem_total"] >= system["mem_available"] > 0
    assert system["disk_total"] >= system["disk_free"] > 0
    assert beat["spool"]["dropped"] == 0
    assert beat["agent"]["refused"] is None
    assert abs(beat["sent_at"] - time.time()) < 10
    assert len(server.state.heartbeat_posts) == len(set(server.state.heartbeat_posts))


def test_screenshots_come_on_schedule_while_the_tv_is_on_as_small_jpegs(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent(screenshot_seconds=1)
    catalog_shown(tv)
    server.wait_for(lambda: len(server.state.screenshots) >= 3, 10, "three screenshots")
    shots = list(server.state.screenshots.values())
    assert {s["reason"] for s in shots} == {"schedule"}
    image = Image.open(io.BytesIO(shots[-1]["data"]))
    assert image.format == "JPEG"
    assert image.size == (960, 540)  # the 1280x720 test window, scaled to at most 960 wide
    gaps = [b["taken_at"] - a["taken_at"] for a, b in itertools.pairwise(shots)]
    assert all(0.8 < gap < 3 for gap in gaps)


def test_a_new_error_in_the_launcher_brings_a_screenshot(
        tmp_path: Path, server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent()
    catalog_shown(tv)
    latest(server, lambda h: h.get("tv", {}).get("state") == "running")
    assert not server.state.screenshots
    # A damaged cache makes the launcher log a warning, which its status lists under errors.
    (tmp_path / "data" / "catalog" / "catalog.raw").write_text("{broken", encoding="utf-8")
    (tmp_path / "data" / "catalog" / "generation").write_text(f"{time.time_ns()}\n", encoding="ascii")
    server.wait_for(lambda: server.state.screenshots, 10, "an error screenshot")
    assert [s["reason"] for s in server.state.screenshots.values()] == ["error"]
    beat = latest(server, lambda h: h.get("tv", {}).get("errors"))
    assert "no longer parses" in beat["tv"]["errors"][-1]["message"]


def test_a_clean_shutdown_sends_a_going_down_heartbeat_last(server: ProtocolServer, start_agent: StartAgent) -> None:
    agent = start_agent()
    server.wait_for(lambda: len(server.state.heartbeats) >= 2, 10, "heartbeats")
    assert agent.terminate() == 0
    beats = server.heartbeat_list()
    assert beats[-1]["going_down"] is True
    assert not any(b["going_down"] for b in beats[:-1])
    assert beats[-1]["sent_at"] == max(b["sent_at"] for b in beats)
    assert beats[-1]["tv"]["state"] == "crashed"  # no launcher in this test: its socket is not there


def test_a_hung_tv_app_is_reported_unresponsive_and_heartbeats_keep_their_pace(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent(heartbeat_seconds=0.5, control_timeout_seconds=0.5, screenshot_seconds=1)
    catalog_shown(tv)
    latest(server, lambda h: h["tv"]["state"] == "running")
    tv.process.send_signal(signal.SIGSTOP)  # frozen: its socket still accepts, nothing answers
    try:
        frozen_at = time.time()
        latest(server, lambda h: h["tv"]["state"] == "unresponsive", timeout=10)
        time.sleep(3)
        during = [h for h in server.heartbeat_list() if h["sent_at"] > frozen_at]
    finally:
        tv.process.send_signal(signal.SIGCONT)
    # Each heartbeat waits at most the control timeout for the launcher: ~1 s apart, not stuck.
    gaps = [b["sent_at"] - a["sent_at"] for a, b in itertools.pairwise(during)]
    assert len(during) >= 3 and max(gaps) < 2.5
    assert "did not answer" in during[-1]["tv"]["detail"]
    latest(server, lambda h: h["tv"]["state"] == "running", timeout=10)
