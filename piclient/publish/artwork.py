"""The poster (the maintainer's picture, or a frame from the film's first third) and the seek
thumbnails (sprite sheets plus the WebVTT index ``piclient.player.thumbnails`` reads)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from piclient.player.subtitles import Cue, to_webvtt
from piclient.player.thumbnails import MAX_IMAGE_PIXELS, MAX_IMAGES
from piclient.publish.errors import PublishError
from piclient.publish.tools import run_ffmpeg

POSTER_NAME = "poster.jpg"
POSTER_MAX = (1000, 1500)  # the box scales to 400x600 at most; more only costs the download
POSTER_AT = 0.2  # of the film's length: past the opening titles, inside the first third
THUMB_DIR = "thumbs"
THUMB_INDEX = "thumbnails.vtt"
THUMB_EVERY_S = 10.0
THUMB_WIDTH = 160
THUMB_COLUMNS = 10
THUMB_ROWS = 10
MAX_POSTER_PIXELS = 40_000_000


def poster_from_image(image: Path, dest: Path) -> Path:
    """The maintainer's picture as a JPEG no larger than needed; refused if it is not a picture."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(image) as img:
                if img.width * img.height > MAX_POSTER_PIXELS:
                    raise PublishError(f"poster {image.name} is {img.width}x{img.height}: too large a picture")
                img.load()
                picture = ImageOps.exif_transpose(img).convert("RGB")
    except PublishError:
        raise
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PublishError(f"poster {image.name} is not a picture we can read", detail=str(exc)) from None
    picture.thumbnail(POSTER_MAX)
    out = dest / POSTER_NAME
    picture.save(out, "JPEG", quality=88, optimize=True)
    return out


def poster_from_film(video: Path, duration: float, dest: Path) -> Path:
    out = dest / POSTER_NAME
    run_ffmpeg(["-ss", f"{duration * POSTER_AT:.3f}", "-i", str(video), "-frames:v", "1", "-an", "-sn",
                "-vf", "scale=-2:'min(720,ih)'", "-q:v", "3", str(out)], "a poster from the film")
    if not out.is_file():
        raise PublishError("ffmpeg made no poster frame")
    return out


def seek_thumbnails(video: Path, duration: float, dest: Path) -> Path:
    """Sprites of ``THUMB_COLUMNS`` x ``THUMB_ROWS`` frames, one every ``THUMB_EVERY_S`` seconds."""
    folder = dest / THUMB_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # ffmpeg's fps filter gives nothing for a clip shorter than half its interval: sample short ones twice.
    every = min(THUMB_EVERY_S, max(duration / 2, 0.1))
    frames = max(1, math.ceil(duration / every - 1e-6))
    rows = max(THUMB_ROWS, math.ceil(frames / THUMB_COLUMNS / MAX_IMAGES))
    rows = min(rows, math.ceil(frames / THUMB_COLUMNS))
    sheets = math.ceil(frames / (THUMB_COLUMNS * rows))
    run_ffmpeg(["-i", str(video), "-map", "0:v:0", "-an", "-sn",
                "-vf", f"fps=1/{every:g},scale={THUMB_WIDTH}:-2,tile={THUMB_COLUMNS}x{rows}",
                "-fps_mode", "vfr", "-frames:v", str(sheets), "-q:v", "5", "-start_number", "0",
                str(folder / "sprite-%d.jpg")], "the seek thumbnails")
    with Image.open(folder / "sprite-0.jpg") as first:
        sheet_w, sheet_h = first.size
    if sheet_w * sheet_h > MAX_IMAGE_PIXELS:
        raise PublishError("the seek-thumbnail sprites came out larger than the box loads")
    tile_h = sheet_h // rows
    cues = []
    for i in range(frames):
        sheet, position = divmod(i, THUMB_COLUMNS * rows)
        row, column = divmod(position, THUMB_COLUMNS)
        cues.append(Cue(i * every, min((i + 1) * every, duration),
                        f"sprite-{sheet}.jpg#xywh={column * THUMB_WIDTH},{row * tile_h},{THUMB_WIDTH},{tile_h}"))
    index = folder / THUMB_INDEX
    # to_webvtt escapes & < >; the fragment has none, so the line reads exactly as written.
    index.write_text(to_webvtt(cues), encoding="utf-8")
    return index
