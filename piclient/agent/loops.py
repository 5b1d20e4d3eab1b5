"""Background loops: try/except inside, the wait outside, a flag to stop, and a join with a timeout.

``step()`` does one round of work and returns how many seconds to wait before the next; ``wake()``
cuts the wait short. An exception in a step is logged and the loop carries on after a pause:
one bad reply or full disk must not silence the box.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


class Loop:
    def __init__(self, name: str, step: Callable[[], float], error_wait_s: float = 5.0) -> None:
        self.name = name
        self._step = step
        self._error_wait_s = error_wait_s
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_step = time.monotonic()  # when a step last finished, for the watchdog

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"loop {self.name} already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def join(self, timeout: float) -> bool:
        if self._thread is None:
            return True
        self._thread.join(max(0.0, timeout))
        alive = self._thread.is_alive()
        if alive:
            log.warning("loop %s did not stop within %.1f s; leaving it", self.name, timeout)
        return not alive

    def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the step: a wake() during the step makes the wait below return at once.
            self._wake.clear()
            try:
                wait = self._step()
            except Exception:
                log.exception("loop %s: step failed; trying again in %.0f s", self.name, self._error_wait_s)
                wait = self._error_wait_s
            self.last_step = time.monotonic()
            if self._stopping.is_set():
                break
            self._wake.wait(max(0.0, wait))


def stop_all(loops: Iterable[Loop], timeout: float) -> bool:
    """Ask every loop to stop first, then join them against one shared deadline."""
    loops = list(loops)
    for loop in loops:
        loop.request_stop()
    deadline = time.monotonic() + timeout
    return all([loop.join(deadline - time.monotonic()) for loop in loops])
