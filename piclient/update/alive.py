"""The agent's proof of life for the updater: one file per version, rewritten after each heartbeat the
server accepted. The updater (which cannot see the agent's HTTP traffic) reads it to know that the
version it is trying reaches the server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from piclient.fsutil import atomic_write


def record(alive_dir: Path, version: str, *, tv_running: bool) -> None:
    doc = {"version": version, "at": round(time.time(), 3), "tv_running": tv_running}
    # No fsync needed for correctness, but atomic_write keeps a torn file from ever being read.
    atomic_write(alive_dir / f"{version}.json", json.dumps(doc))


def last(alive_dir: Path, version: str) -> dict[str, Any] | None:
    try:
        doc = json.loads((alive_dir / f"{version}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
