"""Maintainer tokens: what `piclient publish --server` and other tus clients send as ``Bearer``.

Printed once at creation, stored as a SHA-256 like the boxes' tokens, revocable; a box's token is
never accepted here (they live in another table).
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from piclient.server.schema import maintainer_tokens
from piclient.server.tokens import hash_token, new_token


class MaintainerTokenError(ValueError):
    pass


def add_token(conn: sa.Connection, name: str, now: float | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise MaintainerTokenError("a token name is 1-100 characters")
    exists = conn.execute(sa.select(maintainer_tokens.c.id).where(maintainer_tokens.c.name == name)).first()
    if exists:
        raise MaintainerTokenError(f"a maintainer token named {name!r} exists; revoke it or pick another name")
    token = new_token()
    conn.execute(maintainer_tokens.insert().values(name=name, token_hash=hash_token(token),
                                                   created_at=now or time.time()))
    return token


def revoke_token(conn: sa.Connection, name: str, now: float | None = None) -> None:
    done = conn.execute(maintainer_tokens.update().where(maintainer_tokens.c.name == name,
                                                         maintainer_tokens.c.revoked_at.is_(None))
                        .values(revoked_at=now or time.time()))
    if not done.rowcount:
        raise MaintainerTokenError(f"no active maintainer token named {name!r}")


def token_owner(conn: sa.Connection, token: str) -> str | None:
    """The name of the active maintainer token ``token``, else None."""
    return conn.execute(sa.select(maintainer_tokens.c.name).where(
        maintainer_tokens.c.token_hash == hash_token(token), maintainer_tokens.c.revoked_at.is_(None))).scalar()
