"""Login attempt limits: failures per client address and for everyone, over a sliding window.

The global limit stops a spread-out guessing attack; it also bounds the CPU that argon2 spends on
wrong passwords. A successful login clears its address's failures.
"""

from __future__ import annotations

import collections
import time


class LoginLimiter:
    def __init__(self, *, per_ip: int = 5, overall: int = 30, window_s: float = 300.0, max_ips: int = 10_000) -> None:
        self.per_ip = per_ip
        self.overall = overall
        self.window_s = window_s
        self.max_ips = max_ips
        self._by_ip: dict[str, collections.deque[float]] = {}
        self._all: collections.deque[float] = collections.deque()

    def _trim(self, times: collections.deque[float], now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def retry_after(self, ip: str, now: float | None = None) -> float:
        """0 when an attempt from ``ip`` may go ahead, else seconds to wait."""
        now = time.monotonic() if now is None else now
        self._trim(self._all, now)
        waits = []
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + self.window_s - now)
        times = self._by_ip.get(ip)
        if times is not None:
            self._trim(times, now)
            if len(times) >= self.per_ip:
                waits.append(times[0] + self.window_s - now)
        return max(waits, default=0.0)

    def failed(self, ip: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if ip not in self._by_ip and len(self._by_ip) >= self.max_ips:
            # Bounded memory under a flood of addresses: forget the quietest ones.
            for stale in [k for k, v in self._by_ip.items() if not v or v[-1] <= now - self.window_s]:
                del self._by_ip[stale]
            if len(self._by_ip) >= self.max_ips:
                self._by_ip.pop(next(iter(self._by_ip)))
        self._by_ip.setdefault(ip, collections.deque()).append(now)
        self._all.append(now)

    def succeeded(self, ip: str) -> None:
        self._by_ip.pop(ip, None)
