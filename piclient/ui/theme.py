"""Colours, sizes and fonts. Sizes are for a 1920x1080 screen and scale with the real one.

Large type for three metres away, a focus ring nobody can miss, high contrast everywhere.
"""

from __future__ import annotations

import logging
import subprocess
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import pygame
import pygame.freetype

log = logging.getLogger(__name__)

BACKGROUND = (16, 20, 26)
BACKGROUND_TOP = (28, 36, 48)
TEXT = (240, 240, 236)
TEXT_DIM = (170, 176, 186)
FOCUS = (255, 210, 63)
NEW_BADGE = (230, 72, 60)
WATCHED_BADGE = (46, 160, 90)
PROGRESS_TRACK = (60, 64, 72)
PROGRESS_FILL = (230, 72, 60)
CARD = (34, 40, 52)
CARD_FOCUS = (58, 66, 84)
# The colour keys' own colours, for the dots of the legend that says what each one does.
KEY_RED = (220, 50, 47)
KEY_GREEN = (40, 170, 70)
KEY_YELLOW = (240, 200, 30)
KEY_BLUE = (40, 110, 230)

# Many TVs crop the picture's edges (overscan); broadcasters keep text inside the middle 90 %.
SAFE_MARGIN = 0.05
# Nothing she must read is smaller than this (pixels at 1080p): about 8 mm on a 55" TV, read from 3 m.
MIN_TEXT = 28

FONT_CANDIDATES = {
    False: ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"],
    True: ["/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"],
}
# In the Noto Sans CJK collections face 1 is the Korean one (JP, KR, SC, TC, HK): Hangul and the
# Korean forms of shared Han characters.
KOREAN_FACE = 1


@lru_cache(maxsize=2)
def find_font(bold: bool) -> str | None:
    for candidate in FONT_CANDIDATES[bold]:
        if Path(candidate).exists():
            return candidate
    try:
        style = "Bold" if bold else "Regular"
        out = subprocess.run(["fc-match", "-f", "%{file}", f"Noto Sans CJK KR:style={style}"],
                             capture_output=True, text=True, timeout=5, check=False).stdout.strip()
        return out if out and Path(out).exists() else None
    except (OSError, subprocess.SubprocessError):
        return None


class Fonts:
    """Fonts by pixel size, and a cache of rendered text: text never re-renders in the frame loop."""

    def __init__(self, scale: float, cache_size: int = 600) -> None:
        pygame.freetype.init()
        self.scale = scale
        self._fonts: dict[tuple[int, bool], pygame.freetype.Font] = {}
        self._rendered: OrderedDict[tuple[str, int, bool, tuple[int, ...], int], pygame.Surface] = OrderedDict()
        self._cache_size = cache_size
        if find_font(False) is None:
            log.warning("Noto CJK font not found; Korean text will not show (install fonts-noto-cjk)")

    def px(self, size: float) -> int:
        return max(1, round(size * self.scale))

    def font(self, size: int, bold: bool = False) -> pygame.freetype.Font:
        key = (size, bold)
        font = self._fonts.get(key)
        if font is None:
            path = find_font(bold) or find_font(False)
            if path is None:
                font = pygame.freetype.Font(None, self.px(size))
            else:
                font = pygame.freetype.Font(path, self.px(size), font_index=KOREAN_FACE)
            font.pad = True
            self._fonts[key] = font
        return font

    def render(self, text: str, size: int, color: tuple[int, ...] = TEXT, *, bold: bool = False,
               max_width: int = 0) -> pygame.Surface:
        key = (text, size, bold, tuple(color), max_width)
        surface = self._rendered.get(key)
        if surface is not None:
            self._rendered.move_to_end(key)
            return surface
        font = self.font(size, bold)
        shown = text
        if max_width and font.get_rect(shown).width > max_width:
            while shown and font.get_rect(shown + "…").width > max_width:
                shown = shown[:-1]
            shown = shown.rstrip() + "…"
        surface, _ = font.render(shown or " ", color)
        if pygame.display.get_surface() is not None:
            # freetype hands back ABGR; in the display's own order the alpha blit is ~50x faster.
            surface = surface.convert_alpha()
        self._rendered[key] = surface
        if len(self._rendered) > self._cache_size:
            self._rendered.popitem(last=False)
        return surface

    def wrap(self, text: str, size: int, width: int, max_lines: int, *, bold: bool = False) -> list[str]:
        """Split into lines that fit; Korean wraps between syllables when a word is too long."""
        font = self.font(size, bold)
        lines: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}".strip()
            if font.get_rect(candidate).width <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = word
            while font.get_rect(current).width > width and len(current) > 1:
                cut = len(current) - 1
                while cut > 1 and font.get_rect(current[:cut]).width > width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1].rstrip(".,") + "…"
        return lines
