"""What every screen shares: the context it draws with, and the small Screen protocol.

Screens form a stack (home, then a title's page). ``handle`` and ``update`` change state;
``draw`` only paints, so a screen can be tested without a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pygame

from piclient.catalog import Catalog, Episode, Title
from piclient.remote.repeat import ButtonEvent
from piclient.state import Progress
from piclient.ui import theme
from piclient.ui.i18n import Strings
from piclient.ui.posters import PosterBank
from piclient.ui.theme import Fonts


@dataclass(frozen=True)
class Marks:
    """What a poster shows about the viewer's history with it."""

    new: bool
    watched: bool
    fraction: float


@dataclass
class Library:
    """The catalog as the screens see it: titles plus the viewer's progress and what is new."""

    catalog: Catalog
    progress: dict[str, Progress] = field(default_factory=dict)
    new_since: float | None = None
    _marks: dict[str, Marks] = field(default_factory=dict, repr=False)

    def __setattr__(self, name: str, value: object) -> None:
        # Any change to what the marks are made of makes the remembered marks stale.
        if name in ("catalog", "progress", "new_since") and "_marks" in self.__dict__:
            self._marks.clear()
        super().__setattr__(name, value)

    def marks(self, title: Title) -> Marks:
        """Badges for a poster, worked out once per catalog or progress change, not every frame."""
        marks = self._marks.get(title.id)
        if marks is None:
            marks = Marks(self.is_new(title), self.is_watched(title), self.fraction(title))
            self._marks[title.id] = marks
        return marks

    def is_new(self, title: Title) -> bool:
        if title.added_at is None or any(pid in self.progress for pid in title.playable_ids):
            return False
        # With no earlier session, the last two weeks count as new.
        since = self.new_since if self.new_since is not None else time.time() - 14 * 86400
        return title.added_at.timestamp() > since

    def is_watched(self, title: Title) -> bool:
        ids = title.playable_ids
        return bool(ids) and all(self.progress.get(pid) and self.progress[pid].watched for pid in ids)

    def resume_point(self, title: Title) -> tuple[Episode | None, Progress | None]:
        """Where playing this title carries on: the film's progress, or the series' next episode."""
        if title.kind == "film":
            prog = self.progress.get(title.id)
            return None, prog if prog and prog.in_progress else None
        episodes = title.episodes
        latest: tuple[float, int] | None = None
        for index, ep in enumerate(episodes):
            prog = self.progress.get(ep.id)
            if prog and (latest is None or prog.updated_at > latest[0]):
                latest = (prog.updated_at, index)
        if latest is None:
            return (episodes[0] if episodes else None), None
        ep = episodes[latest[1]]
        prog = self.progress[ep.id]
        if prog.watched and latest[1] + 1 < len(episodes):
            return episodes[latest[1] + 1], None
        return ep, prog if prog.in_progress else None

    def fraction(self, title: Title) -> float:
        """How far into the title she is, for the bar under a partly watched poster."""
        episode, prog = self.resume_point(title)
        if prog is not None:
            return prog.fraction
        if title.kind == "series" and episode is not None and not self.is_watched(title):
            watched = sum(1 for ep in title.episodes if self.progress.get(ep.id) and self.progress[ep.id].watched)
            return watched / max(1, len(title.episodes))
        return 0.0

    def in_progress_titles(self) -> list[Title]:
        started: list[tuple[float, Title]] = []
        for title in self.catalog.titles:
            if self.is_watched(title):
                continue
            stamps = [self.progress[pid].updated_at for pid in title.playable_ids if pid in self.progress]
            if stamps and (title.kind == "series" or self.progress[title.id].in_progress):
                started.append((max(stamps), title))
        return [title for _, title in sorted(started, key=lambda item: -item[0])]


def meta_line(strings: Strings, title: Title) -> str:
    """'2001  ·  1시간 30분' or '2024  ·  3편': the line under a title's name, on the grid and its page."""
    parts = [str(title.year)] if title.year else []
    if title.kind == "series":
        parts.append(strings("episodes", n=len(title.episodes)))
    elif title.duration:
        parts.append(strings.duration(title.duration))
    return "  ·  ".join(parts)


@dataclass
class Ui:
    """Everything a screen may use. Built once by the app; screens never reach for globals."""

    size: tuple[int, int]
    fonts: Fonts
    strings: Strings
    posters: PosterBank
    library: Library
    push: Callable[[Screen], None]
    pop: Callable[[], None]
    play: Callable[[Title, Episode | None, float], None]
    background: pygame.Surface
    # Why films cannot play right now (an i18n key such as "offline.network"), or None: set by the app
    # from what the box already knows, so a title's page can say so before she presses Play.
    playback_warning: str | None = None
    # What ui.overscan_percent keeps clear on each side, as a fraction: the embedded output already
    # draws into the smaller area, the hand-over OSD needs it to move its layout in (player_overlay).
    overscan: float = 0.0

    @property
    def language(self) -> str:
        return self.strings.language

    def px(self, value: float) -> int:
        return self.fonts.px(value)

    @property
    def safe(self) -> pygame.Rect:
        """The part of the screen every TV shows (the "title safe" area): no text goes outside it."""
        return safe_area(self.size)


def safe_area(size: tuple[int, int]) -> pygame.Rect:
    """``size`` less theme.SAFE_MARGIN on every side: 96 px left and right, 54 px top and bottom at 1080p."""
    width, height = size
    margin_x, margin_y = round(width * theme.SAFE_MARGIN), round(height * theme.SAFE_MARGIN)
    return pygame.Rect(margin_x, margin_y, width - 2 * margin_x, height - 2 * margin_y)


class Screen(Protocol):
    name: str
    dirty: bool

    def handle(self, event: ButtonEvent) -> None: ...

    def update(self, now: float) -> None: ...

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect] | None:
        """Paint; return the rectangles changed, or None when the whole screen changed."""

    def status(self) -> dict[str, Any]: ...

    def library_changed(self) -> None:
        """The catalog or progress changed: rebuild what was derived from it, keep the focus."""

    def invalidate(self) -> None:
        """Something was drawn over this screen: repaint all of it next time."""
