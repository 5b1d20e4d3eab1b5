"""Reading an HTTP body safely: a size cap and a wall-clock limit.

requests' timeout applies to each socket read, so a server dripping one byte at a time could hold a
download forever, and a body without Content-Length could be any size. Every download of the box
(catalog, posters, playlists, subtitles, thumbnails) reads its body through ``read_capped``; callers
turn the two exceptions into their own error with their own wording.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

CHUNK = 64 * 1024


class TooLarge(Exception):
    """The body is (or announced itself as) larger than the cap."""


class TooSlow(Exception):
    """The body did not arrive within the wall-clock limit."""


def read_capped(response: requests.Response, cap: int, total_seconds: float) -> bytes:
    """The whole body of a streamed response, at most ``cap`` bytes, within ``total_seconds``."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > cap:
        raise TooLarge()
    deadline = time.monotonic() + total_seconds
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        if size > cap:
            raise TooLarge()
        if time.monotonic() > deadline:
            raise TooSlow()
        chunks.append(chunk)
    return b"".join(chunks)
