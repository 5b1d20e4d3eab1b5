"""Store and forward: everything the server has not accepted yet, in one SQLite file on disk.

WAL with synchronous=FULL and one transaction per change: a record is on disk before ``put()``
returns, and kill -9 or a power cut leaves each record whole or absent, never half written.
Each record's id is UNIQUE, so putting a retry again stores it once (the server dedups on the same id).

Bounded by age and size. When full, the oldest heartbeats and screenshots go first; command results
and watch progress are tiny and matter more, so they go only if nothing else is left. Every dropped
record is counted, and heartbeats report the count.

The same file remembers which commands already ran, so a redelivered command runs at most once, and
small "marks" (what watch progress was already queued) that must change together with a put.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from piclient.fsutil import private_database

log = logging.getLogger(__name__)

# Counted per record on top of its body: the row, its index entries, headers.
RECORD_OVERHEAD = 200
# Kinds that may be dropped first when the spool is full.
BULK_KINDS = ("heartbeat", "screenshot")
DROP_LOG_EVERY_S = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    content_type TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at REAL NOT NULL,
    finished_at REAL,
    result TEXT
);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, value REAL NOT NULL);
"""


@dataclass(frozen=True)
class Record:
    seq: int
    id: str
    kind: str
    method: str
    path: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    created: float


class Spool:
    def __init__(self, path: Path, max_bytes: int, max_age_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_drop_log = -DROP_LOG_EVERY_S
        self._unlogged_drops = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            # A damaged card must not stop the agent: keep the broken file for a post-mortem, start over.
            broken = self.path.with_name(f"{self.path.name}.broken-{int(time.time())}")
            log.error("spool %s is damaged (%s); moved aside to %s, starting an empty one", self.path, exc, broken)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").rename(f"{broken}{suffix}")
            self._db = self._open()
        with self._lock:
            self._trim(self._clock())

    def _open(self) -> sqlite3.Connection:
        private_database(self.path)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            row = db.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no answer'}")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- records ---------------------------------------------------------------------------------

    def put(self, record_id: str, kind: str, method: str, path: str, body: bytes, *,
            content_type: str = "application/json", headers: Mapping[str, str] | None = None,
            marks: Mapping[str, float] | None = None) -> bool:
        """Keep a record until ``delete``; False when one with this id is already kept.

        ``marks`` are written in the same transaction, so they can never claim a put that was lost.
        """
        header_text = json.dumps(dict(headers or {}), separators=(",", ":"))
        size = len(body) + len(path) + len(header_text) + RECORD_OVERHEAD
        now = self._clock()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (id, kind, method, path, content_type, headers, body, size, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record_id, kind, method, path, content_type, header_text, body, size, now),
            )
            added = cursor.rowcount == 1
            for key, value in (marks or {}).items():
                db.execute("INSERT INTO marks (key, value) VALUES (?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
            if added:
                self._trim(now)
        return added

    def _trim(self, now: float) -> None:
        """Drop what is too old, then the oldest (bulk kinds first) until the size fits. Lock held."""
        db = self._db
        dropped = db.execute("DELETE FROM outbox WHERE created < ?", (now - self.max_age_s,)).rowcount
        total = db.execute("SELECT COALESCE(SUM(size), 0) FROM outbox").fetchone()[0]
        if total > self.max_bytes:
            excess = total - self.max_bytes
            doomed: list[int] = []
            freed = 0
            marks = ",".join("?" * len(BULK_KINDS))
            rows = db.execute(
                f"SELECT seq, size FROM outbox ORDER BY (kind NOT IN ({marks})), seq", BULK_KINDS)
            for seq, size in rows:
                if freed >= excess:
                    break
                doomed.append(seq)
                freed += size
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq in doomed])
            dropped += len(doomed)
        if dropped:
            db.execute("INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (dropped,))
            # A long outage drops a record with every heartbeat; one warning an hour says it all.
            self._unlogged_drops += dropped
            if now - self._last_drop_log >= DROP_LOG_EVERY_S:
                log.warning("spool full or stale: dropped the %d oldest record(s) not yet sent", self._unlogged_drops)
                self._last_drop_log = now
                self._unlogged_drops = 0

    def next_record(self) -> Record | None:
        """What to send next: command results first (someone is waiting), then the newest heartbeat
        (it is the box's state now), then everything else oldest first (the history, in order)."""
        with self._lock:
            self._trim(self._clock())
            for query in (
                "SELECT seq FROM outbox WHERE kind = 'result' ORDER BY seq LIMIT 1",
                "SELECT seq FROM outbox WHERE kind = 'heartbeat' ORDER BY seq DESC LIMIT 1",
                "SELECT seq FROM outbox ORDER BY seq LIMIT 1",
            ):
                row = self._db.execute(query).fetchone()
                if row is not None:
                    return self._load(row[0])
        return None

    def _load(self, seq: int) -> Record | None:
        row = self._db.execute(
            "SELECT seq, id, kind, method, path, content_type, headers, body, created FROM outbox WHERE seq = ?",
            (seq,),
        ).fetchone()
        if row is None:
            return None
        try:
            headers = json.loads(row[6])
        except ValueError:
            headers = {}
        return Record(row[0], row[1], row[2], row[3], row[4], row[5],
                      headers if isinstance(headers, dict) else {}, bytes(row[7]), row[8])

    def delete(self, record_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (record_id,))

    def contains(self, record_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM outbox WHERE id = ?", (record_id,)).fetchone() is not None

    def stats(self) -> dict[str, int]:
        with self._lock:
            pending, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return {"pending": pending, "bytes": size, "dropped": row[0] if row else 0}

    # -- commands --------------------------------------------------------------------------------

    def begin_command(self, command_id: str, command_type: str) -> bool:
        """Record that a command is about to run; False when it was seen before (never run it twice)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO commands (id, type, received_at) VALUES (?, ?, ?)",
                (command_id, command_type, self._clock()),
            )
        return cursor.rowcount == 1

    def finish_command(self, command_id: str, result: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE commands SET finished_at = ?, result = ? WHERE id = ?",
                             (self._clock(), json.dumps(result, ensure_ascii=False), command_id))

    def command_result(self, command_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM commands WHERE id = ?", (command_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def unfinished_commands(self) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT id, type FROM commands WHERE finished_at IS NULL ORDER BY received_at")
            return [(row[0], row[1]) for row in rows]

    def forget_commands(self, older_than_s: float) -> int:
        """Executed ids are kept long past any redelivery, then dropped so the table stays small."""
        with self._lock:
            return self._db.execute("DELETE FROM commands WHERE finished_at IS NOT NULL AND finished_at < ?",
                                    (self._clock() - older_than_s,)).rowcount

    # -- marks -----------------------------------------------------------------------------------

    def marks(self, prefix: str) -> dict[str, float]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM marks WHERE substr(key, 1, ?) = ?",
                                    (len(prefix), prefix)).fetchall()
        return {key[len(prefix):]: value for key, value in rows}

    def set_marks(self, marks: Mapping[str, float]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT INTO marks (key, value) VALUES (?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", list(marks.items()))
