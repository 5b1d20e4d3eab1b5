"""The TV's remote and the TV's power over a real HDMI-CEC bus (vivid), with the box's real libcec.

The box is a real `piclient tv` with CEC on; the TV is cec-follower, and its remote is cec-ctl.
What the box did is read from its debug log (one line per CEC key and per dispatched button) and
from its status; what the TV received is read from cec-follower's log.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from piclient.agent.heartbeat import cec_section
from piclient.agent.tvlink import TvLink
from piclient.demo.server import StaticServer
from tests.hw.box import Box, box_config
from tests.hw.cec_tv import PLAYBACK_1, Tv
from tests.waiting import wait_until

OSD_NAME = "Mum's TV box"
# cec-ctl's name for each key -> the button the launcher must see (piclient/remote/keymap.py).
KEYS = [
    ("select", "OK"), ("up", "UP"), ("down", "DOWN"), ("left", "LEFT"), ("right", "RIGHT"), ("back", "BACK"),
    ("enter", "OK"), *((f"number-{d}", str(d)) for d in range(1, 10)), ("number-0-or-number-10", "0"),
    ("display-information", "INFO"), ("play", "PLAY"), ("stop", "STOP"), ("pause", "PAUSE"),
    ("rewind", "RW"), ("fast-forward", "FF"), ("pause-play-function", "PLAYPAUSE"),
    ("f1-blue", "BLUE"), ("f2-red", "RED"), ("f3-green", "GREEN"), ("f4-yellow", "YELLOW"),
]


@pytest.fixture
def tv(results: Path) -> Iterator[Tv]:
    tv = Tv(results)
    yield tv
    tv.stop()


@pytest.fixture
def start_box(tmp_path: Path) -> Iterator[Callable[..., Box]]:
    boxes: list[Box] = []

    def start(source: str, **config: Any) -> Box:
        box = Box(tmp_path, box_config(tmp_path, source, osd_name=OSD_NAME, **config))
        boxes.append(box)
        return box

    yield start
    for box in boxes:
        box.stop()


def cec_open(box: Box) -> dict[str, Any]:
    return box.wait_for(lambda s: (s["cec"] or {}).get("adapter") == "open", timeout=60)


def pressed(box: Box) -> list[str]:
    return re.findall(r"HDMI-CEC key 0x[0-9a-f]{2} pressed: (\w+)", box.log())


def dispatched(box: Box) -> list[str]:
    """The buttons the launcher acted on, in order; repeats marked with a '+'."""
    return [name + ("+" if repeat else "") for name, repeat in
            re.findall(r"button (\w+)( \(repeat\))? from cec", box.log())]


def from_the_box(tv_log: str) -> list[str]:
    """Opcodes the TV received from the box (cec-follower -m: 'Received from Playback Device 1 ...: NAME')."""
    return re.findall(r"Received from Playback Device 1[^:]*: ([A-Z_]+)", tv_log)


def test_the_box_announces_itself_without_waking_the_tv_and_works_once_the_tv_is_on(
        tv: Tv, start_box: Callable[..., Box]) -> None:
    tv.start(standby=True)
    box = start_box("")
    status = cec_open(box)
    assert "logical address 4" in status["cec"]["detail"]
    assert tv.osd_name_of(PLAYBACK_1) == OSD_NAME
    assert tv.device_type_of(PLAYBACK_1) == "playback"
    wait_until(lambda: box.status()["cec"]["tv_power"] == "standby", 30, "the box to learn the TV is in standby")
    # The box neither woke the TV nor took its input: no <Image View On>, no <Active Source>.
    received = from_the_box(tv.received())
    assert "IMAGE_VIEW_ON" not in received and "TEXT_VIEW_ON" not in received
    assert "ACTIVE_SOURCE" not in received
    assert box.status()["cec"]["active_source"] is not True

    tv.come_on()
    tv.key("down")
    wait_until(lambda: pressed(box) == ["DOWN"], 20, "the first key after the TV came on")
    assert box.status()["cec"]["tv_power"] == "on"


def test_every_key_of_the_remote_reaches_the_right_button_exactly_once(tv: Tv, start_box: Callable[..., Box]) -> None:
    tv.start()
    box = start_box("")  # no catalog: the keys change nothing that costs time
    cec_open(box)
    for n, (ui_cmd, button) in enumerate(KEYS, 1):
        tv.key(ui_cmd)
        wait_until(lambda n=n: len(pressed(box)) >= n, 20, f"{ui_cmd} to arrive")
        assert pressed(box)[n - 1] == button, f"{ui_cmd} arrived as {pressed(box)[n - 1]}"
    # A last key as a marker: nothing arrived twice before it.
    tv.key("up")
    wait_until(lambda: len(pressed(box)) == len(KEYS) + 1, 20, "the marker key")
    assert pressed(box) == [button for _, button in KEYS] + ["UP"]


def test_stop_arrives_as_a_press_at_once_not_after_the_combo_key_delay(tv: Tv, start_box: Callable[..., Box]) -> None:
    tv.start()
    box = start_box("")
    cec_open(box)
    tv.press("stop")  # and no release yet: with STOP as libcec's combo key the press never comes
    wait_until(lambda: pressed(box) == ["STOP"], 10, "STOP's press before its release")
    tv.release()


def _hold(tv: Tv, ui_cmd: str, presses: int, every_s: float = 0.3) -> None:
    """A held key as a CEC remote sends it: the same <User Control Pressed> again every few 100 ms."""
    for _ in range(presses):
        started = time.monotonic()
        tv.press(ui_cmd)
        time.sleep(max(0.0, every_s - (time.monotonic() - started)))


def _repeats_stopped(tv: Tv, box: Box, held: str) -> bool:
    """Two marker keys in a row with no repeat of ``held`` between them: the repeating has stopped."""
    def marker_count() -> int:
        return dispatched(box).count("INFO")

    for _ in range(10):
        before = marker_count()
        tv.key("display-information")
        wait_until(lambda b=before: marker_count() > b, 20, "a marker key")
        seen = dispatched(box)
        last_two = [i for i, name in enumerate(seen) if name == "INFO"][-2:]
        if len(last_two) == 2 and f"{held}+" not in seen[last_two[0]:last_two[1]]:
            return True
    return False


def test_a_held_arrow_repeats_and_stops_when_released(tv: Tv, start_box: Callable[..., Box],
                                                      server: StaticServer) -> None:
    tv.start()
    box = start_box(server.url + "catalog.json")
    box.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] > 0, timeout=60)
    cec_open(box)
    _hold(tv, "right", presses=8)
    tv.release()
    assert dispatched(box).count("RIGHT+") >= 2, dispatched(box)
    assert _repeats_stopped(tv, box, "RIGHT")


def test_a_held_arrow_stops_repeating_when_its_release_is_lost(tv: Tv, start_box: Callable[..., Box],
                                                               server: StaticServer) -> None:
    tv.start()
    box = start_box(server.url + "catalog.json")
    box.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] > 0, timeout=60)
    cec_open(box)
    _hold(tv, "right", presses=8)  # and the release never comes
    assert dispatched(box).count("RIGHT+") >= 2, dispatched(box)
    assert _repeats_stopped(tv, box, "RIGHT")


def _saved_position(box: Box, playable: str) -> float | None:
    with sqlite3.connect(f"file:{box.directory / 'data' / 'state.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT position FROM progress WHERE id = ?", (playable,)).fetchone()
    return row[0] if row else None


def _playing(box: Box) -> dict[str, Any]:
    return box.wait_for(lambda s: ((s.get("now_playing") or {}).get("position") or 0) > 1, timeout=90)


def test_the_tv_power_and_input_on_the_bus_drive_the_film_and_the_heartbeat(
        tv: Tv, start_box: Callable[..., Box], server: StaticServer) -> None:
    tv.start()
    box = start_box(server.url + "catalog.json")
    box.wait_for(lambda s: s["catalog"]["titles"] > 0, timeout=60)
    cec_open(box)
    tv.mark()
    assert box.request("play", id="long")["ok"]
    _playing(box)
    # A film starting makes the box the active source, on the bus and in the heartbeat.
    wait_until(lambda: "ACTIVE_SOURCE" in from_the_box(tv.received_since_mark()), 20, "<Active Source> on the bus")
    link = TvLink(box.directory / "tv.sock", timeout_s=20, unit_state=lambda _unit: None)
    wait_until(lambda: (cec_section(link.probe()) or {}).get("active_source") is True, 20, "the heartbeat's source")
    assert cec_section(link.probe())["tv_power"] == "on"

    # The TV goes to standby: the film pauses and her place is saved; the heartbeat says standby.
    tv.go_to_standby()
    status = box.wait_for(lambda s: s["now_playing"]["paused"], timeout=20)
    position = status["now_playing"]["position"]
    wait_until(lambda: (_saved_position(box, "long") or 0) >= position - 1, 10, "her place saved")
    section = cec_section(link.probe())
    assert section["tv_power"] == "standby" and section["active_source"] is None

    # It comes back: the film stays paused until she presses play.
    tv.come_on()
    wait_until(lambda: cec_section(link.probe())["tv_power"] == "on", 20, "the heartbeat's TV power")
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
    assert cec_section(link.probe())["active_source"] is False
    link.close()


def test_an_adapter_that_goes_away_and_comes_back_is_reopened_without_a_restart(
        tv: Tv, start_box: Callable[..., Box]) -> None:
    tv.start()
    box = start_box("")
    cec_open(box)
    driver = Path("/sys/bus/platform/drivers/vivid")
    device = next(p.name for p in driver.iterdir() if p.name.startswith("vivid."))
    tv.stop()
    (driver / "unbind").write_text(device)
    box.wait_for(lambda s: s["cec"]["adapter"] != "open", timeout=30)
    (driver / "bind").write_text(device)
    wait_until(lambda: Path("/dev/cec1").exists(), 10, "vivid's CEC devices back")
    tv.ctl("--tv", "--osd-name", "TV")
    tv.start()
    cec_open(box)
    tv.key("down")
    wait_until(lambda: pressed(box)[-1:] == ["DOWN"], 20, "a key after the adapter came back")
    assert box.process.poll() is None
