"""A stand-in for the libmpv player with the same protocol, for tests of the player screen.

It records every call, keeps a position the test moves with ``advance``, and fires events from a
separate thread, as libmpv's event thread would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pygame

from piclient.player.api import Media, PlayerEvent, Snapshot, Track


class FakePlayer:
    def __init__(self, output: str = "embedded") -> None:
        self.output = output
        self.osd: list[str] = []
        self.image: tuple[bytes, tuple[int, int], tuple[int, int]] | None = None  # show_image's picture
        self.on_event: Callable[[PlayerEvent], None] = lambda event: None
        self.calls: list[tuple[str, Any]] = []
        self.media: Media | None = None
        self._snap = Snapshot()
        self._lock = threading.Lock()

    # -- the protocol ----------------------------------------------------------------------------

    def load(self, media: Media) -> None:
        self.media = media
        self.calls.append(("load", media))
        with self._lock:
            self._snap = Snapshot(position=None, duration=None, idle=False)

    def stop(self) -> None:
        self.calls.append(("stop", None))

    def set_pause(self, paused: bool) -> None:
        self.calls.append(("pause", paused))
        self._update(paused=paused)

    def seek(self, seconds: float, *, absolute: bool = False) -> None:
        self.calls.append(("seek", (seconds, absolute)))
        base = 0.0 if absolute else (self._snap.position or 0.0)
        self._update(position=base + seconds)

    def set_sub_delay(self, seconds: float) -> None:
        self.calls.append(("sub_delay", seconds))
        self._update(sub_delay=seconds)

    def set_sub_position(self, percent: int) -> None:
        self.calls.append(("sub_position", percent))

    def add_subtitle(self, path: str, language: str, title: str, *, select: bool) -> None:
        self.calls.append(("add_subtitle", (path, language, select)))

    def select_track(self, kind: str, track_id: int | None) -> None:
        self.calls.append(("select", (kind, track_id)))
        tracks = tuple(replace(t, selected=t.id == track_id) if t.type == kind else t for t in self._snap.tracks)
        self._update(tracks=tracks)

    def reload_subtitle(self, path: str) -> None:
        self.calls.append(("reload_subtitle", path))

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def poll_frame(self, size: tuple[int, int]) -> bool:
        return False

    def draw_frame(self, target: pygame.Surface) -> None:
        target.fill((20, 40, 60))

    def show_osd(self, ass_text: str) -> None:
        self.osd.append(ass_text)

    def show_image(self, rgb: bytes, size: tuple[int, int], pos: tuple[int, int]) -> None:
        assert len(rgb) == size[0] * size[1] * 3, "RGB bytes must match the size"
        self.image = (rgb, size, pos)
        self.calls.append(("show_image", (size, pos)))

    def hide_image(self) -> None:
        self.image = None
        self.calls.append(("hide_image", None))

    def screenshot(self) -> tuple[bytes, tuple[int, int]] | None:
        return bytes([30, 60, 90]) * (64 * 36), (64, 36)

    def close(self) -> None:
        self.calls.append(("close", None))

    # -- driving it from a test ------------------------------------------------------------------

    def _update(self, **values: Any) -> None:
        with self._lock:
            self._snap = replace(self._snap, **values)

    def start_playing(self, duration: float, position: float = 0.0, tracks: tuple[Track, ...] = ()) -> None:
        self._update(position=position, duration=duration, tracks=tracks)
        self.fire("loaded")

    def advance(self, seconds: float) -> None:
        self._update(position=(self._snap.position or 0.0) + seconds)

    def set(self, **values: Any) -> None:
        self._update(**values)

    def fire(self, kind: str, **detail: Any) -> None:
        """Deliver an event from another thread, as libmpv does."""
        thread = threading.Thread(target=self.on_event, args=(PlayerEvent(kind, detail),))
        thread.start()
        thread.join(5)

    def called(self, name: str) -> list[Any]:
        return [value for call, value in self.calls if call == name]
