"""Storing heartbeats: once per record id, newest state kept per device, health figures kept as history."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from piclient.server import commands as command_queue
from piclient.server.boxtext import clean
from piclient.server.devices import Device, note_rejected
from piclient.server.http import ApiError
from piclient.server.schema import devices, heartbeats

RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TV_FAILING = ("crashed", "unresponsive")
RESULTS_AT_ONCE = 100


def check_record_id(value: Any, what: str = "id") -> str:
    if not isinstance(value, str) or not RECORD_ID.fullmatch(value):
        raise ApiError(400, f"{what} must be 1 to 64 letters, digits, '-' or '_' (a UUID4 hex string)")
    return value


def number(data: Any, *path: str) -> float | None:
    """The number at ``path`` in nested dicts, or None: a box may leave out or garble any field."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
        return None
    return float(data)


def text(data: Any, *path: str, limit: int = 200) -> str | None:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return clean(data, limit) if isinstance(data, str) else None


@dataclass
class Outcome:
    device: Device | None = None
    revoked: bool = False
    stored: bool = False
    commands: list[dict[str, Any]] = field(default_factory=list)
    live_until: float | None = None
    problem: str | None = None  # a 400 for an authenticated device
    offered_version: str | None = None  # the update this device is offered (docs/updates.md)


@dataclass(frozen=True)
class Incoming:
    token_hash: str
    payload: dict[str, Any]
    raw: str
    now: float
    ip: str
    offline_after: float


_DEVICE_COLUMNS = (devices.c.id, devices.c.name, devices.c.token_hash, devices.c.revoked_at, devices.c.last_seen,
                   devices.c.online_since, devices.c.last_sent_at, devices.c.live_until, devices.c.tv_bad_streak,
                   devices.c.offered_version)
# Statements of the hot path are built once: building one costs more CPU than SQLite spends running it.
_SELECT_DEVICES = sa.select(*_DEVICE_COLUMNS).where(devices.c.token_hash.in_(sa.bindparam("hashes", expanding=True)))
_UPDATE_DEVICE = (devices.update().where(devices.c.id == sa.bindparam("b_id"))
                  .values(last_seen=sa.bindparam("b_last_seen"), last_ip=sa.bindparam("b_last_ip"),
                          online_since=sa.bindparam("b_online_since")))
_UPDATE_DEVICE_STATE = (devices.update().where(devices.c.id == sa.bindparam("b_id"))
                        .values(last_seen=sa.bindparam("b_last_seen"), last_ip=sa.bindparam("b_last_ip"),
                                online_since=sa.bindparam("b_online_since"),
                                last_heartbeat=sa.bindparam("b_last_heartbeat"),
                                last_sent_at=sa.bindparam("b_last_sent_at"),
                                tv_bad_streak=sa.bindparam("b_tv_bad_streak")))


def store_many(conn: sa.Connection, items: list[Incoming]) -> list[Outcome]:
    """Heartbeats of one write batch: authenticate, store each record once, apply results, collect commands.

    A handful of set-wise statements per batch instead of several per heartbeat is what lets one
    SQLite file take thousands of heartbeats a second. Authentication happens here, inside the write,
    so the busiest request costs one trip to the database thread instead of two.
    """
    hashes = list({item.token_hash for item in items})
    rows = {row.token_hash: row for row in conn.execute(_SELECT_DEVICES, {"hashes": hashes})}
    outcomes: list[Outcome] = []
    accepted: list[tuple[int, Incoming, sa.Row, str]] = []  # (index, item, device row, record id)
    for index, item in enumerate(items):
        row = rows.get(item.token_hash)
        if row is None:
            outcomes.append(Outcome())
        elif row.revoked_at is not None:
            note_rejected(conn, row.id, item.now)
            outcomes.append(Outcome(revoked=True))
        else:
            try:
                record_id = check_record_id(item.payload.get("id"))
            except ApiError as exc:
                outcomes.append(Outcome(device=Device(row.id, row.name), problem=exc.message))
                continue
            outcomes.append(Outcome(device=Device(row.id, row.name), offered_version=row.offered_version))
            accepted.append((index, item, row, record_id))
    if not accepted:
        return outcomes

    # One multi-row INSERT; RETURNING names the records that were new. A retry inside the same
    # batch is dropped here, since one statement may not insert the same key twice.
    fresh: dict[tuple[int, str], dict[str, Any]] = {}
    for _index, item, row, record_id in accepted:
        fresh.setdefault((row.id, record_id), _history_row(row.id, record_id, item))
    stored_keys = {(r.device_id, r.record_id)
                   for r in conn.execute(_insert_ignoring_duplicates(conn), list(fresh.values()))}

    state: dict[int, dict[str, Any]] = {}
    for index, item, row, record_id in accepted:
        key = (row.id, record_id)
        stored = key in stored_keys
        stored_keys.discard(key)  # a second copy in this batch is a duplicate
        outcomes[index].stored = stored
        s = state.setdefault(row.id, {"b_id": row.id, "b_last_seen": row.last_seen, "b_online_since":
                                      row.online_since, "sent_at": _stored_order(row), "streak": row.tv_bad_streak,
                                      "heartbeat": None})
        if s["b_last_seen"] is None or item.now - s["b_last_seen"] > item.offline_after:
            s["b_online_since"] = item.now
        s["b_last_seen"], s["b_last_ip"] = item.now, item.ip[:64]
        order_at = arrival_order(number(item.payload, "sent_at"), item.now)
        # A spooled heartbeat from hours ago arrives after newer ones: it joins the history but must not
        # replace the current state or reset the TV-failure count.
        if stored and (s["sent_at"] is None or order_at >= s["sent_at"]):
            s["sent_at"], s["heartbeat"] = order_at, item.raw
            s["streak"] = s["streak"] + 1 if text(item.payload, "tv", "state") in TV_FAILING else 0
    plain = [{k: v for k, v in s.items() if k.startswith("b_")} for s in state.values() if s["heartbeat"] is None]
    newest = [{**{k: v for k, v in s.items() if k.startswith("b_")}, "b_last_heartbeat": s["heartbeat"],
               "b_last_sent_at": s["sent_at"], "b_tv_bad_streak": s["streak"]}
              for s in state.values() if s["heartbeat"] is not None]
    if plain:
        conn.execute(_UPDATE_DEVICE, plain)
    if newest:
        conn.execute(_UPDATE_DEVICE_STATE, newest)

    for _index, item, row, _record_id in accepted:
        results = item.payload.get("results")
        if isinstance(results, list):
            for result in results[:RESULTS_AT_ONCE]:
                if isinstance(result, dict):
                    command_queue.apply_result(conn, row.id, result.get("command_id"), result.get("ok"),
                                               result.get("result"), result.get("error"), item.now)
    wanting = {row.id for _i, item, row, _r in accepted if item.payload.get("going_down") is not True}
    pending = command_queue.deliver_pending_many(conn, sorted(wanting), items[0].now) if wanting else {}
    for index, item, row, _record_id in accepted:
        outcome = outcomes[index]
        if row.id in wanting:
            outcome.commands = pending.get(row.id, [])
        outcome.live_until = row.live_until if row.live_until and row.live_until > item.now else None
    return outcomes


def arrival_order(box_time: float | None, received_at: float) -> float:
    """Where a box's record sits among its others: the box's own time, never later than its arrival.

    A Pi has no battery clock, so its time can be anything, the year 2100 included. Only the server's
    receive time is trusted as an upper bound; the box's time still tells a spooled record from hours
    ago (far behind) from the box's state now.
    """
    return received_at if box_time is None else min(box_time, received_at)


def _stored_order(row: sa.Row) -> float | None:
    # Rows stored before times were bounded may hold a box time far ahead: bound them the same way.
    if row.last_sent_at is None:
        return None
    return arrival_order(row.last_sent_at, row.last_seen if row.last_seen is not None else row.last_sent_at)


def _history_row(device_id: int, record_id: str, item: Incoming) -> dict[str, Any]:
    system = item.payload.get("system")
    return {"device_id": device_id, "record_id": record_id, "received_at": item.now,
            "sent_at": number(item.payload, "sent_at"), "tv_state": text(item.payload, "tv", "state", limit=20),
            "cpu_temp_c": number(system, "cpu_temp_c"), "wifi_dbm": number(system, "wifi", "signal_dbm"),
            "mem_total": _int(number(system, "mem_total")), "mem_available": _int(number(system, "mem_available")),
            "load1": _first_load(system)}


_INSERTS: dict[str, Any] = {}


def _insert_ignoring_duplicates(conn: sa.Connection) -> Any:
    """One statement per dialect, built once: executed with a list of rows, SQLAlchemy sends them as
    multi-row INSERTs ("insertmanyvalues") without compiling anything again."""
    dialect = conn.dialect.name
    if dialect not in _INSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        _INSERTS[dialect] = (insert(heartbeats).on_conflict_do_nothing(index_elements=["device_id", "record_id"])
                             .returning(heartbeats.c.device_id, heartbeats.c.record_id))
    return _INSERTS[dialect]


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _first_load(system: Any) -> float | None:
    load = system.get("load") if isinstance(system, dict) else None
    if isinstance(load, list) and load:
        return number({"v": load[0]}, "v")
    return None


def latest(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def history(conn: sa.Connection, device_id: int, since: float, points: int = 120) -> list[sa.Row]:
    """Health figures since ``since``, thinned to about ``points`` rows for a chart."""
    rows = conn.execute(sa.select(heartbeats.c.received_at, heartbeats.c.cpu_temp_c, heartbeats.c.wifi_dbm,
                                  heartbeats.c.mem_total, heartbeats.c.mem_available)
                        .where(heartbeats.c.device_id == device_id, heartbeats.c.received_at >= since)
                        .order_by(heartbeats.c.received_at)).all()
    step = max(1, len(rows) // points)
    return rows[::step]
