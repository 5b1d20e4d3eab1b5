"""Live mode: while the maintainer has the box's page open, commands arrive within a second or two.

A heartbeat reply (or a long-poll reply) carrying ``live`` switches it on until ``until``; the loop
then long-polls ``GET /api/v1/commands?wait=20`` and the screenshot loop sends a picture every
``screenshot_seconds``. It ends by itself when ``until`` passes, or at once when the server says
``live: null``. Every value from the server is clamped: a buggy reply must not keep a box busy forever.
The long-poll ends as soon as ``stop`` is set, so it never holds up the agent's shutdown.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from piclient.agent.transport import Reply, Transport, TransportError

log = logging.getLogger(__name__)

LONG_POLL_S = 20
MAX_LIVE_S = 3600.0
IDLE_WAIT_S = 3600.0
POLL_RANGE = (0.2, 60.0)
SCREENSHOT_RANGE = (1.0, 60.0)


class LiveMode:
    def __init__(self, transport: Transport, on_commands: Callable[[Any], None] = lambda commands: None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 stop: threading.Event | None = None) -> None:
        self.transport = transport
        self.on_commands = on_commands  # the command runner's submit, once it exists
        self._stop = stop
        self.on_start: list[Callable[[], None]] = []  # loops to wake when live mode begins
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._until = 0.0  # monotonic
        self._poll_s = 1.0
        self._shot_s = 3.0
        self._was_active = False
        self.polls = 0

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
            log.info("live mode for %.0f s: polling for commands, a screenshot every %g s", remaining, self._shot_s)
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

    def step(self) -> float:
        """One long-poll while live; returns seconds until the next."""
        with self._lock:
            remaining = self._until - self._clock()
            poll_s = self._poll_s
        if remaining <= 0:
            if self._was_active:
                self._was_active = False
                log.info("live mode ended")
            return IDLE_WAIT_S
        self._was_active = True
        wait = int(min(LONG_POLL_S, max(1, math.ceil(remaining))))
        started = self._clock()
        try:
            reply = self.transport.request("GET", "/api/v1/commands", params={"wait": wait}, timeout_s=wait + 10,
                                           interrupt=self._stop)
        except TransportError as exc:
            return max(0.05, min(exc.retry_at - self._clock(), remaining))
        self.polls += 1
        doc = reply.json_object()
        commands = doc.get("commands")
        self.on_commands(commands)
        if "live" in doc:
            self.update(doc["live"], reply)
        if isinstance(commands, list) and commands:
            # A key came: the maintainer is pressing keys, and the next may follow at once. (Not
            # quite at once: a server that keeps sending commands must not spin the box.)
            return min(poll_s, 0.1)
        # A server that answers at once with nothing must not be asked faster than it wants.
        return max(0.0, poll_s - (self._clock() - started))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _clamp(value: Any, bounds: tuple[float, float], default: float) -> float:
    number = _number(value)
    return default if number is None else min(bounds[1], max(bounds[0], number))
