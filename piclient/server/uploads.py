"""``/api/v1/uploads/``: the tus 1.0 resumable upload protocol (core, creation, termination).

Films are tens of GB over links that drop every few minutes, so the bytes on disk are the truth: a
HEAD answers with the size of the partial file, a PATCH appends from exactly there, and a connection
cut mid-body keeps every byte that arrived. Only when the last byte is on disk (fsynced) is the file
moved out of ``DATA/uploads/`` into ``DATA/incoming/<id>/`` and, for a film, queued for packaging:
nothing half-uploaded is ever packaged.

Who may upload: a maintainer token as ``Authorization: Bearer`` (never a box's token), or the
dashboard's session cookie with its CSRF token in ``X-CSRF-Token`` (the dashboard's own page).

An update bundle (``kind`` ``bundle``, a ``.bundle`` file from ``make bundle``) rides the same uploads:
its last byte only moves it into ``DATA/incoming/<id>/``; the Updates page then asks the server to
check and publish it (``updates_page.publish_upload``), exactly as ``piclient server publish-bundle``.

Metadata (``Upload-Metadata``): ``filename`` (required), and for a film optionally ``title_ko``,
``title_en``, ``year``, ``series``, ``season``, ``episode``, ``subtitle_offset``. A subtitle file
(.srt, .smi, .vtt, .ass, .ssa) names its film's upload id in ``film`` and may carry
``subtitle_language``; it must be complete before the film's last byte arrives.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from piclient.server import jobs, sessions
from piclient.server.context import LIBRARY_PAGES, server_of
from piclient.server.http import ApiError
from piclient.server.maintainers import token_owner
from piclient.server.schema import uploads

TUS_VERSION = "1.0.0"
MAX_SIZE = 200 * 1024**3
BUNDLE_MAX_SIZE = 4 * 1024**3  # a bundle of wheels is tens of MB; anything near this is a wrong file
SUBTITLE_EXTENSIONS = (".srt", ".smi", ".sami", ".vtt", ".ass", ".ssa")
FILM_KEYS = ("title_ko", "title_en", "year", "series", "season", "episode", "subtitle_offset")
WRITE_CHUNK = 1024 * 1024
_ID = re.compile(r"^[0-9a-f]{32}$")


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def partial_path(data_dir: Path, upload_id: str) -> Path:
    return data_dir / "uploads" / f"{upload_id}.part"


def incoming_dir(data_dir: Path, upload_id: str) -> Path:
    return data_dir / "incoming" / upload_id


async def _owner(request: Request) -> str:
    srv = server_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        owner = await srv.db.read(token_owner, header[7:].strip())
        if owner is None:
            raise ApiError(401, "this is not an active maintainer token")
        return owner
    cookie = request.cookies.get(sessions.COOKIE)
    csrf = await srv.db.read(sessions.csrf_for, cookie, time.time()) if cookie else None
    if csrf is None:
        raise ApiError(401, "uploads need a maintainer token (Authorization: Bearer) or a dashboard login")
    if request.method not in ("HEAD", "GET", "OPTIONS"):
        given = request.headers.get("x-csrf-token") or ""
        if not secrets.compare_digest(given.encode(), csrf.encode()):
            raise ApiError(403, "the dashboard's upload needs its X-CSRF-Token")
    return "dashboard"


def _check_version(request: Request) -> None:
    if request.method != "OPTIONS" and request.headers.get("tus-resumable") != TUS_VERSION:
        raise ApiError(412, f"this server speaks tus {TUS_VERSION}")


def parse_metadata(header: str) -> dict[str, str]:
    """``key base64value,key2 base64value2`` as a dict; a bad pair is a 400."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            found[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(400, f"Upload-Metadata {key!r} is not base64 UTF-8") from None
    return found


def _check_metadata(meta: dict[str, str]) -> None:
    name = meta.get("filename", "")
    if not name or len(name) > 200 or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        raise ApiError(400, "Upload-Metadata needs a plain 'filename' (no folders, not hidden, up to 200 characters)")
    for key in ("year", "season", "episode"):
        if meta.get(key) and not meta[key].isdigit():
            raise ApiError(400, f"Upload-Metadata {key!r} must be a whole number")
    if meta.get("subtitle_offset"):
        try:
            float(meta["subtitle_offset"])
        except ValueError:
            raise ApiError(400, "Upload-Metadata 'subtitle_offset' must be a number of seconds") from None
    if is_subtitle(name) and not _ID.match(meta.get("film", "")):
        raise ApiError(400, "a subtitle upload names its film's upload id in 'film'")
    if meta.get("kind", "film") not in ("film", "bundle"):
        raise ApiError(400, "Upload-Metadata 'kind' is 'film' or 'bundle'")
    if is_bundle(meta) and not name.endswith(".bundle"):
        raise ApiError(400, "an update bundle is the .bundle file `make bundle` writes")


def is_bundle(meta: dict[str, str]) -> bool:
    return meta.get("kind") == "bundle"


def is_subtitle(name: str) -> bool:
    return name.lower().endswith(SUBTITLE_EXTENSIONS)


async def options(request: Request) -> Response:
    return Response(status_code=204, headers=_tus_headers(**{
        "Tus-Version": TUS_VERSION, "Tus-Extension": "creation,termination", "Tus-Max-Size": str(MAX_SIZE)}))


async def create(request: Request) -> Response:
    srv = server_of(request)
    owner = await _owner(request)
    _check_version(request)
    meta = parse_metadata(request.headers.get("upload-metadata", ""))
    _check_metadata(meta)
    if srv.settings.library_dir is None and not is_bundle(meta):
        raise ApiError(409, "this server has no --library to publish into")
    try:
        length = int(request.headers.get("upload-length", ""))
    except ValueError:
        raise ApiError(400, "Upload-Length is required (deferred lengths are not supported)") from None
    limit = BUNDLE_MAX_SIZE if is_bundle(meta) else MAX_SIZE
    if not 0 < length <= limit:
        raise ApiError(413, f"{'a bundle' if is_bundle(meta) else 'an upload'} is 1 byte to {limit // 1024**3} GB")
    upload_id = secrets.token_hex(16)
    part = partial_path(srv.settings.data_dir, upload_id)
    await asyncio.to_thread(_create_file, part)
    await srv.db.write(lambda conn: conn.execute(uploads.insert().values(
        id=upload_id, length=length, metadata=json.dumps(meta, ensure_ascii=False), owner=owner,
        created_at=time.time())))
    return Response(status_code=201, headers=_tus_headers(Location=f"/api/v1/uploads/{upload_id}"))


def _create_file(part: Path) -> None:
    part.parent.mkdir(parents=True, exist_ok=True)
    part.touch(exist_ok=False)


async def _upload(request: Request) -> tuple[str, Any]:
    upload_id = request.path_params["upload_id"]
    if not _ID.match(upload_id):
        raise ApiError(404, "no such upload")
    row = await server_of(request).db.read(
        lambda conn: conn.execute(sa.select(uploads).where(uploads.c.id == upload_id)).first())
    if row is None:
        raise ApiError(404, "no such upload")
    return upload_id, row


def _offset(data_dir: Path, upload_id: str, row: Any) -> int:
    if row.completed_at is not None:
        return int(row.length)
    try:
        return partial_path(data_dir, upload_id).stat().st_size
    except FileNotFoundError:
        return 0


async def head(request: Request) -> Response:
    await _owner(request)
    _check_version(request)
    upload_id, row = await _upload(request)
    offset = await asyncio.to_thread(_offset, server_of(request).settings.data_dir, upload_id, row)
    return Response(status_code=200, headers=_tus_headers(**{"Upload-Offset": str(offset),
                                                              "Upload-Length": str(row.length)}))


async def patch(request: Request) -> Response:
    srv = server_of(request)
    await _owner(request)
    _check_version(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/offset+octet-stream":
        raise ApiError(415, "a PATCH body is application/offset+octet-stream")
    upload_id, row = await _upload(request)
    if row.completed_at is not None:
        raise ApiError(409, "this upload is complete", offset=int(row.length))
    try:
        claimed = int(request.headers.get("upload-offset", ""))
    except ValueError:
        raise ApiError(400, "Upload-Offset is required") from None
    part = partial_path(srv.settings.data_dir, upload_id)
    handle = await asyncio.to_thread(_open_locked, part)
    try:
        offset = os.fstat(handle.fileno()).st_size
        if claimed != offset:
            raise ApiError(409, f"the server has {offset} bytes, not {claimed}", offset=offset)
        offset = await _append(request, handle, offset, int(row.length))
    finally:
        await asyncio.to_thread(handle.close)  # closing drops the lock
    if offset == row.length:
        await _complete(request, upload_id, row)
    srv.library_wakeups.wake(LIBRARY_PAGES)
    return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(offset)}))


def _open_locked(part: Path) -> Any:
    """The partial file for appending, locked against a second PATCH (from this or another process)."""
    try:
        # Never created here: a file removed (terminated, or abandoned_uploads.py) stays gone.
        handle = os.fdopen(os.open(part, os.O_WRONLY | os.O_APPEND), "ab")
    except FileNotFoundError:
        raise ApiError(404, "this upload's data is gone; start it again") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ApiError(409, "this upload is being written by another request") from None
    return handle


async def _append(request: Request, handle: Any, offset: int, length: int) -> int:
    """Append the body; every byte that arrived stays, even when the client goes away mid-body."""
    buffered: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            if offset + size + len(chunk) > length:
                raise ApiError(413, "the body runs past Upload-Length")
            buffered.append(chunk)
            size += len(chunk)
            if sum(map(len, buffered)) >= WRITE_CHUNK:
                await asyncio.to_thread(handle.write, b"".join(buffered))
                buffered.clear()
    except ClientDisconnect:
        pass  # the link dropped: keep what came, the client resumes from there
    if buffered:
        await asyncio.to_thread(handle.write, b"".join(buffered))
    await asyncio.to_thread(_sync, handle)
    return offset + size


def _sync(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


async def _complete(request: Request, upload_id: str, row: Any) -> None:
    srv = server_of(request)
    meta = json.loads(row.metadata)
    target = incoming_dir(srv.settings.data_dir, upload_id)
    await asyncio.to_thread(_move_into_place, partial_path(srv.settings.data_dir, upload_id), target,
                            meta["filename"])
    now = time.time()
    library = srv.settings.library_dir

    def record(conn: sa.Connection) -> None:
        conn.execute(uploads.update().where(uploads.c.id == upload_id).values(completed_at=now))
        if is_subtitle(meta["filename"]) or is_bundle(meta):
            return
        subs = conn.execute(sa.select(uploads).where(uploads.c.completed_at.is_not(None))).all()
        named = [(s.id, json.loads(s.metadata)) for s in subs]
        mine = [(sub_id, m) for sub_id, m in named if m.get("film") == upload_id]
        options = {k: meta[k] for k in FILM_KEYS if meta.get(k)}
        options.update(subtitles=[str(incoming_dir(srv.settings.data_dir, i) / m["filename"]) for i, m in mine],
                       subtitle_languages=[m.get("subtitle_language", "") for _, m in mine], library=str(library))
        jobs.enqueue(conn, str(target / meta["filename"]), options, now, upload_id=upload_id)

    await srv.db.write(record)


def completed_file(data_dir: Path, row: Any) -> Path | None:
    """Where a finished upload's file is (``None`` while it is still arriving)."""
    if row.completed_at is None:
        return None
    return incoming_dir(data_dir, row.id) / json.loads(row.metadata)["filename"]


def _move_into_place(part: Path, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(part, folder / name)


async def delete(request: Request) -> Response:
    srv = server_of(request)
    await _owner(request)
    _check_version(request)
    upload_id, row = await _upload(request)
    if row.completed_at is not None:
        raise ApiError(409, "a finished upload is packaged or queued; remove the title from the library instead")
    await asyncio.to_thread(partial_path(srv.settings.data_dir, upload_id).unlink, True)
    await srv.db.write(lambda conn: conn.execute(uploads.delete().where(uploads.c.id == upload_id)))
    return Response(status_code=204, headers=_tus_headers())


async def job_status(request: Request) -> Response:
    await _owner(request)
    upload_id, _row = await _upload(request)
    job = await server_of(request).db.read(jobs.get, None, upload_id)
    if job is None:
        raise ApiError(404, "no packaging job for this upload (is it complete, and a film?)")
    return JSONResponse(job)


def routes() -> list[Route]:
    return [
        Route("/api/v1/uploads/", options, methods=["OPTIONS"]),
        Route("/api/v1/uploads/", create, methods=["POST"]),
        Route("/api/v1/uploads/{upload_id}", head, methods=["HEAD"]),
        Route("/api/v1/uploads/{upload_id}", patch, methods=["PATCH"]),
        Route("/api/v1/uploads/{upload_id}", delete, methods=["DELETE"]),
        Route("/api/v1/uploads/{upload_id}/job", job_status, methods=["GET"]),
    ]
