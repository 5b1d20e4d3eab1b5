"""Watch progress both ways between the launcher's state.db and the server.

Up: rows changed since they were last queued go into the spool (the "marks" of what was queued are
written in the same transaction as the record). Down: the server's copy is merged in when it is newer,
so a reflashed box gets its viewer's history back. The launcher writes the same database, so every
write here is one short IMMEDIATE transaction with a busy timeout, and a row only changes when the
incoming item is newer than what is there at that moment.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from piclient.agent.spool import Spool
from piclient.agent.transport import Transport
from piclient.state import StateStore

log = logging.getLogger(__name__)

PATH = "/api/v1/progress"
MARK = "progress:"
BATCH = 500
BUSY_TIMEOUT_MS = 5000
MAX_ID_CHARS = 200


class ProgressSync:
    def __init__(self, state_path: Path, spool: Spool, transport: Transport,
                 wake_uplink: Callable[[], None]) -> None:
        self.state_path = Path(state_path)
        self.spool = spool
        self.transport = transport
        self.wake_uplink = wake_uplink

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.state_path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            yield db
        finally:
            db.close()

    def local_items(self) -> list[dict[str, Any]]:
        if not self.state_path.exists():
            return []
        with self._connect() as db:
            try:
                rows = db.execute("SELECT id, position, duration, watched, updated_at FROM progress").fetchall()
            except sqlite3.OperationalError:  # no table yet: the launcher never ran here
                return []
        return [{"id": r[0], "position": r[1], "duration": r[2], "watched": bool(r[3]), "updated_at": r[4]}
                for r in rows]

    def push(self) -> int:
        """Queue every item changed since it was last queued; returns how many."""
        queued = self.spool.marks(MARK)
        changed = [item for item in self.local_items() if item["updated_at"] > queued.get(item["id"], -math.inf)]
        for start in range(0, len(changed), BATCH):
            batch = changed[start:start + BATCH]
            record_id = uuid.uuid4().hex
            body = json.dumps({"id": record_id, "items": batch}, ensure_ascii=False, separators=(",", ":"))
            self.spool.put(record_id, "progress", "POST", PATH, body.encode("utf-8"),
                           marks={MARK + item["id"]: item["updated_at"] for item in batch})
        if changed:
            log.info("queued %d changed watch progress item(s) for the server", len(changed))
            self.wake_uplink()
        return len(changed)

    def pull(self) -> int:
        """Merge the server's newer items into state.db; returns how many rows changed. Raises TransportError."""
        items = [item for item in map(_valid_item, _items(self.transport.request("GET", PATH).json_object()))
                 if item is not None]
        if not items:
            return 0
        if not self.state_path.exists():
            StateStore(self.state_path).close()  # the launcher's own schema, before it first ran
        changed = 0
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for item in items:
                    changed += db.execute(
                        "INSERT INTO progress (id, position, duration, watched, updated_at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET position = excluded.position, duration = excluded.duration, "
                        "watched = excluded.watched, updated_at = excluded.updated_at "
                        "WHERE excluded.updated_at > progress.updated_at",
                        (item["id"], item["position"], item["duration"], int(item["watched"]), item["updated_at"]),
                    ).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        # What came from the server need not go back to it.
        local = {item["id"]: item["updated_at"] for item in self.local_items()}
        self.spool.set_marks({MARK + item["id"]: item["updated_at"] for item in items
                              if local.get(item["id"]) == item["updated_at"]})
        if changed:
            log.info("merged %d newer watch progress item(s) from the server", changed)
        return changed


def _items(doc: dict[str, Any]) -> list[Any]:
    items = doc.get("items")
    return items if isinstance(items, list) else []


def _valid_item(item: Any) -> dict[str, Any] | None:
    """A server item the launcher can use, or None; the server may send anything."""
    if not isinstance(item, dict):
        return None
    ident = item.get("id")
    if not isinstance(ident, str) or not 0 < len(ident) <= MAX_ID_CHARS:
        return None
    numbers = {}
    for key in ("position", "duration", "updated_at"):
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            return None
        numbers[key] = float(value)
    watched = item.get("watched", False)
    return {"id": ident, **numbers, "watched": watched if isinstance(watched, bool) else False}
