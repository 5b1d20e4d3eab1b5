"""The command queue: a fixed vocabulary, delivered until the box sends the result.

The box runs each command at most once (it remembers executed ids); the server's part is to keep
offering a command until a result arrives, to store the first result only, and to stop offering
commands that have gone stale: a key press queued while the box was offline must not fire hours later.

A delivered command is leased for ``REDELIVER_AFTER_S``: it is offered again only after that, and only
if no result came meanwhile. ``delivered_at`` holds the latest delivery, so the lease starts anew with
each one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from piclient.remote.buttons import Button
from piclient.server.schema import commands

# Seconds a command stays deliverable. Key presses only make sense while someone watches.
TTL = {"screenshot": 300, "key": 120, "message": 600, "reload": 3600, "restart_tv": 3600,
       "reboot": 900, "upload_logs": 3600}
TYPES = tuple(TTL)
DELIVER_AT_ONCE = 20
# How long a delivered command is not offered again. While keys come the box polls back to back,
# and the next poll starts before the box has run a key press and sent its result; without a lease
# that poll would carry the same key again. The lease must still end: a reply lost on the way (a
# dropped connection, a proxy timing out, a box restarting before it ran the command) is only
# retried by offering the command again. The box sends a quick command's result within a second or
# two; 20 s leaves room for a slow network and still retries well within a key press's 2 min life.
REDELIVER_AFTER_S = 20.0
RESULT_MAX = 64 * 1024
ERROR_MAX = 2000
MESSAGE_MAX = 500


def validate(kind: Any, args: Any) -> dict[str, Any]:
    """Checked and normalised args for a command, or ValueError saying what is wrong."""
    if kind not in TTL:
        raise ValueError(f"unknown command type {kind!r}; choose one of {', '.join(TYPES)}")
    args = {} if args is None else args
    if not isinstance(args, dict):
        raise ValueError("args must be an object")
    if kind == "key":
        try:
            return {"name": Button.parse(str(args.get("name", ""))).value}
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    if kind == "message":
        text = args.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MESSAGE_MAX:
            raise ValueError(f"a message is 1 to {MESSAGE_MAX} characters of text")
        seconds = args.get("seconds", 30)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 1 <= seconds <= 3600:
            raise ValueError("message seconds must be a number from 1 to 3600")
        return {"text": text.strip(), "seconds": seconds}
    if kind == "upload_logs":
        since = args.get("since_s", 3600)
        if not isinstance(since, int) or isinstance(since, bool) or not 60 <= since <= 7 * 86400:
            raise ValueError("upload_logs since_s must be whole seconds from 60 to 604800")
        return {"since_s": since}
    if kind == "screenshot" and args == {"live": True}:
        return {"live": True}  # the dashboard page opened: a picture sent at once, not spooled
    if args:
        raise ValueError(f"{kind} takes no args")
    return {}


def queue_command(conn: sa.Connection, device_id: int, kind: str, args: dict[str, Any], now: float,
                  ttl: float | None = None) -> dict[str, Any]:
    command_id = uuid.uuid4().hex
    expires = now + (TTL[kind] if ttl is None else min(ttl, TTL[kind]))
    conn.execute(commands.insert().values(id=command_id, device_id=device_id, type=kind, args=json.dumps(args),
                                          status="pending", created_at=now, expires_at=expires))
    return {"id": command_id, "type": kind, "args": args}


# When a pending command may next be offered: at once if never delivered, else when its lease ends.
# One expression for every query below, so "has a command" and "delivers it" can never disagree.
_offer_at = sa.func.coalesce(commands.c.delivered_at + REDELIVER_AFTER_S, 0.0)


def _pending(device_id: int, now: float) -> sa.Select:
    return (sa.select(commands.c.id, commands.c.type, commands.c.args)
            .where(commands.c.device_id == device_id, commands.c.status == "pending", commands.c.expires_at > now,
                   _offer_at <= now)
            .order_by(commands.c.created_at).limit(DELIVER_AT_ONCE))


def next_offer_at(conn: sa.Connection, device_id: int, now: float) -> float | None:
    """When this device next has a command to receive: ``now`` or earlier when one may be delivered
    now, the end of the earliest lease when all are leased, None when nothing is pending.

    The long-poll sleeps until then at the latest, so a command whose reply was lost is offered again
    as its lease ends, not at the next periodic re-check.
    """
    return conn.execute(
        sa.select(sa.func.min(_offer_at))
        .where(commands.c.device_id == device_id, commands.c.status == "pending", commands.c.expires_at > now,
               _offer_at < commands.c.expires_at)
    ).scalar()


def due_devices(conn: sa.Connection, device_ids: list[int], now: float) -> set[int]:
    """Which of these devices have a command that may be delivered now."""
    return set(conn.execute(
        sa.select(commands.c.device_id).distinct()
        .where(commands.c.device_id.in_(device_ids), commands.c.status == "pending", commands.c.expires_at > now,
               _offer_at <= now)
    ).scalars())


def has_pending(conn: sa.Connection, device_id: int, now: float) -> bool:
    """A command may be delivered now (one under a lease does not count)."""
    due = next_offer_at(conn, device_id, now)
    return due is not None and due <= now


def _mark_delivered(ids: list[str], now: float) -> sa.Update:
    # The lease is checked again in the update itself: with replicas, a heartbeat and a command poll of
    # the same box may pick the same command at once, and only the one whose update counts delivers it.
    return (commands.update()
            .where(commands.c.id.in_(ids), commands.c.status == "pending", _offer_at <= now)
            .values(deliveries=commands.c.deliveries + 1, delivered_at=now)
            .returning(commands.c.id))


def deliver_pending(conn: sa.Connection, device_id: int, now: float) -> list[dict[str, Any]]:
    """The commands to send in this reply, each leased for ``REDELIVER_AFTER_S``; counts the delivery
    so the dashboard can show it."""
    rows = conn.execute(_pending(device_id, now)).all()
    if not rows:
        return []
    marked = set(conn.execute(_mark_delivered([row.id for row in rows], now)).scalars())
    return [{"id": row.id, "type": row.type, "args": json.loads(row.args)} for row in rows if row.id in marked]


def apply_result(conn: sa.Connection, device_id: int, command_id: Any, ok: Any, result: Any, error: Any,
                 now: float) -> bool:
    """Store a result for one of this device's pending commands; the first result wins, others are ignored."""
    if not isinstance(command_id, str) or not command_id or len(command_id) > 32:
        return False
    result_text = json.dumps(result if result is not None else {})
    if len(result_text) > RESULT_MAX:
        result_text = json.dumps({"truncated": True})
    error_text = None if error is None else str(error)[:ERROR_MAX]
    changed = conn.execute(
        commands.update()
        .where(commands.c.id == command_id, commands.c.device_id == device_id, commands.c.status == "pending")
        .values(status="done" if ok is True else "failed", completed_at=now, result=result_text, error=error_text)
    ).rowcount
    return changed == 1


_PENDING_MANY = (sa.select(commands.c.id, commands.c.device_id, commands.c.type, commands.c.args)
                 .where(commands.c.device_id.in_(sa.bindparam("ids", expanding=True)), commands.c.status == "pending",
                        commands.c.expires_at > sa.bindparam("now"), _offer_at <= sa.bindparam("now"))
                 .order_by(commands.c.created_at))
_MARK_DELIVERED = (commands.update()
                   .where(commands.c.id.in_(sa.bindparam("ids", expanding=True)), commands.c.status == "pending",
                          _offer_at <= sa.bindparam("now"))
                   .values(deliveries=commands.c.deliveries + 1, delivered_at=sa.bindparam("now"))
                   .returning(commands.c.id))


def deliver_pending_many(conn: sa.Connection, device_ids: list[int], now: float) -> dict[int, list[dict[str, Any]]]:
    """``deliver_pending`` for a whole batch of heartbeats in two statements (built once: see heartbeats.py)."""
    rows = conn.execute(_PENDING_MANY, {"ids": device_ids, "now": now}).all()
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        mine = found.setdefault(row.device_id, [])
        if len(mine) < DELIVER_AT_ONCE:
            mine.append({"id": row.id, "type": row.type, "args": json.loads(row.args)})
    if not found:
        return found
    marked = set(conn.execute(_MARK_DELIVERED, {"ids": [c["id"] for cmds in found.values() for c in cmds],
                                                "now": now}).scalars())
    return {device_id: [c for c in cmds if c["id"] in marked] for device_id, cmds in found.items()}


def recent(conn: sa.Connection, device_id: int, now: float, limit: int = 15) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(commands).where(commands.c.device_id == device_id)
                        .order_by(commands.c.created_at.desc()).limit(limit)).all()
    out = []
    for row in rows:
        status = row.status
        if status == "pending" and row.expires_at <= now:
            status = "expired"
        elif status == "pending" and row.deliveries:
            status = "delivered"
        out.append({"id": row.id, "type": row.type, "args": json.loads(row.args), "status": status,
                    "created_at": row.created_at, "completed_at": row.completed_at,
                    "deliveries": row.deliveries,
                    "result": json.loads(row.result) if row.result else None, "error": row.error})
    return out
