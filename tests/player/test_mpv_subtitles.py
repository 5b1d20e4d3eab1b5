"""The subtitle pipeline against real libmpv: the cues land on the frames they were written for.

libmpv ignores HLS subtitle renditions, so the player fetches them and adds them as a file; that only
works if the shift it applies matches the clock mpv compares subtitles against. These tests pin it.
"""

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from piclient.demo.server import StaticServer
from piclient.player.hls import fetch_master, fetch_subtitle_rendition
from piclient.player.subtitles import convert, suffix, to_webvtt

from .conftest import CUES
from .test_subtitles import SAMI

mpv = pytest.importorskip("mpv")

FRAME_S = 1 / 25  # the clips are made and published at 25 frames a second


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


# The embedded output as the launcher runs it: MpvPlayer renders each frame, subtitles included,
# through libmpv's software render API. In a child process, as in test_mpv_player.py. The film is
# paused, so a frame with the subtitle and one without differ only where the subtitle is drawn.
PLACEMENT = textwrap.dedent("""
    import json, sys, time
    import pygame
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media

    SIZE = (960, 540)
    player = MpvPlayer(audio_output="null", hwdec="no")
    player.load(Media(url=sys.argv[1], playable_id="ladder"))
    deadline = time.monotonic() + 20
    while (player.snapshot().position or 0) <= 0.5:
        assert time.monotonic() < deadline, "the film never started"
        player.poll_frame(SIZE)
        time.sleep(0.02)
    player.set_pause(True)

    def frame():
        return pygame.image.tobytes(player._frame, "RGBX")

    def settled():
        # A paused film stops producing frames; the last one is the picture.
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 0.5:
            if player.poll_frame(SIZE):
                quiet_since = time.monotonic()
            time.sleep(0.02)
        return frame()

    def changed_rows(before, after):
        stride = SIZE[0] * 4
        return [y for y in range(SIZE[1]) if before[y * stride:(y + 1) * stride] != after[y * stride:(y + 1) * stride]]

    plain = settled()
    seen = {}
    for name, path in json.loads(sys.argv[2]).items():
        player.add_subtitle(path, "ko", name, select=True)
        deadline = time.monotonic() + 10
        rows = []
        while not rows:
            assert time.monotonic() < deadline, f"{name}: the subtitle never appeared in the frame"
            player.poll_frame(SIZE)
            rows = changed_rows(plain, frame()) if player.snapshot().sub_text else []
            time.sleep(0.02)
        rows = changed_rows(plain, settled())
        seen[name] = {"text": player.snapshot().sub_text, "first": rows[0], "last": rows[-1]}
        player.select_track("sub", None)
        deadline = time.monotonic() + 10
        while changed_rows(plain, frame()):
            assert time.monotonic() < deadline, f"{name}: the subtitle did not go away"
            player.poll_frame(SIZE)
            time.sleep(0.02)
    player.close()
    print(json.dumps(seen, ensure_ascii=False))
""")

# As they come from the wild: a fansub SRT with a sign tagged {\\an8} (and the <font> colour
# such files carry), a WebVTT file with line:0, and the same dialogue with no placement.
TOP_SRT = "1\r\n00:00:00,000 --> 00:00:30,000\r\n{\\an8}<font color=\"#ffff00\">은행 BANK</font>\r\n"
TOP_VTT = "WEBVTT\n\nsign\n00:00.000 --> 00:30.000 line:0 position:50% align:center\n은행 BANK\n"
BOTTOM_SRT = "1\n00:00:00,000 --> 00:00:30,000\n어서 와\n"


@pytest.mark.timeout(90)
def test_signs_placed_at_the_top_are_drawn_in_the_top_of_the_frame(
        ladder_server: StaticServer, tmp_path: Path) -> None:
    files = {}
    for name, source, hint in (("srt-an8", TOP_SRT, "signs.srt"), ("vtt-line0", TOP_VTT, "signs.vtt"),
                               ("bottom", BOTTOM_SRT, "dialogue.srt")):
        text = convert(source.encode("cp949" if name == "bottom" else "utf-8"), hint, language="ko")
        path = tmp_path / f"{name}{suffix(text)}"
        path.write_text(text, encoding="utf-8")
        files[name] = str(path)
    done = subprocess.run([sys.executable, "-c", PLACEMENT, ladder_server.url + "master.m3u8", json.dumps(files)],
                          capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    height = 540
    for name in ("srt-an8", "vtt-line0"):
        assert seen[name]["text"] == "은행 BANK"
        # Drawn wholly within the top fifth of the picture (measured: rows 24-63 of 540).
        assert seen[name]["last"] < height * 0.2, seen
    assert seen["bottom"]["text"] == "어서 와"
    assert seen["bottom"]["first"] > height * 0.8, seen  # the control: a plain line stays at the bottom
