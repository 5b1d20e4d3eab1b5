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
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from piclient.agent.spool import Spool
from piclient.agent.transport import Transport
from piclient.state import Progress, StateStore

log = logging.getLogger(__name__)

PATH = "/api/v1/progress"
MARK = "progress:"
BATCH = 500
MAX_ID_CHARS = 200


class ProgressSync:
    def __init__(self, state_path: Path, spool: Spool, transport: Transport,
                 wake_uplink: Callable[[], None]) -> None:
        self.state_path = Path(state_path)
        self.spool = spool
        self.transport = transport
        self.wake_uplink = wake_uplink

    @contextlib.contextmanager
    def _store(self) -> Iterator[StateStore]:
        store = StateStore(self.state_path)  # the launcher's own store: same schema, same busy timeout
        try:
            yield store
        finally:
            store.close()

    def local_items(self) -> list[dict[str, Any]]:
        if not self.state_path.exists():
            return []  # the launcher never ran here: nothing to send, and no file to create
        with self._store() as store:
            rows = store.all_progress().values()
        return [{"id": p.id, "position": p.position, "duration": p.duration, "watched": p.watched,
                 "updated_at": p.updated_at} for p in rows]

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
        with self._store() as store:
            changed = store.merge_progress(Progress(item["id"], item["position"], item["duration"], item["watched"],
                                                    item["updated_at"]) for item in items)
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
