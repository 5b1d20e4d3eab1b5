"""What the box remembers about its viewer: watch progress and when she last sat down.

SQLite in WAL mode with synchronous=FULL: a power cut loses at most the write in flight, never
what was saved before it. Only the launcher's main thread writes; readers may be other threads.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from piclient.fsutil import private_database

WATCHED_FRACTION = 0.9
# A key press after this long without one starts a new viewing session: titles added since the
# previous session began count as "New".
SESSION_GAP_S = 4 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (
    id TEXT PRIMARY KEY,
    position REAL NOT NULL,
    duration REAL NOT NULL,
    watched INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Progress:
    id: str
    position: float
    duration: float
    watched: bool
    updated_at: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.position / self.duration) if self.duration > 0 else 0.0

    @property
    def in_progress(self) -> bool:
        return not self.watched and self.position >= 30


_UPSERT = (
    "INSERT INTO progress (id, position, duration, watched, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET position=excluded.position, duration=excluded.duration, "
    "watched=excluded.watched, updated_at=excluded.updated_at"
)
# Two processes write this file (the launcher, and the agent merging the server's copy): a writer
# waits this long for the other's short transaction instead of failing.
BUSY_TIMEOUT_S = 5.0


class StateStore:
    def __init__(self, path: Path) -> None:
        private_database(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def all_progress(self) -> dict[str, Progress]:
        with self._lock:
            rows = self._db.execute("SELECT id, position, duration, watched, updated_at FROM progress").fetchall()
        return {row[0]: Progress(row[0], row[1], row[2], bool(row[3]), row[4]) for row in rows}

    def progress(self, playable_id: str) -> Progress | None:
        return self.all_progress().get(playable_id)

    def save_progress(self, playable_id: str, position: float, duration: float, *, watched: bool | None = None,
                      now: float | None = None) -> Progress:
        if watched is None:
            watched = duration > 0 and position >= WATCHED_FRACTION * duration
        stamp = time.time() if now is None else now
        with self._lock:
            self._db.execute(_UPSERT, (playable_id, max(0.0, position), max(0.0, duration), int(watched), stamp))
        return Progress(playable_id, position, duration, watched, stamp)

    def merge_progress(self, items: Iterable[Progress]) -> int:
        """Take each item only where it is newer than the row there now; returns how many rows changed.

        One IMMEDIATE transaction, so a concurrent writer's newer row is never overwritten by an older one.
        """
        changed = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for item in items:
                    changed += self._db.execute(
                        _UPSERT + " WHERE excluded.updated_at > progress.updated_at",
                        (item.id, item.position, item.duration, int(item.watched), item.updated_at),
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return changed

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def begin_session(self, now: float | None = None) -> float | None:
        """Start a viewing session; returns when the previous one began (None on first use)."""
        stamp = time.time() if now is None else now
        previous = self.get("session_started")
        self.put("session_started", repr(stamp))
        self.put("last_input", repr(stamp))
        return float(previous) if previous else None
