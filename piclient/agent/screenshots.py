"""Screenshots from the launcher: on a schedule while the TV is on, on demand, on new errors, and live.

Scheduled, demand and error pictures go through the spool like everything else. Live pictures are
sent directly and dropped on failure: a picture of the screen a minute ago is worthless to someone
pressing keys now, and it would only push real records out of a full spool.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from piclient.agent.live import LiveMode
from piclient.agent.spool import Spool
from piclient.agent.transport import Transport, TransportError
from piclient.agent.tvlink import TvLink, TvState
from piclient.control.client import ControlUnavailable

log = logging.getLogger(__name__)

PATH = "/api/v1/screenshots"
ERROR_SHOT_GAP_S = 30.0  # an error storm gives one picture, not one per error
IDLE_WAIT_S = 3600.0
# After a key from the dashboard: one picture at once (the launcher paints before it answers a
# screenshot, so the moved focus is in it), one a second later for what takes longer (a seek, a
# poster, a film starting). Keys in quick succession share these pictures.
AFTER_INPUT_S = (0.0, 1.0)


class Screenshots:
    def __init__(self, tv: TvLink, spool: Spool, transport: Transport, live: LiveMode,
                 wake_uplink: Callable[[], None], interval_s: float,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.tv = tv
        self.spool = spool
        self.transport = transport
        self.live = live
        self.wake_uplink = wake_uplink
        self.interval_s = interval_s
        self.tv_state: TvState | None = None  # the heartbeat loop's latest probe, via observe()
        self.wake: Callable[[], None] = lambda: None  # set to the loop's wake by main
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._error_pending = False
        self._next_schedule = 0.0
        self._next_live = 0.0
        self._last_error_shot = -ERROR_SHOT_GAP_S
        self._urgent: list[float] = []  # monotonic times of pictures the maintainer waits for
        self.taken: dict[str, int] = {}

    def after_input(self) -> None:
        """The maintainer pressed a key or opened the box's page: send what the TV shows now."""
        now = self._clock()
        with self._lock:
            due = [now + delay for delay in AFTER_INPUT_S]
            # A picture already due within 0.3 s of one of these covers it.
            self._urgent = sorted(self._urgent + [t for t in due if all(abs(t - u) > 0.3 for u in self._urgent)])
        self.wake()

    def request_error_shot(self) -> None:
        with self._lock:
            self._error_pending = True
        self.wake()

    def observe(self, state: TvState) -> None:
        """The heartbeat loop's latest probe; a TV that just came on gets its picture now."""
        was_on = self.tv_on()
        self.tv_state = state
        if self.tv_on() and not was_on:
            self.wake()

    def tv_on(self) -> bool:
        """The launcher answers and the TV is not known to be in standby."""
        state = self.tv_state
        if state is None or not state.running:
            return False
        cec = state.status.cec
        return not (isinstance(cec, dict) and cec.get("tv_power") == "standby")

    def step(self) -> float:
        now = self._clock()
        with self._lock:
            error_due = self._error_pending and now - self._last_error_shot >= ERROR_SHOT_GAP_S
            if error_due:
                self._error_pending = False
                self._last_error_shot = now
        if error_due:
            self.take("error")
        with self._lock:
            urgent_due = bool(self._urgent) and self._urgent[0] <= now
            self._urgent = [t for t in self._urgent if t > now]
        if urgent_due:
            # Sent directly like live pictures: one that arrives late is worthless.
            self.take("live")
            now = self._clock()
            self._next_live = now + (self.live.screenshot_interval() or 0.0)
        live_every = self.live.screenshot_interval()
        waits: list[float] = []
        if live_every is not None:
            if now >= self._next_live:
                self.take("live")
                self._next_live = now + live_every
                self._next_schedule = now + self.interval_s
            waits.append(self._next_live - now)
        elif self.interval_s > 0:
            if now >= self._next_schedule and self.tv_on():
                self.take("schedule")
                self._next_schedule = now + self.interval_s
            # While the TV is off, observe() wakes the loop when it comes on.
            waits.append(self._next_schedule - now if now < self._next_schedule else IDLE_WAIT_S)
        with self._lock:
            if self._error_pending:
                waits.append(self._last_error_shot + ERROR_SHOT_GAP_S - now)
            if self._urgent:
                waits.append(self._urgent[0] - now)
        return max(0.0, min(waits, default=IDLE_WAIT_S))

    def take(self, reason: str) -> dict[str, Any] | None:
        """Take one picture and queue (or, live, send) it; None when the launcher gave none."""
        try:
            image = self.tv.screenshot()
        except ControlUnavailable as exc:
            log.log(logging.DEBUG if reason == "live" else logging.INFO, "no %s screenshot: %s", reason, exc)
            return None
        record_id = uuid.uuid4().hex
        headers = {"X-Record-Id": record_id, "X-Taken-At": f"{self._wall():.3f}", "X-Reason": reason}
        self.taken[reason] = self.taken.get(reason, 0) + 1
        if reason == "live":
            try:
                self.transport.request("POST", PATH, data=image, headers={"Content-Type": "image/jpeg", **headers})
            except TransportError as exc:
                log.debug("live screenshot not sent: %s", exc)
        else:
            self.spool.put(record_id, "screenshot", "POST", PATH, image, content_type="image/jpeg", headers=headers)
            self.wake_uplink()
        return {"id": record_id, "bytes": len(image), "reason": reason}
