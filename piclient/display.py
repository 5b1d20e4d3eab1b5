"""The screen. The only module that opens a display.

On the Pi without X, SDL's kmsdrm driver draws straight to the HDMI output; on a desktop it opens
a window; with no display at all it falls back to an off-screen surface so the maintainer still gets
screenshots and the control socket still answers.
"""

from __future__ import annotations

import logging
import os

import pygame

log = logging.getLogger(__name__)

MAX_SIZE = (1920, 1080)


def open_display(fullscreen: bool, window_size: tuple[int, int]) -> pygame.Surface:
    try:
        pygame.display.init()
    except pygame.error as exc:
        log.error("no display could be opened (%s); drawing off-screen instead", exc)
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.init()
    driver = pygame.display.get_driver()
    if fullscreen:
        desktop = pygame.display.get_desktop_sizes()[0] if pygame.display.get_desktop_sizes() else MAX_SIZE
        size = _fit(desktop)
        flags = pygame.FULLSCREEN if driver not in ("dummy", "offscreen") else 0
    else:
        size = window_size
        flags = 0
    surface = pygame.display.set_mode(size, flags)
    pygame.display.set_caption("piclient")
    pygame.mouse.set_visible(False)
    log.info("display: %s driver, %dx%d%s", driver, *surface.get_size(), " fullscreen" if flags else "")
    return surface


def _fit(desktop: tuple[int, int]) -> tuple[int, int]:
    """Render at the display's size, but never more than 1080p: a Pi cannot fill 4K at 60 Hz."""
    width, height = desktop
    if width <= MAX_SIZE[0] and height <= MAX_SIZE[1]:
        return width, height
    scale = min(MAX_SIZE[0] / width, MAX_SIZE[1] / height)
    return round(width * scale), round(height * scale)
