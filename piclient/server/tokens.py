"""Device and session tokens: 256 random bits, only their SHA-256 stored.

A plain hash is enough here (no salt, no slow hash): the tokens are random and long, so a stolen
database cannot be turned back into tokens by guessing, and the lookup stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
