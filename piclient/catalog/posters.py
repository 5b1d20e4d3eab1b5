"""Poster preparation: any picture the catalog points at becomes two small, safe JPEGs.

Posters come from a catalog the box does not control, so decoding is defensive: a size cap on the
input, a pixel cap checked from the header before anything is decoded, decompression-bomb warnings
treated as errors, data cut short or damaged refused (JPEG and PNG by the checks the server gives
screenshots, ``piclient.whole_images``: Pillow would show such a JPEG half grey), and only common web
formats opened (Pillow can also hand some formats to external programs, which a poster never needs).
The launcher then loads only the JPEGs written here, at exactly the size it draws them, so it never
decodes a stranger's file itself.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFile, ImageOps

from piclient import whole_images
from piclient.whole_images import DamagedImage

GRID_SIZE = (240, 360)
PAGE_SIZE = (400, 600)
SIZES = {"grid": GRID_SIZE, "page": PAGE_SIZE}

MAX_INPUT_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
JPEG_QUALITY = 88
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
# Transparent posters are flattened onto the launcher's dark background rather than black or white.
BACKGROUND = (24, 24, 24)


class PosterError(Exception):
    """The data cannot become a poster; ``reason`` is a short sentence for the maintainer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def prepare_poster(data: bytes) -> dict[str, bytes]:
    """Decode ``data`` and return JPEG bytes for each of ``SIZES``, cover-scaled to 2:3 and centred."""
    if len(data) > MAX_INPUT_BYTES:
        raise PosterError(f"file is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB")
    if not data:
        raise PosterError("file is empty")
    # Truncated files must fail loudly instead of showing half a poster forever. This is a fault of
    # the program, not of the poster, so it is not a PosterError (which would mark the poster bad).
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES was switched on; posters need it off")
    with warnings.catch_warnings():
        # The module-wide filter list is shared between threads; the explicit pixel check in
        # _decode is what actually guards, this only turns Pillow's own warning into a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _decode(data)
    try:
        rgb = _to_rgb(image)
        return {name: _encode(_cover(rgb, size)) for name, size in SIZES.items()}
    except (OSError, ValueError, MemoryError) as exc:
        raise PosterError(f"could not be converted: {_short(exc)}") from None


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PosterError("image declares too many pixels (decompression bomb)") from None
    except Image.UnidentifiedImageError:
        raise PosterError(f"not an image this box reads ({', '.join(FORMATS)})") from None
    except Exception as exc:  # Pillow raises assorted types for malformed headers
        raise PosterError(f"broken image header: {_short(exc)}") from None

    width, height = image.size
    if width <= 0 or height <= 0 or width > MAX_SIDE or height > MAX_SIDE:
        raise PosterError(f"image is {width}x{height} pixels; each side must be 1 to {MAX_SIDE}")
    if width * height > MAX_PIXELS:
        raise PosterError(f"image is {width}x{height} pixels, more than {MAX_PIXELS // 1_000_000} megapixels")

    side = max(PAGE_SIZE)
    try:
        if image.format in ("JPEG", "MPO"):  # MPO: the JPEG variant many phone cameras write
            image = _decode_jpeg(image, data, side)
        else:
            if image.format == "PNG":
                whole_images.check_png_stream(data, image.size)  # inflates into nothing: no second picture
            # A full decode of the first frame (animated images stay on it): truncation shows up here.
            image.load()
    except DamagedImage as exc:
        raise PosterError(f"image data does not decode completely and cleanly: {_short(exc)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PosterError("image declares too many pixels (decompression bomb)") from None
    except MemoryError:
        raise PosterError("image needs too much memory to decode") from None
    except Exception as exc:
        if "truncated" in str(exc):
            raise PosterError("image file is truncated") from None
        raise PosterError(f"image data is broken: {_short(exc)}") from None
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # Broken EXIF is common on the web; the picture itself is fine.
        return image


def _decode_jpeg(header: Image.Image, data: bytes, side: int) -> Image.Image:
    """The JPEG's one decode, by libjpeg-turbo refusing at its first warning (Pillow would fill grey).

    Scaled while decoding (1/2, 1/4, 1/8) as far as keeps both sides at least ``side``: far less
    memory and time on a Pi, and still at least PAGE_SIZE in both orientations once EXIF rotation
    (applied after decoding, from the header's tags) has turned it upright.
    """
    if header.mode == "CMYK":
        pixels = whole_images.decode_jpeg(data, "CMYK", min_width=side, min_height=side)
        height, width = pixels.shape[:2]
        # Photoshop's CMYK JPEGs (an Adobe marker) store every channel inverted; Pillow reads them so too.
        rawmode = "CMYK;I" if "adobe" in header.info else "CMYK"
        image = Image.frombuffer("CMYK", (width, height), pixels, "raw", rawmode, 0, 1)
    else:
        image = Image.fromarray(whole_images.decode_jpeg(data, "RGB", min_width=side, min_height=side))
    # The orientation tags (EXIF, XMP) travel with the pixels so exif_transpose can stand them upright.
    image.info.update({k: v for k, v in header.info.items() if k in ("exif", "xmp", "XML:com.adobe.xmp")})
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        # 16-bit grey: scale down; a plain convert would clip almost everything to white.
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, BACKGROUND)
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale so the image covers ``size`` and crop the overflow equally from both sides."""
    width, height = image.size
    target_w, target_h = size
    if width * target_h > height * target_w:  # wider than the target: crop left and right
        crop_w, crop_h = height * target_w / target_h, float(height)
    else:
        crop_w, crop_h = float(width), width * target_h / target_w
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    box = (left, top, left + crop_w, top + crop_h)
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # No EXIF is written, so no viewer will rotate the already upright pixels a second time.
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
