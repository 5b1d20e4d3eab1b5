"""MpvPlayer against real libmpv, each case in a child process.

A child keeps a crash in native code from taking pytest with it, and one process per libmpv instance
follows the rule the launcher lives by (creating and terminating instances in one process has
crashed python-mpv).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pygame
import pytest

from piclient.demo.server import StaticServer

pytest.importorskip("mpv")

PLAYING = textwrap.dedent("""
    import json, sys, time
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media

    player = MpvPlayer(audio_output="null", hwdec="no")
    player.load(Media(url=sys.argv[1], playable_id="ladder"))
    deadline = time.monotonic() + 20
    while (player.snapshot().position or 0) <= 0.5:
        assert time.monotonic() < deadline, "the film never started"
        player.poll_frame((960, 540))  # mpv's OSD takes this size, as it takes the screen's in hand-over
        time.sleep(0.02)
""")

CLOSE = PLAYING + textwrap.dedent("""
    player.close()
    # Everything the launcher's shutdown path might still call, many times over.
    for _ in range(200):
        player.stop()
        player.set_pause(True)
        player.seek(5)
        assert player.screenshot() is None
        assert player.poll_frame((960, 540)) is False
    player.close()
    print("closed cleanly")
""")

# The seek thumbnail of the hand-over output goes through mpv's overlay-add. mpv draws it with its
# OSD, which the render API also draws into the embedded frame: that is what this test looks at.
OVERLAY = PLAYING + textwrap.dedent("""
    def settle(size):
        for _ in range(40):
            player.poll_frame(size)
            time.sleep(0.02)
        return player._frame

    player.set_pause(True)
    red = bytes([230, 20, 20]) * (200 * 100)
    player.show_image(red, (200, 100), (400, 200))  # 1920x1080 space: half of it at 960x540
    frame = settle((960, 540))
    seen = {"inside": tuple(frame.get_at((250, 125)))[:3], "left": tuple(frame.get_at((195, 125)))[:3],
            "right": tuple(frame.get_at((305, 125)))[:3], "below": tuple(frame.get_at((250, 155)))[:3]}
    player.hide_image()
    frame = settle((960, 540))
    seen["after_hide"] = tuple(frame.get_at((250, 125)))[:3]
    seen["buffers_left"] = len(player._images)
    player.close()
    print(json.dumps(seen))
""")

# A growing subtitle playlist rewrites its file; reload_subtitle makes mpv read it again, in place.
RELOAD = PLAYING + textwrap.dedent("""
    import os, tempfile
    player.set_pause(True)
    path = os.path.join(tempfile.mkdtemp(), "growing.vtt")

    def write(text):
        with open(path, "w", encoding="utf-8") as f:
            f.write("WEBVTT\\n\\n00:00:00.000 --> 00:01:00.000\\n" + text + "\\n")

    def shown(text):
        deadline = time.monotonic() + 20
        while player.snapshot().sub_text != text:
            assert time.monotonic() < deadline, (text, player.snapshot().sub_text)
            player.poll_frame((320, 180))
            time.sleep(0.02)

    write("first lines")
    player.add_subtitle(path, "ko", "한국어", select=True)
    shown("first lines")
    write("more lines")
    player.reload_subtitle(path)
    shown("more lines")
    subs = [t for t in player.snapshot().tracks if t.type == "sub"]
    print(json.dumps({"subs": len(subs), "selected": [t.selected for t in subs]}))
    player.close()
""")


@pytest.mark.timeout(60)
def test_a_subtitle_file_that_grew_is_read_again_in_place(ladder_server: StaticServer) -> None:
    seen = json.loads(_child(RELOAD, ladder_server).stdout.strip().splitlines()[-1])
    assert seen == {"subs": 1, "selected": [True]}


@pytest.mark.timeout(60)
def test_a_closed_player_ignores_calls_instead_of_crashing(ladder_server: StaticServer) -> None:
    done = _child(CLOSE, ladder_server)
    assert "closed cleanly" in done.stdout


@pytest.mark.timeout(60)
def test_an_image_overlay_shows_at_its_place_scaled_to_the_screen_and_goes_away(
        ladder_server: StaticServer) -> None:
    seen = json.loads(_child(OVERLAY, ladder_server).stdout.strip().splitlines()[-1])

    def red(rgb: list[int]) -> bool:
        return rgb[0] > 180 and rgb[1] < 80 and rgb[2] < 80

    assert red(seen["inside"])
    assert not red(seen["left"]) and not red(seen["right"]) and not red(seen["below"])
    assert not red(seen["after_hide"])
    assert seen["buffers_left"] == 0  # mpv let go of the pixels once the overlay was removed


def _child(script: str, server: StaticServer) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-c", script, server.url + "master.m3u8"],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


# Frames at 1920x1080 as PIL images, once mpv has drawn what it was just asked to.
FULL_HD_FRAMES = PLAYING + textwrap.dedent("""
    from PIL import Image, ImageChops

    size = (1920, 1080)
    def settle():
        for _ in range(40):
            player.poll_frame(size)
            time.sleep(0.02)
        return Image.frombytes("RGBA", size, player._frame.get_buffer().raw).convert("RGB")

    player.set_pause(True)
""")

# A subtitle line far too long for one row, and an OSD line placed by the launcher's layout: with
# each shown and hidden in turn, the difference is exactly their pixels.
TEXT_EDGES = FULL_HD_FRAMES + textwrap.dedent("""
    import pathlib, tempfile
    from piclient.ui.player_overlay import OsdSpace, ass_text

    srt = pathlib.Path(tempfile.mkdtemp()) / "long.srt"
    srt.write_text("1\\n00:00:00,000 --> 01:00:00,000\\n" + "아주 길고 긴 자막 한 줄이 화면 끝까지 " * 6 + "\\n",
                   encoding="utf-8")
    player.add_subtitle(str(srt), "ko", "한국어", select=True)
    with_sub = settle()
    player._mpv["sub-visibility"] = False
    without = settle()
    box = {"subtitle": ImageChops.difference(with_sub, without).getbbox()}
    # 100 px letters as the launcher asks for them: OsdSpace turns them into an ASS size.
    player.show_osd("{\\\\an7\\\\pos(200,200)" + OsdSpace().fs(100) + "\\\\bord0\\\\shad0}" + ass_text("HHHH"))
    with_osd = settle()
    box["osd_h"] = ImageChops.difference(with_osd, without).getbbox()
    player.close()
    print(json.dumps(box))
""")


# Her RIGHT near the end of a film, on a machine with no GPU decoder and no sound card: libmpv
# probes decoders and audio outputs that are not there, and refuses the seeks once the film ends.
NOISE = textwrap.dedent("""
    import json, logging, sys, time
    from piclient.logs import RECENT
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media

    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger().addHandler(RECENT)
    player = MpvPlayer(audio_output="auto", hwdec="auto")
    player.load(Media(url=sys.argv[1], playable_id="ladder"))
    deadline = time.monotonic() + 20
    while not player.snapshot().position:
        assert time.monotonic() < deadline, "the film never started"
        player.poll_frame((960, 540))
        time.sleep(0.02)
    for _ in range(30):
        player.seek(30)
        player.poll_frame((960, 540))
        time.sleep(0.05)
    player.close()
    print(json.dumps([item["message"] for item in RECENT.items() if "no sound" not in item["message"]]))
""")

# After a hand-over film the launcher may take the display back only once mpv has closed its video
# output (it holds DRM master until then). The embedded output's "libmpv" output closes the same way.
VIDEO_OUTPUT = PLAYING + textwrap.dedent("""
    opened = player.video_output()
    player.stop()
    closed_in_time = player.wait_video_output_closed(10)
    print(json.dumps({"opened": opened, "closed": closed_in_time, "after": player.video_output()}))
    player.close()
""")


@pytest.mark.timeout(60)
def test_subtitles_stay_inside_the_title_safe_area_and_osd_letters_have_the_asked_size(
        ladder_server: StaticServer) -> None:
    box = json.loads(_child(TEXT_EDGES, ladder_server).stdout.strip().splitlines()[-1])
    left, top, right, bottom = box["subtitle"]
    assert left >= 96 and right <= 1920 - 96 and bottom <= 1080 - 54, box  # 5 % of each side at 1080p
    assert right - left > 1200  # the line did reach across: the margins, not a short line, keep it in
    # A capital H of Noto Sans at 100 px (pygame's size, the em) is about 73 px tall.
    _, top, _, bottom = box["osd_h"]
    assert 66 <= bottom - top <= 80, box


OSD_TEXT = FULL_HD_FRAMES + textwrap.dedent("""
    player._mpv["sub-visibility"] = False
    without = settle()
    boxes = []
    for overlay in json.loads(sys.stdin.read()):
        player.show_osd(overlay)
        boxes.append(ImageChops.difference(settle(), without).getbbox())
    player.close()
    print(json.dumps(boxes))
""")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("overscan", [0, 5])
def test_the_hand_over_overlay_keeps_its_text_inside_the_safe_area(
        ladder_server: StaticServer, tmp_path: Path, overscan: int) -> None:
    overlays = hand_over_overlays(tmp_path, overscan)
    # Only the words: panels and the pause sign's shapes (ASS drawings, \p1) may reach the edges.
    words = ["\n".join(line for line in overlay.splitlines() if r"\p1" not in line) for overlay in overlays]
    done = subprocess.run([sys.executable, "-c", OSD_TEXT, ladder_server.url + "master.m3u8"], input=json.dumps(words),
                          capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr[-3000:]
    from tests.ui.test_safe_area import safe_margin

    inset = safe_margin(overscan)
    safe = (round(1920 * inset), round(1080 * inset), 1920 - round(1920 * inset), 1080 - round(1080 * inset))
    for box in json.loads(done.stdout.strip().splitlines()[-1]):
        assert box is not None, "no text drawn: the measurement is broken"
        assert box[0] >= safe[0] and box[1] >= safe[1] and box[2] <= safe[2] and box[3] <= safe[3], (box, safe)


def hand_over_overlays(tmp_path: Path, overscan: int) -> list[str]:
    """What the launcher sends to mpv's OSD: paused with the info bar, legend and a notice; the countdown."""
    from tests.fake_player import FakePlayer
    from tests.ui.test_player_screen import Rig

    rig = Rig(tmp_path, FakePlayer(output="handover"), size=(1920, 1080), ui=f", overscan_percent: {overscan}")
    try:
        title = rig.app.ui.library.catalog.by_id["s"]
        rig.app.ui.play(title, title.episodes[0], 0.0)
        rig.player.start_playing(duration=1500, position=600)
        rig.player.set(sub_delay=0.3)
        rig.step()
        rig.key("ok")
        rig.key("red")
        rig.key("red")
        paused = rig.player.osd[-1]
        rig.key("ok")
        rig.step(20)
        rig.player.set(position=1499)
        rig.step()
        rig.player.fire("ended", reason="eof")
        rig.step()
        return [paused, rig.player.osd[-1]]
    finally:
        rig.app.close()
        pygame.display.quit()


def test_a_tv_that_crops_more_moves_subtitles_further_in() -> None:
    from piclient.player._mpv import safe_margins

    # mpv's scaled pixels: a 720-high screen, 1280 wide at 16:9.
    assert safe_margins() == {"sub_margin_x": 64, "sub_margin_y": 36, "osd_margin_x": 64, "osd_margin_y": 36}
    assert safe_margins(0.05)["sub_margin_x"] == 128 and safe_margins(0.05)["sub_margin_y"] == 72


@pytest.mark.timeout(60)
def test_probing_for_decoders_and_seeking_past_the_end_are_not_problems_of_the_box(
        ladder_server: StaticServer) -> None:
    problems = json.loads(_child(NOISE, ladder_server).stdout.strip().splitlines()[-1])
    assert problems == []


@pytest.mark.timeout(60)
def test_the_player_says_when_mpv_has_let_go_of_the_display(ladder_server: StaticServer) -> None:
    seen = json.loads(_child(VIDEO_OUTPUT, ladder_server).stdout.strip().splitlines()[-1])
    assert seen == {"opened": "libmpv", "closed": True, "after": None}


# A hand-over film whose screen cannot be had (here a DRM device that does not exist, as when the
# device has gone; in the VM also another program holding it: tests/hw): mpv would play on with sound
# only over a black TV. The player reports it once, with mpv's reason.
NO_SCREEN = textwrap.dedent("""
    import json, sys, threading, time
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media

    failed = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if event.kind == "display_failed":
            failed.set()

    player = MpvPlayer(output="handover", audio_output="null", hwdec="no", on_event=on_event)
    player._mpv["drm-device"] = "/nonexistent/card9"
    player.load(Media(url=sys.argv[1], playable_id="ladder"))
    assert failed.wait(20), [event.kind for event in events]
    time.sleep(0.5)  # a second report would come now
    print(json.dumps([event.detail for event in events if event.kind == "display_failed"]))
    player.close()
""")


@pytest.mark.timeout(60)
def test_a_handover_film_that_cannot_open_the_screen_is_reported_with_mpvs_reason(
        ladder_server: StaticServer) -> None:
    reports = json.loads(_child(NO_SCREEN, ladder_server).stdout.strip().splitlines()[-1])
    assert len(reports) == 1, reports
    print(reports[0]["error"])
    assert "vo/gpu" in reports[0]["error"], reports


# Paused, the subtitles stay lifted above the info bar (sub-pos, as the launcher sets it) and the
# pause sign shows in the middle: a two-line subtitle, each drawn alone against the film, paused.
LIFTED_SUBTITLE = FULL_HD_FRAMES + textwrap.dedent("""
    import pathlib, tempfile
    from piclient.ui.player_screen import SUB_POSITION_OVER_INFO

    srt = pathlib.Path(tempfile.mkdtemp()) / "two-lines.srt"
    cue = "어머니, 이 길로 가면 돼요\\n곧 해가 뜰 거예요"
    srt.write_text("1\\n00:00:00,000 --> 01:00:00,000\\n" + cue + "\\n", encoding="utf-8")
    player.add_subtitle(str(srt), "ko", "한국어", select=True)
    player.set_sub_position(SUB_POSITION_OVER_INFO)
    with_sub = settle()
    player._mpv["sub-visibility"] = False
    without = settle()
    box = {"subtitle": ImageChops.difference(with_sub, without).getbbox()}
    player.show_osd(sys.stdin.read())
    box["sign"] = ImageChops.difference(settle(), without).getbbox()
    player.close()
    print(json.dumps(box))
""")


@pytest.mark.timeout(90)
def test_a_paused_films_lifted_subtitle_stays_clear_of_the_pause_sign_and_the_info_bar(
        ladder_server: StaticServer, tmp_path: Path) -> None:
    from piclient.ui.player_overlay import OsdSpace, pause_sign_ass
    from tests.fake_player import FakePlayer
    from tests.ui.test_player_screen import Rig

    rig = Rig(tmp_path, FakePlayer(output="handover"), size=(1920, 1080))
    try:
        sign = "\n".join(pause_sign_ass(OsdSpace(), rig.app.ui))
        title = rig.app.ui.library.catalog.by_id["f"]
        rig.app.ui.play(title, None, 0.0)
        rig.player.start_playing(duration=1500, position=600)
        rig.step()
        rig.key("ok")  # paused: the info bar, its panel first
        panel_top = int(rig.player.osd[-1].split(r"\pos(", 1)[1].split(",", 1)[1].split(")", 1)[0])
    finally:
        rig.app.close()
        pygame.display.quit()
    done = subprocess.run([sys.executable, "-c", LIFTED_SUBTITLE, ladder_server.url + "master.m3u8"], input=sign,
                          capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr[-3000:]
    box = json.loads(done.stdout.strip().splitlines()[-1])
    subtitle, sign_box = box["subtitle"], box["sign"]
    assert subtitle is not None and sign_box is not None, "nothing drawn: the measurement is broken"
    assert subtitle[3] - subtitle[1] > 100, box  # two lines of 1.3x letters, not one
    assert sign_box[3] < subtitle[1], f"the pause sign reaches into the subtitle: {box}"
    assert subtitle[3] <= panel_top, f"the subtitle reaches into the info bar (its panel starts at {panel_top}): {box}"
