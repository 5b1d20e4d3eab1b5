"""The maintainer's password: one argon2id hash kept in the settings table."""

from __future__ import annotations

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from piclient.server.db import upsert
from piclient.server.schema import settings
from piclient.server.sessions import delete_all as delete_all_sessions

KEY = "password_hash"
MIN_LENGTH = 8
_hasher = PasswordHasher()


class PasswordError(ValueError):
    pass


def set_password(conn: sa.Connection, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password needs at least {MIN_LENGTH} characters")
    upsert(conn, settings, {"key": KEY, "value": _hasher.hash(password)}, ["key"], ["value"])
    # In the same transaction: no session made with the old password outlives it.
    delete_all_sessions(conn)


def stored_hash(conn: sa.Connection) -> str | None:
    return conn.execute(sa.select(settings.c.value).where(settings.c.key == KEY)).scalar()


def verify(stored: str | None, password: str) -> bool:
    """Slow on purpose (argon2): call it from a worker thread."""
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
