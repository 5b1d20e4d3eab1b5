"""Live mode against a real agent and launcher, and watch progress both ways through state.db."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from piclient.agent.transport import HELD_AFTER_S
from piclient.state import StateStore
from tests.agent.agent_process import AgentProcess
from tests.agent.protocol_server import ProtocolServer
from tests.launcher import Launcher
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)

StartAgent = Callable[..., AgentProcess]


def test_live_mode_sends_screenshots_every_few_seconds_and_ends_by_itself(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    # Heartbeats an hour apart: only the command poll the box always holds can bring it live mode and keys.
    start_agent(heartbeat_seconds=3600)
    tv.wait_for(lambda s: s["screen"] == "home", timeout=15)
    server.wait_for(lambda: server.heartbeat_list(), 10, "a first heartbeat")
    server.wait_for(lambda: any(path == "/api/v1/commands" for _, path, _ in server.started), 6, "a held poll")
    until = time.time() + 8
    server.live = {"until": until, "poll_seconds": 0.5, "screenshot_seconds": 1.5}  # the page was opened
    server.wait_for(lambda: any(s["reason"] == "live" for s in server.state.screenshots.values()), 5,
                    "a live picture")
    queued, pressed = time.monotonic(), time.time()
    command = server.queue_command("key", {"name": "right"})
    server.wait_for(lambda: server.state.results.get(command), 5, "the key press result")
    assert time.monotonic() - queued < 2.0
    assert next(via for ident, via in server.state.deliveries if ident == command) == "long-poll"

    time.sleep(max(0.0, until - time.time()) + 2.5)
    all_live = sorted(s["taken_at"] for s in server.state.screenshots.values() if s["reason"] == "live")
    # The key brought a picture at once and one a second later, besides the steady ones.
    after_key = [t for t in all_live if pressed <= t <= pressed + 1.6]
    assert after_key and after_key[0] - pressed < 1.0
    live_shots = [t for t in all_live if t not in after_key]
    assert len(live_shots) >= 3
    assert all(1.0 < b - a < 5.5 for a, b in itertools.pairwise(live_shots))
    assert live_shots[-1] <= until + 0.5
    # Over by itself: a last heartbeat says so, no live picture is taken after it, and the channel
    # stays open, held about a minute at a time.
    server.wait_for(lambda: server.heartbeat_list()[-1]["sent_at"] > until and not server.heartbeat_list()[-1]["live"],
                    8, "a heartbeat after live mode")
    assert not [s for s in server.state.screenshots.values() if s["reason"] == "live" and s["taken_at"] > until + 0.5]
    assert all(41 <= int(q["wait"]) <= 55 for q in server.poll_queries)


def test_while_live_a_heartbeat_goes_out_every_second(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    # 10 s apart otherwise. Live mode reaches the box at once through its held command poll; five live
    # heartbeats within 15 s can only come at live mode's pace (at 10 s: ~50 s).
    start_agent(heartbeat_seconds=10)
    tv.wait_for(lambda s: s["screen"] == "home", timeout=15)
    server.wait_for(lambda: server.heartbeat_list(), 10, "a first heartbeat")
    server.live = {"until": time.time() + 60, "poll_seconds": 0.5, "screenshot_seconds": 60}
    server.wait_for(lambda: len([b for b in server.heartbeat_list() if b["live"]]) >= 5, 15,
                    "five live heartbeats")
    live = [b for b in server.heartbeat_list() if b["live"]]
    assert all(b["tv"]["state"] == "running" and b["tv"]["screen"] == "home" for b in live)
    server.live = None
    server.wait_for(lambda: not server.heartbeat_list()[-1]["live"], 15, "a heartbeat after live mode")


def test_watch_progress_goes_up_and_the_servers_newer_copy_comes_down(
        tmp_path: Path, server: ProtocolServer, start_agent: StartAgent) -> None:
    now = time.time()
    store = StateStore(tmp_path / "data" / "state.db")  # the launcher's own writer, open all along
    store.save_progress("film-1", 1200, 3600, now=now - 100)
    store.save_progress("film-2", 300, 3600, now=now - 10)
    server.state.progress = {
        # Older than the box's own: must not overwrite it.
        "film-2": {"id": "film-2", "position": 100.0, "duration": 3600, "watched": False, "updated_at": now - 1000},
        # Only on the server (a reflashed box): comes back.
        "film-3": {"id": "film-3", "position": 3500.0, "duration": 3600, "watched": True, "updated_at": now - 50},
        "bad": {"id": "bad", "position": "lots", "duration": 1, "updated_at": now},
    }
    start_agent()
    server.wait_for(lambda: server.state.progress.get("film-1", {}).get("position") == 1200
                    and server.state.progress["film-2"]["position"] == 300, 10, "progress up")
    wait_until(lambda: store.progress("film-3"), 10, "progress down")
    film3 = store.progress("film-3")
    assert film3 is not None and (film3.position, film3.watched, film3.updated_at) == (3500.0, True, now - 50)
    assert store.progress("film-2").position == 300  # type: ignore[union-attr]
    assert store.progress("bad") is None
    # A change while both run reaches the server within progress_seconds; what came down is not echoed.
    store.save_progress("film-1", 1800, 3600)
    server.wait_for(lambda: server.state.progress["film-1"]["position"] == 1800, 10, "the new position")
    store.close()
    posts = len(server.state.progress_posts)
    assert posts == len(set(server.state.progress_posts))
    assert server.state.progress["film-3"]["updated_at"] == now - 50


def test_a_stop_ends_an_open_long_poll_at_once_and_still_says_going_down(
        server: ProtocolServer, start_agent: StartAgent) -> None:
    agent = start_agent(heartbeat_seconds=2)
    server.wait_for(lambda: server.heartbeat_list(), 10, "a first heartbeat")
    # Pictures rarely: this test is about the long-poll, and no launcher is running to take them.
    server.live = {"until": time.time() + 120, "poll_seconds": 0.5, "screenshot_seconds": 60}

    def poll_open() -> bool:
        begun = [at for method, path, at in server.started if (method, path) == ("GET", "/api/v1/commands")]
        return bool(begun) and len(begun) > len(server.requests_to("/api/v1/commands", "GET"))

    server.wait_for(poll_open, 10, "an open long-poll")
    # Held past the agent's quick looks at its stop flag: from here only interrupt_waits ends it at once.
    began = max(at for method, path, at in server.started if (method, path) == ("GET", "/api/v1/commands"))
    server.wait_for(lambda: time.monotonic() - began > HELD_AFTER_S + 0.5, 10, "a poll held a while")
    assert poll_open()
    stopping = time.monotonic()
    assert agent.terminate() == 0
    took = time.monotonic() - stopping
    # Generous for a loaded machine; without interrupt_waits a stop waits for the held poll's next look
    # at the stop flag (up to 5 s), and before that for the loop join timeout (5 s).
    assert took < 3.0, f"the agent took {took:.1f} s to stop:\n{agent.log()[-3000:]}"
    assert server.heartbeat_list()[-1]["going_down"] is True
    assert "did not stop" not in agent.log()


def test_a_stop_does_not_wait_for_a_server_that_holds_a_heartbeat(
        server: ProtocolServer, start_agent: StartAgent) -> None:
    agent = start_agent(heartbeat_seconds=0.5, http_timeout_seconds=20)
    server.wait_for(lambda: server.heartbeat_list(), 10, "a first heartbeat")
    server.fault = lambda method, path: "hang" if path == "/api/v1/heartbeat" else None

    def hanging() -> bool:  # a heartbeat has begun that the server has not answered
        begun = [at for method, path, at in server.started if (method, path) == ("POST", "/api/v1/heartbeat")]
        return len(begun) > len(server.requests_to("/api/v1/heartbeat", "POST"))

    server.wait_for(hanging, 10, "a heartbeat the server holds")
    time.sleep(0.3)
    stopping = time.monotonic()
    try:
        assert agent.terminate() == 0
    finally:
        server.release.set()
    took = time.monotonic() - stopping
    # The going-down heartbeat is held too and gives up after its own short timeout; the uplink's
    # request (20 s here) must not add to that.
    assert took < 6.0, f"the agent took {took:.1f} s to stop:\n{agent.log()[-3000:]}"
    assert "did not stop" not in agent.log()
