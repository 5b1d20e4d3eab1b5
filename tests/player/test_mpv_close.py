"""Closing the real libmpv player while a film plays, then calling it again, must not crash.

python-mpv sends async commands to a handle that ``terminate()`` has freed, so a late call used to be
a use after free: the launcher died with SIGSEGV on the way out, now and then. The child process
keeps a crash from taking pytest with it, and its exit status says what happened.
"""

import subprocess
import sys
import textwrap

import pytest

from piclient.demo.server import StaticServer

pytest.importorskip("mpv")

CHILD = textwrap.dedent("""
    import sys, time
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media

    player = MpvPlayer(audio_output="null", hwdec="no")
    player.load(Media(url=sys.argv[1], playable_id="ladder"))
    deadline = time.monotonic() + 20
    while (player.snapshot().position or 0) <= 0.5:
        assert time.monotonic() < deadline, "the film never started"
        player.poll_frame((320, 180))
        time.sleep(0.02)
    player.close()
    # Everything the launcher's shutdown path might still call, many times over.
    for _ in range(200):
        player.stop()
        player.set_pause(True)
        player.seek(5)
        assert player.screenshot() is None
        assert player.poll_frame((320, 180)) is False
    player.close()
    print("closed cleanly")
""")


@pytest.mark.timeout(60)
def test_a_closed_player_ignores_calls_instead_of_crashing(ladder_server: StaticServer) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, ladder_server.url + "master.m3u8"],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "closed cleanly" in done.stdout
