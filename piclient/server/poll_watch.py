"""One look at the database for every command poll this process holds, instead of one per poll.

Another replica, a packaging worker or a CLI command may queue a command or switch live mode on for
a box whose poll this process holds, and no wake-up reaches here from there. Every box holds a poll
at all times, so a re-read by each poll would cost a query per box every ``long_poll_recheck_s``; this
task asks once for all of them and wakes the polls that have news. (A command queued in this process
wakes its poll at once, and a redelivery lease's end is timed by the poll itself.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import sqlalchemy as sa

from piclient.server import commands as cq
from piclient.server.context import Server
from piclient.server.schema import devices

log = logging.getLogger(__name__)

CHUNK = 500  # ids per query: well under every database's limit on bound parameters


def news(conn: sa.Connection, held: dict[int, float | None], now: float) -> list[int]:
    """The boxes among ``held`` (id -> the live_until its poll knows) with a command due or live mode started."""
    ids = sorted(held)
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found.update(cq.due_devices(conn, chunk, now))
        live = conn.execute(sa.select(devices.c.id, devices.c.live_until)
                            .where(devices.c.id.in_(chunk), devices.c.live_until > now))
        found.update(row.id for row in live if row.live_until != held[row.id])
    return sorted(found)


async def run(srv: Server, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), srv.long_poll_recheck_s)
        held = srv.wakeups.held_live()
        if not held or stop.is_set():
            continue
        try:
            woken = await srv.db.read(news, held, time.time())
        except Exception:
            log.exception("could not look for news of %d held command polls; trying again", len(held))
            continue
        for device_id in woken:
            srv.wakeups.wake(device_id)
