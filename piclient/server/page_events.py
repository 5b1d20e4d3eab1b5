"""The device list and a box's page kept current by the server: Server-Sent Events, not polling.

``GET /api/dash/devices/events`` stays open while the device list is open: an ``event: devices`` with
the same JSON as ``GET /api/dash/devices`` at once, then whenever a box's card changes (at most one a
second; the page polls only while the stream is down).

``GET /api/dash/devices/{id}/events`` stays open while the maintainer has the page open. It sends
an ``event: device`` with the same JSON as ``GET /api/dash/devices/{id}`` at once and then whenever
something about the box changes: a new picture, a heartbeat, a command queued, delivered or answered.

Opening the stream is also what asks the box for a fresh picture: it switches live mode on and
queues a ``screenshot`` with ``{"live": true}``, which reaches the box at once through the command
poll it always holds (device_api.py); the box answers by sending what the TV shows now, directly and
not through its spool. While the stream is open, live mode is renewed.

Replicas: the upload, heartbeat or result may land on another server process than the one holding
the stream. Each process wakes its own streams at once (``Server.page_wakeups``) and every stream
also looks at the database every ``long_poll_recheck_s`` (0.5 s with PostgreSQL, where replicas are
possible; 5 s with SQLite, which has a single process), as poll_watch.py does for the boxes' held
polls. The loop itself is the one every page stream shares (event_streams.py).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from piclient.server import commands as cq
from piclient.server.context import Server, server_of
from piclient.server.dashboard import api_viewer, device_json, devices_json
from piclient.server.event_streams import event_stream, follow, same
from piclient.server.http import ApiError, bounded_id
from piclient.server.schema import commands, devices
from piclient.server.schema import screenshots as shots_table
from piclient.server.wakeups import ANY

LIVE_RENEW_S = 30.0  # how often an open page renews the box's live mode
FRESH_SHOT_TTL_S = 60.0  # a picture asked for when the page opened is worthless later
# The device list re-reads every box's row: with many boxes heartbeating, at most one event a second,
# and news from another replica within a few seconds (a box's own page follows within a second).
LIST_GAP_S = 1.0
LIST_RECHECK_S = 3.0


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
    srv.wakeups.wake(device_id)  # the box's held command poll answers: it takes the picture now
    renewed_at = time.monotonic()

    async def renew() -> None:
        nonlocal renewed_at
        if time.monotonic() - renewed_at >= LIVE_RENEW_S:
            renewed_at = time.monotonic()
            await srv.db.write(go_live, srv, device_id, time.time(), False)

    return event_stream(follow(srv.page_wakeups, device_id, "device", lambda: srv.db.read(version, device_id),
                               lambda _: device_json(srv, viewer, device_id), srv.long_poll_recheck_s, tick=renew))


async def list_events(request: Request) -> Response:
    """The device list: every box's card as ``GET /api/dash/devices`` gives it, pushed as it changes."""
    viewer = await api_viewer(request)
    srv = server_of(request)
    return event_stream(follow(srv.page_wakeups, ANY, "devices", lambda: devices_json(srv, viewer), same,
                               max(srv.long_poll_recheck_s, LIST_RECHECK_S), min_gap_s=LIST_GAP_S))


def routes() -> list[Route]:
    return [Route("/api/dash/devices/events", list_events, methods=["GET"]),
            Route("/api/dash/devices/{device_id:int}/events", device_events, methods=["GET"])]
