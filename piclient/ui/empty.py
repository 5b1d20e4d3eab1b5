"""The screen for a box with no catalog yet (first boot, server not reachable): calm, nothing to do."""

from __future__ import annotations

from typing import Any

import pygame

from piclient.remote.repeat import ButtonEvent
from piclient.ui import theme
from piclient.ui.screen import Ui


class EmptyScreen:
    name = "empty"

    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.dirty = True
        self.body = "empty.body"  # the i18n key of the sentence under the title

    def set_problem(self, setup: bool) -> None:
        """A setup problem (refused box, no source) will not mend itself: say who can fix it."""
        body = "empty.body.setup" if setup else "empty.body"
        if body != self.body:
            self.body = body
            self.dirty = True

    def library_changed(self) -> None:
        self.dirty = True

    def invalidate(self) -> None:
        self.dirty = True

    def handle(self, event: ButtonEvent) -> None:
        """Nothing to choose yet; keys are simply ignored."""

    def update(self, now: float) -> None:
        """Nothing moves on this screen."""

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect] | None:
        ui = self.ui
        self.dirty = False
        surface.blit(ui.background, (0, 0))
        width, height = ui.size
        title = ui.fonts.render(ui.strings("empty.title"), 72, theme.TEXT, bold=True)
        surface.blit(title, title.get_rect(center=(width // 2, height // 2 - ui.px(50))))
        for index, line in enumerate(ui.fonts.wrap(ui.strings(self.body), 40, int(width * 0.7), 2)):
            body = ui.fonts.render(line, 40, theme.TEXT_DIM)
            surface.blit(body, body.get_rect(center=(width // 2, height // 2 + ui.px(50 + 56 * index))))
        return None

    def status(self) -> dict[str, Any]:
        return {"message": self.ui.strings(self.body)}
