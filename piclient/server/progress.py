"""Watch progress kept per device: for each title the entry with the newest ``updated_at`` wins."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from piclient.server.db import upsert
from piclient.server.schema import progress

ITEMS_MAX = 5000
ID_MAX = 200


def _finite(value: Any, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value >= 0


def validate(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The items as rows, or ValueError naming the first bad one."""
    items = payload.get("items")
    if not isinstance(items, list):
        raise ValueError("items must be a list")
    if len(items) > ITEMS_MAX:
        raise ValueError(f"at most {ITEMS_MAX} items at once")
    rows = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        item_id = item.get("id")
        if not isinstance(item_id, str) or not 1 <= len(item_id) <= ID_MAX:
            raise ValueError(f"{where}.id must be a string of 1 to {ID_MAX} characters")
        if not _finite(item.get("position")):
            raise ValueError(f"{where}.position must be a number of seconds >= 0")
        if not _finite(item.get("duration"), optional=True):
            raise ValueError(f"{where}.duration must be a number of seconds >= 0 or null")
        if not _finite(item.get("updated_at")):
            raise ValueError(f"{where}.updated_at must be epoch seconds")
        watched = item.get("watched", False)
        if not isinstance(watched, bool):
            raise ValueError(f"{where}.watched must be true or false")
        rows.append({"item_id": item_id, "position": float(item["position"]),
                     "duration": None if item.get("duration") is None else float(item["duration"]),
                     "watched": watched, "updated_at": float(item["updated_at"])})
    return rows


def merge(conn: sa.Connection, device_id: int, rows: list[dict[str, Any]], now: float) -> int:
    """Upsert rows where newer; returns how many changed what the server holds.

    The box's clock may be anything (a Pi has no clock battery): a time past ``now``, the moment the
    server received it, is taken as ``now``. Otherwise one item stamped in the year 2100 would freeze
    her position on the server for good. A row stored before this rule with such a time gives way too.
    """
    changed = 0
    for row in rows:
        bounded = {**row, "updated_at": min(row["updated_at"], now)}
        changed += upsert(conn, progress, {"device_id": device_id, **bounded}, ["device_id", "item_id"],
                          ["position", "duration", "watched", "updated_at"],
                          where=lambda excluded: sa.or_(progress.c.updated_at < excluded.updated_at,
                                                        progress.c.updated_at > now))
    return changed


def items(conn: sa.Connection, device_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(progress).where(progress.c.device_id == device_id)
                        .order_by(progress.c.updated_at.desc())).all()
    return [{"id": r.item_id, "position": r.position, "duration": r.duration, "watched": r.watched,
             "updated_at": r.updated_at} for r in rows]
