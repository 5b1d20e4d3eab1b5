"""What is drawn over any screen: a message from the maintainer, a short notice, and dimming.

Overlays are repainted on top of the screen whenever either changes; they never change the
screen underneath, so dismissing one just repaints the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygame

from piclient.ui import theme
from piclient.ui.screen import Ui


@dataclass
class Message:
    text: str
    until: float  # monotonic deadline


class Overlays:
    def __init__(self, ui: Ui, dim_after_s: float) -> None:
        self.ui = ui
        self.dim_after_s = dim_after_s
        self.message: Message | None = None
        self.notice: Message | None = None
        self.footer: str | None = None
        self.dimmed = False
        self.changed = True
        self._dim_surface: pygame.Surface | None = None
        self._band_surface: pygame.Surface | None = None

    def show_message(self, text: str, seconds: float, now: float) -> None:
        self.message = Message(text, now + seconds)
        self.changed = True

    def show_notice(self, text: str, now: float, seconds: float = 6.0) -> None:
        self.notice = Message(text, now + seconds)
        self.changed = True

    def set_footer(self, text: str | None) -> None:
        if text != self.footer:
            self.footer = text
            self.changed = True

    def dismiss(self) -> bool:
        """OK or BACK on a message closes it; True when a key was used up doing so."""
        if self.message is None:
            return False
        self.message = None
        self.changed = True
        return True

    def update(self, now: float, idle_s: float) -> None:
        for attr in ("message", "notice"):
            item = getattr(self, attr)
            if item is not None and now >= item.until:
                setattr(self, attr, None)
                self.changed = True
        dim = self.dim_after_s > 0 and idle_s >= self.dim_after_s and self.message is None
        if dim != self.dimmed:
            self.dimmed = dim
            self.changed = True

    def draw(self, surface: pygame.Surface) -> None:
        ui = self.ui
        width, height = ui.size
        self.changed = False
        if self.footer:
            safe = ui.safe
            text = ui.fonts.render(self.footer, 32, theme.TEXT_DIM, max_width=safe.width)
            where = text.get_rect(midbottom=(width // 2, safe.bottom))
            # On a dark band: below it lie the posters of the next row, which vary from bright to dark.
            band = pygame.Rect(0, where.y - ui.px(12), width, height - where.y + ui.px(12))
            if self._band_surface is None or self._band_surface.get_size() != band.size:
                self._band_surface = pygame.Surface(band.size)
                self._band_surface.set_alpha(200)
            surface.blit(self._band_surface, band)
            surface.blit(text, where)
        if self.notice is not None:
            self._card(surface, [self.notice.text], int(height * 0.15), small=True)
        if self.message is not None:
            lines = ui.fonts.wrap(self.message.text, 52, int(width * 0.6), 6)
            self._card(surface, [*lines, ""], height // 2, hint=ui.strings("hint.ok_close"))
        if self.dimmed:
            if self._dim_surface is None or self._dim_surface.get_size() != ui.size:
                self._dim_surface = pygame.Surface(ui.size)
                self._dim_surface.set_alpha(170)
            surface.blit(self._dim_surface, (0, 0))

    def _card(self, surface: pygame.Surface, lines: list[str], center_y: int, *, small: bool = False,
              hint: str | None = None) -> None:
        ui = self.ui
        size = 40 if small else 52
        rendered = [ui.fonts.render(line, size, theme.TEXT, bold=not small) for line in lines if line]
        if hint:
            rendered.append(ui.fonts.render(hint, 30, theme.TEXT_DIM))
        line_h = ui.px(size * 1.45)
        inner_w = max((r.get_width() for r in rendered), default=0)
        rect = pygame.Rect(0, 0, inner_w + ui.px(96), line_h * len(rendered) + ui.px(64))
        rect.center = (ui.size[0] // 2, center_y)
        pygame.draw.rect(surface, theme.CARD, rect, border_radius=ui.px(24))
        pygame.draw.rect(surface, theme.FOCUS, rect, width=ui.px(4), border_radius=ui.px(24))
        y = rect.y + ui.px(32)
        for item in rendered:
            surface.blit(item, (rect.centerx - item.get_width() // 2, y + (line_h - item.get_height()) // 2))
            y += line_h

    def status(self) -> dict[str, Any]:
        return {
            "message": self.message.text if self.message else None,
            "notice": self.notice.text if self.notice else None,
            "dimmed": self.dimmed,
            "footer": self.footer,
        }
