"""The parts of the player's overlay that are the same in both outputs: the pause sign, the colour
keys' legend, and solid panels under text.

Each is drawn with pygame for the embedded output and written as ASS for mpv's OSD in the
hand-over output, from one layout in the 1920x1080 space the theme's sizes are for, so the TV shows
the same picture whichever output plays the film.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from piclient.ui import theme
from piclient.ui.screen import Ui

# The pause sign: a dark disc with two bars, about a fifth of the screen's height, readable from 3 m,
# and its label under it. Paused, the info bar shows and the subtitles are lifted above it
# (player_screen.SUB_POSITION_OVER_INFO): two lifted lines reach up to about y=544, so the sign sits
# in the upper half, its label ending above them (measured with libmpv in
# tests/player/test_mpv_player.py), and below the notices' line at the top (TOAST_Y).
PAUSE_CENTER_Y = 300
PAUSE_RADIUS = 120
PAUSE_BAR = (36, 120)
PAUSE_LABEL_SIZE = 48
PAUSE_LABEL_GAP = 48  # from the disc's edge to the label's middle

LEGEND_TEXT = 36
LEGEND_ROW = 64
LEGEND_DOT = 16
LEGEND_PAD = 32
# The legend's rows: the key's colour and the sentence that says what it does.
LEGEND_ROWS = (
    (theme.KEY_RED, "legend.red"),
    (theme.KEY_GREEN, "legend.green"),
    (theme.KEY_YELLOW, "legend.yellow"),
    (theme.KEY_BLUE, "legend.blue"),
)

# libass sizes text by its line height (ascender + descender), pygame by the em: Noto Sans CJK's
# line is 1.448 em, so ASS \fs is that much larger for the same letters.
ASS_LINE_PER_EM = 1.448


@dataclass(frozen=True)
class OsdSpace:
    """The hand-over OSD's coordinates: 1920x1080, less what ``ui.overscan_percent`` keeps clear.

    The embedded output draws into a smaller surface instead; mpv's OSD always covers the whole
    screen, so its layout is moved in and shrunk here.
    """

    inset: float = 0.0  # fraction of each side left clear

    WIDTH = 1920
    HEIGHT = 1080

    @property
    def scale(self) -> float:
        return 1 - 2 * self.inset

    def x(self, value: float) -> int:
        return round(self.WIDTH * self.inset + value * self.scale)

    def y(self, value: float) -> int:
        return round(self.HEIGHT * self.inset + value * self.scale)

    def pos(self, x: float, y: float) -> str:
        return rf"\pos({self.x(x)},{self.y(y)})"

    def fs(self, size: float) -> str:
        """An ASS font size whose letters are as large as pygame's at ``size`` px."""
        return rf"\fs{round(size * ASS_LINE_PER_EM * self.scale)}"

    def rect(self, rect: pygame.Rect, color: tuple[int, int, int], alpha: int = 0) -> str:
        """A filled rectangle (an ASS drawing); ``alpha`` 0 is opaque, 255 invisible."""
        x, y, w, h = self.x(rect.x), self.y(rect.y), round(rect.w * self.scale), round(rect.h * self.scale)
        return (rf"{{\an7\pos({x},{y})\bord0\shad0\1c{ass_color(color)}\1a&H{alpha:02X}&\p1}}"
                f"m 0 0 l {w} 0 {w} {h} 0 {h}{{\\p0}}")


    def disc(self, cx: float, cy: float, radius: float, color: tuple[int, int, int], alpha: int = 0) -> str:
        """A filled circle: four Bezier quarters (0.5523 puts their handles on the true circle)."""
        r = round(radius * self.scale)
        k = round(r * 0.5523)
        path = (f"m {r} 0 b {r + k} 0 {2 * r} {r - k} {2 * r} {r} b {2 * r} {r + k} {r + k} {2 * r} {r} {2 * r} "
                f"b {r - k} {2 * r} 0 {r + k} 0 {r} b 0 {r - k} {r - k} 0 {r} 0")
        return (rf"{{\an7\pos({self.x(cx) - r},{self.y(cy) - r})\bord0\shad0\1c{ass_color(color)}"
                rf"\1a&H{alpha:02X}&\p1}}{path}{{\p0}}")


def ass_color(color: tuple[int, int, int]) -> str:
    red, green, blue = color
    return f"&H{blue:02X}{green:02X}{red:02X}&"


def ass_text(text: str) -> str:
    """Text made safe for an ASS event: braces would start override tags, backslashes escapes."""
    return text.replace("{", "(").replace("}", ")").replace("\\", "/").replace("\n", " ")


def design_safe() -> pygame.Rect:
    """The title-safe area in the 1920x1080 design space."""
    margin_x, margin_y = round(OsdSpace.WIDTH * theme.SAFE_MARGIN), round(OsdSpace.HEIGHT * theme.SAFE_MARGIN)
    return pygame.Rect(margin_x, margin_y, OsdSpace.WIDTH - 2 * margin_x, OsdSpace.HEIGHT - 2 * margin_y)


# -- the pause sign --------------------------------------------------------------------------------

def draw_pause_sign(surface: pygame.Surface, ui: Ui) -> None:
    center = (ui.size[0] // 2, ui.px(PAUSE_CENTER_Y))
    disc = pygame.Surface((2 * ui.px(PAUSE_RADIUS),) * 2, pygame.SRCALPHA)
    pygame.draw.circle(disc, (*theme.BACKGROUND, 200), (ui.px(PAUSE_RADIUS),) * 2, ui.px(PAUSE_RADIUS))
    surface.blit(disc, disc.get_rect(center=center))
    for bar in _pause_bars(center[0], center[1], ui.px):
        pygame.draw.rect(surface, theme.TEXT, bar, border_radius=ui.px(8))
    label = ui.fonts.render(ui.strings("player.paused"), PAUSE_LABEL_SIZE, theme.TEXT, bold=True)
    label_box = label.get_rect(center=(center[0], center[1] + ui.px(PAUSE_RADIUS + PAUSE_LABEL_GAP)))
    pygame.draw.rect(surface, theme.CARD, label_box.inflate(ui.px(48), ui.px(12)), border_radius=ui.px(16))
    surface.blit(label, label_box)


def pause_sign_ass(osd: OsdSpace, ui: Ui) -> list[str]:
    events = [osd.disc(960, PAUSE_CENTER_Y, PAUSE_RADIUS, theme.BACKGROUND, alpha=0x38)]
    events += [osd.rect(bar, theme.TEXT) for bar in _pause_bars(960, PAUSE_CENTER_Y, lambda v: round(v))]
    label = ui.strings("player.paused")
    label_y = PAUSE_CENTER_Y + PAUSE_RADIUS + PAUSE_LABEL_GAP
    width = text_width(ui, label, PAUSE_LABEL_SIZE, bold=True) + 48
    events.append(osd.rect(pygame.Rect(960 - width // 2, label_y - 40, width, 80), theme.CARD))
    events.append(rf"{{\an5{osd.pos(960, label_y)}{osd.fs(PAUSE_LABEL_SIZE)}\b1\bord0\shad0}}" + ass_text(label))
    return events


def _pause_bars(cx: int, cy: int, px: Callable[[float], int]) -> list[pygame.Rect]:
    """``px``: ui.px for the screen, rounding for the OSD's design space."""
    width, height, gap = px(PAUSE_BAR[0]), px(PAUSE_BAR[1]), px(PAUSE_BAR[0])
    left = pygame.Rect(0, 0, width, height)
    left.center = (cx - (gap + width) // 2, cy)
    right = left.move(gap + width, 0)
    return [left, right]


# -- the colour keys' legend -----------------------------------------------------------------------

def text_width(ui: Ui, text: str, size: int, *, bold: bool = False) -> int:
    """How wide ``text`` is in 1080p units, as the theme's font draws it (the OSD cannot measure)."""
    return round(ui.fonts.font(size, bold).get_rect(text).width / ui.fonts.scale)


def legend_size(ui: Ui) -> tuple[int, int]:
    """The legend's size in 1080p units, from its widest sentence as the theme's font draws it."""
    widest = max(text_width(ui, ui.strings(key), LEGEND_TEXT) for _, key in LEGEND_ROWS)
    heading = text_width(ui, ui.strings("legend.heading"), LEGEND_TEXT, bold=True)
    width = round(max(widest + 2 * LEGEND_DOT + 24, heading)) + 2 * LEGEND_PAD + LEGEND_DOT
    return width, LEGEND_ROW * (len(LEGEND_ROWS) + 1) + 2 * LEGEND_PAD - 16


def draw_legend(surface: pygame.Surface, ui: Ui) -> None:
    """Top right, inside the safe area: what each colour key does."""
    width, height = legend_size(ui)
    safe = ui.safe
    panel = pygame.Rect(0, 0, ui.px(width), ui.px(height))
    panel.topright = safe.topright
    pygame.draw.rect(surface, theme.CARD, panel, border_radius=ui.px(20))
    pygame.draw.rect(surface, theme.TEXT_DIM, panel, width=ui.px(3), border_radius=ui.px(20))
    x, y = panel.x + ui.px(LEGEND_PAD), panel.y + ui.px(LEGEND_PAD)
    heading = ui.fonts.render(ui.strings("legend.heading"), LEGEND_TEXT, theme.TEXT_DIM, bold=True)
    surface.blit(heading, (x, y + (ui.px(LEGEND_ROW - 16) - heading.get_height()) // 2))
    for color, key in LEGEND_ROWS:
        y += ui.px(LEGEND_ROW)
        middle = y + ui.px(LEGEND_ROW - 16) // 2
        pygame.draw.circle(surface, color, (x + ui.px(LEGEND_DOT), middle), ui.px(LEGEND_DOT))
        text = ui.fonts.render(ui.strings(key), LEGEND_TEXT, theme.TEXT)
        surface.blit(text, (x + ui.px(2 * LEGEND_DOT + 24), middle - text.get_height() // 2))


def legend_ass(osd: OsdSpace, ui: Ui) -> list[str]:
    width, height = legend_size(ui)
    safe = design_safe()
    panel = pygame.Rect(safe.right - width, safe.top, width, height)
    events = [osd.rect(panel, theme.CARD)]
    x, y = panel.x + LEGEND_PAD, panel.y + LEGEND_PAD
    middle = y + (LEGEND_ROW - 16) // 2
    events.append(rf"{{\an4{osd.pos(x, middle)}{osd.fs(LEGEND_TEXT)}\b1\bord0\shad0\1c{ass_color(theme.TEXT_DIM)}}}"
                  + ass_text(ui.strings("legend.heading")))
    for color, key in LEGEND_ROWS:
        y += LEGEND_ROW
        middle = y + (LEGEND_ROW - 16) // 2
        events.append(osd.disc(x + LEGEND_DOT, middle, LEGEND_DOT, color))
        events.append(rf"{{\an4{osd.pos(x + 2 * LEGEND_DOT + 24, middle)}{osd.fs(LEGEND_TEXT)}\bord0\shad0}}"
                      + ass_text(ui.strings(key)))
    return events
