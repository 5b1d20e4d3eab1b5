"""Real libmpv playing real HLS from 127.0.0.1, inside a real launcher process."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from PIL import Image

from piclient.demo.server import StaticServer
from piclient.ui import theme
from piclient.ui.player_overlay import PAUSE_BAR, PAUSE_CENTER_Y, PAUSE_RADIUS
from tests.launcher import Launcher
from tests.playback.conftest import episode_id

pytestmark = pytest.mark.timeout(180)


def playing(s: dict[str, Any]) -> dict[str, Any]:
    return s.get("now_playing") or {}


def position(s: dict[str, Any]) -> float:
    return playing(s).get("position") or 0.0


def play(tv: Launcher, ident: str, **extra: Any) -> None:
    reply = tv.ctl.request("play", id=ident, **extra)
    assert reply["ok"], reply


def bright_pixels(png: bytes, box: tuple[float, float, float, float]) -> int:
    """How many near-white pixels sit in a box given in fractions of the picture."""
    image = Image.open(io.BytesIO(png)).convert("L")
    w, h = image.size
    crop = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return sum(1 for value in crop.getdata() if value > 200)


SUBTITLE_AREA = (0.1, 0.75, 0.9, 0.98)


def test_a_published_film_plays_with_her_subtitles_on_and_english_there_to_pick(tv: Launcher) -> None:
    play(tv, "sunrise")
    status = tv.wait_for(lambda s: playing(s).get("sub_text") == "해가 떠요", timeout=20)
    assert playing(status)["subtitle"]["lang"] == "ko"
    tv.wait_for(lambda s: playing(s)["subtitle_tracks"] == 2, timeout=10)  # English is there to pick
    assert playing(status)["variant"]["bitrate"] > 0
    with_text = bright_pixels(tv.ctl.screenshot("png"), SUBTITLE_AREA)
    tv.wait_for(lambda s: position(s) > 7.5 and playing(s)["sub_text"] == "", timeout=20)
    without_text = bright_pixels(tv.ctl.screenshot("png"), SUBTITLE_AREA)
    assert with_text > 500 > without_text  # the words are in the picture, on a black video


def test_the_info_overlay_shows_over_the_video_in_the_screenshot(tv: Launcher) -> None:
    play(tv, "sunrise")
    tv.wait_for(lambda s: position(s) > 1, timeout=20)
    title_area = (0.03, 0.78, 0.3, 0.87)  # where the info panel writes the title, left of the subtitles
    before = bright_pixels(tv.ctl.screenshot("png"), title_area)
    tv.key("info")
    after = bright_pixels(tv.ctl.screenshot("png"), title_area)
    assert before < 50 < after


def test_seeking_shows_the_target_time_and_the_frame_there(tv: Launcher) -> None:
    play(tv, "long")
    tv.wait_for(lambda s: position(s) > 1, timeout=30)
    for _ in range(20):  # the thumbnails load in the background; keep choosing until they show
        tv.key("right")
        status = playing(tv.status())
        if status["thumbnail"]:
            break
        time.sleep(0.3)
    assert status["seek_target"] is not None and status["thumbnail"] is True
    shot = Image.open(io.BytesIO(tv.ctl.screenshot("png"))).convert("RGB")
    # The thumbnail sits in a yellow focus frame above the info panel.
    yellow = sum(1 for r, g, b in shot.crop((0, 300, 1280, 560)).getdata() if r > 200 and g > 170 and b < 110)
    assert yellow > 300


def test_stopping_saves_the_place_and_playing_again_resumes_there(tv: Launcher) -> None:
    play(tv, "long", start=28)  # under 30 s counts as a peek, not as started
    tv.wait_for(lambda s: position(s) > 33, timeout=30)
    tv.key("stop")
    home = tv.wait_for(lambda s: s["screen"] == "home")
    rows = {row["key"]: row for row in home["focus"]["rows"]}
    assert rows["continue"]["visible"][0]["id"] == "long"
    play(tv, "long")
    status = tv.wait_for(lambda s: position(s) > 0, timeout=20)
    assert position(status) >= 32.5
    assert playing(status)["notice"].endswith("부터 이어서 봐요")


def test_the_next_episode_starts_by_itself_after_a_countdown(tv: Launcher) -> None:
    play(tv, episode_id(1))
    countdown = tv.wait_for(lambda s: playing(s).get("phase") == "countdown", timeout=30)
    assert 1 <= playing(countdown)["countdown"] <= 10
    started = tv.wait_for(lambda s: playing(s).get("id") == episode_id(2) and position(s) > 0, timeout=20)
    assert playing(started)["phase"] == "playing"
    tv.key("back")
    home = tv.wait_for(lambda s: s["screen"] == "home")
    progress = {item["id"]: item for row in home["focus"]["rows"] for item in row["visible"]}
    assert progress["hood"]["progress"] > 0  # one of two episodes watched


def test_ok_during_the_countdown_starts_the_next_episode_at_once(tv: Launcher) -> None:
    play(tv, episode_id(1))
    tv.wait_for(lambda s: playing(s).get("phase") == "countdown", timeout=30)
    tv.key("ok")
    status = tv.wait_for(lambda s: playing(s).get("id") == episode_id(2), timeout=5)
    assert playing(status)["countdown"] is None or playing(status)["phase"] != "countdown"


def test_the_end_of_a_film_returns_to_the_grid_marked_watched(tv: Launcher) -> None:
    play(tv, "smi-film")
    home = tv.wait_for(lambda s: s["screen"] == "home" and s["depth"] == 1, timeout=40)
    films = {item["id"]: item for row in home["focus"]["rows"] if row["key"] == "films" for item in row["visible"]}
    assert films["smi-film"]["watched"] is True


def test_a_sami_subtitle_in_cp949_shows_korean(tv: Launcher) -> None:
    play(tv, "smi-film")
    status = tv.wait_for(lambda s: playing(s).get("sub_text"), timeout=20)
    assert playing(status)["sub_text"] == "어머니, 진지 드세요"


def test_the_subtitle_delay_set_with_the_remote_is_remembered_for_the_title(tv: Launcher) -> None:
    play(tv, "sunrise")
    tv.wait_for(lambda s: position(s) > 0.5, timeout=20)
    tv.key("green")  # the first colour press only shows what the colour keys do
    assert playing(tv.status())["legend"] is True
    tv.key("green", "green", "green")
    tv.wait_for(lambda s: playing(s)["sub_delay"] == pytest.approx(0.3), timeout=5)
    tv.key("stop")
    tv.wait_for(lambda s: s["screen"] == "home")
    play(tv, "sunrise", start=0)
    status = tv.wait_for(lambda s: position(s) > 0.5, timeout=20)
    assert playing(status)["sub_delay"] == pytest.approx(0.3)


def colour_pixels(png: bytes, colour: tuple[int, int, int], box: tuple[float, float, float, float]) -> int:
    """How many pixels of exactly ``colour`` sit in a box given in fractions of the picture."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    crop = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return sum(1 for pixel in crop.getdata() if pixel == colour)


def test_the_launchers_screenshot_shows_the_pause_sign_and_the_colour_keys_legend(tv: Launcher) -> None:
    play(tv, "sunrise")
    tv.wait_for(lambda s: position(s) > 0.5, timeout=20)
    # Where the sign's disc and two bars stand (1080p units in the layout).
    middle = (0.4, (PAUSE_CENTER_Y - PAUSE_RADIUS) / 1080, 0.6, (PAUSE_CENTER_Y + PAUSE_RADIUS) / 1080)
    top_right = (0.5, 0.0, 1.0, 0.5)  # where the legend's coloured dots are
    before = tv.ctl.screenshot("png")
    tv.key("ok", "red")
    status = tv.wait_for(lambda s: playing(s).get("paused") and playing(s).get("legend"), timeout=10)
    assert playing(status)["sub_delay"] == 0  # the first colour press changed nothing
    after = tv.ctl.screenshot("png")
    # The two bars, drawn in the text colour over the film, at 720p.
    bars = 2 * round(PAUSE_BAR[0] * 720 / 1080) * round(PAUSE_BAR[1] * 720 / 1080)
    assert colour_pixels(after, theme.TEXT, middle) - colour_pixels(before, theme.TEXT, middle) > 0.8 * bars
    for dot in (theme.KEY_RED, theme.KEY_GREEN, theme.KEY_YELLOW, theme.KEY_BLUE):
        assert colour_pixels(after, dot, top_right) - colour_pixels(before, dot, top_right) > 100


@pytest.mark.parametrize("ident", ["missing", "garbage"])
def test_a_stream_that_cannot_play_ends_in_one_calm_sentence(tv: Launcher, ident: str) -> None:
    play(tv, ident)
    status = tv.wait_for(lambda s: s["now_playing"] is None and s["overlay"]["notice"], timeout=30)
    assert status["overlay"]["notice"].startswith("지금은 이 작품을 볼 수 없어요")
    tv.key("right")  # the launcher still answers and moves
    assert tv.status()["screen"] == "home"


def test_a_stream_whose_segment_names_ffmpeg_refuses_ends_calmly_and_is_not_watched(tv: Launcher) -> None:
    play(tv, "noext")  # segments named seg/0, seg/1, ...; the catalog gives no duration
    status = tv.wait_for(lambda s: s["now_playing"] is None and s["overlay"]["notice"], timeout=60)
    assert status["overlay"]["notice"].startswith("지금은 이 작품을 볼 수 없어요")
    films = {item["id"]: item for row in status["focus"]["rows"] for item in row["visible"]}
    assert films["noext"]["watched"] is False
    assert any("extension_picky" in str(e["message"]) for e in status["errors"]), status["errors"]


def test_a_connection_lost_mid_film_ends_calmly_without_marking_it_watched(tv: Launcher,
                                                                         server: StaticServer) -> None:
    play(tv, "long")
    tv.wait_for(lambda s: position(s) > 2, timeout=30)
    server.fault = lambda path: 503  # the server is still there but every request fails
    status = tv.wait_for(lambda s: s["now_playing"] is None, timeout=120)
    assert status["overlay"]["notice"].startswith("지금은 이 작품을 볼 수 없어요")
    films = {item["id"]: item for row in status["focus"]["rows"] for item in row["visible"]}
    assert films["long"]["watched"] is False
    assert any("long" in str(e["message"]) or "playback" in str(e["message"]) for e in status["errors"])


def test_a_slow_network_moves_to_the_lower_variant_and_back_when_the_player_can(tv: Launcher,
                                                                              server: StaticServer) -> None:
    play(tv, "long")
    start = tv.wait_for(lambda s: position(s) > 1, timeout=30)
    high = playing(start)["variant"]["bitrate"]
    server.throttle_bytes_per_s = 20_000  # 160 kbit/s: below both rungs, so it steps down to the lower
    low = tv.wait_for(lambda s: (playing(s).get("variant") or {}).get("bitrate", high) < high, timeout=60)
    assert playing(low)["variant"]["height"] == 360
    server.throttle_bytes_per_s = None
    # Going back up needs the line measured again (probes), a healthy cache and a decoder with room to
    # spare. On a busy machine the starved decoder drops frames and the controller rightly stays down;
    # either way the status gives its own reason, and the line itself must be seen to have recovered.
    # (The timing of the step up is the controller's, tested on a clock in tests/player.)
    back = tv.wait_for(lambda s: (playing(s).get("variant") or {}).get("bitrate") == high
                       or playing(s)["abr"]["up_blocker"] in ("drops", "decoder"), timeout=100)
    abr = playing(back)["abr"]
    if playing(back)["variant"]["bitrate"] == high:
        assert abr["switches"][-1]["bitrate"] == high
    else:
        # "drops" comes only after the line's check has passed (abr.py): the network was measured again.
        assert playing(back)["dropped_frames"] > 0, (abr, tv.log()[-3000:])
