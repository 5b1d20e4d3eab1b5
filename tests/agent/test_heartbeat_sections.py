"""The agent reads the launcher's status (over a real Unix socket) and its own probes with the shared models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from piclient.agent.heartbeat import system_section, tv_section
from piclient.agent.tvlink import RUNNING, TvLink
from piclient.control.server import ControlServer
from piclient.protocol import LauncherStatus, NowPlaying

Answer = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def link(tmp_path: Path) -> Iterator[Callable[[Answer], TvLink]]:
    opened: list[tuple[ControlServer, TvLink]] = []

    def open_with(answer: Answer) -> TvLink:
        # A short path: Unix socket names are limited to about 100 bytes.
        server = ControlServer(tmp_path / "tv.sock", answer)
        server.start()
        tv = TvLink(tmp_path / "tv.sock", timeout_s=3)
        opened.append((server, tv))
        return tv

    yield open_with
    for server, tv in opened:
        tv.close()
        server.stop()


def test_what_the_launcher_plays_reaches_the_heartbeat_unchanged(link: Callable[[Answer], TvLink]) -> None:
    playing = NowPlaying(id="spring-e2", title_id="spring", title={"ko": "우리 동네"}, season=1, episode=2,
                         position=754.2, duration=3016.0, sub_text="해가 떠요", sub_delay=0.3)
    status = LauncherStatus(screen="player", uptime=12.0, now_playing=playing)
    state = link(lambda request: status.wire()).probe()
    assert state.state == RUNNING and state.detail == ""
    section = tv_section(state)
    assert section.screen == "player"
    assert section.now_playing == playing


def test_a_status_that_does_not_fit_the_protocol_is_running_with_the_field_named(
        link: Callable[[Answer], TvLink]) -> None:
    garbled = {"ok": True, "screen": "player", "now_playing": {"id": "x", "title_id": "x", "position": "soon"}}
    state = link(lambda request: garbled).probe()
    assert state.state == RUNNING
    assert "now_playing.position" in state.detail and "does not fit the protocol" in state.detail
    section = tv_section(state)
    assert section.state == RUNNING and section.detail == state.detail and section.now_playing is None


def test_a_system_figure_a_probe_got_wrong_is_left_out_not_the_heartbeat() -> None:
    section = system_section({"cpu_temp_c": 51.2, "load": "high", "mem_total": 1000})
    assert (section.cpu_temp_c, section.load, section.mem_total) == (51.2, None, 1000)
