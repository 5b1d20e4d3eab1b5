"""The dashboard's library page (``/titles``): every title with its poster, length, rungs, subtitles
and state; the packaging jobs and uploads in progress; per box what she watched, what she stopped in
the middle of, and how many titles she has not started; and the changes made once at the source
(names, year, description, hide, show, remove, shift a subtitle). Its words live here, in English and
Korean, beside the page that uses them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from piclient.publish import PublishError, catalog_file
from piclient.server import jobs
from piclient.server.context import Server, server_of
from piclient.server.dashboard import Viewer, render, viewer_of
from piclient.server.http import ApiError, read_body
from piclient.server.schema import devices, progress, uploads
from piclient.server.uploads import is_bundle, partial_path

FORM_LIMIT = 64 * 1024
POSTER_LIMIT = 15 * 1024 * 1024  # what the box accepts for a poster (docs/catalog.md)
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "library": "Library", "no_library": "This server has no --library: start it with --library DIR.",
        "jobs": "Uploads and packaging", "no_jobs": "Nothing is being uploaded or packaged.",
        "uploading": "uploading", "queued": "waiting", "running": "packaging", "done": "ready",
        "failed": "failed", "titles": "Titles", "no_titles": "No titles yet. Add one with piclient publish.",
        "ready": "ready", "hidden": "hidden", "added": "added {when}", "rungs": "Versions",
        "subtitles": "Subtitles", "none": "none", "episodes": "{n} episodes", "edit": "Edit",
        "name_ko": "Korean name", "name_en": "English name", "year": "Year", "about_ko": "Korean description",
        "about_en": "English description", "save": "Save", "hide": "Hide from the TV", "show": "Show on the TV",
        "remove": "Remove", "remove_sure": "Yes, delete its files", "shift": "Shift subtitle",
        "seconds": "seconds (+ later, − earlier)", "boxes": "What she watched",
        "new_not_started": "{n} new titles not started", "watched": "Watched", "stopped": "Stopped at",
        "nothing": "nothing yet", "saved": "Saved.", "detail": "details", "poster": "Poster",
        "new_poster": "New poster picture", "add": "Add a film", "film_file": "Film file",
        "sub_files": "Subtitle files (optional)",
        "series": "Episode of a series", "season": "Season", "episode": "Episode", "upload": "Upload",
        "sending": "Uploading the film; it resumes if the connection drops.",
        "sent": "Uploaded. Packaging starts now.",
    },
    "ko": {
        "library": "라이브러리", "no_library": "이 서버에는 --library가 없습니다. --library DIR로 시작하세요.",
        "jobs": "업로드와 변환", "no_jobs": "업로드나 변환 중인 것이 없습니다.",
        "uploading": "업로드 중", "queued": "대기", "running": "변환 중", "done": "완료", "failed": "실패",
        "titles": "작품", "no_titles": "아직 작품이 없습니다. piclient publish로 추가하세요.",
        "ready": "재생 가능", "hidden": "숨김", "added": "{when} 추가", "rungs": "화질",
        "subtitles": "자막", "none": "없음", "episodes": "{n}화", "edit": "편집",
        "name_ko": "한국어 제목", "name_en": "영어 제목", "year": "연도", "about_ko": "한국어 설명",
        "about_en": "영어 설명", "save": "저장", "hide": "TV에서 숨기기", "show": "TV에 보이기",
        "remove": "삭제", "remove_sure": "네, 파일도 지웁니다", "shift": "자막 시간 이동",
        "seconds": "초 (+ 늦게, − 빠르게)", "boxes": "시청 기록",
        "new_not_started": "아직 안 본 새 작품 {n}편", "watched": "다 봄", "stopped": "멈춘 곳",
        "nothing": "아직 없음", "saved": "저장했습니다.", "detail": "자세히", "poster": "포스터",
        "new_poster": "새 포스터 그림", "add": "작품 추가", "film_file": "영상 파일", "sub_files": "자막 파일 (선택)",
        "series": "시리즈의 한 회", "season": "시즌", "episode": "회", "upload": "업로드",
        "sending": "영상을 올리는 중입니다. 연결이 끊겨도 이어서 올립니다.",
        "sent": "업로드했습니다. 변환을 시작합니다.",
    },
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


@dataclass
class TitleView:
    id: str
    name: str
    kind: str
    poster: str | None
    length: str
    rungs: list[str]
    subtitles: list[str]
    warnings: list[str]
    hidden: bool
    added: str
    form: dict[str, str]  # the edit form's current values
    shiftable: list[tuple[str, list[str]]]  # (episode id or "", its subtitle languages)


def _name(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("*") or next(iter(value.values()), ""))
    return str(value or "")


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _date(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return ""


def title_views(doc: dict[str, Any], lang: str) -> list[TitleView]:
    views = []
    for hidden, pool in ((False, doc.get("titles", [])), (True, doc.get(catalog_file.HIDDEN, []))):
        for t in pool:
            if not isinstance(t, dict) or "id" not in t:
                continue
            episodes = [e for s in t.get("seasons", []) for e in s.get("episodes", []) if isinstance(e, dict)]
            parts = episodes if t.get("kind") == "series" else [t]
            meta = [p.get("publish") or {} for p in parts]
            views.append(TitleView(
                id=str(t["id"]), name=_name(t.get("title"), lang), kind=str(t.get("kind", "film")),
                poster=t.get("poster") if isinstance(t.get("poster"), str) and "://" not in t["poster"] else None,
                length=_clock(sum(float(p.get("duration") or 0) for p in parts)),
                rungs=sorted({r for m in meta for r in m.get("rungs", [])}, key=lambda r: int(r.rstrip("p") or 0)),
                subtitles=sorted({s.get("language", "?") for p in parts for s in p.get("subtitles", [])}),
                warnings=[w for m in meta for w in m.get("warnings", [])], hidden=hidden,
                added=_date(t.get("added_at")), form=_form(t),
                shiftable=[("" if p is t else str(p.get("id")), _languages(p)) for p in parts if p.get("subtitles")]))
    return views


def _languages(entry: dict[str, Any]) -> list[str]:
    return [str(s.get("language")) for s in entry.get("subtitles", []) if isinstance(s, dict)]


def _form(title: dict[str, Any]) -> dict[str, str]:
    names = title.get("title") if isinstance(title.get("title"), dict) else {}
    about = title.get("description") if isinstance(title.get("description"), dict) else {}
    return {"title_ko": str(names.get("ko", "")), "title_en": str(names.get("en", "")),
            "year": str(title.get("year") or ""), "description_ko": str(about.get("ko", "")),
            "description_en": str(about.get("en", ""))}


def _playable(title: dict[str, Any]) -> list[str]:
    if title.get("kind") == "series":
        episodes = (e for s in title.get("seasons", []) for e in s.get("episodes", []))
        return [str(e.get("id")) for e in episodes if isinstance(e, dict)]
    return [str(title.get("id"))]


def box_views(conn: sa.Connection, doc: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Per active box: watched and stopped titles (newest first), and titles with nothing started."""
    names: dict[str, str] = {}
    for title in doc.get("titles", []):
        if isinstance(title, dict):
            for pid in _playable(title):
                names[pid] = _name(title.get("title"), lang) + ("" if pid == title.get("id") else f" · {pid}")
    boxes = []
    for box in conn.execute(sa.select(devices.c.id, devices.c.name).where(devices.c.revoked_at.is_(None))
                            .order_by(devices.c.name)):
        rows = conn.execute(sa.select(progress).where(progress.c.device_id == box.id)
                            .order_by(progress.c.updated_at.desc())).all()
        started = {r.item_id for r in rows}
        watched = [{"name": names.get(r.item_id, r.item_id), "when": _epoch(r.updated_at)} for r in rows if r.watched]
        stopped = [{"name": names.get(r.item_id, r.item_id), "when": _epoch(r.updated_at),
                    "where": _clock(r.position) + (f" / {_clock(r.duration)}" if r.duration else "")}
                   for r in rows if not r.watched and r.position > 0]
        new = sum(1 for t in doc.get("titles", []) if isinstance(t, dict) and not started & set(_playable(t)))
        boxes.append({"id": box.id, "name": box.name, "watched": watched[:20], "stopped": stopped[:20], "new": new})
    return boxes


def _epoch(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(value))


async def new_titles_per_box(srv: Any) -> dict[int, int]:
    """For the device list: per box id, how many titles she has not started ("3 new films not started")."""
    if srv.settings.library_dir is None:
        return {}
    try:
        doc = await asyncio.to_thread(catalog_file.read, srv.settings.library_dir)
    except PublishError:
        return {}
    boxes = await srv.db.read(box_views, doc, "en")
    return {b["id"]: b["new"] for b in boxes}


def _uploads_in_progress(conn: sa.Connection) -> list[Any]:
    return conn.execute(sa.select(uploads).where(uploads.c.completed_at.is_(None))
                        .order_by(uploads.c.created_at.desc()).limit(50)).all()


async def _viewer(request: Request) -> Viewer | Response:
    viewer = await viewer_of(request)
    if viewer.csrf is None:
        return RedirectResponse(f"/login?next={quote(request.url.path, safe='/')}", status_code=303)
    return viewer


async def library_page(request: Request, message: str = "", error: str = "", status: int = 200) -> Response:
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    srv = server_of(request)
    w = words(viewer.lang)
    root = srv.settings.library_dir
    doc: dict[str, Any] = {"titles": []}
    if root is not None:
        try:
            doc = await asyncio.to_thread(catalog_file.read, root)
        except PublishError as exc:
            error = error or str(exc)
    work = await jobs_view(srv)
    boxes = await srv.db.read(box_views, doc, viewer.lang)
    return render(request, viewer, "library.html", status=status, w=w, has_library=root is not None,
                  titles=title_views(doc, viewer.lang), boxes=boxes, message=message, error=error, **work)


async def jobs_view(srv: Server) -> dict[str, list[dict[str, Any]]]:
    """The packaging jobs and the uploads still arriving, as the jobs list shows them."""
    job_rows = await srv.db.read(jobs.recent, 30)
    partial = await srv.db.read(_uploads_in_progress)
    upload_rows = []
    for row in partial:
        meta = json.loads(row.metadata)
        if is_bundle(meta):  # an update on its way to the Updates page, not a film for the library
            continue
        size = await asyncio.to_thread(_size, partial_path(srv.settings.data_dir, row.id))
        upload_rows.append({"name": meta.get("filename", "?"),
                            "percent": int(100 * size / row.length) if row.length else 0})
    return {"jobs": job_rows, "uploads": upload_rows}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


async def library_file(request: Request) -> Response:
    """A poster for the page: the same files the boxes get, behind the dashboard login."""
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    path = await asyncio.to_thread(server_of(request).library.file, request.path_params["path"])
    if path is None:
        return Response("not found", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=300"})


async def change(request: Request) -> Response:
    """One form post: ``action`` is edit | hide | show | remove | shift."""
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    # Plain urlencoded forms, read like the login form; blank values count (clearing a name is a change).
    body = await read_body(request, FORM_LIMIT)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not viewer.csrf or not secrets.compare_digest(str(form.get("csrf", "")).encode(), viewer.csrf.encode()):
        return await library_page(request, error="the form expired; please try again", status=403)
    root = server_of(request).settings.library_dir
    if root is None:
        return await library_page(request, status=409)
    title_id = request.path_params["title_id"]
    action = str(form.get("action", ""))
    try:
        await asyncio.to_thread(_apply, root, title_id, action, form)
    except PublishError as exc:
        return await library_page(request, error=str(exc), status=400)
    except ValueError:
        return await library_page(request, error="a number was expected", status=400)
    return RedirectResponse("/titles?saved=1", status_code=303)


def _apply(root: Path, title_id: str, action: str, form: dict[str, str]) -> None:
    # Here, not at the top: the edits reach the player's subtitle code, which the web process
    # otherwise never loads.
    from piclient.publish import edit

    if action == "edit":
        year = form.get("year", "").strip()
        edit.edit_title(root, title_id, title_ko=form.get("title_ko"), title_en=form.get("title_en"),
                        description_ko=form.get("description_ko"), description_en=form.get("description_en"),
                        year=int(year) if year else None, clear_year=not year)
    elif action in ("hide", "show"):
        edit.set_hidden(root, title_id, action == "hide")
    elif action == "remove":
        if form.get("sure") != "yes":
            raise PublishError("tick the box to confirm the removal")
        edit.remove_title(root, title_id)
    elif action == "shift":
        episode = form.get("episode") or None
        edit.shift_subtitle(root, title_id, form.get("language", ""), float(form.get("seconds", "")), episode)
    else:
        raise PublishError(f"unknown action {action!r}")


async def poster(request: Request) -> Response:
    """A new poster: the picture's bytes as the body (the page's script sends the chosen file)."""
    viewer = await viewer_of(request)
    if viewer.csrf is None:
        raise ApiError(401, "log in first")
    given = request.headers.get("x-csrf-token") or ""
    if not secrets.compare_digest(given.encode(), viewer.csrf.encode()):
        raise ApiError(403, "missing or wrong CSRF token")
    root = server_of(request).settings.library_dir
    if root is None:
        raise ApiError(409, "this server has no --library")
    body = await read_body(request, POSTER_LIMIT)
    await asyncio.to_thread(_set_poster, root, request.path_params["title_id"], body)
    return JSONResponse({"ok": True})


def _set_poster(root: Path, title_id: str, body: bytes) -> None:
    from piclient.publish import edit

    with tempfile.TemporaryDirectory(prefix=".poster-", dir=root) as tmp:
        image = Path(tmp) / "upload"
        image.write_bytes(body)
        try:
            edit.set_poster(root, title_id, image)
        except PublishError as exc:
            raise ApiError(400, str(exc)) from None


async def page(request: Request) -> Response:
    return await library_page(request, message=words((await viewer_of(request)).lang)["saved"]
                              if request.query_params.get("saved") else "")


def routes() -> list[Route]:
    return [
        Route("/titles", page, methods=["GET"]),
        Route("/titles/file/{path:path}", library_file, methods=["GET"]),
        Route("/titles/{title_id}", change, methods=["POST"]),
        Route("/titles/{title_id}/poster", poster, methods=["POST"]),
    ]
