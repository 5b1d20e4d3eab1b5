"""The dashboard's updates page: each box's running version, the version it is offered and how its
update went (with the reason and the failing version's last log lines one tap away), the published
bundles, and a form to offer a version to one box first, then to all."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from piclient.server import updates
from piclient.server.boxtext import clean, clean_block, clean_log
from piclient.server.context import server_of
from piclient.server.dashboard import FORM_LIMIT, _csrf_ok, _page_viewer, render
from piclient.server.http import read_body
from piclient.server.schema import devices

TEXT = {
    "en": {"updates": "Updates", "device": "Box", "running": "Running", "offered": "Offered", "state": "Update",
           "bundles": "Published versions", "published": "published", "offer": "Offer", "to_all": "all boxes",
           "no_bundles": "Nothing published yet. On the server run: piclient server publish-bundle FILE --data DIR",
           "downloading": "downloading", "installing": "installing", "trying": "trying", "kept": "kept",
           "rolled_back": "rolled back", "failed": "refused", "details": "details", "none": "—",
           "offered_to": "Version {version} offered to {n} box(es).", "offer_failed": "Not offered: {error}"},
    "ko": {"updates": "업데이트", "device": "기기", "running": "실행 중", "offered": "제공", "state": "업데이트 상태",
           "bundles": "게시한 버전", "published": "게시", "offer": "제공하기", "to_all": "모든 기기",
           "no_bundles": ("아직 게시한 버전이 없습니다. 서버에서 "
                          "piclient server publish-bundle FILE --data DIR 을 실행하세요."),
           "downloading": "내려받는 중", "installing": "설치 중", "trying": "시험 중", "kept": "적용됨",
           "rolled_back": "되돌림", "failed": "거부됨", "details": "자세히", "none": "—",
           "offered_to": "버전 {version}을(를) 기기 {n}대에 제공했습니다.",
           "offer_failed": "제공하지 못했습니다: {error}"},
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
    target = form.get("device", "")
    try:
        count = await server_of(request).db.write(updates.offer, form.get("version", ""),
                                                  None if target == "*" else target)
        note = u("offered_to", version=form.get("version", ""), n=count)
    except updates.UpdateError as exc:
        note = u("offer_failed", error=str(exc))
    return RedirectResponse(f"/updates?note={quote(note)}", status_code=303)


def routes() -> list[Route]:
    return [Route("/updates", updates_get, methods=["GET"]), Route("/updates/offer", updates_offer, methods=["POST"])]
