"""Live mode trusts the server's clock, not the box's, and clamps what the server asks for."""

from __future__ import annotations

import email.utils
import time

from piclient.agent.live import MAX_LIVE_S, LiveMode
from piclient.agent.transport import Reply


def reply_dated(server_now: float) -> Reply:
    return Reply(200, b"{}", {"Date": email.utils.formatdate(server_now, usegmt=True)})


def live_mode(box_clock_offset: float = 0.0) -> LiveMode:
    return LiveMode(wall=lambda: time.time() + box_clock_offset)


def test_live_mode_lasts_until_the_servers_until_even_when_the_box_clock_is_a_day_off() -> None:
    live = live_mode(box_clock_offset=-86400)
    now = time.time()
    live.update({"until": now + 60, "poll_seconds": 1, "screenshot_seconds": 3}, reply_dated(now))
    assert live.active()
    assert live.screenshot_interval() == 3


def test_a_reply_saying_live_null_ends_live_mode_at_once() -> None:
    live = live_mode()
    live.update({"until": time.time() + 60})
    live.update(None)
    assert not live.active()
    assert live.screenshot_interval() is None


def test_server_values_are_clamped_so_a_bad_reply_cannot_keep_the_box_busy() -> None:
    live = live_mode()
    live.update({"until": time.time() + 10 * 86400, "poll_seconds": 0, "screenshot_seconds": 0.01})
    assert live.screenshot_interval() == 1.0
    assert live._until - time.monotonic() <= MAX_LIVE_S
    live.update({"until": "soon"})
    assert live.active()  # garbage changes nothing


def test_an_until_in_the_past_does_not_start_live_mode() -> None:
    live = live_mode()
    live.update({"until": time.time() - 5})
    assert not live.active()
