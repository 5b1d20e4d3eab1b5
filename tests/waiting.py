"""Bounded waits for the tests: look every 50 ms (or ``interval``) until a condition holds or the time is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def _first_truthy(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition", *,
               interval: float = 0.05) -> Any:
    """The first truthy value of ``predicate()``; an AssertionError naming ``what`` when time runs out."""
    value = _first_truthy(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"{what} not met within {timeout} s")
    return value


def poll_until(predicate: Callable[[], Any], timeout: float = 15.0) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds (one last look at the end)."""
    return bool(_first_truthy(predicate, timeout) or predicate())
