"""The box's API (docs/protocol.md): every handler authenticates first and touches only its device's rows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from piclient.protocol import CommandResult, CommandsReply, HeartbeatReply, ResultReply, UpdateOffer, problems
from piclient.server import commands as cq
from piclient.server import heartbeats, logstore, progress, quota, screenshots, updates
from piclient.server.context import Server, server_of
from piclient.server.devices import Device, by_token_hash
from piclient.server.http import (
    JSON_LIMIT,
    ApiError,
    check_declared_length,
    client_ip,
    finite_header,
    parse_json_object,
    read_body,
    read_json_object,
)
from piclient.server.library import etag_matches
from piclient.server.schema import devices
from piclient.server.tokens import hash_token
from piclient.server.wakeups import HeldPoll

log = logging.getLogger(__name__)

LONG_POLL_MAX_S = 60.0  # boxes ask for less (agent/channel.py), under a proxy's usual 60 s idle limit


def bearer_token(request: Request) -> str:
    return _bearer(request.headers.get("authorization", ""))


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing device token: send Authorization: Bearer <token>")
    if len(token) > 200:
        raise ApiError(401, "unknown device token")
    return token


def _reject(srv: Server, request: Request, revoked_id: int | None) -> ApiError:
    if revoked_id is not None:
        srv.note_revoked(revoked_id)
        return ApiError(401, "this device's token was revoked")
    srv.note_unknown_token(client_ip(request))
    return ApiError(401, "unknown device token")


async def authenticate(request: Request) -> Device:
    srv = server_of(request)
    device, revoked_id = await srv.db.read(by_token_hash, hash_token(bearer_token(request)))
    if device is None:
        raise _reject(srv, request, revoked_id)
    return device


def _live_until(conn: sa.Connection, device_id: int) -> float | None:
    return conn.execute(sa.select(devices.c.live_until).where(devices.c.id == device_id)).scalar()


class Heartbeat:
    """POST /api/v1/heartbeat as a bare ASGI app: the busiest request skips Request and Response objects.

    At a thousand heartbeats a second on a small machine that overhead is a measurable share of the
    CPU; errors still go through the app's handlers as ApiError.
    """

    __name__ = "heartbeat"  # the metrics label

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        srv: Server = scope["app"].state.server
        headers = dict(scope["headers"])
        token = _bearer(headers.get(b"authorization", b"").decode("latin-1"))
        body = await _read_asgi_body(receive, headers.get(b"content-length"), JSON_LIMIT)
        payload = parse_json_object(body)
        now = time.time()
        ip = scope["client"][0] if scope.get("client") else "unknown"
        item = heartbeats.Incoming(hash_token(token), payload, body.decode("utf-8"), now, ip,
                                   srv.settings.offline_after)
        outcome = await srv.db.writer.submit_grouped(heartbeats.store_many, item)
        if outcome.device is None:
            if not outcome.revoked:  # a revoked token was already noted on its device, inside the write
                srv.note_unknown_token(ip)
            raise ApiError(401, "this device's token was revoked" if outcome.revoked else "unknown device token")
        if outcome.problem:
            raise ApiError(400, outcome.problem)
        srv.metrics.heartbeats.labels("true" if outcome.stored else "false").inc()
        srv.page_wakeups.wake(outcome.device.id)
        offer = await _offer(srv, outcome.offered_version) if outcome.offered_version is not None else None
        answer = HeartbeatReply(commands=outcome.commands, live=srv.live(outcome.live_until, now),
                                heartbeat_seconds=srv.settings.heartbeat_seconds, update=offer).wire()
        if offer is None:
            del answer["update"]  # a box older than updates needs nothing new in its reply
        reply = json.dumps(answer, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(reply)).encode())]})
        await send({"type": "http.response.body", "body": reply})


# A published version's bundle never changes (publish refuses other contents under the same version),
# so each replica keeps what it read: the heartbeat path costs no extra trip to the database.
_offers: dict[tuple[str, str], UpdateOffer] = {}


async def _offer(srv: Server, version: str) -> UpdateOffer | None:
    key = (srv.settings.database_url, version)
    offer = _offers.get(key)
    if offer is None:
        found = await srv.db.read(updates.offer_of, version)
        if found is None:
            return None
        offer = _offers[key] = UpdateOffer.read(found)
    return offer


async def _read_asgi_body(receive: Any, declared: bytes | None, limit: int) -> bytes:
    check_declared_length(declared, limit)
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:  # bounded by the limit: each pass adds bytes or ends
        message = await receive()
        if message["type"] != "http.request":
            raise ApiError(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def poll_commands(request: Request) -> Response:
    """The box's command channel (docs/protocol.md): held up to ``wait`` seconds, answered at once
    when a command may be delivered or live mode starts; one held poll per box (wakeups.py)."""
    srv = server_of(request)
    device = await authenticate(request)
    wait = finite_header(request.query_params.get("wait", "0"), "wait") or 0.0
    wait = min(max(wait, 0.0), LONG_POLL_MAX_S)
    # Whether the box already knows it is live ("1" or "0"); older boxes do not say.
    box_live = {"1": True, "0": False}.get(request.query_params.get("live", ""))
    deadline = time.monotonic() + wait
    found = False
    with srv.wakeups.hold(device.id) as poll:
        watcher = asyncio.ensure_future(_watch_disconnect(request, poll))
        try:
            live_at_start: float | None = None
            live_until: float | None = None
            # Bounded: each pass ends the wait or sleeps until woken, a lease ends or the wait is up.
            for n in range(int(LONG_POLL_MAX_S / 0.1) + 2):
                poll.event.clear()
                now = time.time()
                offer_at, live_until = await srv.db.read(_poll_state, device.id, now)
                live = srv.live(live_until, now) is not None
                if n == 0:
                    live_at_start = live_until if box_live is None or box_live == live else None
                    poll.live_until = live_at_start
                found = offer_at is not None and offer_at <= now
                # The page opened (or was renewed): the box hears it now, not with its next heartbeat.
                live_news = live and live_until != live_at_start
                remaining = deadline - time.monotonic()
                if found or live_news or remaining <= 0 or srv.wakeups.closing or poll.replaced or poll.gone:
                    break
                # A command under a redelivery lease wakes nobody when the lease ends: look again then.
                # News from other processes comes through poll_watch.py's wake-ups.
                until_offer = offer_at - now if offer_at is not None else remaining
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.event.wait(), max(0.1, min(remaining, until_offer)))
        finally:
            watcher.cancel()
    if poll.gone or poll.replaced:
        # Nobody reads this answer (the box left, or asks again on a newer poll): deliver nothing in it.
        found = False
    now = time.time()
    pending = await srv.db.write(cq.deliver_pending, device.id, now) if found else []
    if pending:
        srv.page_wakeups.wake(device.id)
    # live_until as the last pass read it, a moment ago: every box polls all the time, so each read counts.
    return JSONResponse(CommandsReply(commands=pending, live=srv.live(live_until, now)).wire())


def _poll_state(conn: sa.Connection, device_id: int, now: float) -> tuple[float | None, float | None]:
    return cq.next_offer_at(conn, device_id, now), _live_until(conn, device_id)


async def _watch_disconnect(request: Request, poll: HeldPoll) -> None:
    """Ends the poll when the box's connection closes (a proxy cutting it, the box restarting): a
    command must not be marked delivered into a connection nobody reads."""
    for _ in range(3):  # a GET's empty body, then the disconnect; nothing else can come
        message = await request.receive()
        if message["type"] == "http.disconnect":
            poll.end(gone=True)
            return


async def command_result(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    command_id = request.path_params["command_id"]
    if not heartbeats.RECORD_ID.fullmatch(command_id):  # ours are UUID hex; anything else is no command of ours
        raise ApiError(404, "no such command for this device")
    try:
        sent = CommandResult.read(await read_json_object(request))
    except ValidationError as exc:
        raise ApiError(400, f"the result does not fit the protocol: {problems(exc)}") from None
    now = time.time()

    def store(conn: sa.Connection) -> bool | None:
        if conn.execute(sa.select(cq.commands.c.id).where(cq.commands.c.id == command_id,
                                                          cq.commands.c.device_id == device.id)).first() is None:
            return None
        return cq.apply_result(conn, device.id, command_id, sent.ok, sent.result, sent.error, now)

    stored = await srv.db.write(store)
    if stored is None:
        raise ApiError(404, "no such command for this device")
    srv.page_wakeups.wake(device.id)
    return JSONResponse(ResultReply(stored=stored).wire())


async def upload_screenshot(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in screenshots.ACCEPTED_TYPES:
        raise ApiError(415, "a screenshot is sent as Content-Type: image/jpeg")
    record_id = heartbeats.check_record_id(request.headers.get("x-record-id"), "X-Record-Id")
    reason = request.headers.get("x-reason", "schedule")
    if reason not in screenshots.REASONS:
        raise ApiError(400, f"X-Reason must be one of {', '.join(screenshots.REASONS)}")
    taken_at = finite_header(request.headers.get("x-taken-at"), "X-Taken-At")
    body = await read_body(request, screenshots.MAX_BYTES)
    earlier = await srv.db.read(screenshots.existing, device.id, record_id)
    if earlier is not None:
        return JSONResponse({"ok": True, "id": record_id})
    try:
        async with srv.decode_slot(device.id):
            image = await asyncio.to_thread(screenshots.clean_and_release, body)
    except screenshots.BadImage as exc:
        raise ApiError(400, str(exc)) from None
    del body
    file_name = screenshots.new_file_name(device.id)
    await asyncio.to_thread(screenshots.save_file, srv.settings.screenshot_dir, file_name, image.data)
    now = time.time()
    # The box's clock may run ahead (no clock battery): a picture is never taken after it arrived.
    taken_at = None if taken_at is None else min(taken_at, now)
    try:
        stored = await srv.db.write(screenshots.insert, device.id, record_id, file_name, image, taken_at, reason,
                                    now, srv.settings.box_quota_bytes)
    except quota.QuotaFull as exc:
        await asyncio.to_thread(screenshots.remove_file, srv.settings.screenshot_dir, file_name)
        raise ApiError(507, str(exc)) from None
    # Files go only after their rows are committed: a crash leaves a stray file, never a broken row.
    for dropped in stored.dropped:
        await asyncio.to_thread(screenshots.remove_file, srv.settings.screenshot_dir, dropped)
    if not stored.new:  # a retry raced the first upload: keep one copy
        await asyncio.to_thread(screenshots.remove_file, srv.settings.screenshot_dir, file_name)
    else:
        srv.metrics.screenshots.inc()
        srv.page_wakeups.wake(device.id)
    return JSONResponse({"ok": True, "id": record_id})


async def catalog(request: Request) -> Response:
    srv = server_of(request)
    await authenticate(request)
    found = await asyncio.to_thread(srv.library.catalog)
    if found is None:
        raise ApiError(404, "the server has no catalog yet (start it with --library DIR holding catalog.json)")
    data, etag = found
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


async def library_file(request: Request) -> Response:
    srv = server_of(request)
    await authenticate(request)
    path = await asyncio.to_thread(srv.library.file, request.path_params["path"])
    if path is None:
        raise ApiError(404, "no such file in the library")
    stat = await asyncio.to_thread(path.stat)
    response = FileResponse(path, stat_result=stat)
    response.headers["Cache-Control"] = "no-cache"
    if etag_matches(request.headers.get("if-none-match"), response.headers["etag"]):
        return Response(status_code=304, headers={"ETag": response.headers["etag"]})
    return response


async def get_progress(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    return JSONResponse({"items": await srv.db.read(progress.items, device.id)})


async def post_progress(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    payload = await read_json_object(request)
    try:
        rows = progress.validate(payload)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    changed = await srv.db.write(progress.merge, device.id, rows, time.time())
    return JSONResponse({"ok": True, "received": len(rows), "changed": changed})


def _upload_id(request: Request) -> str:
    upload_id = request.path_params["upload_id"]
    if not logstore.UPLOAD_ID.fullmatch(upload_id):
        raise ApiError(400, "an upload id is 1 to 64 letters, digits, '-' or '_'")
    return upload_id


async def put_log_chunk(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    upload_id = _upload_id(request)
    try:
        offset = int(request.query_params.get("offset", ""))
    except ValueError:
        raise ApiError(400, "offset must be a whole number of bytes") from None
    if offset < 0:
        raise ApiError(400, "offset must be a whole number of bytes")
    body = await read_body(request, logstore.CHUNK_MAX)
    if offset + len(body) > logstore.UPLOAD_MAX:
        raise ApiError(413, f"a log upload is at most {logstore.UPLOAD_MAX} bytes")
    try:
        upload = await srv.db.write(logstore.create, device.id, upload_id, time.time())
    except logstore.NotAsked as exc:
        # 400, not 403: to a box a 403 means "your token is refused" and silences it for minutes.
        raise ApiError(400, str(exc)) from None
    if upload.done:
        return JSONResponse({"received": upload.received, "error": "this upload is closed"}, status_code=409)
    if offset != upload.received:
        return JSONResponse({"received": upload.received, "error": "offset does not match"}, status_code=409)
    if body:
        try:
            await srv.db.read(quota.check, device.id, len(body), srv.settings.box_quota_bytes)
        except quota.QuotaFull as exc:
            return JSONResponse({"received": upload.received, "error": str(exc)}, status_code=507)
        try:
            await asyncio.to_thread(logstore.write_chunk, srv.settings.log_dir, upload.file_name, offset, body)
        except logstore.DiskFull as exc:
            log.error("log upload %s of device %s: the server's disk is full (%s)", upload_id, device.id, exc)
            return JSONResponse({"received": upload.received, "error": "the server's disk is full"},
                                status_code=507)
        advanced = await srv.db.write(logstore.advance, device.id, upload_id, offset, len(body), time.time())
        if not advanced:
            now_held = await srv.db.read(logstore.get, device.id, upload_id)
            held = now_held.received if now_held else 0
            return JSONResponse({"received": held, "error": "offset does not match"}, status_code=409)
    return JSONResponse({"received": offset + len(body)})


async def get_log_upload(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    upload = await srv.db.read(logstore.get, device.id, _upload_id(request))
    return JSONResponse({"received": upload.received if upload else 0, "done": bool(upload and upload.done)})


async def finish_log_upload(request: Request) -> Response:
    srv = server_of(request)
    device = await authenticate(request)
    upload = await srv.db.write(logstore.finish, device.id, _upload_id(request), time.time())
    if upload is None:
        raise ApiError(404, "no such upload for this device")
    return JSONResponse({"ok": True, "received": upload.received})


async def bundle_download(request: Request) -> Response:
    """The offered bundle; Starlette's FileResponse answers Range requests, so a box resumes."""
    srv = server_of(request)
    device = await authenticate(request)
    file_name = await srv.db.read(updates.bundle_file, device.id, request.path_params["version"])
    if file_name is None:
        raise ApiError(404, "this device is not offered that version")
    return FileResponse(updates.bundle_dir(srv.settings.data_dir) / file_name,
                        media_type="application/octet-stream")


def routes() -> list[Route]:
    return [
        Route("/api/v1/heartbeat", Heartbeat(), methods=["POST"]),
        Route("/api/v1/commands", poll_commands, methods=["GET"]),
        Route("/api/v1/commands/{command_id}/result", command_result, methods=["POST"]),
        Route("/api/v1/screenshots", upload_screenshot, methods=["POST"]),
        Route("/api/v1/catalog", catalog, methods=["GET", "HEAD"]),
        Route("/api/v1/progress", get_progress, methods=["GET"]),
        Route("/api/v1/progress", post_progress, methods=["POST"]),
        Route("/api/v1/logs/{upload_id}", put_log_chunk, methods=["PUT"]),
        Route("/api/v1/logs/{upload_id}", get_log_upload, methods=["GET"]),
        Route("/api/v1/logs/{upload_id}/done", finish_log_upload, methods=["POST"]),
        Route("/library/{path:path}", library_file, methods=["GET", "HEAD"]),
        Route("/api/v1/bundles/{version}", bundle_download, methods=["GET", "HEAD"]),
    ]
