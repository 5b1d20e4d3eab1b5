"""The ASGI app: one function builds it, and its lifespan starts and stops the parts in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from piclient.server import (
    dashboard,
    device_api,
    library_events,
    library_page,
    migrate,
    page_events,
    poll_watch,
    retention,
    updates_page,
    uploads,
)
from piclient.server.alerts import AlertMonitor, AlertSender
from piclient.server.context import LIBRARY_PAGES, Server, server_of
from piclient.server.db import Database
from piclient.server.http import ApiError
from piclient.server.library import Library
from piclient.server.metrics import LatencyMiddleware, Metrics
from piclient.server.schema import devices
from piclient.server.settings import METRICS_TOKEN_ENV, Settings
from piclient.server.writer import WriterClosed

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
# Nothing on any page comes from elsewhere: no CDN, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"), (b"content-security-policy", CSP.encode())]


def build_app(settings: Settings) -> Starlette:
    db = Database(settings.database_url)
    metrics = Metrics()
    sender = AlertSender(settings.alert_webhook, settings.alert_ntfy, settings.alert_email)
    monitor = AlertMonitor(db, sender, metrics, offline_after=settings.offline_after,
                           heartbeat_seconds=settings.heartbeat_seconds, every=settings.alert_check_seconds)
    srv = Server(settings=settings, db=db, metrics=metrics, library=Library(settings.library_dir, settings.data_dir),
                 sender=sender, monitor=monitor)
    metrics.polls_held.set_function(srv.wakeups.held)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        settings.screenshot_dir.mkdir(parents=True, exist_ok=True)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate.upgrade, db.writer_engine)
        db.start()
        # Everything built so far lives as long as the process: keep the collector from rescanning it.
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(monitor.run(stop), name="alerts"),
                 asyncio.create_task(retention.run(
                     db, settings.data_dir, settings.retention_days, settings.cleanup_seconds, stop,
                     abandoned_upload_days=settings.abandoned_upload_days,
                     uploads_removed=lambda: srv.library_wakeups.wake(LIBRARY_PAGES)), name="retention"),
                 asyncio.create_task(poll_watch.run(srv, stop), name="polls")]
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait(tasks, timeout=10)
            await monitor.close()
            db.close()

    routes = [
        *device_api.routes(),
        *dashboard.routes(),
        *page_events.routes(),
        *library_events.routes(),
        *uploads.routes(),
        *library_page.routes(),
        *updates_page.routes(),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error, WriterClosed: _unavailable, Exception: _crash,
    })
    app.state.server = srv
    app.add_middleware(LatencyMiddleware, metrics=metrics, extra_headers=SECURITY_HEADERS)
    return app


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/") or request.url.path.startswith("/library/"):
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)


async def _unavailable(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"error": "the server is shutting down"}, status_code=503, headers={"Retry-After": "5"})


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal server error"}, status_code=500)


def _counts(conn: sa.Connection, online_after: float) -> tuple[int, int]:
    active = devices.c.revoked_at.is_(None)
    total = conn.execute(sa.select(sa.func.count()).select_from(devices).where(active)).scalar() or 0
    online = conn.execute(sa.select(sa.func.count()).select_from(devices)
                          .where(active, devices.c.last_seen >= online_after)).scalar() or 0
    return total, online


async def metrics_endpoint(request: Request) -> Response:
    srv = server_of(request)
    wanted = srv.settings.metrics_token
    if wanted:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), wanted.encode()):
            raise ApiError(401, "metrics need the metrics token")
    elif not _from_this_machine(request):
        raise ApiError(403, f"metrics are served to this machine only; set {METRICS_TOKEN_ENV} to scrape them "
                            "from elsewhere with that bearer token")
    total, online = await srv.db.read(_counts, time.time() - srv.settings.offline_after)
    srv.metrics.devices.set(total)
    srv.metrics.devices_online.set(online)
    return Response(generate_latest(srv.metrics.registry), media_type=CONTENT_TYPE_LATEST)


_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _from_this_machine(request: Request) -> bool:
    """A loopback peer that no proxy speaks for: a reverse proxy on this machine also connects from
    127.0.0.1, and without --trust-proxy its X-Forwarded-For is the only sign the request came from outside."""
    try:
        peer = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    mapped = getattr(peer, "ipv4_mapped", None)
    return (mapped or peer).is_loopback and not any(h in request.headers for h in _PROXY_HEADERS)


async def healthz(request: Request) -> Response:
    srv = server_of(request)
    await srv.db.read(lambda conn: conn.execute(sa.text("SELECT 1")).scalar())
    return JSONResponse({"ok": True})
