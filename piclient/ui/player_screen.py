"""Playing a title: the video, and over it only what helps (time, seek target, countdown, notices).

The film's playback itself (resume, saving her place, the HLS variant, subtitles, the next episode,
recovering from a picture that stands still) is a ``PlaybackSession`` of the player package; this
screen maps her buttons to its actions and paints what it reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pygame

from piclient.catalog import Episode, Title, pick
from piclient.player.api import Player, PlayerEvent, Snapshot
from piclient.player.messages import LadderReady, ProbeResult, SubtitleReady, ThumbnailsReady
from piclient.player.session import PlaybackSession, PrepareSubtitles
from piclient.protocol import NowPlaying
from piclient.remote.buttons import Button
from piclient.remote.repeat import ButtonEvent
from piclient.state import StateStore
from piclient.ui import draw, player_overlay, theme
from piclient.ui.i18n import Strings
from piclient.ui.player_overlay import OsdSpace
from piclient.ui.player_overlay import ass_text as _ass
from piclient.ui.screen import Ui

SEEK_STEP_S = 10.0
SEEK_FAST_STEP_S = 30.0
FF_STEP_S = 60.0
SEEK_COMMIT_S = 0.6
SUB_DELAY_STEP_S = 0.1
LEGEND_S = 8.0  # how long the colour keys' legend stays after the last colour press
COLOUR_KEYS = (Button.RED, Button.GREEN, Button.YELLOW, Button.BLUE)
INFO_S = 5.0
# Handover: the overlay is sent to mpv again this long after a pause. mpv 0.35's DRM output does not
# always present the redraw asked for at the moment it pauses: the TV kept the last moving frame,
# without the info bar, until the overlay next changed (seen in emulation, with mpv alone as well).
# A later request is presented; two, in case the first still meets frames mpv has queued.
PAUSED_OSD_AGAIN_S = (1.0, 3.0)
# Handover: mpv's OSD space (see draw_osd) and where the seek thumbnail's bottom edge sits, above the info bar.
OSD_WIDTH = 1920
OSD_THUMB_BOTTOM = 810
# The info bar (sizes at 1080p): its clock's last line of pixels sits on the safe area's bottom edge.
INFO_NAME_SIZE = 48
INFO_CLOCK_SIZE = 40
INFO_BAR_H = 12
INFO_GAP = 16
SUB_POSITION_OVER_INFO = 72  # mpv's sub-pos (% of the height) while the info bar shows
TOAST_Y = 120
CARD_TEXT = 40
COUNTDOWN_ROW = 90
MAX_THUMB = (480, 270)




class OverlayState(NamedTuple):
    """What the overlay shows; the screen repaints when it changes."""

    info: bool
    position: int | None
    paused: bool
    buffering: bool
    countdown: int | None
    toast: tuple[str, float] | None
    seek: float | None
    legend: bool
    sub_delay: float


class PlayerScreen:
    name = "player"

    def __init__(self, ui: Ui, player: Player, store: StateStore, title: Title, episode: Episode | None,
                 start: float, *, readahead_s: float = 60,
                 prepare_subtitles: PrepareSubtitles,
                 post: Callable[[object], None], on_finished: Callable[[str], None],
                 probe: Callable[[str, str], None] | None = None,
                 http_headers: Callable[[str], dict[str, str]] = lambda url: {},
                 fetch_thumbnails: Callable[[str, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ui = ui
        self.player = player
        self._post = post
        self._on_finished = on_finished
        self._clock = clock
        self.dirty = True
        self._thumb_cache: dict[float, pygame.Surface | None] = {}
        self._thumb_source: Any = None
        self._osd_thumb: float | None = None  # handover: the second whose thumbnail mpv shows now
        self._seek_target: float | None = None
        self._seek_commit_at = 0.0
        self._seek_repeats = 0
        self._info_until = 0.0
        self._toast: tuple[str, float] | None = None
        self._legend_until = 0.0
        self._legend_hold: Button | None = None
        self._overlay_key: OverlayState | None = None
        self._paused_at: float | None = None
        self._paused_osd_sent = 0  # how many of PAUSED_OSD_AGAIN_S were sent in this pause
        self.session = PlaybackSession(
            player, store, title, episode, start, readahead_s=readahead_s,
            prepare_subtitles=prepare_subtitles, on_finished=self._finished, notify=self._notice, probe=probe,
            http_headers=http_headers, fetch_thumbnails=fetch_thumbnails, clock=clock)

    # -- what is playing (the session's) ---------------------------------------------------------

    @property
    def title(self) -> Title:
        return self.session.title

    @property
    def episode(self) -> Episode | None:
        return self.session.episode

    @property
    def phase(self) -> str:
        return self.session.phase

    @property
    def error(self) -> str | None:
        return self.session.error

    @property
    def playable_id(self) -> str:
        return self.session.playable_id

    def library_changed(self) -> None:
        """A new catalog does not interrupt a film."""

    def invalidate(self) -> None:
        self.dirty = True

    def _notice(self, kind: str, **values: Any) -> None:
        if kind == "resuming":
            self._toast = (self.ui.strings("player.resuming", time=Strings.clock(values["start"])), self._clock() + 4)
        self.dirty = True

    def _finished(self, outcome: str) -> None:
        if self._osd_thumb is not None:  # mpv keeps an image overlay across files
            self._osd_thumb = None
            self.player.hide_image()
        self._on_finished(outcome)

    # -- events from the player and from the worker threads: the session's business --------------

    def player_event(self, event: PlayerEvent) -> None:
        self.session.player_event(event)
        self.dirty = True

    def probe_result(self, item: ProbeResult) -> None:
        self.session.probe_result(item)

    def thumbnails_ready(self, item: ThumbnailsReady) -> None:
        self.session.thumbnails_ready(item)

    def ladder_ready(self, item: LadderReady) -> None:
        self.session.ladder_ready(item)

    def subtitle_ready(self, item: SubtitleReady) -> None:
        self.session.subtitle_ready(item)

    def pause_for_tv(self) -> None:
        """The TV went to standby or to another input: pause and save; she resumes with OK."""
        if self.session.pause_for_tv():
            self._toast = (self.ui.strings("player.tv_back"), self._clock() + 3600)
            self.dirty = True

    def shutdown(self) -> None:
        """The launcher is exiting: keep her place."""
        self.session.shutdown()

    def _thumbnail_at(self, seconds: float) -> pygame.Surface | None:
        """The picture at ``seconds``, twice the sprite's size so it reads from the sofa; cached per second."""
        thumbs = self.session.thumbs
        if thumbs is not self._thumb_source:
            self._thumb_source = thumbs
            self._thumb_cache.clear()
        if thumbs is None:
            return None
        key = float(int(seconds))
        if key not in self._thumb_cache:
            crop = thumbs.at(seconds)
            surface = None
            if crop is not None:
                pixels, size = crop
                image = pygame.image.frombuffer(pixels, size, "RGB")
                width, height = thumbnail_size(size)
                surface = pygame.transform.smoothscale(image, (self.ui.px(width), self.ui.px(height)))
            if len(self._thumb_cache) > 64:
                self._thumb_cache.clear()
            self._thumb_cache[key] = surface
        return self._thumb_cache[key]

    # -- buttons -------------------------------------------------------------------------------

    def handle(self, event: ButtonEvent) -> None:
        now = self._clock()
        b = event.button
        self.dirty = True
        if self.phase == "countdown":
            if b in (Button.OK, Button.PLAY, Button.PLAYPAUSE) and not event.repeat:
                self.session.start_next()
            elif b in (Button.BACK, Button.STOP) and not event.repeat:
                self.session.stop()
            return
        snap = self.player.snapshot()
        if b in (Button.BACK, Button.STOP) and not event.repeat:
            self.session.stop()
        elif b in (Button.OK, Button.PLAYPAUSE) and not event.repeat:
            self.session.set_pause(not snap.paused)
            self._info_until = now + INFO_S
        elif b is Button.PLAY:
            self.session.set_pause(False)
        elif b is Button.PAUSE:
            self.session.set_pause(True, save=True)
        elif b in (Button.LEFT, Button.RIGHT, Button.FF, Button.RW):
            self._seek_step(b, event.repeat, snap, now)
        elif b in (Button.UP, Button.INFO):
            self._info_until = now + INFO_S
        elif b is Button.DOWN:
            self._info_until = 0.0
        elif b in COLOUR_KEYS:
            self._colour_key(event, now)

    def _colour_key(self, event: ButtonEvent, now: float) -> None:
        """A colour key first shows what the colour keys do and changes nothing; while that legend
        shows, they act. A stray press then costs her a glance, not a spoilt film."""
        b = event.button
        if now >= self._legend_until:
            if not event.repeat:
                self._legend_until = now + LEGEND_S
                self._legend_hold = b
            return
        if event.repeat and b is self._legend_hold:
            return  # still the press that opened the legend: holding it must not act
        self._legend_hold = None
        self._legend_until = now + LEGEND_S
        if b in (Button.RED, Button.GREEN):
            value = self.session.change_sub_delay(-SUB_DELAY_STEP_S if b is Button.RED else SUB_DELAY_STEP_S)
            self._toast = (self.ui.strings("player.sub_delay", value=f"{value:+.1f}"), now + 3)
        elif b is Button.YELLOW and not event.repeat:
            self._cycle_subtitles(now)
        elif b is Button.BLUE and not event.repeat:
            # The one way back to normal, whatever colour keys were pressed.
            self.session.subtitles_as_before()
            self._toast = (self.ui.strings("player.subtitles_reset"), now + 3)

    def _seek_step(self, button: Button, repeat: bool, snap: Snapshot, now: float) -> None:
        self._seek_repeats = self._seek_repeats + 1 if repeat else 0
        if button in (Button.FF, Button.RW):
            step = FF_STEP_S
        else:
            # Held: after a second or so of 10 s steps, move faster.
            step = SEEK_FAST_STEP_S if self._seek_repeats >= 6 else SEEK_STEP_S
        sign = -1 if button in (Button.LEFT, Button.RW) else 1
        base = self._seek_target if self._seek_target is not None else (snap.position or 0.0)
        duration = self.session.duration(snap) or base + step
        self._seek_target = min(max(0.0, base + sign * step), max(0.0, duration - 1))
        self._seek_commit_at = now + SEEK_COMMIT_S
        self._info_until = now + INFO_S

    def _cycle_subtitles(self, now: float) -> None:
        """YELLOW: the next subtitle track, and after the last one, none."""
        found, track = self.session.cycle_track("sub")
        if not found:
            return
        s = self.ui.strings
        text = s("player.subtitles", name=track.title or track.lang or str(track.id)) if track else s(
            "player.subtitles_off")
        self._toast = (text, now + 3)

    # -- time passing --------------------------------------------------------------------------

    def update(self, now: float) -> None:
        if self.player.poll_frame(self.ui.size):
            self.dirty = True
        if self._seek_target is not None and now >= self._seek_commit_at:
            self.session.seek(self._seek_target)
            self._seek_target = None
            self.dirty = True
        self.session.update(now)
        if self.phase == "countdown":
            self.dirty = True
        if self._toast is not None and now >= self._toast[1]:
            self._toast = None
            self.dirty = True
        if self.phase == "done":
            return
        snap = self.player.snapshot()
        self._overlay_again_while_paused(now, snap.paused)
        key = self._overlay_state(now, snap)
        if key != self._overlay_key:
            if self._overlay_key is None or key.info != self._overlay_key.info:
                # Lift the subtitles above the info panel while it shows, so neither hides the other.
                self.player.set_sub_position(SUB_POSITION_OVER_INFO if key.info else 100)
            self._overlay_key = key
            self.dirty = True

    def _overlay_again_while_paused(self, now: float, paused: bool) -> None:
        if not paused:
            self._paused_at, self._paused_osd_sent = None, 0
            return
        if self._paused_at is None:
            self._paused_at = now
        due = PAUSED_OSD_AGAIN_S[self._paused_osd_sent] if self._paused_osd_sent < len(PAUSED_OSD_AGAIN_S) else None
        if due is not None and now - self._paused_at >= due:
            self._paused_osd_sent += 1
            self.dirty = True  # the same overlay once more (draw_osd); embedded, one more paint

    def _overlay_state(self, now: float, snap: Snapshot) -> OverlayState:
        info = now < self._info_until or snap.paused or self._seek_target is not None
        return OverlayState(
            info=info,
            position=int(snap.position or 0) if info else None,
            paused=snap.paused and self.phase == "playing",
            buffering=self.session.waiting(now),
            countdown=self.session.countdown_left(now),
            toast=self._toast,
            seek=self._seek_target,
            legend=now < self._legend_until,
            sub_delay=round(snap.sub_delay, 3),  # what mpv applies now
        )

    # -- drawing -------------------------------------------------------------------------------

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect] | None:
        self.dirty = False
        self.player.draw_frame(surface)
        now = self._clock()
        snap = self.player.snapshot()
        state = self._overlay_key or self._overlay_state(now, snap)
        ui = self.ui
        if state.countdown is not None:
            self._draw_countdown(surface, state.countdown)
        elif state.info:
            self._draw_info(surface, snap, state)
        if state.buffering and state.countdown is None:
            self._draw_card(surface, ui.strings("player.buffering"), ui.size[1] // 2)
        elif self.phase == "starting" and snap.position is None:
            self._draw_card(surface, ui.strings("player.loading"), ui.size[1] // 2)
        elif state.paused and state.countdown is None:
            player_overlay.draw_pause_sign(surface, ui)
        if state.legend and state.countdown is None:
            player_overlay.draw_legend(surface, ui)
        if state.toast is not None:
            self._draw_card(surface, state.toast[0], ui.px(TOAST_Y))
        return None

    def draw_osd(self) -> None:
        """Handover output: the same overlay as ``draw``, as ASS for mpv's OSD (1920x1080 space)."""
        self.dirty = False
        now = self._clock()
        snap = self.player.snapshot()
        state = self._overlay_key or self._overlay_state(now, snap)
        osd = OsdSpace(self.ui.overscan)
        s = self.ui.strings
        events: list[str] = []
        if state.countdown is not None:
            events += self._countdown_ass(osd, state.countdown)
        elif state.info:
            events += self._info_ass(osd, snap, state)
        if state.buffering and state.countdown is None:
            events += self._card_ass(osd, s("player.buffering"), 540)
        elif state.paused and state.countdown is None:
            events += player_overlay.pause_sign_ass(osd, self.ui)
        if state.legend and state.countdown is None:
            events += player_overlay.legend_ass(osd, self.ui)
        if state.toast is not None:
            events += self._card_ass(osd, state.toast[0], TOAST_Y)
        self.player.show_osd("\n".join(events))
        self._show_osd_thumbnail(osd, state.seek if state.countdown is None else None,
                                 self.session.duration(snap))

    def _show_osd_thumbnail(self, osd: OsdSpace, seek: float | None, duration: float) -> None:
        """Handover: the frame at the seek target, framed in yellow above the title, as in ``_draw_info``."""
        thumbs = self.session.thumbs
        crop = thumbs.at(seek) if thumbs is not None and seek is not None and duration else None
        if crop is None or seek is None:
            if self._osd_thumb is not None:
                self._osd_thumb = None
                self.player.hide_image()
            return
        if self._osd_thumb == float(int(seek)):
            return
        self._osd_thumb = float(int(seek))
        pixels, (w, h) = crop
        border = 4
        width, height = (round(side * osd.scale) for side in thumbnail_size((w, h)))
        framed = pygame.Surface((width + 2 * border, height + 2 * border))
        framed.fill(theme.FOCUS)
        framed.blit(pygame.transform.smoothscale(pygame.image.frombuffer(pixels, (w, h), "RGB"), (width, height)),
                    (border, border))
        safe = player_overlay.design_safe()
        marker_x = osd.x(safe.x + safe.width * min(1.0, seek / duration))
        x = min(max(osd.x(0), marker_x - framed.get_width() // 2), osd.x(OSD_WIDTH) - framed.get_width())
        y = max(osd.y(0), osd.y(OSD_THUMB_BOTTOM) - framed.get_height())
        self.player.show_image(pygame.image.tobytes(framed, "RGB"), framed.get_size(), (x, y))

    def _info_text(self, snap: Snapshot, state: OverlayState) -> tuple[str, str, str, float]:
        """The info bar's name line, clock line, subtitle-delay note and progress (0-1)."""
        s = self.ui.strings
        name = self.title.name(s.language)
        if self.episode is not None:
            name = f"{name}  ·  {s('episode', n=self.episode.number)}"
        duration = self.session.duration(snap)
        position = state.seek if state.seek is not None else (snap.position or 0.0)
        clock = f"{Strings.clock(position)} / {Strings.clock(duration)}" if duration else Strings.clock(position)
        if state.paused:
            clock = f"{s('player.paused')}   {clock}"
        delay = s("player.sub_delay_short", value=f"{state.sub_delay:+.1f}") if state.sub_delay else ""
        return name, clock, delay, position / duration if duration else 0.0

    def _draw_info(self, surface: pygame.Surface, snap: Snapshot, state: OverlayState) -> None:
        """The bottom panel: name, progress bar, time; its text ends on the safe area's bottom edge."""
        ui = self.ui
        width, height = ui.size
        safe = ui.safe
        name, label, delay, fraction = self._info_text(snap, state)
        title = ui.fonts.render(name, INFO_NAME_SIZE, theme.TEXT, bold=True, max_width=safe.width)
        clock = ui.fonts.render(label, INFO_CLOCK_SIZE, theme.FOCUS if state.seek is not None else theme.TEXT)
        clock_top = safe.bottom - clock.get_height()
        bar = pygame.Rect(safe.x, clock_top - ui.px(INFO_GAP + INFO_BAR_H), safe.width, ui.px(INFO_BAR_H))
        title_top = bar.y - ui.px(INFO_GAP) - title.get_height()
        panel = pygame.Rect(0, title_top - ui.px(INFO_GAP), width, height - title_top + ui.px(INFO_GAP))
        shade = pygame.Surface(panel.size)
        shade.set_alpha(190)
        surface.blit(shade, panel)
        surface.blit(title, (safe.x, title_top))
        draw.progress_bar(surface, bar, fraction)
        surface.blit(clock, (safe.x, clock_top))
        if delay:
            note = ui.fonts.render(delay, INFO_CLOCK_SIZE, theme.FOCUS)
            surface.blit(note, note.get_rect(topright=(safe.right, clock_top)))
        if state.seek is not None and fraction:
            marker_x = bar.x + round(bar.width * min(1.0, fraction))
            pygame.draw.circle(surface, theme.FOCUS, (marker_x, bar.centery), ui.px(16))
            thumb = self._thumbnail_at(state.seek)
            if thumb is not None:
                box = thumb.get_rect(midbottom=(marker_x, panel.y - ui.px(16)))
                box.clamp_ip(surface.get_rect())
                surface.blit(thumb, box)
                pygame.draw.rect(surface, theme.FOCUS, box.inflate(ui.px(8), ui.px(8)), width=ui.px(4))

    def _info_ass(self, osd: OsdSpace, snap: Snapshot, state: OverlayState) -> list[str]:
        safe = player_overlay.design_safe()
        name, clock, delay, fraction = self._info_text(snap, state)
        clock_top = safe.bottom - round(INFO_CLOCK_SIZE * player_overlay.ASS_LINE_PER_EM)
        bar = pygame.Rect(safe.x, clock_top - INFO_GAP - INFO_BAR_H, safe.width, INFO_BAR_H)
        title_top = bar.y - INFO_GAP - round(INFO_NAME_SIZE * player_overlay.ASS_LINE_PER_EM)
        panel_top = title_top - INFO_GAP
        filled = bar.copy()
        filled.width = max(1, round(bar.width * min(1.0, fraction)))
        colour = player_overlay.ass_color(theme.FOCUS if state.seek is not None else theme.TEXT)
        events = [
            osd.rect(pygame.Rect(0, panel_top, OSD_WIDTH, 1080 - panel_top), (0, 0, 0), alpha=0x40),
            osd.rect(bar, theme.PROGRESS_TRACK),
            osd.rect(filled, theme.PROGRESS_FILL),
            rf"{{\an7{osd.pos(safe.x, title_top)}{osd.fs(INFO_NAME_SIZE)}\b1\bord0\shad0}}" + _ass(name),
            rf"{{\an1{osd.pos(safe.x, safe.bottom)}{osd.fs(INFO_CLOCK_SIZE)}\bord0\shad0\1c{colour}}}" + _ass(clock),
        ]
        if delay:
            events.append(rf"{{\an3{osd.pos(safe.right, safe.bottom)}{osd.fs(INFO_CLOCK_SIZE)}\bord0\shad0"
                          rf"\1c{player_overlay.ass_color(theme.FOCUS)}}}" + _ass(delay))
        return events

    def _countdown_lines(self, seconds: int) -> list[tuple[str, int, tuple[int, int, int]]]:
        ui = self.ui
        following = self.session.next_episode()
        line = ""
        if following is not None:
            line = ui.strings("episode", n=following.number)
            if following.title:
                line = f"{line}  {pick(following.title, ui.language)}"
        return [(text, size, color) for text, size, color in (
            (ui.strings("player.next_in", n=max(0, seconds)), 60, theme.TEXT), (line, 44, theme.TEXT_DIM),
            (ui.strings("player.next_hint"), 40, theme.FOCUS)) if text]

    def _draw_countdown(self, surface: pygame.Surface, seconds: int) -> None:
        """The next episode's countdown on a solid panel: the film's own last frame (credits, signs)
        must not show through the words she has to read."""
        ui = self.ui
        shade = pygame.Surface(ui.size)
        shade.set_alpha(170)
        surface.blit(shade, (0, 0))
        rendered = [ui.fonts.render(text, size, color, bold=size == 60) for text, size, color in
                    self._countdown_lines(seconds)]
        inner = max(r.get_width() for r in rendered)
        panel = pygame.Rect(0, 0, min(ui.safe.width, inner + ui.px(128)), ui.px(COUNTDOWN_ROW) * len(rendered)
                            + ui.px(64))
        panel.center = (ui.size[0] // 2, ui.size[1] // 2)
        pygame.draw.rect(surface, theme.CARD, panel, border_radius=ui.px(24))
        pygame.draw.rect(surface, theme.FOCUS, panel, width=ui.px(4), border_radius=ui.px(24))
        y = panel.y + ui.px(32) + ui.px(COUNTDOWN_ROW) // 2
        for item in rendered:
            surface.blit(item, item.get_rect(center=(panel.centerx, y)))
            y += ui.px(COUNTDOWN_ROW)

    def _countdown_ass(self, osd: OsdSpace, seconds: int) -> list[str]:
        lines = self._countdown_lines(seconds)
        inner = max(player_overlay.text_width(self.ui, text, size, bold=size == 60) for text, size, _ in lines)
        panel = pygame.Rect(0, 0, min(player_overlay.design_safe().width, inner + 128),
                            COUNTDOWN_ROW * len(lines) + 64)
        panel.center = (OSD_WIDTH // 2, 540)
        events = [osd.rect(pygame.Rect(0, 0, OSD_WIDTH, 1080), (0, 0, 0), alpha=0x55),
                  osd.rect(panel.inflate(8, 8), theme.FOCUS), osd.rect(panel, theme.CARD)]
        y = panel.y + 32 + COUNTDOWN_ROW // 2
        for text, size, color in lines:
            bold = r"\b1" if size == 60 else ""
            events.append(rf"{{\an5{osd.pos(panel.centerx, y)}{osd.fs(size)}{bold}\bord0\shad0"
                          rf"\1c{player_overlay.ass_color(color)}}}" + _ass(text))
            y += COUNTDOWN_ROW
        return events

    def _draw_card(self, surface: pygame.Surface, text: str, center_y: int) -> None:
        ui = self.ui
        rendered = ui.fonts.render(text, CARD_TEXT, theme.TEXT, bold=True)
        rect = rendered.get_rect(center=(ui.size[0] // 2, center_y)).inflate(ui.px(80), ui.px(40))
        pygame.draw.rect(surface, theme.CARD, rect, border_radius=ui.px(20))
        surface.blit(rendered, rendered.get_rect(center=rect.center))

    def _card_ass(self, osd: OsdSpace, text: str, center_y: int) -> list[str]:
        width = player_overlay.text_width(self.ui, text, CARD_TEXT, bold=True) + 80
        height = round(CARD_TEXT * player_overlay.ASS_LINE_PER_EM) + 40
        rect = pygame.Rect(0, 0, width, height)
        rect.center = (OSD_WIDTH // 2, center_y)
        return [osd.rect(rect, theme.CARD),
                rf"{{\an5{osd.pos(OSD_WIDTH // 2, center_y)}{osd.fs(CARD_TEXT)}\b1\bord0\shad0}}" + _ass(text)]

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.now_playing().wire()

    def now_playing(self) -> NowPlaying:
        """The session's report with what this screen draws over the picture."""
        now = self._clock()
        return self.session.now_playing(now).model_copy(update={
            "notice": self._toast[0] if self._toast else None,
            "legend": now < self._legend_until,
            "seek_target": self._seek_target,
            "thumbnail": self._seek_target is not None and self._thumbnail_at(self._seek_target) is not None,
        })


def thumbnail_size(tile: tuple[int, int]) -> tuple[int, int]:
    """A seek thumbnail's size on a 1920x1080 screen: twice the tile so it reads from the sofa, but
    never more than a quarter of the width, whatever size of tile a catalog brings."""
    factor = min(2.0, MAX_THUMB[0] / tile[0], MAX_THUMB[1] / tile[1])
    return max(1, round(tile[0] * factor)), max(1, round(tile[1] * factor))
