"""Everything a request handler needs, built once by ``app.build_app`` and kept on ``app.state.server``."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.requests import Request

from piclient.protocol import LiveWindow
from piclient.server.alerts import AlertMonitor, AlertSender
from piclient.server.db import Database
from piclient.server.devices import note_rejected
from piclient.server.library import Library
from piclient.server.metrics import Metrics
from piclient.server.ratelimit import LoginLimiter
from piclient.server.settings import Settings
from piclient.server.wakeups import Wakeups

log = logging.getLogger(__name__)

DECODES_AT_ONCE = 2
LIBRARY_PAGES = 0  # the one key of ``Server.library_wakeups``: every open library page


@dataclass
class Server:
    settings: Settings
    db: Database
    metrics: Metrics
    library: Library
    sender: AlertSender
    monitor: AlertMonitor
    wakeups: Wakeups = field(default_factory=Wakeups)  # the boxes' long-polls, woken by a queued command
    page_wakeups: Wakeups = field(default_factory=Wakeups)  # open dashboard pages, woken by news of their box
    library_wakeups: Wakeups = field(default_factory=Wakeups)  # open library pages, woken by an upload's bytes
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    # Requests with a token that matches no device: the dashboard shows them as a warning.
    unknown_tokens: collections.deque[tuple[float, str]] = field(
        default_factory=lambda: collections.deque(maxlen=50))
    _revoked_noted: dict[int, float] = field(default_factory=dict)
    # Decoding a screenshot is the server's biggest memory cost: one at a time per box, DECODES_AT_ONCE in all.
    _decoding: dict[int, asyncio.Lock] = field(default_factory=dict)
    # Login attempts the global limit delays wait here one at a time (ratelimit.py).
    login_queue: asyncio.Lock = field(default_factory=asyncio.Lock)
    _decode_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(DECODES_AT_ONCE))
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def long_poll_recheck_s(self) -> float:
        # One SQLite file has one server process; PostgreSQL may have replicas queuing commands elsewhere.
        return 5.0 if self.db.is_sqlite else 0.5

    @contextlib.asynccontextmanager
    async def decode_slot(self, device_id: int) -> AsyncIterator[None]:
        """Hold while decoding an image from ``device_id``: a box's parallel uploads wait their turn."""
        lock = self._decoding.setdefault(device_id, asyncio.Lock())
        async with lock, self._decode_slots:
            yield

    def note_unknown_token(self, ip: str) -> None:
        self.unknown_tokens.append((time.time(), ip))

    def note_revoked(self, device_id: int) -> None:
        """Remember (at most once a minute per device) that a revoked token is still being used."""
        now = time.time()
        if now - self._revoked_noted.get(device_id, 0.0) < 60:
            return
        self._revoked_noted[device_id] = now
        task = asyncio.create_task(self.db.write(note_rejected, device_id, now))
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not note a revoked token's use: %s", task.exception())

    def live(self, live_until: float | None, now: float) -> LiveWindow | None:
        if not live_until or live_until <= now:
            return None
        return LiveWindow(until=live_until, poll_seconds=self.settings.live_poll_seconds,
                          screenshot_seconds=self.settings.live_screenshot_seconds)


def server_of(request: Request) -> Server:
    return request.app.state.server
