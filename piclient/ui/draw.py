"""Small drawing helpers shared by the screens: focus ring, badges, progress bar, backgrounds."""

from __future__ import annotations

import pygame

from piclient.ui import theme
from piclient.ui.theme import Fonts


def gradient_background(size: tuple[int, int], end: float = 0.33) -> pygame.Surface:
    """Drawn once at start; screens blit regions of it instead of shading every frame.

    The gradient ends a third of the way down, so the poster rows below it are one flat colour that
    a cheap ``fill`` repaints.
    """
    width, height = size
    surface = pygame.Surface(size)
    top, bottom = theme.BACKGROUND_TOP, theme.BACKGROUND
    for y in range(0, height, 2):
        mix = min(1.0, y / (height * end))
        color = tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        surface.fill(color, (0, y, width, 2))
    return surface.convert() if pygame.display.get_surface() is not None else surface


def focus_ring(surface: pygame.Surface, rect: pygame.Rect, fonts: Fonts) -> None:
    gap, width = fonts.px(6), fonts.px(8)
    ring = rect.inflate(2 * (gap + width), 2 * (gap + width))
    pygame.draw.rect(surface, theme.FOCUS, ring, width=width, border_radius=fonts.px(14))


def badge(surface: pygame.Surface, fonts: Fonts, text: str, color: tuple[int, int, int],
          topleft: tuple[int, int], within: pygame.Rect | None = None) -> pygame.Rect:
    """A word on a coloured label; left out where it would not fit ``within`` (the title-safe area)."""
    label = fonts.render(text, theme.MIN_TEXT, theme.TEXT, bold=True)
    pad_x, pad_y = fonts.px(12), fonts.px(4)
    rect = pygame.Rect(topleft, (label.get_width() + 2 * pad_x, label.get_height() + 2 * pad_y))
    if within is not None and not within.contains(rect):
        return rect
    pygame.draw.rect(surface, color, rect, border_radius=fonts.px(8))
    surface.blit(label, (rect.x + pad_x, rect.y + pad_y))
    return rect


def watched_mark(surface: pygame.Surface, fonts: Fonts, center: tuple[int, int]) -> None:
    radius = fonts.px(24)
    pygame.draw.circle(surface, theme.WATCHED_BADGE, center, radius)
    x, y = center
    s = radius / 24
    points = [(x - 11 * s, y), (x - 3 * s, y + 9 * s), (x + 12 * s, y - 9 * s)]
    pygame.draw.lines(surface, theme.TEXT, False, points, max(2, round(5 * s)))


def progress_bar(surface: pygame.Surface, rect: pygame.Rect, fraction: float) -> None:
    pygame.draw.rect(surface, theme.PROGRESS_TRACK, rect)
    if fraction > 0:
        filled = rect.copy()
        filled.width = max(1, round(rect.width * min(1.0, fraction)))
        pygame.draw.rect(surface, theme.PROGRESS_FILL, filled)
