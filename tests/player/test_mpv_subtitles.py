"""The subtitle pipeline against real libmpv: the cues land on the frames they were written for.

libmpv ignores HLS subtitle renditions, so the player fetches them and adds them as a file; that only
works if the shift it applies matches the clock mpv compares subtitles against. These tests pin it.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from piclient.demo.server import StaticServer
from piclient.player.hls import fetch_master, fetch_subtitle_rendition
from piclient.player.subtitles import convert, to_webvtt

from .conftest import CUES
from .test_subtitles import SAMI

mpv = pytest.importorskip("mpv")

FRAME_S = 1 / 25  # make_hls encodes at 25 frames a second


@pytest.fixture(scope="module")
def player(ladder_server: StaticServer) -> Iterator[Any]:
    # One instance for the module: repeatedly creating and terminating libmpv has crashed python-mpv.
    instance = mpv.MPV(vo="null", ao="null", pause=True, sub_auto="no")
    try:
        instance.play(ladder_server.url + "master.m3u8")
        instance.wait_for_property("demuxer-start-time", lambda v: v is not None, timeout=20)
        yield instance
    finally:
        instance.terminate()


def subtitle_at(player: Any, seconds: float) -> tuple[float, str]:
    """Seek exactly to ``seconds`` (paused) and return the shown frame's time-pos and subtitle text."""
    with player.prepare_and_wait_for_event("playback_restart", timeout=10):
        player.command("seek", f"{seconds:.3f}", "absolute+exact")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and player.sub_text is None:
        time.sleep(0.02)
    return player.time_pos, player.sub_text or ""


@pytest.mark.timeout(60)
def test_rendition_cues_shifted_by_mpvs_start_time_show_on_their_frames(
        player: Any, ladder_server: StaticServer, tmp_path: Path) -> None:
    start = player.demuxer_start_time
    # FFmpeg starts the transport stream at 1.4 s; the first video frame follows 21 ms later.
    assert start == pytest.approx(1.4, abs=0.001)
    with requests.Session() as session:
        master = fetch_master(ladder_server.url + "master.m3u8", session, timeout=5)
        cues = fetch_subtitle_rendition(master.subtitle("ko"), session, timeout=5, video_start_pts=start)
    path = tmp_path / "ko.vtt"
    path.write_text(to_webvtt(cues), encoding="utf-8")
    player.command("sub-add", str(path), "select")
    first_frame, _ = subtitle_at(player, 0.0)
    assert first_frame == pytest.approx(0.0213, abs=0.002)  # video starts 21 ms after time-pos 0
    for cue, (written_start, _, text) in zip(cues, CUES["ko"], strict=True):
        # The rendition's time 0 is the first video frame (its X-TIMESTAMP-MAP says so), so on mpv's
        # clock every line moves by those 21 ms.
        assert cue.start == pytest.approx(written_start + first_frame, abs=0.002)
        # mpv compares cues with time-pos: the first frame at or after the cue's start carries it,
        # and the frame before does not.
        shown_at, shown = subtitle_at(player, cue.start)
        assert shown == text
        assert cue.start <= shown_at < cue.start + FRAME_S
        _, before = subtitle_at(player, shown_at - FRAME_S)
        assert text not in before
        _, middle = subtitle_at(player, (cue.start + cue.end) / 2)
        assert middle == text
        _, after = subtitle_at(player, cue.end + FRAME_S / 2)
        assert text not in after


@pytest.mark.timeout(60)
def test_a_converted_cp949_sami_file_shows_korean(player: Any, tmp_path: Path) -> None:
    path = tmp_path / "film.vtt"
    path.write_text(convert(SAMI.encode("cp949"), "film.smi", language="ko"), encoding="utf-8")
    player.command("sub-add", str(path), "select")
    assert subtitle_at(player, 1.5)[1] == "엄마,\n안녕하세요 & 반가워요"
    assert subtitle_at(player, 3.0)[1] == ""
    assert subtitle_at(player, 4.5)[1] == "밥은 먹었니?"
