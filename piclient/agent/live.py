"""Live mode: while the maintainer has the box's page open, the box reports every second.

A heartbeat reply (or a command poll's reply, see channel.py) carrying ``live`` switches it on until
``until``: heartbeats go out every second and the screenshot loop sends a picture every
``screenshot_seconds``. It ends by itself when ``until`` passes, or at once when the server says
``live: null``. Every value from the server is clamped: a buggy reply must not keep a box busy forever.
Commands do not depend on it: the command channel is open at all times.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from piclient.agent.transport import Reply

log = logging.getLogger(__name__)

MAX_LIVE_S = 3600.0
POLL_RANGE = (0.2, 60.0)
SCREENSHOT_RANGE = (1.0, 60.0)


class LiveMode:
    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.on_start: list[Callable[[], None]] = []  # loops to wake when live mode begins
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._until = 0.0  # monotonic
        self._poll_s = 1.0
        self._shot_s = 3.0
        self._was_active = False

    def update(self, live: Any, reply: Reply | None = None) -> None:
        """Apply a reply's ``live`` value: a mapping starts or extends live mode, null ends it."""
        if not isinstance(live, dict):
            with self._lock:
                self._until = 0.0
            return
        until = _number(live.get("until"))
        if until is None:
            return
        # `until` is on the server's clock; the box's may be far off (no clock battery on a Pi).
        server_now = (reply.server_time() if reply is not None else None) or self._wall()
        remaining = min(MAX_LIVE_S, max(0.0, until - server_now))
        with self._lock:
            starting = not self.active_locked() and remaining > 0
            self._until = self._clock() + remaining
            self._poll_s = _clamp(live.get("poll_seconds"), POLL_RANGE, self._poll_s)
            self._shot_s = _clamp(live.get("screenshot_seconds"), SCREENSHOT_RANGE, self._shot_s)
        if starting:
            log.info("live mode for %.0f s: a heartbeat every second, a screenshot every %g s", remaining, self._shot_s)
            for wake in self.on_start:
                wake()

    def active_locked(self) -> bool:
        return self._clock() < self._until

    def active(self) -> bool:
        with self._lock:
            return self.active_locked()

    def screenshot_interval(self) -> float | None:
        with self._lock:
            return self._shot_s if self.active_locked() else None

    def poll_interval(self) -> float:
        """The least time between two command polls the server asks for while live; 0 otherwise."""
        with self._lock:
            active = self.active_locked()
            if active != self._was_active:
                self._was_active = active
                log.info("live mode %s", "on" if active else "ended")
            return self._poll_s if active else 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _clamp(value: Any, bounds: tuple[float, float], default: float) -> float:
    number = _number(value)
    return default if number is None else min(bounds[1], max(bounds[0], number))
