"""Per-device wake-ups for long-polls and pages waiting in this process.

With several replicas a command may be queued by another process: poll_watch.py looks in the database
for every held poll at once, and pages re-read it themselves; the wake-up makes the common case instant.

A box holds one command poll at a time (``hold``): a second poll from the same box replaces the
first, which answers at once with nothing. A box that restarted, or whose earlier connection a
proxy or NAT dropped without telling, thus never leaves a stale poll that could take its commands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class HeldPoll:
    """One box's waiting command poll; ``event`` is set by a wake-up, a newer poll or the client leaving."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    replaced: bool = False
    gone: bool = False
    live_until: float | None = None  # the box's live mode as the poll found it: a change is news

    def end(self, *, replaced: bool = False, gone: bool = False) -> None:
        self.replaced = self.replaced or replaced
        self.gone = self.gone or gone
        self.event.set()


ANY = -1  # ``listen(ANY)`` hears every key's wake-up (the device list follows every box)


class Wakeups:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._held: dict[int, HeldPoll] = {}
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
        for event in self._listeners.get(ANY, ()):
            event.set()

    def held(self) -> int:
        """How many boxes hold a poll in this process (for /metrics)."""
        return len(self._held)

    def held_live(self) -> dict[int, float | None]:
        """Each box holding a poll here, with the live mode its poll knows (for poll_watch.py)."""
        return {device_id: poll.live_until for device_id, poll in self._held.items()}

    @contextlib.contextmanager
    def listen(self, device_id: int, event: asyncio.Event | None = None) -> Iterator[asyncio.Event]:
        """An event set by every ``wake(device_id)`` while the block runs.

        Clear it *before* looking in the database: a wake that lands after the look then still counts.
        """
        event = event or asyncio.Event()
        self._listeners[device_id].add(event)
        try:
            yield event
        finally:
            listeners = self._listeners.get(device_id)
            if listeners is not None:
                listeners.discard(event)
                if not listeners:
                    del self._listeners[device_id]

    @contextlib.contextmanager
    def hold(self, device_id: int) -> Iterator[HeldPoll]:
        """This box's one command poll while the block runs; an earlier one still held is replaced."""
        earlier = self._held.get(device_id)
        if earlier is not None:
            earlier.end(replaced=True)
        poll = HeldPoll()
        self._held[device_id] = poll
        try:
            with self.listen(device_id, poll.event):
                yield poll
        finally:
            if self._held.get(device_id) is poll:
                del self._held[device_id]
