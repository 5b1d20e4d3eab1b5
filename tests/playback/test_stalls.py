"""A film whose picture stands still, reproduced with real libmpv and a 127.0.0.1 server that hangs.

The rules themselves (when she sees "just a moment", when it reloads, when it gives up) are tested on
a clock the test moves in tests/player/test_session.py; here the point is that real libmpv does freeze
this way and that the launcher notices it and gets out, whatever the machine's load.
"""

from __future__ import annotations

from typing import Any

import pytest

from piclient.demo.server import StaticServer
from tests.launcher import Launcher
from tests.playback.test_playback import play, playing, position

pytestmark = pytest.mark.timeout(240)


def variant(s: dict[str, Any]) -> dict[str, Any]:
    return playing(s).get("variant") or {}


def test_a_track_switch_whose_segments_never_arrive_is_noticed_and_recovered(tv: Launcher,
                                                                           server: StaticServer) -> None:
    play(tv, "long")
    start = tv.wait_for(lambda s: position(s) > 1 and variant(s).get("bitrate"), timeout=30)
    high = variant(start)["bitrate"]
    hanging = {"on": True}
    # The lower rung's segments never come: the server takes the request and says nothing.
    server.hold = lambda path: -1 if hanging["on"] and "/long/360p/" in path and path.endswith(".ts") else None
    server.throttle_bytes_per_s = 20_000  # a slow line, so the player steps down to that rung
    tv.wait_for(lambda s: variant(s).get("bitrate", high) < high, timeout=90)
    server.throttle_bytes_per_s = None
    waiting = tv.wait_for(lambda s: playing(s).get("stall", {}).get("waiting"), timeout=60)
    frozen_at = position(waiting)
    assert waiting["now_playing"]["phase"] == "playing"
    hanging["on"] = False  # new requests are answered again; the ones already held stay silent
    recovered = tv.wait_for(lambda s: s["now_playing"] is None or position(s) > frozen_at + 3, timeout=90)
    assert recovered["now_playing"] is not None, tv.log()[-3000:]
    assert any("stood still" in str(e["message"]) for e in recovered["errors"])
    assert "reloading" in tv.log()


def test_a_server_that_stops_sending_mid_segment_ends_calmly_with_the_cause(tv: Launcher,
                                                                         server: StaticServer) -> None:
    play(tv, "long")
    tv.wait_for(lambda s: position(s) > 1, timeout=30)
    # Every segment from now on stops after its first 20 kB, and the connection stays open.
    server.hold = lambda path: 20_000 if "/long/" in path and path.endswith(".ts") else None
    waiting = tv.wait_for(lambda s: playing(s).get("stall", {}).get("waiting"), timeout=60)
    assert waiting["now_playing"]["phase"] == "playing" and waiting["now_playing"]["paused"] is False
    status = tv.wait_for(lambda s: s["now_playing"] is None, timeout=150)
    assert status["overlay"]["notice"].startswith("지금은 이 작품을 볼 수 없어요")
    # The cause is in the recent errors: the watcher's last step, or mpv's own error on a reload.
    messages = [str(e["message"]) for e in status["errors"]]
    assert any("gave up" in m or "playback of long failed" in m for m in messages), messages
    films = {item["id"]: item for row in status["focus"]["rows"] for item in row["visible"]}
    assert films["long"]["watched"] is False
    assert tv.status()["screen"] == "home"
