"""Chunked, resumable log uploads: each chunk lands at the offset the server already holds, or not at all.

The file is written first (at its offset, fsynced) and the database's byte count moves only after
that, with ``WHERE received = offset``: a crash between the two leaves extra bytes past ``received``
that the next chunk overwrites, and two replicas racing on one upload cannot both advance it.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from piclient.server.schema import log_uploads

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


def create(conn: sa.Connection, device_id: int, upload_id: str, now: float) -> Upload:
    """The upload, made if new. Its file name is ours: the device id and a fresh UUID."""
    found = get(conn, device_id, upload_id)
    if found is not None:
        return found
    file_name = f"{int(device_id)}/{uuid.uuid4().hex}.log"
    conn.execute(log_uploads.insert().values(device_id=device_id, upload_id=upload_id, file_name=file_name,
                                             received=0, created_at=now, updated_at=now, done=False))
    return Upload(file_name, 0, False)


def write_chunk(root: Path, file_name: str, offset: int, data: bytes) -> None:
    path = root / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


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
