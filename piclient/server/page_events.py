"""A box's page kept current by the server: Server-Sent Events instead of the page polling.

``GET /api/dash/devices/{id}/events`` stays open while the maintainer has the page open. It sends
an ``event: device`` with the same JSON as ``GET /api/dash/devices/{id}`` at once and then whenever
something about the box changes: a new picture, a heartbeat, a command queued, delivered or answered.

Opening the stream is also what asks the box for a fresh picture: it switches live mode on and
queues a ``screenshot`` with ``{"live": true}``, which the box answers by sending what the TV shows
now, directly and not through its spool. While the stream is open, live mode is renewed.

Replicas: the upload, heartbeat or result may land on another server process than the one holding
the stream. Each process wakes its own streams at once (``Server.page_wakeups``) and every stream
also looks at the database every ``long_poll_recheck_s`` (0.5 s with PostgreSQL, where replicas are
possible; 5 s with SQLite, which has a single process): the same rule as the box's long-poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from piclient.server import commands as cq
from piclient.server.context import Server, server_of
from piclient.server.dashboard import api_viewer, device_json
from piclient.server.http import ApiError, bounded_id
from piclient.server.schema import commands, devices
from piclient.server.schema import screenshots as shots_table

LIVE_RENEW_S = 30.0  # how often an open page renews the box's live mode
REFRESH_S = 15.0  # a full update at least this often, so "2 min ago" moves on by itself
FRESH_SHOT_TTL_S = 60.0  # a picture asked for when the page opened is worthless later
RETRY_MS = 2000  # how soon the browser reconnects after a dropped stream


def version(conn: sa.Connection, device_id: int) -> tuple[Any, ...] | None:
    """A cheap fingerprint of what the page shows; None when the box does not exist."""
    row = conn.execute(sa.select(
        devices.c.last_seen, devices.c.revoked_at, devices.c.live_until,
        sa.select(sa.func.max(shots_table.c.id)).where(shots_table.c.device_id == device_id).scalar_subquery(),
        sa.select(sa.func.max(commands.c.created_at)).where(commands.c.device_id == device_id).scalar_subquery(),
        sa.select(sa.func.max(commands.c.completed_at)).where(commands.c.device_id == device_id).scalar_subquery(),
        sa.select(sa.func.max(commands.c.delivered_at)).where(commands.c.device_id == device_id).scalar_subquery(),
    ).where(devices.c.id == device_id)).first()
    return None if row is None else tuple(row)


def go_live(conn: sa.Connection, srv: Server, device_id: int, now: float, fresh_picture: bool) -> bool:
    """Live mode on (or renewed); with ``fresh_picture`` also ask for a picture now. False: no such box."""
    changed = conn.execute(devices.update().where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
                           .values(live_until=now + srv.settings.live_seconds)).rowcount
    if changed != 1:
        return False
    if fresh_picture:
        cq.queue_command(conn, device_id, "screenshot", {"live": True}, now, ttl=FRESH_SHOT_TTL_S)
    return True


async def device_events(request: Request) -> Response:
    viewer = await api_viewer(request)
    srv = server_of(request)
    device_id = bounded_id(request.path_params["device_id"], "device id")
    if not await srv.db.write(go_live, srv, device_id, time.time(), True):
        raise ApiError(404, "no such device")
    srv.wakeups.wake(device_id)  # a box in live mode long-polls: it takes the picture now

    async def stream() -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        seen: tuple[Any, ...] | None = None
        sent_at = renewed_at = time.monotonic()
        with srv.page_wakeups.listen(device_id) as woken:
            while not srv.page_wakeups.closing:
                woken.clear()
                current = await srv.db.read(version, device_id)
                now = time.monotonic()
                if current is None:
                    yield "event: gone\ndata: {}\n\n"
                    return
                if current != seen or now - sent_at >= REFRESH_S:
                    seen, sent_at = current, now
                    payload = await device_json(srv, viewer, device_id)
                    if payload is None:
                        return
                    yield f"event: device\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"
                if now - renewed_at >= LIVE_RENEW_S:
                    renewed_at = now
                    await srv.db.write(go_live, srv, device_id, time.time(), False)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), min(srv.long_poll_recheck_s, REFRESH_S))

    return event_stream(stream())


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """A Server-Sent Events response for a page's stream (this one, and the library page's)."""
    # X-Accel-Buffering: nginx would otherwise hold the events back until its buffer fills.
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def routes() -> list[Route]:
    return [Route("/api/dash/devices/{device_id:int}/events", device_events, methods=["GET"])]
