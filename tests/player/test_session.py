"""A film's playback rules (stalls, recovery, the end of a stream), with the player stand-in and a clock
the test moves: nothing here waits for real time."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from piclient.catalog import parse_catalog
from piclient.player.api import Track
from piclient.player.hls import Variant
from piclient.player.messages import LadderReady, SubtitleReady
from piclient.player.session import PlaybackSession
from piclient.state import StateStore
from tests.catalogs import film
from tests.fake_player import FakePlayer

LOW = Variant(314_000, (320, 180), "http://127.0.0.1:9/v1/index.m3u8")
HIGH = Variant(1_200_000, (640, 360), "http://127.0.0.1:9/v0/index.m3u8")
TRACKS = (Track(1, "video", None, None, True, None, 640, 360, ff_index=0),
          Track(2, "audio", None, None, True, None, None, None, ff_index=1),
          Track(3, "video", None, None, False, None, 320, 180, ff_index=2),
          Track(4, "audio", None, None, False, None, None, None, ff_index=3))


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, tmp_path: Path, **extra: Any) -> None:
        entry = film("f", "영화", **extra)
        if entry.get("duration") is None:
            del entry["duration"]  # the catalog does not know how long it is
        raw = json.dumps({"version": 1, "titles": [entry]})
        self.title = parse_catalog(raw, "http://127.0.0.1:9/catalog.json").by_id["f"]
        self.store = StateStore(tmp_path / "state.db")
        self.player = FakePlayer()
        self.clock = Clock()
        self.outcomes: list[str] = []
        self.session = PlaybackSession(self.player, self.store, self.title, None, 0.0,
                                       prepare_subtitles=lambda *args: None, on_finished=self.outcomes.append,
                                       clock=self.clock)
        self.player.on_event = self.session.player_event

    def play(self, position: float = 0.0, duration: float = 600.0) -> None:
        self.player.start_playing(duration=duration, position=position, tracks=TRACKS)
        self.player.set(buffer_s=30.0)  # a full cache: the ABR has no reason to move
        self.session.ladder_ready(LadderReady("f", (LOW, HIGH)))
        self.tick(0)

    def tick(self, seconds: float, *, advance: bool = False) -> None:
        """Let ``seconds`` pass in steps of a tenth, as the frame loop would; the film plays if ``advance``."""
        steps = round(seconds * 10)
        for _ in range(steps):
            self.clock.now += 0.1
            if advance:
                self.player.advance(0.1)
            self.session.update(self.clock.now)
        if not steps:
            self.session.update(self.clock.now)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_a_picture_that_stands_still_asks_her_to_wait_within_two_seconds(rig: Rig) -> None:
    rig.play()
    rig.tick(5, advance=True)
    assert not rig.session.waiting(rig.clock.now)
    rig.tick(1.0)  # the position stays at 5 s: a still frame, phase "playing", not buffering
    assert not rig.session.waiting(rig.clock.now)  # one second is a hiccup, not a stall
    rig.tick(0.6)
    assert rig.session.waiting(rig.clock.now)
    assert rig.session.status(rig.clock.now)["stall"]["waiting"] is True
    rig.tick(1, advance=True)
    assert not rig.session.waiting(rig.clock.now)


def test_a_stall_reloads_at_the_same_place_then_a_lower_variant_then_ends_calmly(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.play()
    rig.tick(11.6, advance=True)
    rig.tick(8)
    assert len(rig.player.called("load")) == 1  # not yet: the last 12 s still saw some playing
    rig.tick(4.1)
    reload = rig.player.called("load")[-1]
    assert reload.start == pytest.approx(11.6) and reload.max_bitrate == 3_000_000
    assert rig.session.waiting(rig.clock.now)  # still "just a moment" while it reloads, not "starting soon"
    assert rig.session.status(rig.clock.now)["stall"]["recoveries"] == 1

    rig.play(position=11.6)  # loaded again, and stands still again
    rig.tick(12.1)
    lower = rig.player.called("load")[-1]
    assert lower.start == pytest.approx(11.6) and lower.max_bitrate == LOW.bandwidth  # the variant below

    rig.play(position=11.6)
    with caplog.at_level(logging.WARNING):
        rig.tick(12.1)
    assert rig.outcomes == ["failed"]
    assert rig.session.error is not None and "stood still at 11.60 s" in rig.session.error
    assert any(r.levelno == logging.ERROR and "gave up" in r.getMessage() for r in caplog.records)
    progress = rig.store.progress("f")
    assert progress is not None and not progress.watched and progress.position == pytest.approx(11.6)


def test_after_a_stall_the_variant_that_stalled_is_not_chosen_again(rig: Rig) -> None:
    rig.play()
    rig.tick(3, advance=True)
    rig.tick(12.1)
    rig.play(position=3)
    rig.tick(12.1)
    assert rig.player.called("load")[-1].max_bitrate == LOW.bandwidth
    rig.play(position=3)
    rig.tick(2, advance=True)
    abr = rig.session._abr
    assert abr is not None and not abr.allowed(HIGH) and abr.allowed(LOW)


def test_a_film_that_plays_on_after_a_recovery_starts_the_ladder_afresh(rig: Rig) -> None:
    rig.play()
    rig.tick(2, advance=True)
    rig.tick(12.1)
    rig.play(position=2)
    rig.tick(31, advance=True)
    assert rig.session.recoveries == 0
    rig.tick(12.1)
    assert rig.player.called("load")[-1].max_bitrate == 3_000_000  # a reload again, not a lower variant


def test_a_reload_that_never_starts_takes_the_next_step(rig: Rig) -> None:
    rig.play()
    rig.tick(3, advance=True)
    rig.tick(9.1)
    assert len(rig.player.called("load")) == 2  # reloading, and mpv neither loads nor fails
    rig.tick(29.5)
    assert len(rig.player.called("load")) == 2
    rig.tick(0.6)
    assert rig.player.called("load")[-1].max_bitrate == LOW.bandwidth
    rig.tick(30.1)
    assert rig.outcomes == ["failed"] and "did not start within 30 s" in (rig.session.error or "")


def test_pausing_is_not_a_stall(rig: Rig) -> None:
    rig.play()
    rig.tick(2, advance=True)
    rig.session.set_pause(True)
    rig.tick(60)
    assert not rig.session.waiting(rig.clock.now)
    assert len(rig.player.called("load")) == 1
    rig.session.set_pause(False)
    rig.tick(1, advance=True)
    assert not rig.session.waiting(rig.clock.now)


def test_a_seek_starts_the_count_again(rig: Rig) -> None:
    rig.play()
    rig.tick(2, advance=True)
    rig.tick(1.2)
    rig.session.seek(300)
    rig.tick(1.2)  # 2.4 s without movement in all, but only 1.2 s since the seek
    assert not rig.session.waiting(rig.clock.now)


def test_a_cache_that_is_refilling_asks_her_to_wait_but_is_not_reloaded(rig: Rig) -> None:
    rig.play()
    rig.tick(4, advance=True)
    rig.player.set(buffering=True, buffer_s=0.0)
    for second in range(30):  # a slow line: the cache grows a little every second
        rig.player.set(buffer_s=second * 0.6)
        rig.tick(1)
    assert rig.session.waiting(rig.clock.now)
    assert len(rig.player.called("load")) == 1


def test_a_cache_that_stopped_growing_while_buffering_is_reloaded(rig: Rig) -> None:
    rig.play()
    rig.tick(4, advance=True)
    rig.player.set(buffering=True, buffer_s=0.4)
    rig.tick(12.1)
    assert rig.player.called("load")[-1].start == pytest.approx(4)


def test_a_server_that_sends_a_little_now_and_then_is_still_a_stall(rig: Rig) -> None:
    rig.play()
    rig.tick(4, advance=True)
    for _ in range(3):  # every 10 s half a second of picture, and the cache never fills
        rig.tick(9.5)
        rig.tick(0.5, advance=True)
    assert rig.player.called("load")[-1].start > 4  # reloaded where the picture had got to


def test_the_end_of_the_stream_is_not_a_stall(rig: Rig) -> None:
    rig.play(duration=20)
    rig.tick(19.5, advance=True)
    rig.player.set(end_buffered=True)
    rig.tick(20)
    assert len(rig.player.called("load")) == 1 and rig.outcomes == []


def test_a_stream_that_ends_before_its_playlist_does_is_never_watched(tmp_path: Path) -> None:
    rig = Rig(tmp_path, duration=None)  # no catalog duration: only the playlist knows the length
    rig.play(duration=60)
    rig.tick(2, advance=True)
    rig.player.set(duration=None, position=None, idle=True)  # what mpv reports once the file is gone
    rig.player.fire("ended", reason="eof")
    assert rig.player.called("load")[-1].start == pytest.approx(2)  # it tries again where she was
    rig.play(position=2, duration=60)
    rig.player.set(duration=None, position=None, idle=True)
    rig.player.fire("ended", reason="eof")
    rig.play(position=2, duration=60)
    rig.player.set(duration=None, position=None, idle=True)
    rig.player.fire("ended", reason="eof")
    assert rig.outcomes == ["failed"]
    progress = rig.store.progress("f")
    assert progress is not None and not progress.watched
    assert "ended early at 2.0 s of 60.0 s" in (rig.session.error or "")


def test_a_stream_whose_segments_ffmpeg_refuses_fails_at_once_with_the_reason(tmp_path: Path) -> None:
    rig = Rig(tmp_path, duration=None)
    rig.play(duration=60)
    problem = "segment URLs without a media file extension (seg/0)"
    rig.session.ladder_ready(LadderReady("f", (LOW, HIGH), segment_problem=problem))
    rig.tick(2, advance=True)
    rig.player.set(duration=None)
    rig.player.fire("ended", reason="eof")
    assert rig.outcomes == ["failed"] and rig.session.error == problem
    assert len(rig.player.called("load")) == 1  # trying again would only fail again
    assert not rig.store.progress("f").watched


def test_a_first_segment_played_to_its_end_is_not_the_film_when_ffmpeg_refuses_the_segments(
        tmp_path: Path) -> None:
    # When FFmpeg refuses a master's only variant, mpv reads the playlists itself and plays each
    # segment as a file: the first one "ends" at its own length, which is all mpv knows.
    rig = Rig(tmp_path, duration=None)
    rig.play(duration=4)
    rig.session.ladder_ready(LadderReady("f", (HIGH,), segment_problem="segment URLs without an extension"))
    rig.tick(4, advance=True)
    rig.player.fire("ended", reason="eof")
    assert rig.outcomes == ["failed"] and rig.session.error == "segment URLs without an extension"
    assert not rig.store.progress("f").watched


def test_a_film_that_cannot_take_the_screen_ends_at_once_with_the_reason_and_her_place_kept(rig: Rig) -> None:
    rig.play(position=300)
    rig.tick(2, advance=True)
    # mpv lost the screen (hand-over): it would play on with sound only over a black TV.
    rig.player.fire("display_failed", error="vo/gpu/opengl: Failed to acquire DRM master")
    assert rig.outcomes == ["failed"]
    assert "could not take the screen" in rig.session.error and "DRM master" in rig.session.error
    assert len(rig.player.called("load")) == 1 and rig.player.called("stop")  # the same screen would fail again
    assert rig.store.progress("f").position == pytest.approx(302, abs=0.2)
    rig.player.fire("display_failed", error="again")  # mpv's later words change nothing
    assert rig.outcomes == ["failed"]


def test_a_film_that_really_ends_is_watched(tmp_path: Path) -> None:
    rig = Rig(tmp_path, duration=None)
    rig.play(duration=20)
    rig.tick(19.9, advance=True)
    rig.player.set(duration=None)
    rig.player.fire("ended", reason="eof")
    assert rig.outcomes == ["watched"] and rig.store.progress("f").watched


def test_a_subtitle_file_that_grew_is_read_again_not_added_twice(rig: Rig) -> None:
    rig.play()
    rig.session.subtitle_ready(SubtitleReady("f", "/subs/a.vtt", "ko", "한국어"))
    rig.session.subtitle_ready(SubtitleReady("f", "/subs/a.vtt", "ko", "한국어", updated=True))
    assert len(rig.player.called("add_subtitle")) == 1
    assert rig.player.called("reload_subtitle") == ["/subs/a.vtt"]


def test_the_variant_follows_what_the_player_measures_not_the_wall_clock(rig: Rig) -> None:
    rig.play()  # the 360p variant, a full cache
    rig.tick(5, advance=True)
    level = 8.0
    for _ in range(20):  # a throttled line: 240 kbit/s in, the cache draining
        level = max(0.0, level - 0.5)
        rig.player.set(input_rate_bps=240_000.0, buffer_s=level)
        rig.tick(1, advance=True)
    assert rig.player.called("select")[:2] == [("video", 3), ("audio", 4)]
    assert rig.session.status(rig.clock.now)["abr"]["switches"][-1]["bitrate"] == LOW.bandwidth
    rig.player.set(input_rate_bps=5_000_000.0, buffer_s=30.0, dropped_frames=0)
    rig.tick(40, advance=True)
    assert rig.player.called("select")[-2:] == [("video", 1), ("audio", 2)]


def test_a_decoder_that_drops_frames_keeps_it_down_and_the_status_says_why(rig: Rig) -> None:
    rig.play()
    rig.tick(5, advance=True)
    level = 8.0
    for _ in range(20):
        level = max(0.0, level - 0.5)
        rig.player.set(input_rate_bps=240_000.0, buffer_s=level)
        rig.tick(1, advance=True)
    rig.player.set(input_rate_bps=5_000_000.0, buffer_s=30.0)
    for dropped in range(1, 61):  # a busy machine: a frame a second is lost
        rig.player.set(dropped_frames=dropped)
        rig.tick(1, advance=True)
    assert rig.player.called("select")[-2:] == [("video", 3), ("audio", 4)]
    assert rig.session.status(rig.clock.now)["abr"]["up_blocker"] == "drops"


def test_quick_presses_each_move_the_subtitle_delay(rig: Rig) -> None:
    rig.play()
    rig.player.set_sub_delay = lambda seconds: rig.player.calls.append(("sub_delay", seconds))  # mpv lags
    for _ in range(3):
        rig.session.change_sub_delay(0.1)
    assert rig.player.called("sub_delay")[-1] == pytest.approx(0.3)
    assert rig.store.get("sub_delay:f") == "0.3"


def test_a_master_of_one_variant_reports_that_variants_bandwidth(rig: Rig) -> None:
    # mpv gives no hls-bitrate when a master has a single variant, as the publish pipeline writes for
    # a source under 540p; the master's own BANDWIDTH stands in.
    rig.player.start_playing(duration=600.0, tracks=TRACKS[:2])
    rig.session.ladder_ready(LadderReady("f", (HIGH,)))
    rig.tick(0)
    variant = rig.session.now_playing(rig.clock.now).variant
    assert variant is not None and (variant.bitrate, variant.height) == (HIGH.bandwidth, 360)
