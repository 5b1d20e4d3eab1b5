"""The TV's remote and the TV's power over a real HDMI-CEC bus (vivid), with the box's real libcec.

The box is a real `piclient tv` with CEC on; the TV is cec-follower, and its remote is cec-ctl.
What the box did is read from its debug log (one line per CEC key and per dispatched button) and
from its status; what the TV received is read from cec-follower's log.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hw.box import OSD_NAME, Box, cec_open, dispatched, pressed
from tests.hw.cec_tv import BOX_ADAPTER, BOX_DEVICE, PLAYBACK_1, TV_ADAPTER, TV_DEVICE, Tv, from_the_box, vivid_device
from tests.waiting import wait_until

# cec-ctl's name for each key -> the button the launcher must see (piclient/remote/keymap.py).
KEYS = [
    ("select", "OK"), ("up", "UP"), ("down", "DOWN"), ("left", "LEFT"), ("right", "RIGHT"), ("back", "BACK"),
    ("enter", "OK"), *((f"number-{d}", f"DIGIT_{d}") for d in range(1, 10)), ("number-0-or-number-10", "DIGIT_0"),
    ("display-information", "INFO"), ("play", "PLAY"), ("stop", "STOP"), ("pause", "PAUSE"),
    ("rewind", "RW"), ("fast-forward", "FF"), ("pause-play-function", "PLAYPAUSE"),
    ("f1-blue", "BLUE"), ("f2-red", "RED"), ("f3-green", "GREEN"), ("f4-yellow", "YELLOW"),
]


def test_the_box_announces_itself_without_waking_the_tv_and_works_once_the_tv_is_on(tv: Tv, box: Box) -> None:
    # The box (tests/hw/conftest.py) was started while the TV was in standby, and has no films.
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
    wait_until(lambda: pressed(box)[-1:] == ["DOWN"], 20, "the first key after the TV came on")
    assert pressed(box) == ["DOWN"]
    assert box.status()["cec"]["tv_power"] == "on"


def test_every_key_of_the_remote_reaches_the_right_button_exactly_once(tv: Tv, box: Box) -> None:
    tv.start()
    cec_open(box)
    start = len(pressed(box))
    for n, (ui_cmd, button) in enumerate(KEYS, start + 1):
        tv.key(ui_cmd)
        wait_until(lambda n=n: len(pressed(box)) >= n, 20, f"{ui_cmd} to arrive")
        assert pressed(box)[n - 1] == button, f"{ui_cmd} arrived as {pressed(box)[n - 1]}"
    # A last key as a marker: nothing arrived twice before it.
    tv.key("up")
    wait_until(lambda: len(pressed(box)) >= start + len(KEYS) + 1, 20, "the marker key")
    assert pressed(box)[start:] == [button for _, button in KEYS] + ["UP"]


def test_stop_arrives_as_a_press_at_once_not_after_the_combo_key_delay(tv: Tv, box: Box) -> None:
    tv.start()
    cec_open(box)
    before = pressed(box).count("STOP")
    tv.press("stop")  # and no release yet: with STOP as libcec's combo key the press never comes
    wait_until(lambda: pressed(box).count("STOP") == before + 1, 10, "STOP's press before its release")
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


@pytest.mark.parametrize(("ui_cmd", "button", "released"), [("right", "RIGHT", True), ("left", "LEFT", False)],
                         ids=["released", "release-lost"])
def test_a_held_arrow_repeats_and_stops_when_released_or_when_its_release_is_lost(
        tv: Tv, box: Box, ui_cmd: str, button: str, released: bool) -> None:
    tv.start()
    cec_open(box)
    before = dispatched(box).count(f"{button}+")
    _hold(tv, ui_cmd, presses=8)
    if released:
        tv.release()
    assert dispatched(box).count(f"{button}+") >= before + 2, dispatched(box)
    assert _repeats_stopped(tv, box, button)


def test_an_adapter_that_goes_away_and_comes_back_is_reopened_without_a_restart(tv: Tv, box: Box) -> None:
    tv.start()
    cec_open(box)
    driver = Path("/sys/bus/platform/drivers/vivid")
    device = next(p.name for p in driver.iterdir() if p.name.startswith("vivid."))
    tv.stop()
    (driver / "unbind").write_text(device)
    # Noticed, and libcec closed its descriptor: vivid comes back with the same device numbers.
    box.wait_for(lambda s: s["cec"]["adapter"] != "open", timeout=30)
    (driver / "bind").write_text(device)
    wait_until(lambda: vivid_device(BOX_ADAPTER) == BOX_DEVICE, 20, "vivid's box side back")
    assert vivid_device(TV_ADAPTER) == TV_DEVICE
    tv.ctl("--tv", "--osd-name", "TV")
    tv.start()
    cec_open(box)
    tv.key("down")
    wait_until(lambda: pressed(box)[-1:] == ["DOWN"], 20, "a key after the adapter came back")
    assert box.process.poll() is None
