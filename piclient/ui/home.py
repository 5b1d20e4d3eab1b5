"""The home screen: a big description of the focused title on top, rows of posters below.

Rows: Continue watching, New, Films, Series (empty rows are left out). The focused row sits at the
top of the row area; moving along a row repaints only that band and the description above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygame

from piclient.catalog import Title, pick
from piclient.remote.buttons import Button
from piclient.remote.repeat import ButtonEvent
from piclient.ui import draw, theme
from piclient.ui.posters import placeholder
from piclient.ui.screen import Ui, meta_line

MARGIN = 96
HERO_Y = 56
ROWS_Y = 372
LABEL_H = 64
POSTER_W, POSTER_H = 240, 360
GAP = 40
ROW_H = 520


@dataclass
class Row:
    key: str
    titles: list[Title]
    column: int = 0
    offset: int = 0


class HomeScreen:
    name = "home"

    def __init__(self, ui: Ui, open_title: Any) -> None:
        self.ui = ui
        self._open_title = open_title
        self.rows: list[Row] = []
        self.row_index = 0
        self.dirty = True
        self._full = True
        self._band = False  # the focused row and the description above it
        self._placeholders: dict[tuple[str, bool], pygame.Surface] = {}
        self._hero_cache: dict[str, list[str]] = {}
        self._prepared: set[str] = set()
        self._bands: dict[str, tuple[tuple[int, int], pygame.Surface]] = {}
        self._prefetched_at: tuple[int, int] | None = None
        self.library_changed()

    # -- state ---------------------------------------------------------------------------------

    def library_changed(self) -> None:
        lib = self.ui.library
        focused = self.focused()
        keep_row = self.rows[self.row_index].key if self.rows else None
        titles = list(lib.catalog.titles)
        newest_first = sorted((t for t in titles if lib.is_new(t)),
                              key=lambda t: t.added_at.timestamp() if t.added_at else 0, reverse=True)
        candidates = [
            ("continue", lib.in_progress_titles()),
            ("new", newest_first),
            ("films", [t for t in titles if t.kind == "film"]),
            ("series", [t for t in titles if t.kind == "series"]),
        ]
        old = {row.key: row for row in self.rows}
        self.rows = []
        for key, items in candidates:
            if not items:
                continue
            row = Row(key, items)
            previous = old.get(key)
            if previous and focused is not None and key == keep_row:
                ids = [t.id for t in items]
                row.column = ids.index(focused.id) if focused.id in ids else min(previous.column, len(items) - 1)
            elif previous:
                row.column = min(previous.column, len(items) - 1)
            row.offset = min(previous.offset, row.column) if previous else 0
            self.rows.append(row)
        keys = [row.key for row in self.rows]
        self.row_index = keys.index(keep_row) if keep_row in keys else 0
        self._placeholders.clear()
        self._bands.clear()
        self._prefetched_at = None
        self._mark(full=True)

    def focused(self) -> Title | None:
        if not self.rows:
            return None
        row = self.rows[self.row_index]
        return row.titles[row.column]

    def handle(self, event: ButtonEvent) -> None:
        if not self.rows:
            return
        row = self.rows[self.row_index]
        if event.button is Button.LEFT and row.column > 0:
            row.column -= 1
            self._scroll(row)
            self._mark(full=False)
        elif event.button is Button.RIGHT and row.column < len(row.titles) - 1:
            row.column += 1
            self._scroll(row)
            self._mark(full=False)
        elif event.button is Button.UP and self.row_index > 0:
            self.row_index -= 1
            self._mark(full=True)
        elif event.button is Button.DOWN and self.row_index < len(self.rows) - 1:
            self.row_index += 1
            self._mark(full=True)
        elif event.button in (Button.OK, Button.INFO) and not event.repeat:
            self._open_title(row.titles[row.column])
        elif event.button in (Button.PLAY, Button.PLAYPAUSE) and not event.repeat:
            title = row.titles[row.column]
            episode, prog = self.ui.library.resume_point(title)
            self.ui.play(title, episode, prog.position if prog else 0.0)

    def _scroll(self, row: Row) -> bool:
        """Keep the focus inside the visible window; True when the window itself moved."""
        visible = self._visible_count()
        before = row.offset
        if row.column < row.offset:
            row.offset = row.column
        elif row.column >= row.offset + visible:
            row.offset = row.column - visible + 1
        return row.offset != before

    def _visible_count(self) -> int:
        width = self.ui.size[0] - 2 * self.ui.px(MARGIN)
        return max(1, (width + self.ui.px(GAP)) // (self.ui.px(POSTER_W) + self.ui.px(GAP)))

    def _mark(self, full: bool) -> None:
        self.dirty = True
        self._full = self._full or full
        self._band = True

    def invalidate(self) -> None:
        self._mark(full=True)

    def update(self, now: float) -> None:
        arrived = self.ui.posters.collect()
        if not self.dirty:
            # Idle frames between key repeats: get the next screenful ready so a move only blits.
            self._prepare_neighbours()
            self._prefetch_posters()
        if not arrived or not self.rows:
            return
        # Repaint only as much as the new posters touch: usually they are the next screenful of the
        # focused row, fetched ahead and not visible yet.
        visible = self._visible_count() + 1
        for index in range(self.row_index, min(len(self.rows), self.row_index + 2)):
            row = self.rows[index]
            shown = {t.poster for t in row.titles[row.offset : row.offset + visible]}
            if shown & arrived:
                self._bands.pop(row.key, None)
                self._mark(full=index != self.row_index)

    # -- drawing -------------------------------------------------------------------------------

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect] | None:
        ui = self.ui
        width, height = ui.size
        hero = pygame.Rect(0, 0, width, ui.px(ROWS_Y))
        full, self._full, self.dirty, self._band = self._full, False, False, False
        surface.blit(ui.background, hero, hero)
        if full:
            surface.fill(theme.BACKGROUND, pygame.Rect(0, hero.bottom, width, height - hero.bottom))
        self._draw_hero(surface)
        y = ui.px(ROWS_Y)
        changed = [hero]
        for index in range(self.row_index, len(self.rows)):
            if y >= height:
                break
            band = pygame.Rect(0, y, width, ui.px(ROW_H))
            if index == self.row_index:
                if not full:
                    surface.fill(theme.BACKGROUND, band)  # the gradient ends above the rows
                self._draw_row(surface, self.rows[index], y, focused=True)
                changed.append(band)
            elif full:
                surface.blit(self._resting_band(self.rows[index], band), band)
            y += ui.px(ROW_H)
        return None if full else changed

    def _resting_band(self, row: Row, where: pygame.Rect) -> pygame.Surface:
        """A row without the focus, drawn once and reused: moving UP and DOWN then costs one blit per
        resting row instead of a row of posters, badges and labels."""
        cached = self._bands.get(row.key)
        if cached is not None and cached[0] == (row.offset, where.y):
            return cached[1]
        band = pygame.Surface(where.size)
        band.fill(theme.BACKGROUND)
        self._draw_row(band, row, 0, focused=False, screen_y=where.y)
        complete = all(self.ui.posters.get(t.poster, "grid") is not None or self.ui.posters.is_missing(t.poster, "grid")
                       for t in row.titles[row.offset : row.offset + self._visible_count() + 1])
        if complete:  # a band with posters still loading is drawn again when they arrive
            # At most two resting rows are ever on screen; 4 MB each at 1080p, so keep only those.
            for key in [k for k in self._bands if k != row.key][1:]:
                del self._bands[key]
            self._bands[row.key] = ((row.offset, where.y), band)
        return band

    def _draw_hero(self, surface: pygame.Surface) -> None:
        title = self.focused()
        if title is None:
            return
        x, y = self.ui.px(MARGIN), self.ui.px(HERO_Y)
        for rendered, offset in self._hero_text(title):
            surface.blit(rendered, (x, y + offset))

    def _hero_text(self, title: Title) -> list[tuple[pygame.Surface, int]]:
        """The description block's rendered lines and their offsets; the text cache keeps them."""
        ui = self.ui
        max_w = ui.size[0] - 2 * ui.px(MARGIN)
        name = ui.fonts.render(title.name(ui.language), 72, theme.TEXT, bold=True, max_width=max_w)
        meta = ui.fonts.render(meta_line(ui.strings, title), 36, theme.TEXT_DIM)
        placed = [(name, 0), (meta, name.get_height() + ui.px(8))]
        y = name.get_height() + ui.px(8) + meta.get_height() + ui.px(14)
        for line in self._hero_lines(title, max_w):
            placed.append((ui.fonts.render(line, 36, theme.TEXT), y))
            y += ui.px(50)
        return placed

    def _prefetch_posters(self) -> None:
        """Queue the posters one screenful to each side of the focused row, and the next row's."""
        if not self.rows:
            return
        row = self.rows[self.row_index]
        where = (self.row_index, row.offset)
        if where == self._prefetched_at:
            return  # nothing scrolled since the last idle frame: the same posters are queued or ready
        self._prefetched_at = where
        visible = self._visible_count()
        wanted = row.titles[max(0, row.offset - visible) : row.offset + 2 * visible + 1]
        if self.row_index + 1 < len(self.rows):
            below = self.rows[self.row_index + 1]
            wanted = wanted + below.titles[below.offset : below.offset + visible + 1]
        for title in wanted:
            self.ui.posters.get(title.poster, "grid")

    def _prepare_neighbours(self) -> None:
        """Render the next titles' descriptions between key repeats, so a move only blits.

        A held arrow repaints every ~120 ms but a repaint takes a few: the idle frames in between
        are where the one costly step (rendering a new 72 px title) can happen instead.
        """
        if not self.rows:
            return
        row = self.rows[self.row_index]
        for step in (1, -1, 2):
            index = row.column + step
            if 0 <= index < len(row.titles) and row.titles[index].id not in self._prepared:
                self._hero_text(row.titles[index])
                self._prepared.add(row.titles[index].id)
                if len(self._prepared) > 400:
                    self._prepared.clear()
                return  # one title per idle frame keeps every frame short

    def _hero_lines(self, title: Title, width: int) -> list[str]:
        lines = self._hero_cache.get(title.id)
        if lines is None:
            text = pick(title.description, self.ui.language) if title.description else ""
            lines = self.ui.fonts.wrap(text, 36, width, 2) if text else []
            self._hero_cache[title.id] = lines
            if len(self._hero_cache) > 400:
                self._hero_cache.pop(next(iter(self._hero_cache)))
        return lines

    def _draw_row(self, surface: pygame.Surface, row: Row, y: int, *, focused: bool,
                  screen_y: int | None = None) -> None:
        """``screen_y``: where ``y`` is on the screen, when drawing into a band of its own."""
        ui = self.ui
        safe = ui.safe.move(0, -(screen_y - y)) if screen_y is not None else ui.safe
        label_color = theme.TEXT if focused else theme.TEXT_DIM
        label = ui.fonts.render(ui.strings(f"row.{row.key}"), 44, label_color, bold=True)
        surface.blit(label, (ui.px(MARGIN), y))
        poster_y = y + ui.px(LABEL_H) + ui.px(14)
        step = ui.px(POSTER_W) + ui.px(GAP)
        x = ui.px(MARGIN)
        visible = self._visible_count()
        for index in range(row.offset, min(len(row.titles), row.offset + visible + 1)):
            if x >= ui.size[0]:
                break
            self._draw_poster(surface, row.titles[index], pygame.Rect(x, poster_y, ui.px(POSTER_W), ui.px(POSTER_H)),
                              focused=focused and index == row.column, show_progress=row.key == "continue",
                              safe=safe)
            x += step

    def _draw_poster(self, surface: pygame.Surface, title: Title, rect: pygame.Rect, *, focused: bool,
                     show_progress: bool, safe: pygame.Rect) -> None:
        """``safe``: the title-safe area in ``surface``'s coordinates. A poster peeking in at the edge
        shows, but not its words: many TVs cut them off there."""
        ui = self.ui
        image = ui.posters.get(title.poster, "grid")
        if image is not None:
            surface.blit(image, rect)
        elif ui.posters.is_missing(title.poster, "grid"):
            readable = rect.left >= safe.left and rect.right <= safe.right and rect.centery + ui.px(90) <= safe.bottom
            surface.blit(self._placeholder(title, rect.size, words=readable), rect)
        else:
            # Still loading (a frame or two): a plain card is cheap enough for a held arrow key.
            pygame.draw.rect(surface, theme.CARD, rect)
        marks = ui.library.marks(title)
        if marks.new:
            draw.badge(surface, ui.fonts, ui.strings("badge.new"), theme.NEW_BADGE,
                       (rect.x + ui.px(10), rect.y + ui.px(10)), within=safe)
        if marks.watched:
            draw.watched_mark(surface, ui.fonts, (rect.right - ui.px(34), rect.y + ui.px(34)))
        fraction = marks.fraction
        if fraction > 0 and (show_progress or not marks.watched):
            draw.progress_bar(surface, pygame.Rect(rect.x, rect.bottom - ui.px(10), rect.width, ui.px(10)), fraction)
        if focused:
            draw.focus_ring(surface, rect, ui.fonts)

    def _placeholder(self, title: Title, size: tuple[int, int], *, words: bool) -> pygame.Surface:
        key = (title.id, words)
        surface = self._placeholders.get(key)
        if surface is None:
            surface = placeholder(self.ui.fonts, title.name(self.ui.language), size, words=words)
            self._placeholders[key] = surface
            if len(self._placeholders) > 200:
                self._placeholders.pop(next(iter(self._placeholders)))
        return surface

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        lib = self.ui.library
        focused = self.focused()
        rows = []
        visible = self._visible_count()
        for row in self.rows:
            shown = row.titles[row.offset : row.offset + visible]
            rows.append({
                "key": row.key,
                "count": len(row.titles),
                "visible": [
                    {"id": t.id, "new": lib.is_new(t), "watched": lib.is_watched(t),
                     "progress": round(lib.fraction(t), 3)}
                    for t in shown
                ],
            })
        return {
            "row": self.rows[self.row_index].key if self.rows else None,
            "column": self.rows[self.row_index].column if self.rows else None,
            "focused": focused.id if focused else None,
            "rows": rows,
        }
