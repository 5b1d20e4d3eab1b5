"""What the player's worker threads post to the launcher's main loop (plain data, no I/O imports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piclient.player.hls import Variant


@dataclass(frozen=True)
class SubtitleReady:
    """A subtitle file converted for mpv on disk, ready for ``sub-add``.

    ``select`` is true for the one track subtitle_choice switches on for the viewer's language.
    """

    playable_id: str
    path: str
    language: str
    label: str
    select: bool = False
    updated: bool = False  # the same file again, with more lines (a growing playlist): reload it


@dataclass(frozen=True)
class LadderReady:
    """The HLS master's variants, for the adaptive-bitrate decision (mpv 0.35 does not report them)."""

    playable_id: str
    variants: tuple[Variant, ...]
    # Why the segments cannot all play here (FFmpeg refuses their names), for the maintainer; None if fine.
    segment_problem: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    """One timed segment download of a higher variant (see probe.py)."""

    playable_id: str
    nbytes: int
    seconds: float


@dataclass(frozen=True)
class ThumbnailsReady:
    """A title's seek thumbnails, downloaded and decoded (a ``ThumbnailTrack``)."""

    playable_id: str
    track: Any
