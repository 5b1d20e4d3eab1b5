"""Maintainer sessions: a random cookie whose hash is in the database, with a CSRF token beside it.

Kept in the database rather than in memory so a restart or a second replica does not log anyone out.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from piclient.server import browsers
from piclient.server.schema import sessions
from piclient.server.tokens import hash_token, new_token

LIFETIME_S = 14 * 86400
COOKIE = "piclient_session"


def create(conn: sa.Connection, ip: str, now: float) -> tuple[str, str]:
    """(cookie value, CSRF token) for a new session."""
    token = new_token()
    csrf = secrets.token_urlsafe(32)
    conn.execute(sessions.insert().values(token_hash=hash_token(token), csrf=csrf, created_at=now,
                                          expires_at=now + LIFETIME_S, ip=ip[:64]))
    return token, csrf


def csrf_for(conn: sa.Connection, token: str, now: float) -> str | None:
    """The session's CSRF token while it is valid, else None."""
    return conn.execute(sa.select(sessions.c.csrf).where(sessions.c.token_hash == hash_token(token),
                                                         sessions.c.expires_at > now)).scalar()


def delete(conn: sa.Connection, token: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.token_hash == hash_token(token)))


def delete_all(conn: sa.Connection) -> int:
    """End every session (a password change, "log out everywhere"): a lost phone keeps no remote.

    Every browser's "logged in before" mark goes too, or a lost phone would still skip the login queue.
    """
    browsers.forget_all(conn)
    return conn.execute(sessions.delete()).rowcount
