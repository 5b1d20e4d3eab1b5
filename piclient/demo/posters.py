"""Draw generated posters (gradient, soft shapes, Korean and English title) and save them atomically."""

from __future__ import annotations

import colorsys
import functools
import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from piclient.fsutil import atomic_write

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
KOREAN_FACE = 1  # index of "Noto Sans CJK KR" inside the Noto CJK .ttc collections
MAX_TITLE_LINES = 4


@functools.lru_cache(maxsize=32)
def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    return ImageFont.truetype(str(FONT_DIR / name), size, index=KOREAN_FACE)


def draw_poster(title: str, subtitle: str, seed: int, size: tuple[int, int] = (600, 900)) -> Image.Image:
    """A portrait poster: seeded gradient and shapes, ``title`` large and wrapped, ``subtitle`` below."""
    rng = random.Random(seed)
    top, bottom = _palette(rng)
    img = _gradient(size, top, bottom)
    img = _soft_shapes(img, rng)
    _draw_text(img, title, subtitle)
    return img


def _palette(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    hue = rng.random()
    second = (hue + rng.uniform(0.08, 0.22)) % 1.0
    top = colorsys.hsv_to_rgb(hue, rng.uniform(0.45, 0.75), rng.uniform(0.70, 0.90))
    # The lower colour is dark, so white text at the bottom always reads well.
    bottom = colorsys.hsv_to_rgb(second, rng.uniform(0.55, 0.85), rng.uniform(0.12, 0.25))
    return _rgb(top), _rgb(bottom)


def _rgb(color: tuple[float, float, float]) -> tuple[int, int, int]:
    r, g, b = (round(c * 255) for c in color)
    return r, g, b


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)  # 0 at the top, 255 at the bottom
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _soft_shapes(img: Image.Image, rng: random.Random) -> Image.Image:
    width, height = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(rng.randint(3, 6)):
        radius = rng.uniform(0.12, 0.35) * width
        cx, cy = rng.uniform(0, width), rng.uniform(0, height * 0.7)
        shade = rng.choice([(255, 255, 255), (255, 236, 200), (20, 20, 40)])
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(*shade, rng.randint(25, 70)))
    layer = layer.filter(ImageFilter.GaussianBlur(width / 30))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def _draw_text(img: Image.Image, title: str, subtitle: str) -> None:
    width, height = img.size
    margin = width // 12
    title_font, lines = _fit_title(title, width - 2 * margin, start=width // 7)
    sub_font = font(max(12, width // 24), bold=False)
    draw = ImageDraw.Draw(img)
    line_height = round(title_font.size * 1.2)
    y = height - margin - (sub_font.size * 2 if subtitle else 0) - line_height * len(lines)
    shadow = max(2, width // 200)
    for line in lines:
        draw.text((margin + shadow, y + shadow), line, font=title_font, fill=(0, 0, 0))
        draw.text((margin, y), line, font=title_font, fill=(255, 255, 255))
        y += line_height
    if subtitle:
        draw.text((margin, y + sub_font.size // 2), subtitle, font=sub_font, fill=(235, 235, 235))


def _fit_title(title: str, max_width: int, start: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font (down to a third of ``start``) at which the title wraps into few lines."""
    size = start
    while True:
        face = font(size)
        lines = wrap(title, face, max_width)
        if len(lines) <= MAX_TITLE_LINES or size <= start // 3:
            return face, lines[:MAX_TITLE_LINES]
        size = round(size * 0.85)


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Break at spaces; a word wider than the line (long Korean runs) is broken between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if face.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and face.getlength(current + char) > max_width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


def save_jpeg(img: Image.Image, path: Path, quality: int = 85) -> None:
    """Write ``img`` as JPEG so that ``path`` is either the old file or the whole new one, never half."""
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality, optimize=True)
    atomic_write(Path(path), buffer.getvalue())

