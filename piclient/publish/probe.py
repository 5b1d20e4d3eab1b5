"""What a file is, asked of ffprobe before anything is encoded; what is not a film is refused here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from piclient.publish.errors import PublishError
from piclient.publish.tools import ffprobe_json

# Shorter than this is a glitch or a still image in a video container, not something to watch.
MIN_DURATION_S = 1.0


@dataclass(frozen=True)
class Source:
    path: Path
    duration: float  # seconds
    width: int  # display size: rotation and non-square pixels applied
    height: int
    fps: float
    video_codec: str
    audio_channels: int  # 0 when the film has no sound track

    @property
    def has_audio(self) -> bool:
        return self.audio_channels > 0


def probe(path: Path) -> Source:
    """The film's length, picture size and sound, or PublishError saying plainly why it is not a film."""
    path = Path(path)
    if not path.is_file():
        raise PublishError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise PublishError(f"{path.name} is empty (0 bytes): the copy may have failed")
    info = ffprobe_json(path, "-show_entries",
                        "format=duration,format_name:stream=index,codec_type,codec_name,width,height,"
                        "sample_aspect_ratio,avg_frame_rate,r_frame_rate,channels,duration:"
                        "stream_disposition=attached_pic:stream_side_data=rotation")
    streams = [s for s in info.get("streams", []) if isinstance(s, dict)]
    # Cover art inside an audio file is a "video" stream with the attached_pic disposition.
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        raise PublishError(f"{path.name} has no picture: it is not a film (a sound file, a subtitle, or "
                           "something else with a video name)")
    video = videos[0]
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _duration(info.get("format", {}), video)
    if duration < MIN_DURATION_S:
        raise PublishError(f"{path.name} is {duration:.1f} s long: too short to be a film")
    width, height = _display_size(video)
    if width < 16 or height < 16:
        raise PublishError(f"{path.name} has no usable picture size ({width}x{height})")
    return Source(path=path, duration=duration, width=width, height=height, fps=_fps(video),
                  video_codec=str(video.get("codec_name") or "?"),
                  audio_channels=int(audio.get("channels") or 2) if audio else 0)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _duration(fmt: dict[str, Any], video: dict[str, Any]) -> float:
    return max(_number(fmt.get("duration")), _number(video.get("duration")))


def _fps(video: dict[str, Any]) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        try:
            rate = float(Fraction(str(video.get(key) or "0/0")))
        except (ValueError, ZeroDivisionError):
            continue
        if 1 <= rate <= 240:
            return rate
    return 25.0


def _display_size(video: dict[str, Any]) -> tuple[int, int]:
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    try:
        sar = Fraction(str(video.get("sample_aspect_ratio") or "1:1").replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        sar = Fraction(1)
    if sar > 0 and sar != 1:
        width = round(width * sar)  # anamorphic DVD rips: 720x576 shows as 1024x576
    rotation = next((abs(int(_number(d.get("rotation")))) for d in video.get("side_data_list") or []
                     if isinstance(d, dict) and "rotation" in d), 0)
    if rotation in (90, 270):
        width, height = height, width  # a phone video filmed upright
    return width, height
