"""Make a seek-thumbnail track for a video: sprite JPEGs plus a WebVTT index of their tiles.

ffmpeg samples one frame every ``every_s`` seconds, scales it to ``width`` and tiles the frames into
sprite sheets; the index is written here in Python from the probed duration, so its cue times and boxes
are exact and do not depend on parsing ffmpeg's output. The result is what
``piclient.player.thumbnails`` reads.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

from PIL import Image

from piclient.demo.hls import vtt_timestamp
from piclient.fsutil import atomic_write
from piclient.player.thumbnails import MAX_IMAGE_PIXELS, MAX_IMAGES

INDEX_NAME = "thumbnails.vtt"
SPRITE_PATTERN = "sprite-%d.jpg"
# Sprites of at most this many rows download quickly and start showing tiles early; longer videos get
# more sprites rather than taller ones, until the player's image limit forces taller ones.
MAX_ROWS = 10
_SPRITE_NAME = re.compile(r"sprite-\d+\.jpg")


class ThumbnailBuildError(RuntimeError):
    """ffprobe or ffmpeg failed, or the sprites they wrote are not what was asked for."""


def make_thumbnails(video: Path, dest: Path, *, every_s: float = 5, width: int = 160, columns: int = 10) -> Path:
    """Write ``sprite-0.jpg``, ``sprite-1.jpg``, ... and ``thumbnails.vtt`` into ``dest``; return the .vtt.

    ``video`` is anything ffmpeg reads, including an HLS master or media playlist. Thumbnails are
    ``width`` pixels wide (height keeps the aspect, rounded to even) and ``columns`` to a sprite row.
    """
    if every_s <= 0 or width < 2 or columns < 1:
        raise ThumbnailBuildError("every_s, width and columns must be positive (width at least 2)")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    duration, video_width, video_height = _probe(Path(video))
    # FFmpeg's fps filter emits nothing for a clip shorter than about half its interval: sample a
    # very short clip (a trailer, a test) at least twice.
    every_s = min(every_s, max(duration / 2, 0.1))
    frames = max(1, math.ceil(duration / every_s - 1e-6))  # the tolerance keeps 10 s / 5 s at 2
    total_rows = math.ceil(frames / columns)
    rows = max(min(total_rows, MAX_ROWS), math.ceil(total_rows / MAX_IMAGES))
    sprites = math.ceil(total_rows / rows)
    # An upper bound of the tile height before ffmpeg rounds it, to refuse sprites the player won't load.
    estimated_height = math.ceil(width * video_height / video_width) + 2
    if columns * width * rows * estimated_height > MAX_IMAGE_PIXELS:
        raise ThumbnailBuildError(f"sprites of {columns}x{rows} tiles of {width} px would exceed "
                                  f"{MAX_IMAGE_PIXELS:,} pixels; sample less often or make them smaller")
    for old in dest.iterdir():
        if _SPRITE_NAME.fullmatch(old.name):
            old.unlink()  # a shorter re-run must not leave sprites of the last run behind
    _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(video),
          "-map", "0:v:0", "-an", "-sn",
          "-vf", f"fps=1/{every_s:g},scale={width}:-2,tile={columns}x{rows}",
          # The image muxer would otherwise duplicate sprites to keep a constant frame rate.
          "-fps_mode", "vfr", "-frames:v", str(sprites), "-q:v", "4",
          "-start_number", "0", str(dest / SPRITE_PATTERN)])
    tile_height = _check_sprites(dest, sprites, columns * width, rows)
    atomic_write(dest / INDEX_NAME, _index(frames, duration, every_s, width, tile_height, columns, rows))
    return dest / INDEX_NAME


def _probe(video: Path) -> tuple[float, int, int]:
    out = _run(["ffprobe", "-v", "error", "-select_streams", "v:0",
                "-show_entries", "format=duration:stream=width,height", "-of", "json", str(video)])
    try:
        info = json.loads(out)
        duration = float(info["format"]["duration"])
        stream = info["streams"][0]
        size = int(stream["width"]), int(stream["height"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise ThumbnailBuildError(f"ffprobe found no video with a duration in {video}") from None
    if not math.isfinite(duration) or duration <= 0 or min(size) <= 0:
        raise ThumbnailBuildError(f"{video} has no usable duration or picture size")
    return duration, *size


def _check_sprites(dest: Path, sprites: int, sprite_width: int, rows: int) -> int:
    """Every sprite exists with the expected grid; returns the tile height ffmpeg chose."""
    heights = set()
    for i in range(sprites):
        path = dest / (SPRITE_PATTERN % i)
        if not path.is_file():
            raise ThumbnailBuildError(f"ffmpeg wrote {i} sprites, {sprites} were expected")
        with Image.open(path) as sprite:
            width, height = sprite.size
        if width != sprite_width or height % rows:
            raise ThumbnailBuildError(f"{path.name} is {width}x{height}, not {sprite_width} wide in {rows} rows")
        heights.add(height // rows)
    if len(heights) != 1:
        raise ThumbnailBuildError(f"sprites have different tile heights: {sorted(heights)}")
    return heights.pop()


def _index(frames: int, duration: float, every_s: float, width: int, height: int, columns: int,
           rows: int) -> str:
    lines = ["WEBVTT"]
    per_sprite = columns * rows
    for i in range(frames):
        sprite, position = divmod(i, per_sprite)
        row, column = divmod(position, columns)
        start, end = i * every_s, min((i + 1) * every_s, duration)
        lines += ["", f"{vtt_timestamp(start)} --> {vtt_timestamp(end)}",
                  f"{SPRITE_PATTERN % sprite}#xywh={column * width},{row * height},{width},{height}"]
    return "\n".join(lines) + "\n"


def _run(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ThumbnailBuildError(f"{args[0]} could not run: {exc}") from None
    if done.returncode != 0:
        raise ThumbnailBuildError(f"{args[0]} exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout
