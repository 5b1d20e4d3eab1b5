"""Per-device wake-ups for long-polls waiting in this process.

With several replicas a command may be queued by another process; the long-poll therefore also
re-checks the database every few hundred milliseconds, and the wake-up only makes the common case instant.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator


class Wakeups:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Event]] = defaultdict(set)
        self.closing = False

    def close(self) -> None:
        """The server is stopping: every long-poll answers now instead of holding up the shutdown."""
        self.closing = True
        for listeners in list(self._listeners.values()):
            for event in listeners:
                event.set()

    def wake(self, device_id: int) -> None:
        for event in self._listeners.get(device_id, ()):
            event.set()

    @contextlib.contextmanager
    def listen(self, device_id: int) -> Iterator[asyncio.Event]:
        """An event set by every ``wake(device_id)`` while the block runs.

        Clear it *before* looking in the database: a wake that lands after the look then still counts.
        """
        event = asyncio.Event()
        self._listeners[device_id].add(event)
        try:
            yield event
        finally:
            listeners = self._listeners.get(device_id)
            if listeners is not None:
                listeners.discard(event)
                if not listeners:
                    del self._listeners[device_id]
