"""KeyRepeater driven by timed input scripts, ticked the way the launcher's main loop ticks it.

Times are sums of powers of two (delay 0.5 s, interval 0.125 s, ticks every 1/64 s) so float arithmetic
is exact and every expected timestamp can be written down literally.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from piclient.config.schema import RemoteConfig
from piclient.remote.buttons import Button
from piclient.remote.repeat import ButtonEvent, KeyRepeater

DELAY = 0.5
INTERVAL = 0.125
KEEPALIVE = 0.625  # what CEC sources pass; keyboards pass None
STEP = 1 / 64


@dataclass(frozen=True)
class Press:
    at: float
    button: Button
    source: str = "cec"
    keepalive: float | None = None


@dataclass(frozen=True)
class Release:
    at: float
    button: Button
    source: str = "cec"


def run(script: list[Press | Release], until: float, step: float = STEP) -> list[tuple[float, str, bool]]:
    """Apply the script and tick every ``step`` up to ``until``; return (time, button, repeat) events."""
    repeater = KeyRepeater(DELAY, INTERVAL)
    pending = sorted(script, key=lambda item: item.at)
    events: list[tuple[float, str, bool]] = []
    for k in range(int(until / step) + 1):
        now = k * step
        while pending and pending[0].at <= now:
            item = pending.pop(0)
            if isinstance(item, Press):
                produced = repeater.press(item.button, item.source, item.at, item.keepalive)
                events += [(item.at, e.button.value, e.repeat) for e in produced]
            else:
                repeater.release(item.button, item.source, item.at)
        events += [(now, e.button.value, e.repeat) for e in repeater.tick(now)]
    return events


def repeats_between(start: float, stop: float) -> list[float]:
    """The steady grid: first repeat at start, then every INTERVAL while < stop."""
    times, t = [], start
    while t < stop:
        times.append(t)
        t += INTERVAL
    return times


def test_a_single_press_moves_exactly_once():
    events = run([Press(0.0, Button.UP), Release(0.25, Button.UP)], until=3.0)
    assert events == [(0.0, "up", False)]


def test_a_press_reports_its_event_at_once_with_its_source():
    repeater = KeyRepeater(DELAY, INTERVAL)
    assert repeater.press(Button.OK, "keyboard", 10.0) == [ButtonEvent(Button.OK, repeat=False, source="keyboard")]


def test_a_held_arrow_repeats_after_the_delay_then_at_a_steady_interval():
    events = run([Press(0.0, Button.DOWN, "keyboard"), Release(2.0, Button.DOWN, "keyboard")], until=4.0)
    assert events[0] == (0.0, "down", False)
    assert [t for t, _, repeat in events[1:] if repeat] == repeats_between(0.5, 2.0)
    assert len(events) == 1 + len(repeats_between(0.5, 2.0))


def test_the_scroll_rate_ignores_how_often_the_tv_resends_the_held_key():
    # A TV resending every 0.25 s and one resending at irregular gaps must scroll identically.
    regular = [Press(t * 0.25, Button.RIGHT, keepalive=KEEPALIVE) for t in range(8)]
    irregular = [Press(t, Button.RIGHT, keepalive=KEEPALIVE) for t in (0.0, 0.0625, 0.5, 0.875, 1.25, 1.75)]
    expected = [(0.0, "right", False)] + [(t, "right", True) for t in repeats_between(0.5, 2.0)]
    assert run([*regular, Release(2.0, Button.RIGHT)], until=4.0) == expected
    assert run([*irregular, Release(2.0, Button.RIGHT)], until=4.0) == expected


def test_repeats_sent_as_fresh_presses_are_keepalives_not_new_presses():
    script = [Press(t * 0.25, Button.UP, keepalive=KEEPALIVE) for t in range(4)] + [Release(1.0, Button.UP)]
    events = run(script, until=2.0)
    assert [e for e in events if not e[2]] == [(0.0, "up", False)]


def test_a_lost_release_stops_the_scroll_when_the_keepalive_runs_out():
    # Last resend at 0.5 s, keepalive 0.625 s: held until 1.125 s, so the repeat due then is not sent.
    script = [Press(0.0, Button.UP, keepalive=KEEPALIVE), Press(0.25, Button.UP, keepalive=KEEPALIVE)]
    script.append(Press(0.5, Button.UP, keepalive=KEEPALIVE))
    events = run(script, until=5.0)
    assert events == [(0.0, "up", False)] + [(t, "up", True) for t in (0.5, 0.625, 0.75, 0.875, 1.0)]


def test_after_a_lost_release_the_next_press_of_the_same_key_is_a_new_press():
    script = [Press(0.0, Button.OK, keepalive=KEEPALIVE), Press(3.0, Button.OK, keepalive=KEEPALIVE)]
    assert run(script, until=4.0) == [(0.0, "ok", False), (3.0, "ok", False)]


def test_a_repeat_due_exactly_when_the_keepalive_runs_out_is_not_sent():
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.press(Button.LEFT, "cec", 0.0, keepalive_timeout_s=DELAY)
    assert repeater.tick(DELAY) == []
    assert repeater.held is None


def test_a_late_tick_after_the_keepalive_ran_out_sends_nothing():
    # Repeats fell due at 0.5 s while the key was still held, but nobody ticked until 2 s.
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.press(Button.UP, "cec", 0.0, keepalive_timeout_s=KEEPALIVE)
    assert repeater.tick(2.0) == []


def test_keepalives_keep_a_cec_key_held_for_as_long_as_they_come():
    script = [Press(t * 0.375, Button.DOWN, keepalive=KEEPALIVE) for t in range(9)]  # up to 3.0 s
    events = run([*script, Release(3.5, Button.DOWN)], until=5.0)
    assert [t for t, _, repeat in events if repeat] == repeats_between(0.5, 3.5)


def test_keyboard_keys_without_a_keepalive_timeout_repeat_until_released():
    events = run([Press(0.0, Button.UP, "keyboard"), Release(10.0, Button.UP, "keyboard")], until=12.0)
    assert events[-1] == (10.0 - INTERVAL, "up", True)
    assert len(events) == 1 + len(repeats_between(0.5, 10.0))


@pytest.mark.parametrize("button", [Button.OK, Button.BACK, Button.PLAYPAUSE, Button.STOP, Button.RED])
def test_a_held_non_repeating_button_fires_once(button):
    script = [Press(t * 0.25, button, keepalive=KEEPALIVE) for t in range(12)] + [Release(3.0, button)]
    assert run(script, until=5.0) == [(0.0, button.value, False)]


def test_a_non_repeating_button_released_and_pressed_again_fires_twice():
    script = [Press(0.0, Button.OK), Release(0.125, Button.OK), Press(0.25, Button.OK), Release(0.375, Button.OK)]
    assert run(script, until=1.0) == [(0.0, "ok", False), (0.25, "ok", False)]


@pytest.mark.parametrize("button", [Button.FF, Button.RW, Button.LEFT, Button.RIGHT])
def test_seek_and_arrow_buttons_repeat(button):
    events = run([Press(0.0, button, "keyboard"), Release(0.75, button, "keyboard")], until=1.0)
    assert events == [(0.0, button.value, False), (0.5, button.value, True), (0.625, button.value, True)]


def test_a_late_tick_emits_one_repeat_not_a_burst():
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.press(Button.DOWN, "keyboard", 0.0)
    assert len(repeater.tick(3.0)) == 1
    assert repeater.tick(3.0) == []
    assert repeater.tick(3.0625) == []
    assert repeater.tick(3.125) == [ButtonEvent(Button.DOWN, repeat=True, source="keyboard")]


def test_a_slightly_late_tick_keeps_the_rhythm():
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.press(Button.DOWN, "keyboard", 0.0)
    assert len(repeater.tick(0.53125)) == 1  # due at 0.5
    assert repeater.tick(0.59375) == []
    assert len(repeater.tick(0.625)) == 1  # still on the 0.125 grid, not 0.53125 + 0.125


def test_ticks_before_the_delay_emit_nothing():
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.press(Button.UP, "keyboard", 0.0)
    assert [repeater.tick(t) for t in (0.0, 0.125, 0.25, 0.484375)] == [[], [], [], []]


def test_a_different_button_ends_the_held_one_and_starts_its_own_delay():
    script = [Press(0.0, Button.UP, "keyboard"), Press(0.25, Button.DOWN, "keyboard")]
    script.append(Release(1.0, Button.DOWN, "keyboard"))
    events = run(script, until=2.0)
    assert events == [(0.0, "up", False), (0.25, "down", False), (0.75, "down", True), (0.875, "down", True)]


def test_the_stale_release_of_a_replaced_key_does_not_stop_the_new_one():
    script = [Press(0.0, Button.UP), Press(0.25, Button.DOWN), Release(0.375, Button.UP), Release(1.0, Button.DOWN)]
    events = run(script, until=2.0)
    assert [e for e in events if e[2]] == [(0.75, "down", True), (0.875, "down", True)]


def test_a_release_of_a_key_that_is_not_held_is_ignored():
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.release(Button.UP, "cec", 0.0)
    assert repeater.held is None
    repeater.press(Button.UP, "cec", 0.0)
    repeater.release(Button.UP, "keyboard", 0.125)  # same button, other remote
    assert repeater.held == (Button.UP, "cec")
    assert len(repeater.tick(0.5)) == 1


def test_the_same_button_from_another_remote_is_a_new_press():
    repeater = KeyRepeater(DELAY, INTERVAL)
    repeater.press(Button.UP, "cec", 0.0)
    assert repeater.press(Button.UP, "keyboard", 0.25) == [ButtonEvent(Button.UP, repeat=False, source="keyboard")]
    assert repeater.tick(0.5) == []  # the keyboard press restarted the delay
    assert repeater.tick(0.75) == [ButtonEvent(Button.UP, repeat=True, source="keyboard")]


def test_next_deadline_tells_the_main_loop_when_to_wake():
    repeater = KeyRepeater(DELAY, INTERVAL)
    assert repeater.next_deadline() is None
    repeater.press(Button.UP, "keyboard", 1.0)
    assert repeater.next_deadline() == 1.5
    repeater.tick(1.5)
    assert repeater.next_deadline() == 1.625
    repeater.press(Button.OK, "cec", 2.0, keepalive_timeout_s=KEEPALIVE)
    assert repeater.next_deadline() == 2.625  # OK never repeats; only its keepalive matters
    repeater.release(Button.OK, "cec", 2.25)
    assert repeater.next_deadline() is None


def test_the_repeater_reads_its_timing_from_the_config():
    repeater = KeyRepeater.from_config(RemoteConfig(repeat_delay_ms=250, repeat_interval_ms=125))
    repeater.press(Button.UP, "keyboard", 0.0)
    assert repeater.tick(0.125) == []
    assert len(repeater.tick(0.25)) == 1
    assert len(repeater.tick(0.375)) == 1


@pytest.mark.parametrize(("delay", "interval"), [(0.0, 0.1), (0.4, 0.0), (-1.0, 0.1)])
def test_a_zero_or_negative_timing_is_refused(delay, interval):
    with pytest.raises(ValueError):
        KeyRepeater(delay, interval)
