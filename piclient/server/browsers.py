"""Browsers that logged in before: a signed cookie lets them skip the login queue a stranger can fill.

The cookie proves only that this browser once gave the right password; the password is still asked
every time, and the per-address limit still applies. Its key lives in the settings table, so every
replica recognises it and a restart keeps it. A new password or "log out everywhere" throws the key
away (``forget_all``): a lost phone or a stranger who once knew the password is a stranger again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from piclient.server.db import upsert
from piclient.server.schema import settings

COOKIE = "piclient_known"
LIFETIME_S = 365 * 86400
_KEY = "known_browser_key"


def _key(conn: sa.Connection) -> str | None:
    return conn.execute(sa.select(settings.c.value).where(settings.c.key == _KEY)).scalar()


def _sign(key: str, issued: int) -> str:
    return hmac.new(key.encode(), f"known-browser:{issued}".encode(), hashlib.sha256).hexdigest()


def issue(conn: sa.Connection, now: float) -> str:
    """A cookie value for a browser that just logged in (inside the login's write)."""
    key = _key(conn)
    if key is None:
        upsert(conn, settings, {"key": _KEY, "value": secrets.token_urlsafe(32)}, ["key"])
        key = _key(conn)
        assert key is not None
    issued = int(now)
    return f"{issued}.{_sign(key, issued)}"


def recognised(conn: sa.Connection, value: str | None, now: float) -> bool:
    if not value or len(value) > 100:
        return False
    issued_text, _, signature = value.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not now - LIFETIME_S < issued <= now + 60:
        return False
    key = _key(conn)
    return key is not None and hmac.compare_digest(signature, _sign(key, issued))


def forget_all(conn: sa.Connection) -> None:
    """Stop recognising every browser (inside the write that ends every session); the next login makes a new key."""
    conn.execute(settings.delete().where(settings.c.key == _KEY))
