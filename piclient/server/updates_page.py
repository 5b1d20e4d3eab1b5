"""The dashboard's updates page: each box's running version, the version it is offered and how its
update went (with the reason and the failing version's last log lines one tap away), the published
bundles, a bundle uploaded from the page (resumable, on the library page's tus uploads) and checked
exactly as ``piclient server publish-bundle`` checks it, and buttons to offer a version to one box
first, then to all."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from piclient.server import updates
from piclient.server.boxtext import clean, clean_block, clean_log
from piclient.server.context import server_of
from piclient.server.dashboard import FORM_LIMIT, _csrf_ok, _page_viewer, api_viewer, render
from piclient.server.http import ApiError, read_body
from piclient.server.schema import devices, uploads
from piclient.server.uploads import completed_file, incoming_dir, is_bundle

TEXT = {
    "en": {"updates": "Updates", "device": "Box", "running": "Running", "offered": "Offered", "state": "Update",
           "bundles": "Published versions", "published": "published",
           "no_bundles": ("Nothing published yet. Upload a bundle above, or on the server run: "
                          "piclient server publish-bundle FILE --data DIR"),
           "downloading": "downloading", "installing": "installing", "trying": "trying", "kept": "kept",
           "rolling_back": "rolling back", "rolled_back": "rolled back", "failed": "refused", "details": "details",
           "none": "—",
           "offered_to": "Version {version} offered to {n} box(es).", "offer_failed": "Not offered: {error}",
           "upload": "Publish a new version", "bundle_file": "Bundle (.bundle from make bundle)",
           "send": "Upload and publish", "sending": "Uploading…", "checking": "Checking the bundle…",
           "published_note": "Version {version} is published. Offer it to one box first, then to all.",
           "bad_bundle": "This file cannot be published: {error}", "to_one": "Offer to this box",
           "offer_all": "Offer to all boxes"},
    "ko": {"updates": "업데이트", "device": "기기", "running": "실행 중", "offered": "제공", "state": "업데이트 상태",
           "bundles": "게시한 버전", "published": "게시",
           "no_bundles": ("아직 게시한 버전이 없습니다. 위에서 번들을 올리거나, 서버에서 "
                          "piclient server publish-bundle FILE --data DIR 을 실행하세요."),
           "downloading": "내려받는 중", "installing": "설치 중", "trying": "시험 중", "kept": "적용됨",
           "rolling_back": "되돌리는 중", "rolled_back": "되돌림", "failed": "거부됨", "details": "자세히", "none": "—",
           "offered_to": "버전 {version}을(를) 기기 {n}대에 제공했습니다.",
           "offer_failed": "제공하지 못했습니다: {error}",
           "upload": "새 버전 게시", "bundle_file": "번들 (make bundle 로 만든 .bundle)",
           "send": "올리고 게시하기", "sending": "올리는 중…", "checking": "번들을 확인하는 중…",
           "published_note": "버전 {version}을(를) 게시했습니다. 먼저 기기 한 대에, 그다음 모든 기기에 제공하세요.",
           "bad_bundle": "이 파일은 게시할 수 없습니다: {error}", "to_one": "이 기기에 제공",
           "offer_all": "모든 기기에 제공"},
}


def _u(lang: str) -> Any:
    table = TEXT.get(lang, TEXT["en"])
    return lambda key, **kw: table.get(key, key).format(**kw)


def box_row(row: sa.Row) -> dict[str, Any]:
    """What the page shows of one device, from its newest heartbeat and its offer."""
    try:
        beat = json.loads(row.last_heartbeat) if row.last_heartbeat else {}
    except ValueError:
        beat = {}
    device = beat.get("device") if isinstance(beat.get("device"), dict) else {}
    update = beat.get("update") if isinstance(beat.get("update"), dict) else {}
    return {"id": row.id, "name": row.name, "running": _text(device.get("version"), clean),
            "offered": row.offered_version, "state": _text(update.get("state"), clean),
            "state_version": _text(update.get("version"), clean), "reason": _text(update.get("reason"), clean_block),
            "log_tail": _text(update.get("log_tail"), clean_log)}


def _text(value: Any, cleaner: Callable[[str], str]) -> str | None:
    """Box-sent text as the page may show it (see boxtext.py); None stays None."""
    return None if value is None else cleaner(value if isinstance(value, str) else str(value))


def _rows(conn: sa.Connection) -> tuple[list[dict[str, Any]], list[sa.Row]]:
    boxes = conn.execute(sa.select(devices.c.id, devices.c.name, devices.c.last_heartbeat, devices.c.offered_version)
                         .where(devices.c.revoked_at.is_(None)).order_by(devices.c.name))
    return [box_row(r) for r in boxes], updates.listing(conn)


async def updates_get(request: Request) -> Response:
    viewer = await _page_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    boxes, bundles = await server_of(request).db.read(_rows)
    note = request.query_params.get("note")
    return render(request, viewer, "updates.html", u=_u(viewer.lang), boxes=boxes, bundles=bundles,
                  note=note[:300] if note else None, clock=lambda t: time.strftime("%Y-%m-%d %H:%M", time.localtime(t)),
                  page="updates")


async def updates_offer(request: Request) -> Response:
    viewer = await _page_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    form = {k: v[0] for k, v in parse_qs((await read_body(request, FORM_LIMIT)).decode("utf-8", "replace")).items()}
    if not _csrf_ok(viewer.csrf, form.get("csrf")):
        return PlainTextResponse("missing or wrong CSRF token", status_code=403)
    u = _u(viewer.lang)
    target = "*" if form.get("to") == "all" else form.get("device", "")
    try:
        count = await server_of(request).db.write(updates.offer, form.get("version", ""),
                                                  None if target == "*" else target)
        note = u("offered_to", version=form.get("version", ""), n=count)
    except updates.UpdateError as exc:
        note = u("offer_failed", error=str(exc))
    return RedirectResponse(f"/updates?note={quote(note)}", status_code=303)


async def publish_upload(request: Request) -> Response:
    """Check and publish a bundle the page uploaded: ``{"upload": ID}`` -> ``{"version", "note"}``.

    The same two steps as ``piclient server publish-bundle`` (``updates.prepare`` then
    ``updates.publish``); a bad bundle is a 422 whose ``error`` says why, in the maintainer's language,
    and its file is not kept.
    """
    viewer = await api_viewer(request, post=True)
    srv = server_of(request)
    u = _u(viewer.lang)
    try:
        upload_id = str(json.loads(await read_body(request, FORM_LIMIT)).get("upload", ""))
    except (ValueError, AttributeError):
        raise ApiError(400, 'the body is {"upload": "<upload id>"}') from None
    row = await srv.db.read(lambda conn: conn.execute(sa.select(uploads).where(uploads.c.id == upload_id)).first())
    if row is None or not is_bundle(json.loads(row.metadata)):
        raise ApiError(404, "no bundle upload has this id")
    source = completed_file(srv.settings.data_dir, row)
    if source is None or not source.exists():
        raise ApiError(409, "this bundle has not arrived whole (or was published already); upload it again")
    try:
        bundle_row = await asyncio.to_thread(updates.prepare, srv.settings.data_dir, source)
        await srv.db.write(updates.publish, bundle_row)
    except updates.UpdateError as exc:
        raise ApiError(422, u("bad_bundle", error=str(exc))) from None
    finally:
        # Published or refused, the upload's copy is done with: a published bundle lives in bundles/.
        await asyncio.to_thread(shutil.rmtree, incoming_dir(srv.settings.data_dir, upload_id), True)
    version = bundle_row["version"]
    return JSONResponse({"version": version, "sha256": bundle_row["sha256"],
                         "note": u("published_note", version=version)})


def routes() -> list[Route]:
    return [Route("/updates", updates_get, methods=["GET"]), Route("/updates/offer", updates_offer, methods=["POST"]),
            Route("/api/dash/updates/publish", publish_upload, methods=["POST"])]
