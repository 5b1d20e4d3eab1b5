"""One wait-and-send loop for every page the server keeps current with Server-Sent Events.

A stream sends its event at once and then whenever what it shows changes: a wake-up in this process
(``Wakeups``) makes that instant, and a re-read every ``recheck_s`` catches news that landed on
another replica (or a worker) that cannot wake this one. It also sends the full event at least every
``REFRESH_S``, so relative times ("2 min ago") move on and a proxy never sees an idle stream. The
streams differ only in what they read: the device list, a box's page, the library's jobs (the
modules that serve them say what and how often).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import StreamingResponse

from piclient.server.wakeups import Wakeups

REFRESH_S = 15.0
RETRY_MS = 2000  # how soon the browser reconnects after a dropped stream


async def follow(wakeups: Wakeups, key: int, event: str, look: Callable[[], Awaitable[Any]],
                 render: Callable[[Any], Awaitable[dict[str, Any] | None]], recheck_s: float, *,
                 min_gap_s: float = 0.0, tick: Callable[[], Awaitable[None]] | None = None) -> AsyncIterator[str]:
    """The stream's text: ``event`` with ``render(look())`` whenever ``look()`` changes.

    ``look`` is a cheap fingerprint of what the page shows (or the payload itself); None means the
    thing is gone, and the stream says ``event: gone`` and ends. ``min_gap_s`` spaces the events
    of a page whose news can come many times a second (the device list of a large fleet). ``tick``
    runs on every pass (a box's page renews its live mode there).
    """
    yield f"retry: {RETRY_MS}\n\n"
    seen: Any = None
    sent_at = -math.inf
    with wakeups.listen(key) as woken:
        while not wakeups.closing:
            woken.clear()
            current = await look()
            if current is None:
                yield "event: gone\ndata: {}\n\n"
                return
            now = time.monotonic()
            if current != seen or now - sent_at >= REFRESH_S:
                payload = await render(current)
                if payload is None:
                    yield "event: gone\ndata: {}\n\n"
                    return
                seen, sent_at = current, now
                yield f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"
            if tick is not None:
                await tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), min(recheck_s, REFRESH_S))
            gap = sent_at + min_gap_s - time.monotonic()
            if gap > 0:
                await asyncio.sleep(gap)


async def same(value: Any) -> Any:
    """``render`` for a stream whose fingerprint is its payload."""
    return value


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """The Server-Sent Events response every stream answers with."""
    # X-Accel-Buffering: nginx would otherwise hold the events back until its buffer fills.
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
