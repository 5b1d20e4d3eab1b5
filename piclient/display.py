"""The screen. The only module that opens a display.

On the Pi without X, SDL's kmsdrm driver draws straight to the HDMI output; on a desktop it opens
a window; with no display at all it falls back to an off-screen surface so the control socket still
answers. An off-screen surface is not the TV: ``display_status()`` says which one is in use, and the
launcher's status and the agent's heartbeat carry it, so an off-screen picture is never passed off
as what the TV shows.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import pygame

log = logging.getLogger(__name__)

MAX_SIZE = (1920, 1080)
OFFSCREEN_DRIVERS = ("dummy", "offscreen")

_lock = threading.Lock()
# What SDL_VIDEODRIVER asked for before any fallback, so a later reopen tries the real display again.
_wanted_driver: str | None = None
_status: dict[str, Any] = {"driver": None, "real": False, "error": None}


def display_status() -> dict[str, Any]:
    """Which display the launcher draws on: ``real`` is False for an off-screen surface, and ``error``
    says why when the real display could not be had (the TV then shows nothing of ours)."""
    with _lock:
        return dict(_status)


def real_display_missing() -> bool:
    """Whether the launcher draws off-screen only because the real display could not be had."""
    with _lock:
        return not _status["real"] and _status["error"] is not None


def open_display(fullscreen: bool, window_size: tuple[int, int], *, attempts: int = 1,
                 retry_s: float = 0.25) -> pygame.Surface:
    """Open the screen; ``attempts`` > 1 tries the real display again for a while (after a hand-over
    the DRM device may take a moment to be free) before drawing off-screen."""
    global _wanted_driver
    if _wanted_driver is None:
        _wanted_driver = os.environ.get("SDL_VIDEODRIVER", "")
    # A fallback of an earlier open must not stick: the real display may be free again.
    if _wanted_driver:
        os.environ["SDL_VIDEODRIVER"] = _wanted_driver
    else:
        os.environ.pop("SDL_VIDEODRIVER", None)
    error = None
    for attempt in range(1, attempts + 1):
        try:
            pygame.display.init()
            error = None
            break
        except pygame.error as exc:
            error = f"no display could be opened: {exc}"
            if attempt < attempts:
                time.sleep(retry_s)
    if error is not None:
        with _lock:
            again = error == _status["error"]
        # Retried every few seconds while another program holds the display: one error, not hundreds.
        log.log(logging.DEBUG if again else logging.ERROR, "%s; drawing off-screen instead (the TV shows "
                "nothing of ours)", error)
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.init()
    driver = pygame.display.get_driver()
    if fullscreen:
        desktop = pygame.display.get_desktop_sizes()[0] if pygame.display.get_desktop_sizes() else MAX_SIZE
        size = _fit(desktop)
        flags = pygame.FULLSCREEN if driver not in OFFSCREEN_DRIVERS else 0
    else:
        size = window_size
        flags = 0
    surface = pygame.display.set_mode(size, flags)
    pygame.display.set_caption("piclient")
    pygame.mouse.set_visible(False)
    log.info("display: %s driver, %dx%d%s", driver, *surface.get_size(), " fullscreen" if flags else "")
    with _lock:
        _status.update(driver=driver, real=driver.lower() not in OFFSCREEN_DRIVERS, error=error)
    return surface


def _fit(desktop: tuple[int, int]) -> tuple[int, int]:
    """Render at the display's size, but never more than 1080p: a Pi cannot fill 4K at 60 Hz."""
    width, height = desktop
    if width <= MAX_SIZE[0] and height <= MAX_SIZE[1]:
        return width, height
    scale = min(MAX_SIZE[0] / width, MAX_SIZE[1] / height)
    return round(width * scale), round(height * scale)
