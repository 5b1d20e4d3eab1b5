"""The maintainer's dashboard: server-rendered pages, a few JSON calls for the page's script.

Every page and call needs a session; every POST also needs the session's CSRF token (a form field
or the X-CSRF-Token header), on top of the SameSite=Lax cookie.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from piclient.server import alerts as alert_log
from piclient.server import browsers, heartbeats, logstore, now_playing, passwords, screenshots, sessions
from piclient.server import commands as cq
from piclient.server.boxtext import clean, clean_block, clean_log
from piclient.server.charts import sparkline
from piclient.server.context import Server, server_of
from piclient.server.health import warnings_for
from piclient.server.http import ApiError, bounded_id, client_ip, read_body, read_json_object
from piclient.server.i18n import LANGUAGES, TEXT, ago, choose, duration, translator
from piclient.server.ratelimit import LoginLimiter
from piclient.server.schema import devices
from piclient.server.schema import screenshots as shots_table

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
LOGIN_COOKIE = "piclient_login"
FORM_LIMIT = 4096
REMOTE_KEYS = ("up", "down", "left", "right", "ok", "back", "playpause", "stop", "rw", "ff", "info",
               "red", "green", "yellow", "blue")

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)


@dataclass
class Viewer:
    lang: str
    csrf: str | None

    @property
    def t(self) -> Any:
        return translator(self.lang)


def _lang(request: Request) -> str:
    return choose(request.cookies.get("lang"), request.headers.get("accept-language"))


async def viewer_of(request: Request) -> Viewer:
    """The logged-in maintainer, or an anonymous viewer (csrf None)."""
    srv = server_of(request)
    token = request.cookies.get(sessions.COOKIE)
    csrf = None
    if token and len(token) < 200:
        csrf = await srv.db.read(sessions.csrf_for, token, time.time())
    return Viewer(_lang(request), csrf)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    # uvicorn rewrites the scheme from X-Forwarded-Proto only when started with --trust-proxy.
    return request.url.scheme == "https"


def render_part(name: str, **context: Any) -> str:
    """A piece of a page (a template the page includes), for a script to put in place."""
    return _env.get_template(name).render(**context)


def render(request: Request, viewer: Viewer, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    other = "ko" if viewer.lang == "en" else "en"
    html = _env.get_template(name).render(
        t=viewer.t, lang=viewer.lang, other_lang=other, csrf=viewer.csrf,
        here=quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/?=&"),
        **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def _page_viewer(request: Request) -> Viewer | Response:
    viewer = await viewer_of(request)
    if viewer.csrf is None:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return viewer


async def api_viewer(request: Request, *, post: bool = False) -> Viewer:
    viewer = await viewer_of(request)
    if viewer.csrf is None:
        raise ApiError(401, "log in first")
    if post and not _csrf_ok(viewer.csrf, request.headers.get("x-csrf-token")):
        raise ApiError(403, "missing or wrong CSRF token")
    return viewer


def _device_id(request: Request) -> int:
    return bounded_id(request.path_params["device_id"], "device id")


def _csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and secrets.compare_digest(expected.encode(), given.encode())  # type: ignore[union-attr]


# --- login ---------------------------------------------------------------------------------------


async def login_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    srv = server_of(request)
    viewer = Viewer(_lang(request), None)
    has_password = await srv.db.read(passwords.stored_hash) is not None
    form_token = secrets.token_urlsafe(24)
    response = render(request, viewer, "login.html", status=status, error=error, has_password=has_password,
                      form_token=form_token, next=_safe_next(request.query_params.get("next")))
    response.set_cookie(LOGIN_COOKIE, form_token, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(request), path="/login")
    return response


async def login_get(request: Request) -> Response:
    return await login_page(request)


async def login_post(request: Request) -> Response:
    srv = server_of(request)
    t = translator(_lang(request))
    form = {k: v[0] for k, v in parse_qs((await read_body(request, FORM_LIMIT)).decode("utf-8", "replace")).items()}
    if not _csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        return await login_page(request, error=t("login_expired"), status=400)
    ip = client_ip(request)
    known = await srv.db.read(browsers.recognised, request.cookies.get(browsers.COOKIE), time.time())
    # Through the writer: the limit's check and its record of this attempt are one step (see ratelimit.py).
    admission = await srv.db.write(functools.partial(srv.limiter.admit, known=known), ip, time.time())
    if admission.delay > 0:
        # Many failures from everywhere: a queue of one, so guesses cannot outpace it, while the
        # maintainer (on a known browser, or simply waiting his turn) still gets in.
        async with srv.login_queue:
            await asyncio.sleep(admission.delay)
            admission = await srv.db.write(functools.partial(srv.limiter.admit, waited=True), ip, time.time())
    if admission.retry_after > 0:
        wait = int(admission.retry_after) + 1
        response = await login_page(request, error=t("login_limited", seconds=wait), status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    stored = await srv.db.read(passwords.stored_hash)
    if not await asyncio.to_thread(passwords.verify, stored, form.get("password", "")):
        return await login_page(request, error=t("login_failed"), status=401)  # the attempt stays a failure
    token, known_value = await srv.db.write(_logged_in, srv.limiter, ip, admission.attempt_id, time.time())
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(sessions.COOKIE, token, max_age=sessions.LIFETIME_S, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")
    response.set_cookie(browsers.COOKIE, known_value, max_age=browsers.LIFETIME_S, httponly=True,
                        samesite="strict", secure=_secure(request), path="/login")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _logged_in(conn: sa.Connection, limiter: LoginLimiter, ip: str, attempt_id: int | None,
               now: float) -> tuple[str, str]:
    """(session cookie, known-browser cookie)."""
    limiter.succeeded(conn, ip, attempt_id)
    token, _csrf = sessions.create(conn, ip, now)
    return token, browsers.issue(conn, now)


async def logout(request: Request) -> Response:
    srv = server_of(request)
    viewer = await viewer_of(request)
    form = {k: v[0] for k, v in parse_qs((await read_body(request, FORM_LIMIT)).decode("utf-8", "replace")).items()}
    token = request.cookies.get(sessions.COOKIE)
    if viewer.csrf is not None and token and _csrf_ok(viewer.csrf, form.get("csrf")):
        if request.query_params.get("everywhere"):
            ended = await srv.db.write(sessions.delete_all)
            log.warning("logged out everywhere from %s: %d sessions ended", client_ip(request), ended)
        else:
            await srv.db.write(sessions.delete, token)
    elif viewer.csrf is not None:
        return PlainTextResponse("missing or wrong CSRF token", status_code=403)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


async def set_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", secure=_secure(request))
    return response


# --- what the pages show -------------------------------------------------------------------------


def _latest_shots(conn: sa.Connection, device_ids: list[int] | None = None) -> dict[int, sa.Row]:
    newest = sa.select(sa.func.max(shots_table.c.id)).group_by(shots_table.c.device_id)
    if device_ids is not None:
        newest = newest.where(shots_table.c.device_id.in_(device_ids))
    rows = conn.execute(sa.select(shots_table).where(shots_table.c.id.in_(newest))).all()
    return {row.device_id: row for row in rows}


def _device_rows(conn: sa.Connection) -> tuple[list[sa.Row], dict[int, sa.Row]]:
    rows = list(conn.execute(sa.select(devices).order_by(devices.c.revoked_at.is_not(None), devices.c.name)))
    return rows, _latest_shots(conn)


def summarize_guarded(srv: Server, row: sa.Row, shot: sa.Row | None, viewer: Viewer, now: float) -> dict[str, Any]:
    """``summarize``, or a plain "unreadable" card when this one box's stored data cannot be shown.

    Rows stored before the door got strict (or by some future bug) must cost one card, not the page
    for every family: whatever goes wrong here stays inside this box's card, the error goes to the log.
    """
    try:
        summary = summarize(srv, row, shot, viewer, now)
        # Rendering encodes the page as UTF-8 later, outside any guard: prove it can be done here.
        json.dumps(summary, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return summary
    except Exception:
        log.exception("device %s: its stored data cannot be shown", row.id)
    t = viewer.t
    return {"id": row.id, "name": clean(row.name, 100), "status": "unreadable", "offers": [],
            "status_label": t("unreadable"), "status_text": t("unreadable_text"), "last_seen": None,
            "tv_state": None, "screen": None, "now_playing": "", "np": None, "playing": False, "version": None,
            "uptime": None, "tv_uptime": None, "screenshot": None, "live": False,
            "warnings": [{"level": "bad", "key": "w_unreadable", "text": t("unreadable_text"), "detail": None}]}


def summarize(srv: Server, row: sa.Row, shot: sa.Row | None, viewer: Viewer, now: float) -> dict[str, Any]:
    """One device as the pages and their script see it, words already in the viewer's language."""
    t = viewer.t
    hb = heartbeats.latest(row.last_heartbeat)
    offline_after = srv.settings.offline_after
    # The badge says online/offline; the text beside it says only for how long, not the same word again.
    if row.revoked_at is not None:
        status, status_text = "revoked", ""
    elif row.last_seen is None:
        status, status_text = "never", ""
    elif now - row.last_seen <= offline_after:
        status = "online"
        status_text = (t("online_since", dur=duration(t, now - (row.online_since or row.last_seen))) + " · "
                       + t("last_heartbeat", ago=ago(t, now - row.last_seen)))
    else:
        status, status_text = "offline", t("offline_since", dur=duration(t, now - row.last_seen))
    tv = hb.get("tv") if isinstance(hb.get("tv"), dict) else {}
    playing = now_playing.view(hb, t, viewer.lang)
    warnings = []
    for w in warnings_for(hb, row.last_seen, rejected_at=row.rejected_at, now=now):
        params = dict(w.params)
        if "seconds" in params:
            params["ago"] = (ago if w.key == "w_revoked_used" else duration)(t, params.pop("seconds"))
        warnings.append({"level": w.level, "key": w.key, "text": t(w.key, **params), "detail": w.detail})
    device = hb.get("device") if isinstance(hb.get("device"), dict) else {}
    offered = device.get("commands")
    # A box that does not list its commands (an older agent) is offered every button.
    offers = [c for c in cq.TYPES if c in offered] if isinstance(offered, list) else list(cq.TYPES)
    return {
        "id": row.id, "name": row.name, "status": status, "offers": offers,
        "status_label": t({"never": "never_seen"}.get(status, status)),
        "status_text": status_text, "last_seen": row.last_seen,
        "tv_state": heartbeats.text(tv, "state"), "screen": _screen_text(t, heartbeats.text(tv, "screen")),
        "now_playing": playing["summary"] if playing else t("nothing_playing"), "playing": bool(playing),
        "np": playing,
        "version": heartbeats.text(device, "version"),
        "uptime": _uptime(t, device),
        # A TV app much younger than its box has restarted (a crash, a watchdog, a restart command).
        "tv_uptime": _uptime(t, tv),
        "warnings": warnings,
        "screenshot": None if shot is None else {
            "id": shot.id, "url": f"/screenshots/{shot.id}.jpg", "taken": t("taken", ago=ago(t, now - (
                shot.taken_at or shot.received_at))), "width": shot.width, "height": shot.height},
        "live": bool(row.live_until and row.live_until > now),
    }


SCREENS = ("home", "title", "player", "empty")


def _screen_text(t: Any, screen: str | None) -> str | None:
    """The launcher's screen in words; a screen this server does not know yet keeps its own name."""
    if not screen:
        return None
    return t(f"screen_{screen}") if screen in SCREENS else screen


def now_playing_html(viewer: Viewer, np: dict[str, Any] | None) -> str:
    """The ``_now_playing.html`` partial on its own, for the page script to swap in."""
    return _env.get_template("_now_playing.html").render(t=viewer.t, np=np)


def _uptime(t: Any, section: dict[str, Any]) -> str | None:
    seconds = heartbeats.number(section, "uptime_s")
    return duration(t, seconds) if seconds else None


def _recent_unknown(srv: Server, now: float) -> tuple[int, str | None]:
    recent = [(ts, ip) for ts, ip in srv.unknown_tokens if now - ts < 3600]
    return len(recent), (recent[-1][1] if recent else None)


# --- pages ---------------------------------------------------------------------------------------


async def device_list_page(request: Request) -> Response:
    viewer = await _page_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    srv = server_of(request)
    now = time.time()
    rows, shots = await srv.db.read(_device_rows)
    items = [summarize_guarded(srv, row, shots.get(row.id), viewer, now) for row in rows]
    count, ip = _recent_unknown(srv, now)
    banner = viewer.t("w_unknown_tokens", n=count, ip=ip) if count else None
    from piclient.server.library_page import new_titles_per_box  # it builds on this module

    new_titles = await new_titles_per_box(srv)
    return render(request, viewer, "devices.html", devices=items, banner=banner, page="devices",
                  new_titles=new_titles)


def _detail(conn: sa.Connection, device_id: int, now: float, full: bool = True) -> dict[str, Any] | None:
    """What a box's page shows; without ``full`` only what its script updates (no charts, logs, alerts)."""
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id)).first()
    if row is None:
        return None
    detail = {"row": row, "shot": _latest_shots(conn, [device_id]).get(device_id),
              "commands": cq.recent(conn, device_id, now)}
    if full:
        detail.update(logs=logstore.recent(conn, device_id), alerts=alert_log.recent(conn, device_id),
                      history=heartbeats.history(conn, device_id, now - 86400))
    return detail


def _commands_view(items: list[dict[str, Any]], viewer: Viewer) -> list[dict[str, Any]]:
    """Each command as a sentence, its outcome in words, and the raw result one tap away."""
    t = viewer.t
    out = []
    for c in items:
        if c["type"] == "screenshot" and c["args"] == {"live": True}:
            continue  # asked by the page itself when it opened, not by him
        try:
            raw = c["error"] or ""
            if c["result"]:
                raw = (raw + "\n" if raw else "") + json.dumps(c["result"], ensure_ascii=False, allow_nan=False)[:500]
            out.append({"id": c["id"], "what": clean(_command_text(t, c["type"], c["args"])),
                        "status": c["status"], "status_text": t(f"cmd_{c['status']}"),
                        "when": ago(t, time.time() - c["created_at"]), "outcome": clean(_outcome_text(t, c)),
                        "detail": clean_block(raw)})
        except Exception:  # one unreadable result costs its own line only
            log.exception("command %s: its stored result cannot be shown", c.get("id"))
            out.append({"id": clean(c.get("id", "")), "what": clean(c.get("type", "")), "status": "failed",
                        "status_text": t("unreadable"), "when": "", "outcome": t("unreadable_text"), "detail": ""})
    return out


def _command_text(t: Any, kind: str, args: dict[str, Any]) -> str:
    if kind == "key":
        name = str(args.get("name", ""))
        return t("cmd_key", button=t(f"key_{name}") if f"key_{name}" in TEXT["en"] else name)
    if kind == "message":
        text = str(args.get("text", ""))
        return t("cmd_message", text=text if len(text) <= 40 else text[:39] + "…")
    if kind in cq.TYPES:
        return t(f"cmd_{kind}")
    return t("cmd_other", type=kind[:40])


def _outcome_text(t: Any, command: dict[str, Any]) -> str:
    """A failure's reason (the box words it for people), or what a finished command brought back."""
    if command["status"] == "failed":
        return str(command["error"] or "")[:300]
    result = command["result"] if isinstance(command["result"], dict) else {}
    if command["status"] != "done":
        return ""
    if command["type"] == "upload_logs" and isinstance(result.get("bytes"), int):
        return t("res_logs", kb=max(1, round(result["bytes"] / 1024)))
    if command["type"] == "restart_tv":
        return t("res_tv_back")
    if command["type"] == "reload" and isinstance(result.get("titles"), int):
        return t("res_titles", n=result["titles"])
    if command["type"] == "reboot":
        return t("res_rebooting")
    return ""


def _charts(history: list[sa.Row], t: Any) -> list[tuple[str, str]]:
    temps = [(h.received_at, h.cpu_temp_c) for h in history if h.cpu_temp_c is not None]
    wifi = [(h.received_at, h.wifi_dbm) for h in history if h.wifi_dbm is not None]
    memory = [(h.received_at, 100.0 * (1 - h.mem_available / h.mem_total)) for h in history
              if h.mem_total and h.mem_available is not None]
    return [
        (t("temperature"), sparkline(temps, label=t("temperature"), unit=" °C", colour="#d9480f", lo=30, hi=85)),
        (t("wifi"), sparkline(wifi, label=t("wifi"), unit=" dBm", colour="#2b7de9", lo=-90, hi=-30)),
        (t("memory"), sparkline(memory, label=t("memory"), unit=" %", colour="#2f9e44", lo=0, hi=100)),
    ]


async def device_page(request: Request) -> Response:
    viewer = await _page_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    srv = server_of(request)
    now = time.time()
    detail = await srv.db.read(_detail, _device_id(request), now)
    if detail is None:
        return PlainTextResponse("no such device", status_code=404)
    summary = summarize_guarded(srv, detail["row"], detail["shot"], viewer, now)
    logs = detail["logs"]
    log_tail = ""
    if logs:
        log_tail = clean_log(await asyncio.to_thread(logstore.tail, srv.settings.log_dir, logs[0].file_name,
                                                     logs[0].received))
    return render(request, viewer, "device.html", page="device", device=summary,
                  commands=_commands_view(detail["commands"], viewer), charts=_charts(detail["history"], viewer.t),
                  logs=[{"upload_id": r.upload_id, "received": r.received, "done": r.done,
                         "when": ago(viewer.t, now - r.updated_at)} for r in logs],
                  log_tail=log_tail, alerts=[{"kind": a.kind, "message": a.message,
                                              "when": ago(viewer.t, now - a.created_at)} for a in detail["alerts"]],
                  remote_keys=REMOTE_KEYS)


async def log_text(request: Request) -> Response:
    viewer = await _page_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    srv = server_of(request)
    upload_id = request.path_params["upload_id"]
    if not logstore.UPLOAD_ID.fullmatch(upload_id):
        return PlainTextResponse("no such log", status_code=404)
    upload = await srv.db.read(logstore.get, _device_id(request), upload_id)
    if upload is None:
        return PlainTextResponse("no such log", status_code=404)
    text = await asyncio.to_thread(logstore.tail, srv.settings.log_dir, upload.file_name, upload.received,
                                   logstore.UPLOAD_MAX)
    # Read in the browser as much as the page's tail is: the same cleaning, or a line could still hide.
    return PlainTextResponse(clean_log(text), headers={"Cache-Control": "no-store"})


async def screenshot_file(request: Request) -> Response:
    viewer = await _page_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    srv = server_of(request)
    shot = await srv.db.read(screenshots.by_id, bounded_id(request.path_params["shot_id"], "screenshot id"))
    if shot is None:
        return PlainTextResponse("no such screenshot", status_code=404)
    path = srv.settings.screenshot_dir / shot.file_name
    if not await asyncio.to_thread(path.is_file):
        return PlainTextResponse("no such screenshot", status_code=404)
    # One id is one picture forever, so the browser may keep it.
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


# --- JSON for the page script --------------------------------------------------------------------


async def devices_json(srv: Server, viewer: Viewer) -> dict[str, Any]:
    """Every box as the device list's script sees it (the JSON call and the list's event stream)."""
    now = time.time()
    rows, shots = await srv.db.read(_device_rows)
    items = [summarize_guarded(srv, row, shots.get(row.id), viewer, now) for row in rows]
    for item in items:
        item["now_playing_html"] = now_playing_html(viewer, item["np"])
    return {"devices": items}


async def api_devices(request: Request) -> Response:
    viewer = await api_viewer(request)
    return JSONResponse(await devices_json(server_of(request), viewer))


async def device_json(srv: Server, viewer: Viewer, device_id: int) -> dict[str, Any] | None:
    """One box as its page's script sees it (the JSON call and the page's event stream)."""
    now = time.time()
    detail = await srv.db.read(_detail, device_id, now, False)
    if detail is None:
        return None
    device = summarize_guarded(srv, detail["row"], detail["shot"], viewer, now)
    device["now_playing_html"] = now_playing_html(viewer, device["np"])
    return {"device": device, "commands": _commands_view(detail["commands"], viewer)}


async def api_device(request: Request) -> Response:
    viewer = await api_viewer(request)
    payload = await device_json(server_of(request), viewer, _device_id(request))
    if payload is None:
        raise ApiError(404, "no such device")
    return JSONResponse(payload)


def _active_device(conn: sa.Connection, device_id: int) -> bool:
    return conn.execute(sa.select(devices.c.id).where(devices.c.id == device_id,
                                                      devices.c.revoked_at.is_(None))).first() is not None


async def api_queue_command(request: Request) -> Response:
    await api_viewer(request, post=True)
    srv = server_of(request)
    device_id = _device_id(request)
    payload = await read_json_object(request)
    try:
        args = cq.validate(payload.get("type"), payload.get("args"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None

    def queue(conn: sa.Connection) -> dict[str, Any] | None:
        if not _active_device(conn, device_id):
            return None
        return cq.queue_command(conn, device_id, payload["type"], args, time.time())

    command = await srv.db.write(queue)
    if command is None:
        raise ApiError(404, "no such device")
    srv.wakeups.wake(device_id)
    srv.page_wakeups.wake(device_id)
    return JSONResponse({"ok": True, "command": command})


async def api_live(request: Request) -> Response:
    await api_viewer(request, post=True)
    srv = server_of(request)
    device_id = _device_id(request)
    until = time.time() + srv.settings.live_seconds

    def mark(conn: sa.Connection) -> bool:
        return conn.execute(devices.update().where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
                            .values(live_until=until)).rowcount == 1

    if not await srv.db.write(mark):
        raise ApiError(404, "no such device")
    srv.wakeups.wake(device_id)  # the box's held command poll answers with live mode now
    return JSONResponse({"ok": True, "until": until})


def routes() -> list[Route]:
    return [
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", set_language, methods=["GET"]),
        Route("/", device_list_page, methods=["GET"]),
        Route("/devices/{device_id:int}", device_page, methods=["GET"]),
        Route("/devices/{device_id:int}/logs/{upload_id}.txt", log_text, methods=["GET"]),
        Route("/screenshots/{shot_id:int}.jpg", screenshot_file, methods=["GET"]),
        Route("/api/dash/devices", api_devices, methods=["GET"]),
        Route("/api/dash/devices/{device_id:int}", api_device, methods=["GET"]),
        Route("/api/dash/devices/{device_id:int}/commands", api_queue_command, methods=["POST"]),
        Route("/api/dash/devices/{device_id:int}/live", api_live, methods=["POST"]),
    ]
