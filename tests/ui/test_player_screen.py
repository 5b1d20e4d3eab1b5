"""The player screen's rules, in-process with the player stand-in and a clock the test moves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest
import requests

from piclient import display
from piclient.catalog.cache import CacheMeta, CatalogCache
from piclient.config import parse_config
from piclient.display import open_display
from piclient.player.api import Track
from piclient.player.messages import SubtitleReady
from piclient.remote.keymap import Keymap
from piclient.state import StateStore
from piclient.ui import app as app_module
from piclient.ui import player_screen, theme
from piclient.ui.app import App, CecNotice
from piclient.ui.i18n import STRINGS
from piclient.ui.player_overlay import PAUSE_BAR, PAUSE_CENTER_Y, PAUSE_RADIUS
from piclient.ui.player_screen import thumbnail_size
from tests.catalogs import film, series
from tests.fake_player import FakePlayer

SIZE = (640, 360)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, tmp_path: Path, player: FakePlayer, size: tuple[int, int] = SIZE, ui: str = "",
                 titles: list[dict[str, Any]] | None = None) -> None:
        data = tmp_path / "data"
        cache = CatalogCache(data)
        self.cache = cache
        titles = titles if titles is not None else [film("f", "영화"), series("s", "시리즈", episodes=2)]
        raw = json.dumps({"version": 1, "titles": titles})
        cache.store(raw.encode(), CacheMeta(source="x", base_url="http://127.0.0.1:9/catalog.json"))
        self.store = StateStore(data / "state.db")
        self.clock = Clock()
        self.player = player
        config = parse_config(f"ui: {{fullscreen: false{ui}}}\ncec: {{enabled: false}}\n")
        surface = open_display(False, size)
        self.app = App(config, surface, cache, self.store, Keymap.from_config(config.remote), player=player,
                       clock=self.clock)
        player.on_event = self.app.player_event
        self.app.set_display_reopener(lambda attempts=1: open_display(False, size, attempts=attempts, retry_s=0))

    def step(self, seconds: float = 0.0) -> None:
        self.clock.now += seconds
        self.app.step()

    def key(self, name: str, repeat: bool = False) -> None:
        from piclient.remote.buttons import Button
        from piclient.remote.repeat import ButtonEvent

        self.app._dispatch(ButtonEvent(Button.parse(name), repeat, "keyboard"), self.clock.now)
        self.step()

    def now_playing(self) -> dict:
        return self.app.status()["now_playing"]


@pytest.fixture
def handover(tmp_path: Path) -> Iterator[Rig]:
    """A rig whose player hands the screen over to mpv (as on a Pi), closed after the test."""
    rig = Rig(tmp_path, FakePlayer(output="handover"))
    yield rig
    rig.app.close()
    pygame.display.quit()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path, FakePlayer())
    yield rig
    rig.app.close()
    pygame.display.quit()


def test_play_resumes_where_she_stopped(rig: Rig) -> None:
    rig.store.save_progress("f", 120, 3600)
    rig.app._library_changed()
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 120.0)
    assert rig.player.media is not None and rig.player.media.start == 120.0
    assert rig.now_playing()["notice"] == "2:00부터 이어서 봐요"


def test_progress_is_saved_every_ten_seconds_and_on_stop(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600)
    rig.step()
    rig.player.advance(9)
    rig.step(9)
    assert rig.store.progress("f") is None
    rig.player.advance(2)
    rig.step(2)
    assert rig.store.progress("f").position == pytest.approx(11)
    rig.player.advance(3)
    rig.key("back")
    assert rig.store.progress("f").position == pytest.approx(14)
    assert rig.app.top.name == "home"


def test_holding_right_seeks_faster_and_commits_once(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=100)
    rig.step()
    rig.key("right")
    for _ in range(8):
        rig.key("right", repeat=True)
    assert rig.player.called("seek") == []  # nothing jumps while she is still choosing
    rig.step(1)
    (target, absolute), = rig.player.called("seek")
    assert absolute and target == 100 + 6 * 10 + 3 * 30


def test_tv_standby_pauses_and_saves(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=300)
    rig.step()
    rig.app.post(CecNotice("tv_standby", {}))
    rig.step()
    assert rig.player.called("pause")[-1] is True
    assert rig.store.progress("f").position == pytest.approx(300)


def screenshot(rig: Rig) -> pygame.Surface:
    """The launcher's own screenshot (the control socket's command), as a surface to read pixels from."""
    reply = rig.app._control({"cmd": "screenshot"}, rig.clock.now)
    image = reply["_image"]
    pixels, size = image() if callable(image) else image
    return pygame.image.frombytes(pixels, size, "RGB")


def colour_count(surface: pygame.Surface, color: tuple[int, int, int], area: pygame.Rect | None = None,
                 tolerance: int = 0) -> int:
    """How many pixels of ``area`` have ``color`` (each channel within ``tolerance``: text is anti-aliased)."""
    region = surface.subsurface(area) if area is not None else surface
    return sum(1 for x in range(region.get_width()) for y in range(region.get_height())
               if all(abs(a - b) <= tolerance for a, b in zip(tuple(region.get_at((x, y)))[:3], color, strict=True)))


def test_the_first_colour_press_only_shows_what_the_colour_keys_do(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600)
    rig.step()
    assert colour_count(screenshot(rig), theme.KEY_RED) == 0
    rig.key("red")
    assert rig.player.called("sub_delay") == [0.0]  # only the title's saved delay, set at load
    legend = screenshot(rig)
    for colour in (theme.KEY_RED, theme.KEY_GREEN, theme.KEY_YELLOW, theme.KEY_BLUE):
        assert colour_count(legend, colour, pygame.Rect(SIZE[0] // 2, 0, SIZE[0] // 2, SIZE[1] // 2)) > 20
    assert rig.now_playing()["legend"] is True
    rig.step(player_screen.LEGEND_S + 0.1)
    assert rig.now_playing()["legend"] is False and colour_count(screenshot(rig), theme.KEY_RED) == 0
    rig.key("yellow")  # the legend had gone: this press only shows it again
    assert rig.player.called("select") == []


def test_holding_the_colour_key_that_opened_the_legend_does_not_act(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600)
    rig.step()
    rig.key("green")
    rig.key("green", repeat=True)
    rig.key("green", repeat=True)
    assert rig.player.snapshot().sub_delay == 0.0
    rig.key("green")
    assert rig.player.snapshot().sub_delay == pytest.approx(0.1)


def test_colour_keys_move_the_subtitles_while_the_legend_shows_and_it_is_remembered_per_title(rig: Rig) -> None:
    series_title = rig.app.ui.library.catalog.by_id["s"]
    rig.app.ui.play(series_title, series_title.episodes[0], 0.0)
    rig.player.start_playing(duration=1500)
    rig.step()
    rig.key("red")  # shows the legend
    rig.key("red")
    rig.key("red")
    assert rig.player.called("sub_delay")[-1] == pytest.approx(-0.2)
    assert rig.now_playing()["notice"] == "자막 시간 -0.2초"
    rig.key("back")
    rig.app.ui.play(series_title, series_title.episodes[1], 0.0)  # another episode of the same series
    assert rig.player.called("sub_delay")[-1] == pytest.approx(-0.2)


def test_a_subtitle_delay_shows_in_the_info_bar(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600)
    rig.player.set(sub_delay=0.3)
    rig.step()
    rig.key("info")
    bar = pygame.Rect(SIZE[0] // 2, SIZE[1] * 3 // 4, SIZE[0] // 2, SIZE[1] // 4)
    assert colour_count(screenshot(rig), theme.FOCUS, bar, tolerance=40) > 20  # "자막 +0.3초", in the focus colour
    rig.player.set(sub_delay=0.0)
    rig.step()
    assert colour_count(screenshot(rig), theme.FOCUS, bar, tolerance=40) == 0


def test_yellow_cycles_subtitles_and_then_off_and_blue_puts_them_back(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    subs = (Track(1, "sub", "ko-KR", "한국어", True, None, None, None), Track(2, "sub", "en", "English", False, None,
                                                                               None, None))
    rig.player.start_playing(duration=3600, tracks=subs)
    rig.app.post(SubtitleReady("f", "/s/ko.vtt", "ko-KR", "한국어", select=True))  # the one it started with
    rig.step()
    rig.key("yellow")  # the legend
    rig.key("yellow")
    rig.key("yellow")
    assert rig.player.called("select") == [("sub", 2), ("sub", None)]
    assert rig.now_playing()["notice"] == "자막 끔"
    rig.key("green")
    assert rig.player.snapshot().sub_delay == pytest.approx(0.1)
    rig.key("blue")
    assert rig.player.called("select")[-1] == ("sub", 1)
    assert rig.player.snapshot().sub_delay == 0.0
    assert rig.store.get("sub_delay:f") == "0.0"
    assert rig.now_playing()["notice"] == "자막을 원래대로 돌려놓았어요"


def test_the_next_episode_hint_sits_on_a_solid_panel(rig: Rig) -> None:
    series_title = rig.app.ui.library.catalog.by_id["s"]
    rig.app.ui.play(series_title, series_title.episodes[0], 0.0)
    rig.player.start_playing(duration=1500, position=1499)
    rig.step()
    rig.player.fire("ended", reason="eof")
    rig.step()
    assert rig.now_playing()["countdown"] is not None
    # The hint's line ("확인: 바로 보기 · 뒤로: 그만 보기"): around its words, the panel's own colour,
    # not the film's last frame seen through a shade.
    hint = pygame.Rect(SIZE[0] * 3 // 8, round(SIZE[1] * 0.55), SIZE[0] // 4, round(SIZE[1] * 0.07))
    assert colour_count(screenshot(rig), theme.CARD, hint) > 0.5 * hint.width * hint.height


def test_a_paused_film_shows_a_large_pause_sign(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=60)
    rig.step()
    # The sign's two bars: white blocks over a tenth of the screen's height, in its disc.
    ui = rig.app.ui
    middle = pygame.Rect(0, 0, ui.px(2 * PAUSE_RADIUS), ui.px(2 * PAUSE_RADIUS))
    middle.center = (SIZE[0] // 2, ui.px(PAUSE_CENTER_Y))
    assert colour_count(screenshot(rig), theme.TEXT, middle) == 0
    rig.key("ok")
    assert rig.player.snapshot().paused
    bars = colour_count(screenshot(rig), theme.TEXT, middle)
    assert bars >= 2 * ui.px(PAUSE_BAR[0] - 4) * ui.px(PAUSE_BAR[1] - 10)
    rig.key("ok")
    assert colour_count(screenshot(rig), theme.TEXT, middle) == 0


def test_the_screen_switches_on_the_subtitle_the_fetcher_chose_and_only_that_one(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600)
    rig.step()
    # Her setting is "ko", but the choice is subtitle_choice's (made where every candidate is known):
    # an exact "ko" that was not chosen stays off, and the chosen "ko-KR" goes on.
    for path, language, select in (("/s/a.vtt", "ko", False), ("/s/b.vtt", "ko-KR", True),
                                   ("/s/c.vtt", "en", True)):
        rig.app.post(SubtitleReady("f", path, language, language, select=select))
    rig.step()
    assert rig.player.called("add_subtitle") == [("/s/a.vtt", "ko", False), ("/s/b.vtt", "ko-KR", True),
                                                 ("/s/c.vtt", "en", False)]


def test_a_film_that_ends_long_before_its_length_is_a_failure_not_watched(rig: Rig) -> None:
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=0)
    rig.step()
    rig.player.advance(600)
    rig.step()
    rig.player.fire("ended", reason="eof")  # FFmpeg skipped the segments it could not fetch
    rig.step()
    assert rig.player.called("load")[1].start == pytest.approx(600)  # it reconnects where she was
    rig.player.start_playing(duration=3600, position=600)
    rig.step()
    rig.player.fire("ended", reason="error", error="loading failed")
    rig.step()
    rig.player.fire("ended", reason="error", error="loading failed")
    rig.step()
    assert rig.app.top.name != "player"
    progress = rig.store.progress("f")
    assert progress is not None and not progress.watched
    assert rig.app.status()["overlay"]["notice"].startswith("지금은 이 작품을 볼 수 없어요")


def test_handover_gives_mpv_the_screen_and_takes_it_back(handover: Rig) -> None:
    rig = handover
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    assert not pygame.display.get_init()
    rig.player.start_playing(duration=3600, position=42)
    rig.step()
    rig.key("info")
    assert "영화" in rig.player.osd[-1] and "0:42 / 1:00:00" in rig.player.osd[-1]
    assert r"\p1" not in rig.player.osd[-1].split("0:42")[-1]  # no pause sign while it plays
    rig.key("ok")
    rig.key("red")
    osd = rig.player.osd[-1]
    assert "일시정지" in osd and osd.count(r"\p1") >= 3  # the sign's disc and two bars, drawn by mpv
    assert "자막 0.1초 빠르게" in osd and "자막 원래대로" in osd  # the colour keys' legend
    rig.key("ok")
    shot = rig.app._control({"cmd": "screenshot"}, 0)
    assert shot["_image"]()[1] == (64, 36)  # mpv's own picture of the screen, overlay included
    status = rig.app._control({"cmd": "status"}, 0)  # SDL has no surface now: status still answers
    assert status["ok"] and status["size"] == list(SIZE) and status["display"]["driver"] == "mpv"
    rig.key("back")
    assert pygame.display.get_init() and rig.app.surface.get_size() == SIZE
    assert rig.app.top.name == "home"


def test_a_handover_film_that_cannot_take_the_screen_gives_her_the_grid_and_a_calm_notice(
        handover: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig = handover
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    assert not pygame.display.get_init()
    # mpv could not open the screen: it would play on with sound only, over a black TV.
    rig.player.fire("display_failed", error="vo/gpu/opengl: Failed to acquire DRM master")
    rig.step()
    assert pygame.display.get_init() and rig.app.top.name == "home"
    status = rig.app.status()
    assert status["overlay"]["notice"] == STRINGS["player.failed"]["ko"]
    assert status["display"]["driver"] != "mpv"
    # The maintainer's reason: an error in the log, which status and heartbeat list.
    assert any(r.levelname == "ERROR" and "DRM master" in r.getMessage() for r in caplog.records)


def test_a_failed_films_notice_waits_for_the_tv_when_the_screen_is_still_held(
        handover: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = handover
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    monkeypatch.setattr(display, "_wanted_driver", "no-such-driver")  # another program holds the screen
    rig.player.fire("display_failed", error="vo/gpu: Failed to set CRTC for connector 34: Permission denied")
    rig.step()
    assert rig.app.status()["display"]["real"] is False and rig.app.top.name == "home"
    rig.step(app_module.FAILED_NOTICE_S + app_module.DISPLAY_RETRY_S)
    assert rig.app.status()["overlay"]["notice"] is None  # its time ran out where nobody saw it
    monkeypatch.setattr(display, "_wanted_driver", "offscreen")  # the other program let go
    rig.step(app_module.DISPLAY_RETRY_S)
    status = rig.app.status()
    assert status["display"]["error"] is None
    assert status["overlay"]["notice"] == STRINGS["player.failed"]["ko"]  # now on the TV, its full time
    rig.step(app_module.FAILED_NOTICE_S - 1)
    assert rig.app.status()["overlay"]["notice"] is not None
    rig.step(2)
    assert rig.app.status()["overlay"]["notice"] is None


def test_off_screen_for_want_of_the_display_the_launcher_takes_it_once_it_is_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(display, "_wanted_driver", None)
    pygame.display.quit()
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-driver")  # as when another program holds the screen
    rig = Rig(tmp_path, FakePlayer())
    try:
        assert rig.app.status()["display"]["error"]
        rig.step(app_module.DISPLAY_RETRY_S)
        rig.step(app_module.DISPLAY_RETRY_S)
        assert rig.app.status()["display"]["real"] is False
        errors = [r for r in caplog.records if r.levelname == "ERROR" and "no display" in r.getMessage()]
        assert len(errors) == 1  # tried again quietly, not one error every few seconds
        monkeypatch.setattr(display, "_wanted_driver", "offscreen")  # the other program let go
        rig.step(1)
        assert rig.app.status()["display"]["error"]  # not due yet
        rig.step(app_module.DISPLAY_RETRY_S)
        status = rig.app.status()["display"]
        assert status["driver"] == "offscreen" and status["error"] is None
        assert rig.app.surface.get_size() == SIZE and rig.app.top.name == "home"
    finally:
        rig.app.close()
        pygame.display.quit()


def test_handover_sends_the_paused_overlay_to_mpv_again_a_moment_after_the_pause(handover: Rig) -> None:
    # mpv's DRM output may not present the redraw asked for as it pauses; later ones it does.
    rig = handover
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=42)
    rig.step()
    rig.key("ok")  # pause
    rig.step()
    sent = len(rig.player.osd)
    assert "일시정지" in rig.player.osd[-1]
    rig.step(0.5)
    assert len(rig.player.osd) == sent
    rig.step(0.6)
    assert len(rig.player.osd) == sent + 1 and rig.player.osd[-1] == rig.player.osd[-2]
    rig.step(2)
    assert len(rig.player.osd) == sent + 2
    rig.step(60)
    assert len(rig.player.osd) == sent + 2  # not for as long as it stays paused


class SolidThumbnails:
    """A loaded thumbnail track whose every frame is one colour (the track's interface: ``at``)."""

    def at(self, seconds: float) -> tuple[bytes, tuple[int, int]] | None:
        return bytes([0, 0, 200]) * (160 * 90), (160, 90)


def test_handover_shows_the_seek_thumbnail_through_mpv_and_takes_it_away(handover: Rig) -> None:
    from piclient.player.messages import ThumbnailsReady

    rig = handover
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=1800)
    rig.app.top.thumbnails_ready(ThumbnailsReady("f", SolidThumbnails()))
    rig.step()
    assert rig.player.image is None  # not seeking: no picture over the film
    rig.key("right")
    assert rig.player.image is not None
    rgb, (w, h), (x, y) = rig.player.image
    assert (w, h) == (328, 188)  # twice the sprite tile, in a 4 px yellow frame
    assert rgb[:3] == bytes(theme.FOCUS) and rgb[(94 * w + 164) * 3:][:3] == bytes([0, 0, 200])
    # Centred over the seek target (1810 s of 3600 s along the bar) and above the title.
    assert x + w // 2 == pytest.approx(96 + (1920 - 192) * 1810 / 3600, abs=1)
    assert y + h <= 942
    shown = len(rig.player.called("show_image"))
    rig.step()
    assert len(rig.player.called("show_image")) == shown  # unchanged target: nothing sent again
    rig.step(2)  # the seek is committed and the target goes away
    assert rig.player.image is None
    rig.key("right")
    assert rig.player.image is not None
    rig.key("back")  # leaving in the middle of a seek leaves no picture behind in mpv
    assert rig.player.image is None


def test_a_seek_thumbnail_is_twice_its_tile_but_never_huge() -> None:
    assert thumbnail_size((160, 90)) == (320, 180)
    assert thumbnail_size((4000, 3000)) == (360, 270)  # a careless track's whole-frame "tile"
    assert thumbnail_size((1, 1)) == (2, 2)


def test_the_device_token_goes_only_to_media_under_the_servers_library(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FakePlayer())
    try:
        rig.app.config = parse_config(
            "server: {url: 'http://127.0.0.1:8765', token: 'tok'}\nui: {fullscreen: false}\ncec: {enabled: false}\n")
        assert rig.app.http_headers("http://127.0.0.1:8765/library/media/a/master.m3u8") == {
            "Authorization": "Bearer tok"}
        assert rig.app.http_headers("http://127.0.0.1:8765/api/v1/heartbeat") == {}
        assert rig.app.http_headers("http://cdn.invalid/library/a.m3u8") == {}
        session = rig.app.media_session()
        prepared = session.prepare_request(requests.Request("GET", "http://127.0.0.1:8765/library/x.vtt"))
        other = session.prepare_request(requests.Request("GET", "http://127.0.0.1:9/subs/x.vtt"))
        assert prepared.headers["Authorization"] == "Bearer tok" and "Authorization" not in other.headers
    finally:
        rig.app.close()
        pygame.display.quit()


def test_a_picture_that_stands_still_says_just_a_moment_over_it(handover: Rig) -> None:
    rig = handover
    rig.app.ui.play(rig.app.ui.library.catalog.by_id["f"], None, 0.0)
    rig.player.start_playing(duration=3600, position=11.62)
    rig.step()
    for _ in range(6):
        rig.step(0.3)  # 1.8 s without the position moving, phase "playing", not buffering
    assert "잠시만 기다려 주세요" in rig.player.osd[-1]
    assert rig.app.top.status()["stall"]["waiting"] is True
    rig.player.advance(0.5)
    rig.step(0.1)
    assert "잠시만" not in rig.player.osd[-1]

