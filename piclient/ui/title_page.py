"""A title's page: big poster, description, Play or Resume, and the episode list of a series.

The second and last level: BACK returns to the grid with the focus where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygame

from piclient.catalog import Episode, Title, pick
from piclient.remote.buttons import Button
from piclient.remote.repeat import ButtonEvent
from piclient.ui import draw, theme
from piclient.ui.posters import placeholder
from piclient.ui.screen import Ui, meta_line

MARGIN = 96
POSTER_W, POSTER_H = 400, 600
TEXT_X = 96 + 400 + 72
ITEM_H = 84
WARNING_TEXT = 34


@dataclass(frozen=True)
class Action:
    key: str  # "resume", "start_over", "play", "episode"
    label: str
    episode: Episode | None
    start: float


class TitleScreen:
    name = "title"

    def __init__(self, ui: Ui, title: Title) -> None:
        self.ui = ui
        self.title = title
        self.focus = 0
        self.offset = 0
        self.dirty = True
        self.actions: list[Action] = []
        self.library_changed()

    def library_changed(self) -> None:
        refreshed = self.ui.library.catalog.by_id.get(self.title.id)
        if refreshed is not None:
            self.title = refreshed
        self.actions = self._actions()
        self.focus = min(self.focus, len(self.actions) - 1)
        self.dirty = True

    def _actions(self) -> list[Action]:
        s, lib, title = self.ui.strings, self.ui.library, self.title
        episode, prog = lib.resume_point(title)
        actions: list[Action] = []
        if title.kind == "film":
            if prog is not None:
                actions.append(Action("resume", s("action.resume", time=s.clock(prog.position)), None, prog.position))
                actions.append(Action("start_over", s("action.start_over"), None, 0.0))
            else:
                actions.append(Action("play", s("action.play"), None, 0.0))
            return actions
        if episode is not None:
            if prog is not None:
                label = s("action.resume_episode", n=episode.number)
                actions.append(Action("resume", label, episode, prog.position))
            else:
                actions.append(Action("play", s("action.play_episode", n=episode.number), episode, 0.0))
        for ep in title.episodes:
            name = pick(ep.title, self.ui.language) if ep.title else ""
            label = s("episode", n=ep.number) + (f"  {name}" if name else "")
            actions.append(Action("episode", label, ep, 0.0))
        return actions

    def handle(self, event: ButtonEvent) -> None:
        if event.button is Button.UP and self.focus > 0:
            self.focus -= 1
            self.dirty = True
        elif event.button is Button.DOWN and self.focus < len(self.actions) - 1:
            self.focus += 1
            self.dirty = True
        elif event.button in (Button.BACK, Button.STOP) and not event.repeat:
            self.ui.pop()
        elif event.button in (Button.OK, Button.PLAY, Button.PLAYPAUSE) and not event.repeat and self.actions:
            action = self.actions[self.focus]
            start = action.start
            if action.key == "episode" and action.episode is not None:
                # Picking an episode from the list carries on where she left it, if she had started it.
                prog = self.ui.library.progress.get(action.episode.id)
                start = prog.position if prog and prog.in_progress else 0.0
            self.ui.play(self.title, action.episode, start)

    def invalidate(self) -> None:
        self.dirty = True

    def update(self, now: float) -> None:
        if self.title.poster in self.ui.posters.collect():
            self.dirty = True

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect] | None:
        ui = self.ui
        self.dirty = False
        surface.blit(ui.background, (0, 0))
        poster_rect = pygame.Rect(ui.px(MARGIN), ui.px(120), ui.px(POSTER_W), ui.px(POSTER_H))
        image = ui.posters.get(self.title.poster, "page")
        if image is None:
            image = placeholder(ui.fonts, self.title.name(ui.language), poster_rect.size)
        surface.blit(image, poster_rect)
        if ui.library.is_watched(self.title):
            draw.watched_mark(surface, ui.fonts, (poster_rect.right - ui.px(40), poster_rect.y + ui.px(40)))

        x = ui.px(TEXT_X)
        width = ui.size[0] - x - ui.px(MARGIN)
        y = ui.px(110)
        name = ui.fonts.render(self.title.name(ui.language), 80, theme.TEXT, bold=True, max_width=width)
        surface.blit(name, (x, y))
        y += name.get_height() + ui.px(6)
        meta = ui.fonts.render(meta_line(ui.strings, self.title), 36, theme.TEXT_DIM)
        surface.blit(meta, (x, y))
        y += meta.get_height() + ui.px(18)
        description = pick(self.title.description, ui.language) if self.title.description else ""
        max_lines = 3 if self.title.kind == "series" else 5
        for line in ui.fonts.wrap(description, 38, width, max_lines):
            surface.blit(ui.fonts.render(line, 38, theme.TEXT), (x, y))
            y += ui.px(54)
        y += ui.px(24)
        if ui.playback_warning:
            y = self._draw_warning(surface, ui.strings(ui.playback_warning), x, y, width)
        self._draw_actions(surface, x, y, width)
        return None

    def _draw_warning(self, surface: pygame.Surface, text: str, x: int, y: int, width: int) -> int:
        """Films cannot play now (server or line away): one calm note above Play; returns the next y."""
        ui = self.ui
        lines = ui.fonts.wrap(text, WARNING_TEXT, min(width, ui.px(900)) - ui.px(56), 2)
        line_h = ui.px(WARNING_TEXT * 1.45)
        rect = pygame.Rect(x, y, min(width, ui.px(900)), line_h * len(lines) + ui.px(32))
        pygame.draw.rect(surface, theme.CARD, rect, border_radius=ui.px(12))
        pygame.draw.rect(surface, theme.FOCUS, (rect.x, rect.y, ui.px(8), rect.height), border_radius=ui.px(4))
        for index, line in enumerate(lines):
            rendered = ui.fonts.render(line, WARNING_TEXT, theme.TEXT)
            surface.blit(rendered, (rect.x + ui.px(32), rect.y + ui.px(16) + index * line_h))
        return rect.bottom + ui.px(24)

    def _draw_actions(self, surface: pygame.Surface, x: int, y: int, width: int) -> None:
        ui = self.ui
        item_h = ui.px(ITEM_H)
        fits = max(1, (ui.safe.bottom - y + ui.px(12)) // (item_h + ui.px(12)))
        if self.focus < self.offset:
            self.offset = self.focus
        elif self.focus >= self.offset + fits:
            self.offset = self.focus - fits + 1
        for index in range(self.offset, min(len(self.actions), self.offset + fits)):
            action = self.actions[index]
            rect = pygame.Rect(x, y, min(width, ui.px(900)), item_h)
            focused = index == self.focus
            pygame.draw.rect(surface, theme.CARD_FOCUS if focused else theme.CARD, rect, border_radius=ui.px(12))
            label = ui.fonts.render(action.label, 40, theme.TEXT, bold=focused, max_width=rect.width - ui.px(140))
            surface.blit(label, (rect.x + ui.px(28), rect.centery - label.get_height() // 2))
            self._draw_episode_state(surface, action, rect)
            if focused:
                draw.focus_ring(surface, rect, ui.fonts)
            y += item_h + ui.px(12)

    def _draw_episode_state(self, surface: pygame.Surface, action: Action, rect: pygame.Rect) -> None:
        if action.key != "episode" or action.episode is None:
            return
        ui = self.ui
        prog = ui.library.progress.get(action.episode.id)
        if prog is not None and prog.watched:
            draw.watched_mark(surface, ui.fonts, (rect.right - ui.px(44), rect.centery))
        elif prog is not None and prog.fraction > 0:
            bar = pygame.Rect(rect.x + ui.px(28), rect.bottom - ui.px(14), rect.width - ui.px(56), ui.px(6))
            draw.progress_bar(surface, bar, prog.fraction)
        elif action.episode.duration:
            length = ui.fonts.render(ui.strings.duration(action.episode.duration), 30, theme.TEXT_DIM)
            surface.blit(length, (rect.right - length.get_width() - ui.px(28), rect.centery - length.get_height() // 2))

    def status(self) -> dict[str, Any]:
        action = self.actions[self.focus] if self.actions else None
        return {
            "title": self.title.id,
            "actions": [a.key for a in self.actions],
            "focused_action": action.key if action else None,
            "focused_episode": action.episode.id if action and action.episode else None,
            "warning": self.ui.strings(self.ui.playback_warning) if self.ui.playback_warning else None,
        }
