"""Each box's share of the server's disk: its screenshots and its log uploads, counted from the database.

One box (broken, or in the wrong hands) must not fill the disk that every other box and the
database live on. Screenshots make room by dropping the box's own oldest pictures (the newest are
what the maintainer needs); log bytes past the quota are refused with 507.
"""

from __future__ import annotations

import sqlalchemy as sa

from piclient.server.schema import log_uploads, screenshots

MIB = 1024 * 1024
DEFAULT_BYTES = 512 * MIB


class QuotaFull(Exception):
    """This box has used its share of the server's disk."""

    def __init__(self, quota: int) -> None:
        super().__init__(f"this box has used its {quota // MIB} MiB on the server; older uploads must go first")
        self.quota = quota


def used(conn: sa.Connection, device_id: int) -> int:
    shots = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(screenshots.c.size), 0))
                         .where(screenshots.c.device_id == device_id)).scalar_one()
    logs = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(log_uploads.c.received), 0))
                        .where(log_uploads.c.device_id == device_id)).scalar_one()
    return int(shots) + int(logs)


def check(conn: sa.Connection, device_id: int, incoming: int, quota: int) -> None:
    if used(conn, device_id) + incoming > quota:
        raise QuotaFull(quota)


def make_room_for_screenshot(conn: sa.Connection, device_id: int, incoming: int, quota: int) -> list[str]:
    """Drop this box's oldest screenshots until ``incoming`` more bytes fit; the file names to delete.

    Raises QuotaFull when even dropping every picture would not do (its logs hold the rest).
    """
    excess = used(conn, device_id) + incoming - quota
    if excess <= 0:
        return []
    doomed: list[tuple[int, str]] = []
    freed = 0
    for row in conn.execute(sa.select(screenshots.c.id, screenshots.c.file_name, screenshots.c.size)
                            .where(screenshots.c.device_id == device_id).order_by(screenshots.c.id)):
        if freed >= excess:
            break
        doomed.append((row.id, row.file_name))
        freed += row.size
    if freed < excess:
        raise QuotaFull(quota)
    conn.execute(screenshots.delete().where(screenshots.c.id.in_([shot_id for shot_id, _ in doomed])))
    return [name for _, name in doomed]
