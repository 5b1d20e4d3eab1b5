"""Chunked, resumable log uploads: each chunk lands at the offset the server already holds, or not at all.

The file is written first (at its offset, fsynced) and the database's byte count moves only after
that, with ``WHERE received = offset``: a crash between the two leaves extra bytes past ``received``
that the next chunk overwrites, and two replicas racing on one upload cannot both advance it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from piclient.server.schema import commands, log_uploads

CHUNK_MAX = 256 * 1024
UPLOAD_MAX = 64 * 1024 * 1024
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Upload:
    file_name: str
    received: int
    done: bool


def get(conn: sa.Connection, device_id: int, upload_id: str) -> Upload | None:
    row = conn.execute(sa.select(log_uploads.c.file_name, log_uploads.c.received, log_uploads.c.done)
                       .where(log_uploads.c.device_id == device_id, log_uploads.c.upload_id == upload_id)).first()
    return None if row is None else Upload(row.file_name, row.received, row.done)


class NotAsked(Exception):
    """A new upload from a box that has no upload_logs command pending: nobody asked for these bytes."""


def create(conn: sa.Connection, device_id: int, upload_id: str, now: float) -> Upload:
    """The upload, made if new. Its file name is ours: the device id and a fresh UUID.

    A new upload needs an upload_logs command still waiting for its result; the box's quota
    (quota.py) bounds what one command can bring.
    """
    found = get(conn, device_id, upload_id)
    if found is not None:
        return found
    asked = conn.execute(sa.select(commands.c.id).where(
        commands.c.device_id == device_id, commands.c.type == "upload_logs", commands.c.status == "pending",
        commands.c.expires_at > now).limit(1)).first()
    if asked is None:
        raise NotAsked("no upload_logs command is waiting for this box's logs")
    file_name = f"{int(device_id)}/{uuid.uuid4().hex}.log"
    conn.execute(log_uploads.insert().values(device_id=device_id, upload_id=upload_id, file_name=file_name,
                                             received=0, created_at=now, updated_at=now, done=False))
    return Upload(file_name, 0, False)


class DiskFull(OSError):
    """The chunk is not all on disk (no space, a quota, a file size limit); nothing may acknowledge it."""


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_chunk(root: Path, file_name: str, offset: int, data: bytes) -> None:
    """Every byte of ``data`` at ``offset``, on disk (fsynced), or DiskFull / OSError.

    pwrite may write less than asked (a nearly full disk, RLIMIT_FSIZE) and only the next call says
    why; acknowledging the chunk after a short write once told a box 262,144 bytes were safe when
    106,496 were.
    """
    path = root / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        view = memoryview(data)
        written = 0
        while written < len(data):  # bounded: each pass writes at least one byte or raises
            try:
                count = os.pwrite(fd, view[written:], offset + written)
            except OSError as exc:
                if exc.errno in _FULL:
                    _give_back(fd, offset)
                    raise DiskFull(exc.errno, f"wrote {written} of {len(data)} bytes: {exc.strerror}") from None
                raise
            if count <= 0:
                _give_back(fd, offset)
                raise DiskFull(errno.ENOSPC, f"wrote {written} of {len(data)} bytes: the disk took no more")
            written += count
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc.errno in _FULL:
                raise DiskFull(exc.errno, f"fsync: {exc.strerror}") from None
            raise
    finally:
        os.close(fd)


def _give_back(fd: int, offset: int) -> None:
    # The part of the chunk that did land is never acknowledged; free its space for the rest of the server.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, offset)


def advance(conn: sa.Connection, device_id: int, upload_id: str, offset: int, size: int, now: float) -> bool:
    changed = conn.execute(log_uploads.update()
                           .where(log_uploads.c.device_id == device_id, log_uploads.c.upload_id == upload_id,
                                  log_uploads.c.received == offset, log_uploads.c.done.is_(False))
                           .values(received=offset + size, updated_at=now)).rowcount
    return changed == 1


def finish(conn: sa.Connection, device_id: int, upload_id: str, now: float) -> Upload | None:
    conn.execute(log_uploads.update()
                 .where(log_uploads.c.device_id == device_id, log_uploads.c.upload_id == upload_id)
                 .values(done=True, updated_at=now))
    return get(conn, device_id, upload_id)


def recent(conn: sa.Connection, device_id: int, limit: int = 5) -> list[sa.Row]:
    return list(conn.execute(sa.select(log_uploads).where(log_uploads.c.device_id == device_id)
                             .order_by(log_uploads.c.updated_at.desc()).limit(limit)))


def tail(root: Path, file_name: str, received: int, size: int = TAIL_BYTES) -> str:
    """The last ``size`` bytes the server acknowledged, as text (bytes past ``received`` are not real yet)."""
    try:
        with open(root / file_name, "rb") as handle:
            start = max(0, received - size)
            handle.seek(start)
            data = handle.read(received - start)
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", "replace")
