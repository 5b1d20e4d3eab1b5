"""Screenshots: a real-image check, a clean re-encode (no EXIF or other metadata) and a file name we make."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError

from piclient import whole_images
from piclient.fsutil import atomic_write
from piclient.server import quota
from piclient.server.schema import screenshots
from piclient.whole_images import DamagedImage

MAX_BYTES = 2 * 1024 * 1024
MAX_WIDTH = 960  # what the protocol allows; wider images are scaled down rather than refused
# Twice a 1080p frame: room for a 4K TV's picture scaled by the box, not for a decompression bomb.
# Checked from the header, before a single pixel is decoded: decoding costs about 4 bytes a pixel.
MAX_PIXELS = 2 * 1920 * 1080
ACCEPTED_TYPES = ("image/jpeg", "image/png")
REASONS = ("schedule", "demand", "error", "live")


class BadImage(ValueError):
    pass


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int


def clean_jpeg(data: bytes) -> CleanImage:
    """Decode fully, copy the pixels alone into a new image and encode that: nothing else survives."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # the header only: no pixel is decoded yet
                if image.format not in ("JPEG", "PNG"):
                    raise BadImage(f"a screenshot must be a JPEG, not {image.format}")
                if image.width * image.height > MAX_PIXELS:
                    raise BadImage("the image has too many pixels for a screenshot")
                size = image.size
                kind = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        if isinstance(exc, BadImage):
            raise
        raise BadImage("the body is not a readable image") from None
    rgb = _jpeg_pixels(data) if kind == "JPEG" else _png_pixels(data, size)
    if rgb.width > MAX_WIDTH:
        rgb = rgb.resize((MAX_WIDTH, max(1, round(rgb.height * MAX_WIDTH / rgb.width))), Image.Resampling.LANCZOS)
    bare = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    del rgb
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=80, optimize=True)
    return CleanImage(out.getvalue(), bare.width, bare.height)


def _damaged(exc: DamagedImage) -> BadImage:
    return BadImage(f"the image data does not decode completely and cleanly: {exc}")


def _jpeg_pixels(data: bytes) -> Image.Image:
    try:
        # Scaled while decoding (1/2, 1/4, 1/8): a 1080p picture shown 960 wide is decoded at 960x540,
        # a quarter of the memory and the time.
        pixels = whole_images.decode_jpeg(data, min_width=MAX_WIDTH)
    except DamagedImage as exc:
        raise _damaged(exc) from None
    return Image.fromarray(pixels)  # height x width x 3 bytes: RGB


def _png_pixels(data: bytes, size: tuple[int, int]) -> Image.Image:
    try:
        whole_images.check_png_stream(data, size)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image if image.mode == "RGB" else image.convert("RGB")
    except DamagedImage as exc:
        raise _damaged(exc) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _damaged(DamagedImage(str(exc))) from None


def clean_and_release(data: bytes) -> CleanImage:
    """``clean_jpeg``, then hand the decode's freed memory back to the system.

    A decode's buffers are large and glibc keeps freed ones for reuse in the thread's arena: without
    a trim, one burst of uploads leaves the server holding its peak for good.
    """
    try:
        return clean_jpeg(data)
    finally:
        _trim_heap()


def _trim_heap() -> None:
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to trim with
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def new_file_name(device_id: int) -> str:
    # Only server-made parts: a number from our database and a fresh UUID.
    return f"{int(device_id)}/{uuid.uuid4().hex}.jpg"


def save_file(root: Path, file_name: str, data: bytes) -> None:
    atomic_write(root / file_name, data, mode=0o600)  # a picture of her living room: the server's user alone


def existing(conn: sa.Connection, device_id: int, record_id: str) -> int | None:
    return conn.execute(sa.select(screenshots.c.id).where(screenshots.c.device_id == device_id,
                                                          screenshots.c.record_id == record_id)).scalar()


@dataclass(frozen=True)
class Stored:
    id: int
    new: bool  # False: a retried upload, ``id`` is the earlier copy's
    dropped: list[str]  # files of older screenshots removed to stay within the box's quota


def insert(conn: sa.Connection, device_id: int, record_id: str, file_name: str, image: CleanImage,
           taken_at: float | None, reason: str, now: float, quota_bytes: int) -> Stored:
    """Store a screenshot once per record id, dropping the box's oldest ones past its quota (QuotaFull
    when even that is not enough)."""
    earlier = existing(conn, device_id, record_id)
    if earlier is not None:
        return Stored(earlier, False, [])
    dropped = quota.make_room_for_screenshot(conn, device_id, len(image.data), quota_bytes)
    result = conn.execute(screenshots.insert().values(
        device_id=device_id, record_id=record_id, file_name=file_name, taken_at=taken_at, received_at=now,
        reason=reason, width=image.width, height=image.height, size=len(image.data)))
    return Stored(int(result.inserted_primary_key[0]), True, dropped)


def latest(conn: sa.Connection, device_id: int) -> sa.Row | None:
    return conn.execute(sa.select(screenshots).where(screenshots.c.device_id == device_id)
                        .order_by(screenshots.c.received_at.desc(), screenshots.c.id.desc()).limit(1)).first()


def by_id(conn: sa.Connection, screenshot_id: int) -> sa.Row | None:
    return conn.execute(sa.select(screenshots).where(screenshots.c.id == screenshot_id)).first()


def remove_file(root: Path, file_name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(root / file_name)
