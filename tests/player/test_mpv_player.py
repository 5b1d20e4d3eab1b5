"""MpvPlayer against real libmpv, each case in a child process.

A child keeps a crash in native code from taking pytest with it, and one process per libmpv instance
follows the rule the launcher lives by (creating and terminating instances in one process has
crashed python-mpv).
"""

import json
import subprocess
import sys
import textwrap

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
