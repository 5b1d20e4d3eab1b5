"""One film's playback, start to end: everything the viewer never has to think about.

The session loads the stream where she stopped, keeps her place (every 10 s and on every way out),
adapts the HLS variant to the line and the decoder (abr.py, with probes of a better variant), fetches
subtitles and seek thumbnails in the background, gives the device token only to the server's media,
starts the next episode after a countdown, and watches for a picture that stands still while it should
play (stall.py): it reloads where she was, then tries a lower variant, and only then gives up calmly.

The player screen maps buttons to the actions here and paints what ``status()`` and the properties say;
nothing in this module draws or knows about pygame. Time comes from an injected clock, so the rules
are tested without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from piclient.catalog import Episode, Subtitle, Title
from piclient.player.abr import AbrController, BandwidthMeter
from piclient.player.api import Media, Player, PlayerEvent, Snapshot, Track
from piclient.player.hls import Variant
from piclient.player.languages import same_language, same_tag
from piclient.player.messages import LadderReady, ProbeResult, SubtitleReady, ThumbnailsReady
from piclient.player.stall import StallTuning, StallWatcher
from piclient.protocol import NowPlaying, Rendition, SubtitleTrack
from piclient.state import StateStore

log = logging.getLogger(__name__)

SAVE_EVERY_S = 10.0
COUNTDOWN_S = 10.0
ABR_EVERY_S = 1.0
MAX_RETRIES = 2  # reconnections after mpv itself gave up on a stream that had played
START_TIMEOUT_S = 30.0  # longer than mpv's network timeout (15 s), so its own error comes first
RECOVERED_AFTER_S = 30.0  # this long playing after a stall recovery, and a new stall starts the ladder again
DEFAULT_START_BITRATE = 3_000_000  # until a film has measured the line: about 720p
MAX_SWITCH_LOG = 20

Notify = Callable[..., None]
# (playable id, stream URL, sidecar subtitles, mpv's start time, whether the film is still on)
PrepareSubtitles = Callable[[str, str, tuple[Subtitle, ...], Callable[[], float | None], Callable[[], bool]], None]


class PlaybackSession:
    """``update(now)`` from the launcher's frame loop; the ``*_ready``/``player_event`` methods from
    its inbox (the worker threads and libmpv only post). ``on_finished(outcome)`` says it is over:
    "watched", "stopped" or "failed". ``notify(kind, **values)`` tells the screen something worth a
    line on screen ("resuming", start=...)."""

    def __init__(self, player: Player, store: StateStore, title: Title, episode: Episode | None, start: float, *,
                 readahead_s: float = 60,
                 prepare_subtitles: PrepareSubtitles,
                 on_finished: Callable[[str], None],
                 notify: Notify = lambda kind, **values: None,
                 probe: Callable[[str, str], None] | None = None,
                 http_headers: Callable[[str], dict[str, str]] = lambda url: {},
                 fetch_thumbnails: Callable[[str, str], None] | None = None,
                 stall_tuning: StallTuning | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.player = player
        self.store = store
        self.title = title
        self.episode = episode
        self._prepare_subtitles = prepare_subtitles
        self._on_finished = on_finished
        self._notify = notify
        self._probe = probe
        self._http_headers = http_headers
        self._fetch_thumbnails = fetch_thumbnails
        self._clock = clock
        self._wall = wall
        self.started_at = wall()  # for the maintainer: a reconnect keeps it, the next episode starts anew
        self._readahead_s = readahead_s
        self.phase = "starting"  # starting | playing | countdown | done
        self.error: str | None = None
        self.retries = 0
        self.recoveries = 0  # steps taken on the current stall: 1 reloaded, 2 went lower, then it gives up
        self.thumbs: Any = None  # a ThumbnailTrack once loaded (the screen draws from it)
        self.sub_delay = 0.0
        self._abr: AbrController | None = None
        self._meter = BandwidthMeter()
        self._ladder: tuple[Variant, ...] = ()
        self._ceiling: int | None = None  # variants at or above this bandwidth stalled in this film
        self._playing_bandwidth: int | None = None  # the variant last seen playing, kept across reloads
        self._segment_problem: str | None = None
        self._probing = False
        self._next_probe = 0.0
        self._next_abr = 0.0
        self._last_save = clock()
        self._countdown_until = 0.0
        self._last_known_position = start
        self._known_duration: float | None = None
        self._load_started = clock()
        self._stall = StallWatcher(stall_tuning)
        self._recovered_at: float | None = None
        self.switches: list[dict[str, Any]] = []  # the recent variant switches, for the maintainer
        self._sub_loaded: set[str] = set()
        self._sub_selected = False
        self._sub_chosen: str | None = None
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

    def duration_hint(self) -> float:
        return (self.episode.duration if self.episode else self.title.duration) or 0.0

    def duration(self, snap: Snapshot | None = None) -> float:
        """The film's length as best known: mpv's, the longest mpv reported, or the catalog's."""
        snap = snap or self.player.snapshot()
        return snap.duration or self._known_duration or self.duration_hint()

    def next_episode(self) -> Episode | None:
        if self.episode is None:
            return None
        episodes = self.title.episodes
        ids = [ep.id for ep in episodes]
        index = ids.index(self.episode.id) if self.episode.id in ids else -1
        return episodes[index + 1] if 0 <= index < len(episodes) - 1 else None

    def _load(self, start: float, *, max_bitrate: int | None = None, announce: bool = True) -> None:
        self.phase = "starting"
        self._sub_loaded.clear()
        self._sub_selected = False
        self._sub_chosen = None
        self._abr = None  # the ladder stays: a reload plays the same master
        self.thumbs = None
        self._known_duration = None
        if max_bitrate is None:
            estimate = self.store.get("bandwidth_bps")
            max_bitrate = int(float(estimate) * 0.7) if estimate else DEFAULT_START_BITRATE
            if self._ceiling is not None:
                max_bitrate = min(max_bitrate, self._ceiling - 1)
        self.player.load(Media(self.stream_url, self.playable_id, start=start, max_bitrate=max_bitrate,
                               http_headers=self._http_headers(self.stream_url)))
        self._load_started = self._clock()
        self._stall.reset(self._load_started)
        if start > 1 and announce:
            self._notify("resuming", start=start)
        delay = self.store.get(f"sub_delay:{self.title.id}")
        self.sub_delay = float(delay) if delay else 0.0
        self.player.set_sub_delay(self.sub_delay)

    # -- events from the player and from the worker threads -------------------------------------

    def player_event(self, event: PlayerEvent) -> None:
        if event.kind == "loaded":
            self.phase = "playing"
            self._stall.reset(self._clock())
            subtitles = self.episode.subtitles if self.episode else self.title.subtitles
            self._prepare_subtitles(self.playable_id, self.stream_url, subtitles, self._start_time,
                                    self._still_playing(self.playable_id))
            thumbnails = self.episode.thumbnails if self.episode else self.title.thumbnails
            if thumbnails and self._fetch_thumbnails is not None and self.thumbs is None:
                self._fetch_thumbnails(self.playable_id, thumbnails)
        elif event.kind == "ended":
            self._ended(event.detail.get("reason", "stopped"), event.detail.get("error"))
        elif event.kind == "display_failed":
            self._display_failed(str(event.detail.get("error") or "no reason given"))

    def _still_playing(self, playable_id: str) -> Callable[[], bool]:
        """For the subtitle worker: whether this film is still on (it stops reading growing playlists)."""
        return lambda: self.phase != "done" and self.playable_id == playable_id

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
            self.thumbs = item.track

    def ladder_ready(self, item: LadderReady) -> None:
        if item.playable_id != self.playable_id:
            return
        self._ladder = item.variants
        if item.segment_problem:
            self._segment_problem = item.segment_problem  # logged by the worker that found it

    def subtitle_ready(self, item: SubtitleReady) -> None:
        if item.playable_id != self.playable_id:
            return
        if item.path in self._sub_loaded:
            if item.updated:
                self.player.reload_subtitle(item.path)  # a growing playlist brought more lines
            return
        self._sub_loaded.add(item.path)
        select = not self._sub_selected and item.select  # subtitle_choice's pick for her language
        self._sub_selected = self._sub_selected or select
        if select:
            self._sub_chosen = item.language  # what subtitles_as_before goes back to
        self.player.add_subtitle(item.path, item.language, item.label, select=select)

    def _ended(self, reason: str, error: Any) -> None:
        if self.phase in ("done", "countdown"):
            return
        cut_short = reason == "eof" and bool(self._ended_early() or self._segment_problem)
        if cut_short:
            # FFmpeg skips segments it cannot fetch (or refuses) and then reports a normal end: a film
            # that "ends" long before its playlist does lost its segments, it was not watched. With
            # segments FFmpeg refuses, mpv may even play the first one as a file of its own, whose
            # end looks like the film's.
            reason = "error"
            error = self._segment_problem or (
                f"stream ended early at {self._last_known_position:.1f} s of {self.duration():.1f} s "
                "(segments missing)")
        if reason == "eof":
            self._save(watched=True)
            if self.next_episode() is not None:
                self.phase = "countdown"
                self._countdown_until = self._clock() + COUNTDOWN_S
            else:
                self._finish("watched")
            return
        if reason == "error":
            log.warning("playback of %s failed: %s (%s)", self.playable_id, error, self.stream_url)
            # A stream that played before and broke (network) can come back; one that never loaded
            # (404, garbage playlist) or that FFmpeg refuses will not, so she is not kept waiting.
            if self.phase == "playing" and self.retries < MAX_RETRIES and self._segment_problem is None:
                self.retries += 1
                log.info("reconnecting %s at %.0f s (try %d)", self.playable_id, self._last_known_position,
                         self.retries)
                self._load(self._last_known_position)
                return
            self.error = str(error or "playback failed")
            # A stream cut short is not watched, however near its end mpv's own clock came.
            self._save(watched=False if cut_short else None)
            self._finish("failed")

    def _display_failed(self, reason: str) -> None:
        """mpv could not open the screen (hand-over): it would play on with sound only over a black
        TV. A retry would meet the same screen, so the film ends at once, her place kept."""
        if self.phase == "done":
            return
        self.error = f"the film could not take the screen: {reason}"
        log.error("playback of %s stopped: %s", self.playable_id, self.error)
        self._save()
        self._finish("failed")

    def _ended_early(self) -> bool:
        duration = self.duration()
        return bool(duration) and self._last_known_position < 0.9 * duration - 5

    def start_next(self) -> None:
        following = self.next_episode()
        if following is None:
            self._finish("watched")
            return
        self.episode = following
        self.started_at = self._wall()
        self._ladder = ()
        self._playing_bandwidth = None
        self.retries = 0
        self.recoveries = 0
        self._ceiling = None
        self._segment_problem = None
        self._load(0.0)

    def _finish(self, outcome: str) -> None:
        self.phase = "done"
        self.player.stop()
        self._on_finished(outcome)

    # -- actions (the screen maps her buttons to these) ----------------------------------------

    def stop(self) -> None:
        """She pressed BACK or STOP: keep her place and end."""
        if self.phase == "countdown":
            self._finish("stopped")
            return
        self._save()
        self._finish("stopped")

    def set_pause(self, paused: bool, *, save: bool = False) -> None:
        self.player.set_pause(paused)
        if save:
            self._save()

    def seek(self, target: float) -> None:
        self.player.seek(target, absolute=True)
        if self._abr is not None:
            self._abr.seeked()  # the flushed buffer says nothing about the network
        self._last_known_position = target
        self._stall.reset(self._clock())

    def change_sub_delay(self, delta: float) -> float:
        # From its own value, not mpv's: presses in quick succession come before mpv reports the last one.
        value = self.sub_delay = round(self.sub_delay + delta, 3)
        self.player.set_sub_delay(value)
        # The fix belongs to the title: every episode of a series shares the same subtitle source.
        self.store.put(f"sub_delay:{self.title.id}", repr(value))
        return value

    def subtitles_as_before(self) -> None:
        """Back to normal: no subtitle delay, and the subtitle the film started with (or none, if it
        started without)."""
        self.sub_delay = 0.0
        self.player.set_sub_delay(0.0)
        self.store.put(f"sub_delay:{self.title.id}", repr(0.0))
        subs = [t for t in self.player.snapshot().tracks if t.type == "sub"]
        chosen = self._sub_chosen
        first = next((t for t in subs if chosen is not None and same_tag(t.lang, chosen)),
                     next((t for t in subs if chosen is not None and same_language(t.lang, chosen)), None))
        self.player.select_track("sub", first.id if first is not None else None)

    def cycle_track(self, kind: str) -> tuple[bool, Track | None]:
        """The next audio or subtitle track (subtitles end with "off"): (whether any, the one chosen)."""
        snap = self.player.snapshot()
        tracks = [t for t in snap.tracks if t.type == kind]
        if kind == "audio":
            # HLS variants each bring their own audio track; cycle languages, not variants.
            video = snap.selected("video")
            same_variant = [t for t in tracks if video is None or t.bitrate == video.bitrate]
            tracks = same_variant or tracks
        if not tracks:
            return False, None
        current = snap.selected(kind)
        ids: list[int | None] = [t.id for t in tracks] + ([None] if kind == "sub" else [])
        position = ids.index(current.id) if current and current.id in ids else len(ids) - 1
        chosen = ids[(position + 1) % len(ids)]
        self.player.select_track(kind, chosen)
        return True, next((t for t in tracks if t.id == chosen), None)

    def pause_for_tv(self) -> bool:
        """The TV went to standby or to another input: pause and save. True if it paused."""
        if self.phase != "playing":
            return False
        self.player.set_pause(True)
        self._save()
        return True

    def shutdown(self) -> None:
        """The launcher is exiting: keep her place."""
        if self.phase in ("playing", "starting"):
            self._save()
        self.player.stop()

    # -- time passing --------------------------------------------------------------------------

    def update(self, now: float) -> None:
        snap = self.player.snapshot()
        if snap.position is not None:
            self._last_known_position = snap.position
        if snap.duration:
            self._known_duration = max(self._known_duration or 0.0, snap.duration)
        if self.phase == "countdown":
            if now >= self._countdown_until:
                self.start_next()
            return
        if self.phase == "starting" and now - self._load_started >= START_TIMEOUT_S:
            # FFmpeg keeps reconnecting to a server that sends a little now and then: mpv neither
            # loads nor fails, so the start needs a limit of its own.
            self._load_started = now
            self._recover(now, self._last_known_position, snap,
                          f"the stream did not start within {START_TIMEOUT_S:.0f} s")
            return
        if self.phase != "playing":
            return
        if now - self._last_save >= SAVE_EVERY_S:
            self._save()
        if now >= self._next_abr:
            self._next_abr = now + ABR_EVERY_S
            self._adapt(now, snap)
        self._watch_stall(now, snap)

    def countdown_left(self, now: float) -> int | None:
        """Whole seconds until the next episode starts, while the countdown runs."""
        return max(0, int(self._countdown_until - now) + 1) if self.phase == "countdown" else None

    def waiting(self, now: float) -> bool:
        """Whether she should be told to wait: the picture has stood still while it should play, or it is
        being reloaded mid-film (not "starting soon": she was already watching)."""
        if self.phase == "starting":
            return bool(self.recoveries or self.retries)
        return self.phase == "playing" and self._stall.waiting(now)

    def _should_play(self, snap: Snapshot) -> bool:
        return (not snap.paused and not snap.idle and snap.position is not None
                and not (snap.end_buffered and self._near_end(snap)))

    def _near_end(self, snap: Snapshot) -> bool:
        duration = self.duration(snap)
        return bool(duration) and (snap.position or 0.0) >= duration - 1.0

    def _watch_stall(self, now: float, snap: Snapshot) -> None:
        self._stall.observe(now, position=snap.position, buffer_s=snap.buffer_s, should_play=self._should_play(snap))
        if (self.recoveries and self._recovered_at is not None and now - self._recovered_at >= RECOVERED_AFTER_S
                and not self._stall.waiting(now)):
            log.info("%s has played for %.0f s since it stood still; recovered", self.playable_id, RECOVERED_AFTER_S)
            self.recoveries = 0
        if not self._stall.stuck(now):
            return
        position = self._stall.position if self._stall.position is not None else self._last_known_position
        context = f"after {self.switches[-1]['message']}" if self.switches else "with no variant switch"
        self._recover(now, position, snap, f"the picture stood still at {position:.2f} s for "
                      f"{self._stall.still_for(now):.0f} s ({context}; buffering {snap.buffering}, "
                      f"buffer {snap.buffer_s or 0:.1f} s)")

    def _recover(self, now: float, position: float, snap: Snapshot, cause: str) -> None:
        """The next step on a stall: reload where she was, then a lower variant, then give up calmly."""
        self.recoveries += 1
        self._recovered_at = now
        if self.recoveries == 1:
            log.warning("%s: %s; reloading at the same place", self.playable_id, cause)
            self._load(position, announce=False)
        elif self.recoveries == 2:
            current = self._current_bandwidth(snap) or self._playing_bandwidth
            lower = self._lower_bitrate(current)
            if current is not None and lower < current:
                self._ceiling = min(self._ceiling or current, current)  # the ABR must not go back up to it
            log.warning("%s: %s again; reloading a lower variant (at most %d bps)", self.playable_id, cause, lower)
            self._load(position, max_bitrate=lower, announce=False)
        else:
            self.error = f"stalled: {cause}, after a reload and a lower variant"
            log.error("playback of %s gave up: %s (%s)", self.playable_id, self.error, self.stream_url)
            self._save()
            self._finish("failed")

    def _current_bandwidth(self, snap: Snapshot) -> int | None:
        video = snap.selected("video")
        for variant, track, _ in self._variant_tracks(snap):
            if video is not None and track == video.id:
                return variant.bandwidth
        if self._abr is not None:
            return self._abr.current.bandwidth
        return video.bitrate if video is not None else None

    def _lower_bitrate(self, current: int | None) -> int:
        """The cap that makes mpv start on the variant below ``current`` (the lowest if none is below)."""
        ladder = sorted(v.bandwidth for v in self._ladder)
        if ladder:
            below = [b for b in ladder if current is None or b < current]
            return below[-1] if below else ladder[0]
        return max(1, (current or DEFAULT_START_BITRATE) // 2)

    def _adapt(self, now: float, snap: Snapshot) -> None:
        if snap.input_rate_bps and (snap.buffer_s or 0) < 0.8 * self._readahead_s and not snap.end_buffered:
            # Only while mpv is still filling its cache does its input rate measure the line; with a
            # full cache it only reads as fast as the film plays (probes measure the line then).
            self._meter.add_rate(snap.input_rate_bps / 8)
        pairs = self._variant_tracks(snap)
        self._playing_bandwidth = self._current_bandwidth(snap) or self._playing_bandwidth
        if len(pairs) < 2:
            return
        if self._abr is None:
            self._abr = AbrController([variant for variant, _, _ in pairs], readahead_s=self._readahead_s)
            if self._ceiling is not None:
                self._abr.cap(self._ceiling)
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
        message = (f"switching to the {choice.bandwidth} bps variant (buffer {snap.buffer_s or 0:.1f} s, "
                   f"network {round(estimate) if estimate else None} bps, dropped {snap.dropped_frames})")
        log.info("%s", message)
        self.switches.append({"at": round(snap.position or 0.0, 2), "bitrate": choice.bandwidth, "message": message})
        del self.switches[:-MAX_SWITCH_LOG]
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
        duration = self.duration(snap)
        position = snap.position if snap.position is not None else self._last_known_position
        if watched:
            position = duration or position
        self.store.save_progress(self.playable_id, position or 0.0, duration or 0.0, watched=watched)
        self._last_save = self._clock()

    # -- status --------------------------------------------------------------------------------

    def status(self, now: float) -> dict[str, Any]:
        return self.now_playing(now).wire()

    def now_playing(self, now: float) -> NowPlaying:
        """What plays, as the launcher reports it and the heartbeat carries it (piclient/protocol)."""
        snap = self.player.snapshot()
        video = snap.selected("video")
        sub = snap.selected("sub")
        bitrate = next((v.bandwidth for v, track, _ in self._variant_tracks(snap) if video and track == video.id),
                       video.bitrate if video else None)
        if bitrate is None and video and len(self._ladder) == 1:
            # mpv gives no hls-bitrate for a master of one variant, which is what the publish
            # pipeline makes of a source under 540p.
            bitrate = self._ladder[0].bandwidth
        estimate = self._meter.estimate_bps
        return NowPlaying(
            id=self.playable_id,
            title_id=self.title.id,
            title=dict(self.title.title),
            season=self._season_number(),
            episode=self.episode.number if self.episode else None,
            episode_title=dict(self.episode.title) if self.episode else {},
            phase=self.phase,
            started_at=round(self.started_at, 3),
            position=round(snap.position, 2) if snap.position is not None else None,
            duration=round(snap.duration, 2) if snap.duration else None,
            paused=snap.paused,
            buffering=snap.buffering,
            variant=Rendition(track=video.id, bitrate=bitrate, height=video.height) if video else None,
            input_bps=round(snap.input_rate_bps) if snap.input_rate_bps else None,
            buffer_s=round(snap.buffer_s, 2) if snap.buffer_s is not None else None,
            subtitle=SubtitleTrack(track=sub.id, lang=sub.lang, title=sub.title) if sub else None,
            subtitle_tracks=len([t for t in snap.tracks if t.type == "sub"]),
            sub_delay=round(self.sub_delay, 3),  # what it set; mpv reports it a moment later
            sub_text=snap.sub_text,
            dropped_frames=snap.dropped_frames,
            hwdec=snap.hwdec,
            countdown=self.countdown_left(now),
            abr={
                "estimate_bps": round(estimate) if estimate else None,
                # Why it does not step up now: the controller's own inputs, not a guess from outside.
                "up_blocker": self._abr.up_blocker if self._abr is not None else None,
                "switches": [dict(s) for s in self.switches[-5:]],
            },
            stall={"still_s": round(self._stall.still_for(now), 1) if self.phase == "playing" else 0.0,
                   "waiting": self.waiting(now), "recoveries": self.recoveries},
            retries=self.retries,
            error=self.error,
        )

    def _season_number(self) -> int | None:
        if self.episode is None:
            return None
        return next((s.number for s in self.title.seasons if self.episode in s.episodes), None)

