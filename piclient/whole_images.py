"""Image data checked to decode completely and cleanly: strict JPEG decoding and a PNG stream check.

Pillow alone lets damaged pictures through. libjpeg only *warns* when a JPEG ends early or is corrupt
and fills what is missing with grey; Pillow's decoder drops that warning, so a JPEG cut short with an
end marker added "decodes" into half a picture. And Pillow stops reading a PNG once it has enough
rows, so a zlib stream that stops before its checksum, or a PNG without an end chunk, passes too.
Both the server (screenshots) and the box (posters) refuse such data with the checks here.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # simplejpeg's own dependency; only its type is named here
    import numpy as np


class DamagedImage(ValueError):
    """The image data does not decode completely and cleanly; the message says where it fails."""


def decode_jpeg(data: bytes, colorspace: str = "RGB", min_width: int = 0, min_height: int = 0) -> np.ndarray:
    """The picture's pixels (height x width x channels), refused at libjpeg's first warning.

    libjpeg-turbo's TurboJPEG API stops on a warning when asked, and simplejpeg asks (strict). This
    is the only decode: the pixels it returns are the ones to use. ``min_width`` and ``min_height``
    let libjpeg scale while decoding (1/2, 1/4, 1/8) as far as keeps both sides at least that large.
    """
    # Imported on the first JPEG: simplejpeg brings numpy (about 18 MiB of RSS), which the launcher,
    # importing this module through the poster code, should not carry before it has a poster to decode.
    import simplejpeg

    try:
        return simplejpeg.decode_jpeg(data, colorspace=colorspace, strict=True,
                                      min_width=min_width, min_height=min_height)
    except ValueError as exc:
        raise DamagedImage(str(exc)) from None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png_stream(data: bytes, size: tuple[int, int]) -> None:
    """Every chunk whole with a right checksum, the image data one complete zlib stream, an end chunk.

    The stream is inflated in 64 KiB steps and thrown away: the check holds no picture in memory, and
    a stream that inflates to more than the header's size needs is refused before it grows.
    """
    width, height = size
    budget = height * (width * 8 + 16)  # 16-bit RGBA and a filter byte a row for each interlace pass
    inflater = zlib.decompressobj()
    view = memoryview(data)
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise DamagedImage("the PNG ends before its end chunk")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise DamagedImage(f"the PNG's {kind.decode('latin-1')!r} chunk is cut short")
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(view[pos + 4 : end - 4]) != crc:
            raise DamagedImage(f"the PNG's {kind.decode('latin-1')!r} chunk fails its checksum")
        if kind == b"IDAT":
            pending: bytes | memoryview = view[pos + 8 : end - 4]
            while pending and not inflater.eof:
                try:
                    budget -= len(inflater.decompress(pending, 65536))
                except zlib.error as exc:
                    raise DamagedImage(f"the PNG's image data is corrupt ({exc})") from None
                if budget < 0:
                    raise DamagedImage("the PNG holds more image data than its size needs")
                pending = inflater.unconsumed_tail
            if inflater.eof and (pending or inflater.unused_data):
                raise DamagedImage("the PNG has bytes after the end of its image data")
        elif kind == b"IEND":
            break
        pos = end
    try:
        inflater.flush()  # output still held back by the 64 KiB steps; sets eof at the stream's end
    except zlib.error as exc:
        raise DamagedImage(f"the PNG's image data is corrupt ({exc})") from None
    if not inflater.eof:
        raise DamagedImage("the PNG's image data is cut short")
