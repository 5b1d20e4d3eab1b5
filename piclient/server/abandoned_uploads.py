"""Abandoned uploads: removed, with their files, once no new byte has come for a set time.

A film whose upload the maintainer gave up on, an update bundle that arrived but was never published
(the page was closed first), a subtitle whose film will never come: each would hold its disk space,
and stay listed on the library page, for good. The partial file's modification time is when its last
byte arrived; a file being written right now (a PATCH holds its lock) is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from piclient.server.db import Database
from piclient.server.schema import uploads
from piclient.server.uploads import incoming_dir, is_bundle, is_subtitle, partial_path

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7.0


def _candidates(conn: sa.Connection, cutoff: float) -> list[Any]:
    # One small row per upload ever made (a few thousand at most), so no batching: finished films stay
    # candidates for good and must not crowd out the others.
    unfinished = uploads.c.completed_at.is_(None) & (uploads.c.created_at < cutoff)
    finished = uploads.c.completed_at.is_not(None) & (uploads.c.completed_at < cutoff)
    # Unfinished first: a film removed here frees its finished subtitles in the same run.
    return conn.execute(sa.select(uploads.c.id, uploads.c.metadata, uploads.c.completed_at)
                        .where(unfinished | finished)
                        .order_by(uploads.c.completed_at.is_not(None), uploads.c.created_at)).all()


def _lock_if_idle(part: Path, cutoff: float) -> tuple[bool, Any]:
    """(may go, lock held while the row goes): False when a PATCH is writing or a byte came since."""
    try:
        handle = open(part, "rb")  # noqa: SIM115 - closed by the caller once the row is gone
    except FileNotFoundError:
        return True, None  # no bytes on disk at all: the row's age (its creation) is what counts
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False, None
    if os.fstat(handle.fileno()).st_mtime >= cutoff:
        handle.close()
        return False, None
    return True, handle


async def _remove_unfinished(db: Database, data_dir: Path, row: Any, cutoff: float) -> bool:
    part = partial_path(data_dir, row.id)
    idle, handle = await asyncio.to_thread(_lock_if_idle, part, cutoff)
    if not idle:
        return False
    try:
        # The row first: a crash leaves a stray file, never a row whose bytes are gone. A PATCH that
        # comes after finds no row (404), or no file (uploads._open_locked does not create one).
        gone = await db.write(lambda conn: conn.execute(
            uploads.delete().where(uploads.c.id == row.id, uploads.c.completed_at.is_(None))).rowcount)
        if gone:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(os.unlink, part)
        return bool(gone)
    finally:
        if handle is not None:
            await asyncio.to_thread(handle.close)


async def _remove_finished(db: Database, data_dir: Path, row: Any) -> bool:
    """A bundle never published, or a subtitle whose film is gone; a finished film belongs to its job."""
    meta = json.loads(row.metadata)
    if is_bundle(meta):
        condition = uploads.c.id == row.id
    elif is_subtitle(meta.get("filename", "")):
        film = uploads.alias("film")
        condition = (uploads.c.id == row.id) & ~sa.exists().where(film.c.id == meta.get("film", ""))
    else:
        return False
    gone = await db.write(lambda conn: conn.execute(uploads.delete().where(condition)).rowcount)
    if gone:
        await asyncio.to_thread(shutil.rmtree, incoming_dir(data_dir, row.id), True)
    return bool(gone)


async def sweep(db: Database, data_dir: Path, days: float, now: float) -> list[str]:
    """Remove the uploads with no new byte for ``days``; the file names of those removed."""
    cutoff = now - days * 86400
    removed = []
    for row in await db.read(_candidates, cutoff):
        if row.completed_at is None:
            gone = await _remove_unfinished(db, data_dir, row, cutoff)
        else:
            gone = await _remove_finished(db, data_dir, row)
        if gone:
            name = json.loads(row.metadata).get("filename", "?")
            log.info("removed the abandoned upload %s (%s): no new byte for %g days", row.id, name, days)
            removed.append(name)
    return removed
