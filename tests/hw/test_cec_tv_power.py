"""The TV's power and input, seen on a real HDMI-CEC bus (vivid), drive the film and the heartbeat.

The box is a real `piclient tv` with CEC on and a film playing; the TV is cec-follower and cec-ctl.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from piclient.demo.server import StaticServer
from tests.hw.box import Box, box_config, cec_open, heartbeat
from tests.hw.cec_tv import Tv, from_the_box
from tests.hw.conftest import RESULTS
from tests.waiting import wait_until


@pytest.fixture
def film_box(tv: Tv, tmp_path: Path, server: StaticServer) -> Iterator[Box]:
    tv.start()
    # A small window: films are drawn in software here, and at full size in emulation the launcher's
    # loop would be too busy to answer.
    box = Box(tmp_path, box_config(tmp_path, server.url + "catalog.json", window=(320, 180)),
              keep_log=RESULTS / "cec" / "film-box.log")
    yield box
    box.stop()


def _saved_position(box: Box, playable: str) -> float | None:
    with sqlite3.connect(f"file:{box.directory / 'data' / 'state.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT position FROM progress WHERE id = ?", (playable,)).fetchone()
    return row[0] if row else None


def _playing(box: Box) -> dict[str, Any]:
    return box.wait_for(lambda s: ((s.get("now_playing") or {}).get("position") or 0) > 1, timeout=90)


def test_the_tv_power_and_input_on_the_bus_drive_the_film_and_the_heartbeat(tv: Tv, film_box: Box) -> None:
    box = film_box
    box.wait_for(lambda s: s["catalog"]["titles"] > 0, timeout=60)
    cec_open(box)
    tv.mark()
    assert box.request("play", id="long")["ok"]
    _playing(box)
    # A film starting makes the box the active source, on the bus and in the heartbeat.
    wait_until(lambda: "ACTIVE_SOURCE" in from_the_box(tv.received_since_mark()), 20, "<Active Source> on the bus")
    wait_until(lambda: (heartbeat(box)["cec"] or {}).get("active_source") is True, 20, "the heartbeat's source")
    assert heartbeat(box)["cec"]["tv_power"] == "on"

    # The TV goes to standby: the film pauses and her place is saved; the heartbeat says standby.
    tv.go_to_standby()
    status = box.wait_for(lambda s: s["now_playing"]["paused"], timeout=20)
    position = status["now_playing"]["position"]
    wait_until(lambda: (_saved_position(box, "long") or 0) >= position - 1, 10, "her place saved")
    section = heartbeat(box)["cec"]
    assert section["tv_power"] == "standby" and section["active_source"] is None

    # It comes back: the film stays paused until she presses play.
    tv.come_on()
    wait_until(lambda: heartbeat(box)["cec"]["tv_power"] == "on", 20, "the heartbeat's TV power")
    assert box.status()["now_playing"]["paused"] is True
    tv.key("play")
    box.wait_for(lambda s: not s["now_playing"]["paused"], timeout=20)

    # Switched off again within 10 s of the first standby (libcec forwards only one per 10 s).
    tv.go_to_standby()
    box.wait_for(lambda s: s["now_playing"]["paused"], timeout=20)

    # Back on, playing, then the TV switches to its own tuner: reported, and the film pauses.
    tv.come_on()
    tv.key("play")
    box.wait_for(lambda s: not s["now_playing"]["paused"], timeout=20)
    tv.switch_to_own_tuner()
    box.wait_for(lambda s: s["now_playing"]["paused"] and s["cec"]["active_source"] is False, timeout=20)
    assert any(e["kind"] == "input_switched_away" for e in box.status()["cec_events"])
    assert heartbeat(box)["cec"]["active_source"] is False
