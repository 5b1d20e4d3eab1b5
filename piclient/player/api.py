"""The player as the launcher sees it: what to play, what it reports, and the Player protocol.

The libmpv implementation lives in ``piclient.player._mpv``; tests use a stand-in with the same
protocol. Callbacks from the player's own thread only enqueue ``PlayerEvent``s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pygame


@dataclass(frozen=True)
class Media:
    url: str  # http(s) HLS master playlist; checked by the catalog parser
    playable_id: str
    start: float = 0.0
    # Pick the highest HLS variant at or below this rate at start (mpv's hls-bitrate); None: mpv's default.
    max_bitrate: int | None = None
    http_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlayerEvent:
    """kind: "loaded", "ended" (detail: reason = eof | stopped | error, error), "buffering",
    "display_failed" (hand-over: mpv could not open the screen; detail: error)."""

    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Track:
    id: int
    type: str  # video | audio | sub
    lang: str | None
    title: str | None
    selected: bool
    bitrate: int | None  # HLS variant bandwidth where mpv reports it (newer mpv only)
    width: int | None
    height: int | None
    ff_index: int | None = None  # FFmpeg's stream order: HLS variants appear in playlist order
    external: str | None = None  # the file of a track added with sub-add


@dataclass(frozen=True)
class Snapshot:
    """The latest values the player reported; reading it never calls into libmpv."""

    position: float | None = None
    duration: float | None = None
    paused: bool = False
    buffering: bool = False
    buffer_s: float | None = None
    # Download rate while mpv is fetching; None while its cache is full and the reader rests.
    input_rate_bps: float | None = None
    end_buffered: bool = False  # the rest of the file is already downloaded
    sub_text: str = ""
    sub_delay: float = 0.0
    dropped_frames: int = 0
    tracks: tuple[Track, ...] = ()
    idle: bool = True
    hwdec: str | None = None
    # mpv's demuxer-start-time: time-pos counts from here, and HLS subtitle renditions carry
    # transport-stream times that must be shifted by it.
    start_time: float | None = None

    def selected(self, kind: str) -> Track | None:
        return next((t for t in self.tracks if t.type == kind and t.selected), None)


class Player(Protocol):
    on_event: Callable[[PlayerEvent], None]
    output: str  # "embedded" (frames drawn by the launcher) or "handover" (mpv drives the display)

    def load(self, media: Media) -> None: ...
    def stop(self) -> None: ...
    def set_pause(self, paused: bool) -> None: ...
    def seek(self, seconds: float, *, absolute: bool = False) -> None: ...
    def set_sub_delay(self, seconds: float) -> None: ...
    def set_sub_position(self, percent: int) -> None: ...
    def add_subtitle(self, path: str, language: str, title: str, *, select: bool) -> None: ...
    def select_track(self, kind: str, track_id: int | None) -> None: ...
    def reload_subtitle(self, path: str) -> None:
        """Read a subtitle file added with ``add_subtitle`` again (it has grown); keeps its selection."""
    def snapshot(self) -> Snapshot: ...
    def poll_frame(self, size: tuple[int, int]) -> bool:
        """Embedded output: render the newest video frame (subtitles included); True if it changed."""
    def draw_frame(self, target: pygame.Surface) -> None:
        """Blit the last rendered frame, or black before the first one."""
    def show_osd(self, ass_text: str) -> None:
        """Handover output: the launcher's overlay, as ASS events, drawn by mpv over the video."""
    def show_image(self, rgb: bytes, size: tuple[int, int], pos: tuple[int, int]) -> None:
        """Handover output: an opaque RGB picture over the video (the seek thumbnail), its top-left at
        ``pos`` in the same 1920x1080 space as ``show_osd``; replaces the previous one."""
    def hide_image(self) -> None:
        """Take the picture of ``show_image`` away."""
    def screenshot(self) -> tuple[bytes, tuple[int, int]] | None:
        """Handover output: mpv's window (video, subtitles, OSD) as raw RGB, or None."""
    def close(self) -> None: ...
