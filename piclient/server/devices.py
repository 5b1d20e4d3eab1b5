"""Devices and their tokens: add, revoke, look up. Functions take a connection so callers choose the transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from piclient.server.schema import devices
from piclient.server.tokens import hash_token, new_token

NAME_MAX = 100


class DeviceError(ValueError):
    """A device operation that cannot be done, with a message for the maintainer."""


@dataclass(frozen=True)
class Device:
    id: int
    name: str


def add_device(conn: sa.Connection, name: str, *, new_token_for_existing: bool = False) -> str:
    """Create a device (or give an existing one a new token) and return its token, which is never stored."""
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        raise DeviceError(f"a device name is 1 to {NAME_MAX} printable characters, not {name!r}")
    token = new_token()
    existing = conn.execute(sa.select(devices.c.id, devices.c.revoked_at).where(devices.c.name == name)).first()
    if existing is not None:
        if not new_token_for_existing:
            state = "revoked" if existing.revoked_at else "active"
            raise DeviceError(f"a device named {name!r} already exists ({state}); pick another name, "
                              "or use --new-token to give it a new token (the old one stops working)")
        conn.execute(devices.update().where(devices.c.id == existing.id)
                     .values(token_hash=hash_token(token), revoked_at=None, rejected_at=None))
        return token
    conn.execute(devices.insert().values(name=name, token_hash=hash_token(token), created_at=time.time()))
    return token


def revoke_device(conn: sa.Connection, name: str) -> None:
    row = conn.execute(sa.select(devices.c.id, devices.c.revoked_at).where(devices.c.name == name)).first()
    if row is None:
        raise DeviceError(f"no device named {name!r}")
    if row.revoked_at is None:
        conn.execute(devices.update().where(devices.c.id == row.id).values(revoked_at=time.time()))


def list_devices(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.select(devices.c.id, devices.c.name, devices.c.created_at, devices.c.revoked_at,
                                       devices.c.last_seen).order_by(devices.c.name)))


def by_token_hash(conn: sa.Connection, token_hash: str) -> tuple[Device | None, int | None]:
    """The active device holding this token, or (None, id of the revoked device that held it)."""
    row = conn.execute(sa.select(devices.c.id, devices.c.name, devices.c.revoked_at)
                       .where(devices.c.token_hash == token_hash)).first()
    if row is None:
        return None, None
    if row.revoked_at is not None:
        return None, row.id
    return Device(row.id, row.name), None


def note_rejected(conn: sa.Connection, device_id: int, now: float) -> None:
    conn.execute(devices.update().where(devices.c.id == device_id).values(rejected_at=now))
