"""Which rungs a film gets: the ladder of docs/publish.md, never a rung taller than the source.

Bitrates are caps for a capped-quality encode (x264 CRF with ``-maxrate``): a quiet film uses less,
a grainy one stops at the cap. The numbers and why are in docs/publish.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from piclient.publish.probe import Source


@dataclass(frozen=True)
class Rung:
    name: str  # "720p": the folder name and the label in the dashboard
    width: int
    height: int
    video_kbps: int  # the peak video rate (x264 -maxrate)
    audio_kbps: int


# name, height, video cap (kbit/s): see docs/publish.md for the choice.
LADDER: tuple[tuple[str, int, int], ...] = (
    ("360p", 360, 900),
    ("540p", 540, 1800),
    ("720p", 720, 3000),
    ("1080p", 1080, 5500),
)
AUDIO_KBPS = 128
# A source a little short of a rung's height (1080p cropped to 1920x1036 for a wide film) still gets it.
HEIGHT_SLACK = 0.9


def choose_rungs(source: Source) -> list[Rung]:
    """The rungs for ``source``, lowest first; a source below 360p gets one rung at its own size."""
    width, height = source.width, source.height
    # Rungs are 16:9 frames: a wide film (1920x800) is a 1080p film, fitted by its width.
    scale_ref = max(height, round(width * 9 / 16))
    rungs = []
    for name, rung_height, kbps in LADDER:
        if rung_height > scale_ref / HEIGHT_SLACK + 0.5 and rungs:
            break
        if rung_height > scale_ref / HEIGHT_SLACK + 0.5:
            # Smaller than the lowest rung: keep the source's own size rather than blow it up.
            return [Rung(f"{_even(height)}p", _even(width), _even(height), kbps, AUDIO_KBPS)]
        factor = min(1.0, rung_height / scale_ref)
        rungs.append(Rung(name, _even(width * factor), _even(height * factor), kbps, AUDIO_KBPS))
    return rungs


def _even(value: float) -> int:
    # H.264 in 4:2:0 needs even sides.
    return max(2, round(value / 2) * 2)
