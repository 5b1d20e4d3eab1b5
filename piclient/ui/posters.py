"""Poster surfaces for the screen: loaded off the main thread, kept in a bounded LRU.

The frame loop only ever asks ``get()``: it returns a ready surface or ``None`` (draw the
placeholder) and never decodes an image itself. Decoding happens in a worker thread; the main
thread picks up finished work in ``collect()`` and converts it to the display's pixel format.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pygame
from PIL import Image

from piclient.ui import theme

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (poster url, "grid" | "page")


class PosterBank:
    def __init__(self, locate: Callable[[str, str], Path | None], sizes: dict[str, tuple[int, int]],
                 capacity: int = 64, why_unusable: Callable[[str], str | None] = lambda _url: None) -> None:
        self._locate = locate
        self._why_unusable = why_unusable
        self._told: set[str] = set()  # unusable posters already named in the problems (worker thread only)
        self._sizes = sizes
        self._capacity = capacity
        self._ready: OrderedDict[Key, pygame.Surface] = OrderedDict()
        self._missing: set[Key] = set()
        self._pending: set[Key] = set()
        self._done: list[tuple[Key, tuple[bytes, tuple[int, int]] | None]] = []
        self._done_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posters")
        self._quiet: tuple[float, float] = (0.0, 0.0)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def forget_missing(self) -> None:
        """After a sync brought new posters, try the ones that were missing again."""
        self._missing.clear()

    def get(self, url: str | None, size: str) -> pygame.Surface | None:
        if not url:
            return None
        key = (url, size)
        surface = self._ready.get(key)
        if surface is not None:
            self._ready.move_to_end(key)
            return surface
        if key not in self._pending and key not in self._missing:
            self._pending.add(key)
            self._pool.submit(self._load, key)
        return None

    def keep_quiet(self, start: float, end: float) -> None:
        """Do not begin a decode between these monotonic times: a frame is due to be painted.

        Decoding holds the GIL for a few milliseconds at a time; starting one just before a held
        key's next repeat would make that frame wait for it.
        """
        self._quiet = (start, end)

    def _wait_for_quiet(self) -> None:
        for _ in range(100):  # at most ~0.1 s: a stale window must never stall the posters
            start, end = self._quiet
            if not start <= time.monotonic() < end:
                return
            time.sleep(0.001)

    def is_missing(self, url: str | None, size: str) -> bool:
        """True when there is no poster to load (none given, never fetched, or broken)."""
        return not url or (url, size) in self._missing

    def wait_idle(self, timeout: float) -> None:
        """Let queued loads finish (start-up only: the first frame should have its posters)."""
        done = threading.Event()
        self._pool.submit(done.set)
        done.wait(timeout)

    def collect(self) -> set[str]:
        """Adopt finished loads; returns the poster URLs that can now be drawn (or placeholdered)."""
        with self._done_lock:
            done, self._done = self._done, []
        for key, result in done:
            self._pending.discard(key)
            if result is None:
                self._missing.add(key)
                continue
            pixels, size = result
            surface = pygame.image.frombuffer(pixels, size, "RGB")
            if pygame.display.get_surface() is not None:
                surface = surface.convert()
            self._ready[key] = surface
            while len(self._ready) > self._capacity:
                self._ready.popitem(last=False)
        return {key[0] for key, _ in done}

    def _load(self, key: Key) -> None:
        url, size = key
        result: tuple[bytes, tuple[int, int]] | None = None
        try:
            path = self._locate(url, size)
            if path is None:
                self._tell_unusable(url)
            else:
                want = self._sizes[size]
                self._wait_for_quiet()
                # SDL_image decodes without holding the GIL, so the frame loop keeps running; Pillow
                # only steps in when the screen is not 1080p and the cached size must be scaled.
                loaded = pygame.image.load(str(path))
                if loaded.get_size() == want:
                    result = (pygame.image.tobytes(loaded, "RGB"), want)
                else:
                    with Image.open(path) as img:
                        img = img.convert("RGB").resize(want, Image.Resampling.LANCZOS)
                        result = (img.tobytes(), img.size)
        except Exception as exc:  # a damaged cache file shows the placeholder, never crashes
            log.warning("poster %s could not be loaded: %s", url, exc)
        with self._done_lock:
            self._done.append((key, result))

    def _tell_unusable(self, url: str) -> None:
        """Name a poster the cache refused among the TV app's problems, once: the maintainer sees which
        tile shows a placeholder and why, whichever process fetched it (the agent's log is not there)."""
        if url in self._told:
            return
        reason = self._why_unusable(url)
        if reason is not None:
            self._told.add(url)
            log.warning("poster %s is unusable, a placeholder is shown: %s", url, reason)


def placeholder(fonts: theme.Fonts, title: str, size: tuple[int, int], *, words: bool = True) -> pygame.Surface:
    """A calm drawn card with the title, for posters that are missing, loading or broken; its colours
    come from the title, so the card without ``words`` (at a screen edge) looks the same."""
    surface = pygame.Surface(size)
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    top = (40 + digest[0] % 60, 50 + digest[1] % 60, 70 + digest[2] % 70)
    bottom = (top[0] // 3, top[1] // 3, top[2] // 3)
    width, height = size
    for y in range(0, height, 4):
        mix = y / height
        color = tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        surface.fill(color, (0, y, width, 4))
    text_size = 34 if width >= fonts.px(300) else theme.MIN_TEXT
    lines = fonts.wrap(title, text_size, int(width * 0.84), 4, bold=True) if words else []
    line_height = fonts.px(text_size * 1.3)
    y = height // 2 - line_height * len(lines) // 2
    for line in lines:
        rendered = fonts.render(line, text_size, theme.TEXT, bold=True)
        surface.blit(rendered, ((width - rendered.get_width()) // 2, y))
        y += line_height
    return surface
