"""The update's state on the box, one small JSON file the agent copies into every heartbeat.

States: downloading, installing, trying, rolling_back (decided, not yet done), rolled_back, kept, failed
(refused before the switch).
Written by the agent (downloading) and by the image's updater (the rest); read by both.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from piclient.fsutil import atomic_write

STATES = ("downloading", "installing", "trying", "kept", "rolling_back", "rolled_back", "failed")
MAX_REASON = 500
MAX_LOG = 4000


def write(path: Path, state: str, version: str, **extra: Any) -> dict[str, Any]:
    if state not in STATES:
        raise ValueError(f"unknown update state {state!r}")
    doc: dict[str, Any] = {"state": state, "version": version, "at": round(time.time(), 3)}
    for key, value in extra.items():
        if value is None:
            continue
        if key == "reason":
            value = str(value)[:MAX_REASON]
        elif key == "log_tail":
            value = str(value)[-MAX_LOG:]
        doc[key] = value
    atomic_write(path, json.dumps(doc, ensure_ascii=False))
    return doc


def read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("state") in STATES else None
