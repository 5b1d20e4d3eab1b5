"""Old records go after the retention period; each device keeps its newest screenshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from piclient.server import migrate, retention
from piclient.server.db import Database, default_url
from piclient.server.devices import add_device
from piclient.server.schema import commands, devices, heartbeats, log_uploads, screenshots

DAY = 86400.0
NOW = 1_800_000_000.0


def seed(conn: sa.Connection, data: Path) -> int:
    add_device(conn, "old box")
    device_id = conn.execute(sa.select(devices.c.id)).scalar_one()
    for n, age in enumerate((20, 15, 1)):
        conn.execute(heartbeats.insert().values(device_id=device_id, record_id=f"h{n}", received_at=NOW - age * DAY))
    for n, age in enumerate((30, 20)):  # both old: the newer one must stay
        name = f"{device_id}/s{n}.jpg"
        (data / "screenshots" / name).parent.mkdir(parents=True, exist_ok=True)
        (data / "screenshots" / name).write_bytes(b"jpeg")
        conn.execute(screenshots.insert().values(device_id=device_id, record_id=f"s{n}", file_name=name,
                                                 received_at=NOW - age * DAY, reason="schedule", width=1, height=1,
                                                 size=4))
    (data / "logs" / "1").mkdir(parents=True, exist_ok=True)
    (data / "logs" / "1" / "old.log").write_bytes(b"log")
    conn.execute(log_uploads.insert().values(device_id=device_id, upload_id="u", file_name="1/old.log", received=3,
                                             created_at=NOW - 20 * DAY, updated_at=NOW - 20 * DAY, done=True))
    conn.execute(commands.insert().values(id="c-old", device_id=device_id, type="reboot", args="{}", status="done",
                                          created_at=NOW - 20 * DAY, expires_at=NOW - 20 * DAY))
    conn.execute(commands.insert().values(id="c-stale", device_id=device_id, type="key", args="{}", status="pending",
                                          created_at=NOW - 600, expires_at=NOW - 300))
    return device_id


def test_a_sweep_forgets_old_records_and_files_but_keeps_the_newest_screenshot(tmp_path: Path) -> None:
    db = Database(default_url(tmp_path))
    migrate.upgrade(db.writer_engine)
    db.start()
    try:
        db.write_sync(seed, tmp_path)
        removed = asyncio.run(retention.sweep(db, tmp_path, retention_days=14, now=NOW))
        assert removed >= 5

        def left(conn: sa.Connection) -> tuple[list[str], list[str], list[tuple[str, str]], int]:
            beats = conn.execute(sa.select(heartbeats.c.record_id)).scalars().all()
            shots = conn.execute(sa.select(screenshots.c.record_id)).scalars().all()
            cmds = conn.execute(sa.select(commands.c.id, commands.c.status)).all()
            logs = conn.execute(sa.select(sa.func.count()).select_from(log_uploads)).scalar_one()
            return beats, shots, [tuple(c) for c in cmds], logs

        beats, shots, cmds, logs = db.read_sync(left)
        assert beats == ["h2"] and shots == ["s1"] and cmds == [("c-stale", "expired")] and logs == 0
        assert sorted(p.name for p in (tmp_path / "screenshots").rglob("*.jpg")) == ["s1.jpg"]
        assert not (tmp_path / "logs" / "1" / "old.log").exists()
    finally:
        db.close()
