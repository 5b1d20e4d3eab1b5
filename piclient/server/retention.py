"""Periodic clean-up: forget what is older than the retention period, in bounded batches, and remove
abandoned uploads (abandoned_uploads.py).

Each device's newest screenshot is kept whatever its age, so a box that has been off for a month
still shows its last picture on the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from piclient.server import abandoned_uploads
from piclient.server import screenshots as shots
from piclient.server.db import Database
from piclient.server.schema import alerts, commands, heartbeats, log_uploads, screenshots, sessions

log = logging.getLogger(__name__)

BATCH = 5000
MAX_BATCHES = 200  # one run deletes at most a million rows; the next run continues


@dataclass
class Swept:
    rows: int = 0
    files: list[str] = field(default_factory=list)


def sweep_batch(conn: sa.Connection, now: float, cutoff: float) -> Swept:
    swept = Swept()
    old_beats = sa.select(heartbeats.c.id).where(heartbeats.c.received_at < cutoff).limit(BATCH)
    swept.rows += conn.execute(heartbeats.delete().where(heartbeats.c.id.in_(old_beats))).rowcount
    newest = sa.select(sa.func.max(screenshots.c.id)).group_by(screenshots.c.device_id)
    old_shots = conn.execute(sa.select(screenshots.c.id, screenshots.c.file_name)
                             .where(screenshots.c.received_at < cutoff, screenshots.c.id.not_in(newest))
                             .limit(BATCH)).all()
    if old_shots:
        conn.execute(screenshots.delete().where(screenshots.c.id.in_([r.id for r in old_shots])))
        swept.rows += len(old_shots)
        swept.files += [f"screenshots/{r.file_name}" for r in old_shots]
    old_logs = conn.execute(sa.select(log_uploads.c.device_id, log_uploads.c.upload_id, log_uploads.c.file_name)
                            .where(log_uploads.c.updated_at < cutoff).limit(BATCH)).all()
    for row in old_logs:
        conn.execute(log_uploads.delete().where(log_uploads.c.device_id == row.device_id,
                                                log_uploads.c.upload_id == row.upload_id))
        swept.files.append(f"logs/{row.file_name}")
    swept.rows += len(old_logs)
    old_commands = sa.select(commands.c.id).where(commands.c.created_at < cutoff).limit(BATCH)
    swept.rows += conn.execute(commands.delete().where(commands.c.id.in_(old_commands))).rowcount
    # Commands that went stale are marked, so the dashboard's history says so plainly.
    conn.execute(commands.update().where(commands.c.status == "pending", commands.c.expires_at <= now)
                 .values(status="expired"))
    swept.rows += conn.execute(alerts.delete().where(alerts.c.created_at < cutoff)).rowcount
    swept.rows += conn.execute(sessions.delete().where(sessions.c.expires_at < now)).rowcount
    return swept


async def sweep(db: Database, data_dir: Path, retention_days: float, now: float | None = None) -> int:
    now = time.time() if now is None else now
    cutoff = now - retention_days * 86400
    total = 0
    for _ in range(MAX_BATCHES):
        swept = await db.write(sweep_batch, now, cutoff)
        # Files go only after the rows are committed: a crash leaves a stray file, never a broken row.
        for name in swept.files:
            await asyncio.to_thread(shots.remove_file, data_dir, name)
        total += swept.rows
        if swept.rows < BATCH:
            break
    return total


async def run(db: Database, data_dir: Path, retention_days: float, every: float, stop: asyncio.Event, *,
              abandoned_upload_days: float = abandoned_uploads.DEFAULT_DAYS,
              uploads_removed: Callable[[], None] = lambda: None) -> None:
    """Every ``every`` seconds: old records, then abandoned uploads (``uploads_removed`` when any went)."""
    while not stop.is_set():
        try:
            removed = await sweep(db, data_dir, retention_days)
            if removed:
                log.info("retention: removed %d old records", removed)
        except Exception:
            log.exception("retention clean-up failed; trying again later")
        try:
            if await abandoned_uploads.sweep(db, data_dir, abandoned_upload_days, time.time()):
                uploads_removed()
        except Exception:
            log.exception("removing abandoned uploads failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
