"""Playing a title: the video, and over it only what helps (time, seek target, countdown, notices).

The screen owns one playback: it resumes where she stopped, saves the position every 10 s and on
every way out, adapts the HLS variant to the network and the decoder, starts the next episode
after a visible countdown, and turns every failure into one calm sentence and a way back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pygame

from piclient.catalog import Episode, Subtitle, Title, pick
from piclient.player.abr import AbrController, BandwidthMeter
from piclient.player.api import Media, Player, PlayerEvent, Snapshot
from piclient.player.hls import Variant
from piclient.player.languages import same_language, same_tag
from piclient.player.messages import LadderReady, ProbeResult, SubtitleReady, ThumbnailsReady
from piclient.remote.buttons import Button
from piclient.remote.repeat import ButtonEvent
from piclient.state import StateStore
from piclient.ui import draw, player_overlay, theme
from piclient.ui.i18n import Strings
from piclient.ui.player_overlay import OsdSpace
from piclient.ui.player_overlay import ass_text as _ass
from piclient.ui.screen import Ui

log = logging.getLogger(__name__)

SAVE_EVERY_S = 10.0
COUNTDOWN_S = 10.0
SEEK_STEP_S = 10.0
SEEK_FAST_STEP_S = 30.0
FF_STEP_S = 60.0
SEEK_COMMIT_S = 0.6
SUB_DELAY_STEP_S = 0.1
LEGEND_S = 8.0  # how long the colour keys' legend stays after the last colour press
COLOUR_KEYS = (Button.RED, Button.GREEN, Button.YELLOW, Button.BLUE)
INFO_S = 5.0
ABR_EVERY_S = 1.0
BUFFERING_NOTICE_S = 1.5
STALL_RETRY_S = 25.0
MAX_RETRIES = 2
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
DEFAULT_START_BITRATE = 3_000_000  # until a film has measured the line: about 720p


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
                 start: float, *, subtitle_language: str, readahead_s: float = 60,
                 prepare_subtitles: Callable[[str, str, tuple[Subtitle, ...], Callable[[], float | None]], None],
                 post: Callable[[object], None], on_finished: Callable[[str], None],
                 probe: Callable[[str, str], None] | None = None,
                 http_headers: Callable[[str], dict[str, str]] = lambda url: {},
                 fetch_thumbnails: Callable[[str, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ui = ui
        self.player = player
        self.store = store
        self.title = title
        self.episode = episode
        self.subtitle_language = subtitle_language
        self._prepare_subtitles = prepare_subtitles
        self._post = post
        self._on_finished = on_finished
        self._clock = clock
        self.dirty = True
        self.phase = "starting"  # starting | playing | countdown | done
        self.error: str | None = None
        self.retries = 0
        self._abr: AbrController | None = None
        self._meter = BandwidthMeter()
        self._ladder: tuple[Variant, ...] = ()
        self._probing = False
        self._next_probe = 0.0
        self._probe = probe
        self._http_headers = http_headers
        self._fetch_thumbnails = fetch_thumbnails
        self._thumbs: Any = None
        self._thumb_cache: dict[float, pygame.Surface | None] = {}
        self._osd_thumb: float | None = None  # handover: the second whose thumbnail mpv shows now
        self._readahead_s = readahead_s
        self._next_abr = 0.0
        self._last_save = clock()
        self._seek_target: float | None = None
        self._seek_commit_at = 0.0
        self._seek_repeats = 0
        self._info_until = 0.0
        self._toast: tuple[str, float] | None = None
        self._legend_until = 0.0
        self._legend_hold: Button | None = None
        self._countdown_until = 0.0
        self._buffering_since: float | None = None
        self._last_known_position = start
        self._sub_loaded: set[str] = set()
        self._sub_selected = False
        self._sub_chosen: str | None = None
        self._overlay_key: OverlayState | None = None
        self._load(start)

    # -- what is playing -----------------------------------------------------------------------

    @property
    def playable_id(self) -> str:
        return self.episode.id if self.episode else self.title.id

    @property
    def stream_url(self) -> str:
        url = self.episode.stream if self.episode else self.title.stream
        assert url is not None  # the catalog parser guarantees a stream for every playable
        return url

    def _duration_hint(self) -> float:
        return (self.episode.duration if self.episode else self.title.duration) or 0.0

    def _load(self, start: float) -> None:
        self.phase = "starting"
        self._sub_loaded.clear()
        self._sub_selected = False
        self._sub_chosen = None
        self._abr = None
        self._ladder = ()
        self._thumbs = None
        estimate = self.store.get("bandwidth_bps")
        max_bitrate = int(float(estimate) * 0.7) if estimate else DEFAULT_START_BITRATE
        self.player.load(Media(self.stream_url, self.playable_id, start=start, max_bitrate=max_bitrate,
                               http_headers=self._http_headers(self.stream_url)))
        if start > 1:
            self._toast = (self.ui.strings("player.resuming", time=Strings.clock(start)), self._clock() + 4)
        delay = self.store.get(f"sub_delay:{self.title.id}")
        self.player.set_sub_delay(float(delay) if delay else 0.0)
        self.dirty = True

    def library_changed(self) -> None:
        """A new catalog does not interrupt a film."""

    def invalidate(self) -> None:
        self.dirty = True

    # -- events from the player and from the subtitle worker -----------------------------------

    def player_event(self, event: PlayerEvent) -> None:
        if event.kind == "loaded":
            self.phase = "playing"
            subtitles = self.episode.subtitles if self.episode else self.title.subtitles
            self._prepare_subtitles(self.playable_id, self.stream_url, subtitles, self._start_time)
            thumbnails = self.episode.thumbnails if self.episode else self.title.thumbnails
            if thumbnails and self._fetch_thumbnails is not None and self._thumbs is None:
                self._fetch_thumbnails(self.playable_id, thumbnails)
        elif event.kind == "ended":
            self._ended(event.detail.get("reason", "stopped"), event.detail.get("error"))
        self.dirty = True

    def _start_time(self) -> float | None:
        """mpv's demuxer start time (called from the subtitle worker; reads the snapshot only)."""
        return self.player.snapshot().start_time

    def probe_result(self, item: ProbeResult) -> None:
        self._probing = False
        if item.playable_id == self.playable_id:
            # One probe is one reading of the line, worth as much as a second of mpv's own rate.
            self._meter.add_rate(item.nbytes / item.seconds, seconds=1.0)
            log.debug("probe: %d bytes in %.3f s; estimate now %s bps", item.nbytes, item.seconds,
                      self._meter.estimate_bps)

    def thumbnails_ready(self, item: ThumbnailsReady) -> None:
        if item.playable_id == self.playable_id:
            self._thumbs = item.track
            self._thumb_cache.clear()

    def _thumbnail_at(self, seconds: float) -> pygame.Surface | None:
        """The picture at ``seconds``, twice the sprite's size so it reads from the sofa; cached per second."""
        if self._thumbs is None:
            return None
        key = float(int(seconds))
        if key not in self._thumb_cache:
            crop = self._thumbs.at(seconds)
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

    def ladder_ready(self, item: LadderReady) -> None:
        if item.playable_id == self.playable_id:
            self._ladder = item.variants

    def subtitle_ready(self, item: SubtitleReady) -> None:
        if item.playable_id != self.playable_id or item.path in self._sub_loaded:
            return
        self._sub_loaded.add(item.path)
        select = not self._sub_selected and item.select  # subtitle_choice's pick for her language
        self._sub_selected = self._sub_selected or select
        if select:
            self._sub_chosen = item.language  # what BLUE goes back to
        self.player.add_subtitle(item.path, item.language, item.label, select=select)

    def _ended(self, reason: str, error: Any) -> None:
        if self.phase in ("done", "countdown"):
            return
        if reason == "eof" and self._ended_early():
            # FFmpeg skips segments it cannot fetch and then reports a normal end: a film that
            # "ends" long before its length lost its network, it was not watched.
            reason, error = "error", "stream ended early (segments missing)"
        if reason == "eof":
            self._save(watched=True)
            following = self._next_episode()
            if following is not None:
                self.phase = "countdown"
                self._countdown_until = self._clock() + COUNTDOWN_S
            else:
                self._finish("watched")
            return
        if reason == "error":
            log.warning("playback of %s failed: %s (%s)", self.playable_id, error, self.stream_url)
            # A stream that played before and broke (network) can come back; one that never loaded
            # (404, garbage playlist) will not, so she is not kept waiting for it.
            if self.phase == "playing" and self.retries < MAX_RETRIES:
                self.retries += 1
                log.info("reconnecting %s at %.0f s (try %d)", self.playable_id, self._last_known_position,
                         self.retries)
                self._load(self._last_known_position)
                return
            self.error = str(error or "playback failed")
            self._save()
            self._finish("failed")

    def _ended_early(self) -> bool:
        duration = self.player.snapshot().duration or self._duration_hint()
        return bool(duration) and self._last_known_position < 0.9 * duration - 5

    def _next_episode(self) -> Episode | None:
        if self.episode is None:
            return None
        episodes = self.title.episodes
        ids = [ep.id for ep in episodes]
        index = ids.index(self.episode.id) if self.episode.id in ids else -1
        return episodes[index + 1] if 0 <= index < len(episodes) - 1 else None

    def _start_next(self) -> None:
        following = self._next_episode()
        if following is None:
            self._finish("watched")
            return
        self.episode = following
        self.retries = 0
        self._load(0.0)

    def _finish(self, outcome: str) -> None:
        self.phase = "done"
        self.player.stop()
        if self._osd_thumb is not None:  # mpv keeps an image overlay across files
            self._osd_thumb = None
            self.player.hide_image()
        self._on_finished(outcome)

    # -- buttons -------------------------------------------------------------------------------

    def handle(self, event: ButtonEvent) -> None:
        now = self._clock()
        b = event.button
        self.dirty = True
        if self.phase == "countdown":
            if b in (Button.OK, Button.PLAY, Button.PLAYPAUSE) and not event.repeat:
                self._start_next()
            elif b in (Button.BACK, Button.STOP) and not event.repeat:
                self._finish("stopped")
            return
        snap = self.player.snapshot()
        if b in (Button.BACK, Button.STOP) and not event.repeat:
            self._save()
            self._finish("stopped")
        elif b in (Button.OK, Button.PLAYPAUSE) and not event.repeat:
            self.player.set_pause(not snap.paused)
            self._info_until = now + INFO_S
        elif b is Button.PLAY:
            self.player.set_pause(False)
        elif b is Button.PAUSE:
            self.player.set_pause(True)
            self._save()
        elif b in (Button.LEFT, Button.RIGHT, Button.FF, Button.RW):
            self._seek_step(b, event.repeat, snap, now)
        elif b in (Button.UP, Button.INFO):
            self._info_until = now + INFO_S
        elif b is Button.DOWN:
            self._info_until = 0.0
        elif b in COLOUR_KEYS:
            self._colour_key(event, snap, now)

    def _colour_key(self, event: ButtonEvent, snap: Snapshot, now: float) -> None:
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
            self._change_sub_delay(-SUB_DELAY_STEP_S if b is Button.RED else SUB_DELAY_STEP_S, snap, now)
        elif b is Button.YELLOW and not event.repeat:
            self._cycle_subtitles(snap, now)
        elif b is Button.BLUE and not event.repeat:
            self._subtitles_as_before(snap, now)

    def _subtitles_as_before(self, snap: Snapshot, now: float) -> None:
        """BLUE: the one way back to normal, whatever colour keys were pressed: no delay, and the
        subtitle the film started with (or none, if it started without)."""
        self.player.set_sub_delay(0.0)
        self.store.put(f"sub_delay:{self.title.id}", repr(0.0))
        subs = [t for t in snap.tracks if t.type == "sub"]
        chosen = self._sub_chosen
        first = next((t for t in subs if chosen is not None and same_tag(t.lang, chosen)),
                     next((t for t in subs if chosen is not None and same_language(t.lang, chosen)), None))
        self.player.select_track("sub", first.id if first is not None else None)
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
        duration = snap.duration or self._duration_hint() or base + step
        self._seek_target = min(max(0.0, base + sign * step), max(0.0, duration - 1))
        self._seek_commit_at = now + SEEK_COMMIT_S
        self._info_until = now + INFO_S

    def _change_sub_delay(self, delta: float, snap: Snapshot, now: float) -> None:
        value = round(snap.sub_delay + delta, 3)
        self.player.set_sub_delay(value)
        # The fix belongs to the title: every episode of a series shares the same subtitle source.
        self.store.put(f"sub_delay:{self.title.id}", repr(value))
        self._toast = (self.ui.strings("player.sub_delay", value=f"{value:+.1f}"), now + 3)

    def _cycle_subtitles(self, snap: Snapshot, now: float) -> None:
        """YELLOW: the next subtitle track, and after the last one, none."""
        tracks = [t for t in snap.tracks if t.type == "sub"]
        if not tracks:
            return
        current = snap.selected("sub")
        ids: list[int | None] = [t.id for t in tracks] + [None]
        position = ids.index(current.id) if current and current.id in ids else len(ids) - 1
        chosen = ids[(position + 1) % len(ids)]
        self.player.select_track("sub", chosen)
        track = next((t for t in tracks if t.id == chosen), None)
        s = self.ui.strings
        text = s("player.subtitles", name=track.title or track.lang or str(track.id)) if track else s(
            "player.subtitles_off")
        self._toast = (text, now + 3)

    # -- time passing --------------------------------------------------------------------------

    def update(self, now: float) -> None:
        if self.player.poll_frame(self.ui.size):
            self.dirty = True
        snap = self.player.snapshot()
        if snap.position is not None:
            self._last_known_position = snap.position
        if self._seek_target is not None and now >= self._seek_commit_at:
            self.player.seek(self._seek_target, absolute=True)
            if self._abr is not None:
                self._abr.seeked()  # the flushed buffer says nothing about the network
            self._last_known_position = self._seek_target
            self._seek_target = None
            self.dirty = True
        if self.phase == "countdown":
            if now >= self._countdown_until:
                self._start_next()
            self.dirty = True
        elif self.phase == "playing":
            if now - self._last_save >= SAVE_EVERY_S:
                self._save()
            if now >= self._next_abr:
                self._next_abr = now + ABR_EVERY_S
                self._adapt(now, snap)
            self._watch_buffering(now, snap)
        if self._toast is not None and now >= self._toast[1]:
            self._toast = None
            self.dirty = True
        key = self._overlay_state(now, snap)
        if key != self._overlay_key:
            if self._overlay_key is None or key.info != self._overlay_key.info:
                # Lift the subtitles above the info panel while it shows, so neither hides the other.
                self.player.set_sub_position(SUB_POSITION_OVER_INFO if key.info else 100)
            self._overlay_key = key
            self.dirty = True

    def _overlay_state(self, now: float, snap: Snapshot) -> OverlayState:
        info = now < self._info_until or snap.paused or self._seek_target is not None
        return OverlayState(
            info=info,
            position=int(snap.position or 0) if info else None,
            paused=snap.paused and self.phase == "playing",
            buffering=self._buffering_shown(now),
            countdown=int(self._countdown_until - now) + 1 if self.phase == "countdown" else None,
            toast=self._toast,
            seek=self._seek_target,
            legend=now < self._legend_until,
            sub_delay=round(snap.sub_delay, 3),
        )

    def _buffering_shown(self, now: float) -> bool:
        return self._buffering_since is not None and now - self._buffering_since >= BUFFERING_NOTICE_S

    def _watch_buffering(self, now: float, snap: Snapshot) -> None:
        if snap.buffering and not snap.paused:
            if self._buffering_since is None:
                self._buffering_since = now
            elif now - self._buffering_since >= STALL_RETRY_S and self.retries < MAX_RETRIES:
                # The connection is gone but FFmpeg has not given up: start again where she was.
                self.retries += 1
                self._buffering_since = None
                log.warning("stalled for %.0f s; reloading %s", STALL_RETRY_S, self.playable_id)
                self._load(self._last_known_position)
            elif now - self._buffering_since >= STALL_RETRY_S:
                self.error = "stalled"
                self._save()
                self._finish("failed")
        else:
            self._buffering_since = None

    def _adapt(self, now: float, snap: Snapshot) -> None:
        if snap.input_rate_bps and (snap.buffer_s or 0) < 0.8 * self._readahead_s and not snap.end_buffered:
            # Only while mpv is still filling its cache does its input rate measure the line; with a
            # full cache it only reads as fast as the film plays (probes measure the line then).
            self._meter.add_rate(snap.input_rate_bps / 8)
        pairs = self._variant_tracks(snap)
        if len(pairs) < 2:
            return
        if self._abr is None:
            self._abr = AbrController([variant for variant, _, _ in pairs], readahead_s=self._readahead_s)
            current = snap.selected("video")
            self._abr.current = next((v for v, video, _ in pairs if current and video == current.id),
                                     self._abr.current)
        self._maybe_probe(now, snap, pairs)
        estimate = self._meter.estimate_bps
        if estimate:
            self.store.put("bandwidth_bps", repr(round(estimate)))
        choice = self._abr.update(now, throughput_bps=estimate, buffer_s=snap.buffer_s or 0.0,
                                  dropped_frames_total=snap.dropped_frames, playing=not snap.paused,
                                  end_buffered=snap.end_buffered)
        if choice is None:
            return
        log.info("switching to the %d bps variant (buffer %.1f s, network %s bps, dropped %d)", choice.bandwidth,
                 snap.buffer_s or 0, round(estimate) if estimate else None, snap.dropped_frames)
        for variant, video, audio in pairs:
            if variant == choice:
                self.player.select_track("video", video)
                if audio is not None:
                    self.player.select_track("audio", audio)

    def _maybe_probe(self, now: float, snap: Snapshot, pairs: list[tuple[Variant, int, int | None]]) -> None:
        """With a full cache and a better variant above, time one of its segments (probe.py says why)."""
        if self._probe is None or self._probing or now < self._next_probe or self._abr is None:
            return
        higher = [v for v, _, _ in pairs if v.bandwidth > self._abr.current.bandwidth and self._abr.allowed(v)]
        full = (snap.buffer_s or 0) >= 0.8 * self._readahead_s or snap.end_buffered
        log.debug("abr: buffer %.1f s, %d higher variants, estimate %s", snap.buffer_s or 0, len(higher),
                  self._meter.estimate_bps)
        if not higher or not full:
            return
        self._probing = True
        self._next_probe = now + 5.0
        self._probe(self.playable_id, min(higher, key=lambda v: v.bandwidth).uri)

    def _variant_tracks(self, snap: Snapshot) -> list[tuple[Variant, int, int | None]]:
        """Each HLS variant with its mpv video track and audio track.

        FFmpeg's HLS demuxer adds each variant's streams in playlist order, so the n-th video track
        and the n-th audio track belong to the same variant; the master's RESOLUTION (or, failing
        that, the order of sizes) says which variant that is.
        """
        order = lambda t: t.ff_index if t.ff_index is not None else t.id  # noqa: E731
        videos = sorted((t for t in snap.tracks if t.type == "video"), key=order)
        audios = sorted((t for t in snap.tracks if t.type == "audio"), key=order)
        if len(videos) < 2 or not self._ladder:
            return []
        by_size = {v.resolution: v for v in self._ladder if v.resolution}
        ranked = sorted(self._ladder, key=lambda v: (v.pixels or 0, v.bandwidth))
        ranked_tracks = sorted(videos, key=lambda t: (t.width or 0) * (t.height or 0))
        pairs = []
        for index, video in enumerate(videos):
            variant = by_size.get((video.width, video.height)) if video.width and video.height else None
            if variant is None and len(ranked) == len(videos):
                variant = ranked[ranked_tracks.index(video)]
            if variant is None:
                return []
            audio = audios[index].id if len(audios) == len(videos) else None
            pairs.append((variant, video.id, audio))
        return pairs

    def _save(self, *, watched: bool | None = None) -> None:
        snap = self.player.snapshot()
        duration = snap.duration or self._duration_hint()
        position = snap.position if snap.position is not None else self._last_known_position
        if watched:
            position = duration or position
        self.store.save_progress(self.playable_id, position or 0.0, duration or 0.0, watched=watched)
        self._last_save = self._clock()

    def pause_for_tv(self) -> None:
        """The TV went to standby or to another input: pause and save; she resumes with OK."""
        if self.phase == "playing":
            self.player.set_pause(True)
            self._save()
            self._toast = (self.ui.strings("player.tv_back"), self._clock() + 3600)
            self.dirty = True

    def shutdown(self) -> None:
        """The launcher is exiting: keep her place."""
        if self.phase in ("playing", "starting"):
            self._save()
        self.player.stop()

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
                                 snap.duration or self._duration_hint())

    def _show_osd_thumbnail(self, osd: OsdSpace, seek: float | None, duration: float) -> None:
        """Handover: the frame at the seek target, framed in yellow above the title, as in ``_draw_info``."""
        crop = self._thumbs.at(seek) if self._thumbs is not None and seek is not None and duration else None
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
        duration = snap.duration or self._duration_hint()
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
        following = self._next_episode()
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
        snap = self.player.snapshot()
        video = snap.selected("video")
        sub = snap.selected("sub")
        bitrate = next((v.bandwidth for v, track, _ in self._variant_tracks(snap) if video and track == video.id),
                       video.bitrate if video else None)
        return {
            "title": self.title.id,
            "playable": self.playable_id,
            "phase": self.phase,
            "position": round(snap.position, 2) if snap.position is not None else None,
            "duration": round(snap.duration, 2) if snap.duration else None,
            "paused": snap.paused,
            "buffering": snap.buffering,
            "variant": {"track": video.id, "bitrate": bitrate, "height": video.height} if video else None,
            "input_bps": round(snap.input_rate_bps) if snap.input_rate_bps else None,
            "buffer_s": round(snap.buffer_s, 2) if snap.buffer_s is not None else None,
            "subtitle": {"track": sub.id, "lang": sub.lang, "title": sub.title} if sub else None,
            "subtitle_tracks": len([t for t in snap.tracks if t.type == "sub"]),
            "sub_delay": round(snap.sub_delay, 3),
            "sub_text": snap.sub_text,
            "dropped_frames": snap.dropped_frames,
            "hwdec": snap.hwdec,
            # Worked out here, not from the last painted overlay: the phase may have changed since.
            "countdown": (max(0, int(self._countdown_until - self._clock()) + 1)
                          if self.phase == "countdown" else None),
            "notice": self._toast[0] if self._toast else None,
            "legend": self._clock() < self._legend_until,
            "seek_target": self._seek_target,
            "thumbnail": self._seek_target is not None and self._thumbnail_at(self._seek_target) is not None,
            "retries": self.retries,
            "error": self.error,
        }


def thumbnail_size(tile: tuple[int, int]) -> tuple[int, int]:
    """A seek thumbnail's size on a 1920x1080 screen: twice the tile so it reads from the sofa, but
    never more than a quarter of the width, whatever size of tile a catalog brings."""
    factor = min(2.0, MAX_THUMB[0] / tile[0], MAX_THUMB[1] / tile[1])
    return max(1, round(tile[0] * factor)), max(1, round(tile[1] * factor))
