"""Logging set-up: journald on the box, stderr elsewhere, and a ring of recent problems for status."""

from __future__ import annotations

import collections
import faulthandler
import logging
import signal
import sys
import threading
import time
from typing import Any


class RecentProblems(logging.Handler):
    """Keeps the last warnings and errors so `status` (and the maintainer) can see them."""

    def __init__(self, capacity: int = 20) -> None:
        super().__init__(level=logging.WARNING)
        self._items: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        item = {"time": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "message": record.getMessage()[:500]}
        with self._lock:
            self._items.append(item)

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)


RECENT = RecentProblems()


def setup_logging(level: str = "info", identifier: str = "piclient") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler: logging.Handler
    if _under_journald():
        from systemd.journal import JournalHandler

        handler = JournalHandler(SYSLOG_IDENTIFIER=identifier)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    root.addHandler(handler)
    root.addHandler(RECENT)
    # A frozen box far away: `kill -USR1` writes every thread's stack to the log output.
    if threading.current_thread() is threading.main_thread():
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def _under_journald() -> bool:
    import os

    if not os.environ.get("JOURNAL_STREAM"):
        return False
    try:
        import systemd.journal  # noqa: F401
    except ImportError:
        return False
    return True
