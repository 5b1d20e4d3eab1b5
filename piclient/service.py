"""systemd integration: readiness, watchdog and status, all no-ops when not run by systemd."""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger(__name__)


class Service:
    def __init__(self) -> None:
        self._enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
        # Ping at half the watchdog interval, as sd_watchdog_enabled(3) recommends.
        self._watchdog_every = usec / 2e6 if usec else 0.0
        self._last_ping = 0.0

    def notify(self, *states: str) -> None:
        if not self._enabled:
            return
        try:
            from systemd import daemon

            daemon.notify("\n".join(states))
        except Exception as exc:  # systemd-python missing or the socket went away: never fatal
            log.debug("sd_notify failed: %s", exc)

    def ready(self, status: str = "") -> None:
        self.notify("READY=1", f"STATUS={status}" if status else "STATUS=running")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def watchdog(self, now: float | None = None) -> None:
        """Called from the main loop: if that loop freezes, systemd restarts us."""
        if not self._watchdog_every:
            return
        now = time.monotonic() if now is None else now
        if now - self._last_ping >= self._watchdog_every:
            self._last_ping = now
            self.notify("WATCHDOG=1")
