"""The maintainer's library as devices see it: catalog.json with an ETag, and files under /library/.

Paths are checked by their text first: a request can never climb out with '..', but the maintainer
may still link media in from another disk on purpose. What a path resolves to is checked too, for one
place only: the server's data directory (the database with the password hash, every box's state)
is never served, whatever link leads there.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

CATALOG = "catalog.json"


class Library:
    def __init__(self, root: Path | None, private: Path | None = None) -> None:
        self.root = None if root is None else Path(root).absolute()
        self.private = None if private is None else Path(private).resolve()
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int], bytes, str] | None = None

    def catalog(self) -> tuple[bytes, str] | None:
        """The catalog bytes and their ETag, re-read only when the file changed."""
        if self.root is None:
            return None
        path = self.root / CATALOG
        try:
            st = path.stat()
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1], self._cached[2]
        try:
            data = path.read_bytes()
        except OSError:
            return None
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        with self._lock:
            self._cached = (key, data, etag)
        return data, etag

    def file(self, relative: str) -> Path | None:
        """The file for a request path, or None when the path is not a plain path inside the library."""
        if self.root is None or not safe_relative(relative):
            return None
        path = self.root.joinpath(*relative.split("/"))
        try:
            if self.private is not None and path.resolve().is_relative_to(self.private):
                return None
            return path if path.is_file() else None
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop
            return None


def safe_relative(relative: str) -> bool:
    if not relative or len(relative) > 1024 or "\\" in relative or "\x00" in relative:
        return False
    if relative.startswith("/") or os.path.isabs(relative):
        return False
    # No '..', no '.', no empty parts, and no hidden files (build markers, editor swap files).
    return all(part and not part.startswith(".") for part in relative.split("/"))


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def overlap(library: Path, data: Path) -> bool:
    """True when one directory is, or lies inside, the other (both already resolved)."""
    return library == data or library.is_relative_to(data) or data.is_relative_to(library)
