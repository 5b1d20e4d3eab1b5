"""Get every subtitle of a title onto disk in the form mpv reads best, off the launcher's main loop.

Two sources: the catalog's sidecar files (WebVTT, SRT or SAMI, in UTF-8, UTF-16, CP949 or
Windows-1252) and the WebVTT renditions declared in the HLS master, which libmpv with Debian's FFmpeg
does not load by itself. Each finished file is announced with a ``SubtitleReady`` posted to the
launcher; the one subtitle_choice picks for her language comes first and carries ``select``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from piclient.catalog import Subtitle
from piclient.fsutil import atomic_write
from piclient.netio import TooLarge, TooSlow, read_capped
from piclient.player import hls, subtitles
from piclient.player.languages import same_language
from piclient.player.messages import LadderReady, SubtitleReady
from piclient.player.subtitle_choice import SubtitleOption, choose_subtitle
from piclient.player.subtitles import normalise

log = logging.getLogger(__name__)

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
TIMEOUT_S = 10.0
TOTAL_TIME_FACTOR = 6  # a wall-clock limit on top of requests' per-read timeout
# A growing (EVENT or live) subtitle playlist is read again about once a target duration, within these.
LIVE_MIN_WAIT_S = 2.0
LIVE_MAX_WAIT_S = 10.0
LIVE_IDLE_LIMIT_S = 600.0  # no new segment for ten minutes: the event is over without saying so
LIVE_MAX_READS = 6 * 3600 // 2  # six hours at the quickest pace: longer than any film


def fetch_all(playable_id: str, stream_url: str, sidecars: Iterable[Subtitle], directory: Path,
              post: Callable[[object], None], start_time: Callable[[], float | None] = lambda: 0.0,
              session: requests.Session | None = None, *, language: str = "",
              still_playing: Callable[[], bool] = lambda: True, sleep: Callable[[float], None] = time.sleep) -> int:
    """Returns how many subtitle files were announced. Never raises: a missing subtitle is a log line.

    ``start_time`` gives mpv's demuxer-start-time once known: HLS renditions are timed on the
    transport stream's clock, and mpv's time-pos starts at that value. ``language`` is the viewer's
    (``player.subtitle_language``): the one track subtitle_choice picks for it is fetched first and
    announced with ``select``; if it cannot be fetched, the rule picks again among the rest.
    A rendition whose playlist is still growing (EVENT or live) is read again while
    ``still_playing()`` says the film is on (see ``_follow``); ``sleep`` is the wait between readings.
    """
    session = session or requests.Session()
    listed = list(sidecars)
    sources: list[Subtitle | hls.Rendition] = list(listed)
    try:
        master = hls.fetch_master(stream_url, session, TIMEOUT_S)
    except Exception as exc:
        log.warning("HLS master of %s not read for subtitles: %s", playable_id, exc)
    else:
        problem = hls.segment_problem(master, session, TIMEOUT_S)
        if problem:
            log.error("%s cannot play to its end: %s", playable_id, problem)
        post(LadderReady(playable_id, tuple(master.variants), problem))
        sources += master.subtitles
    failed: list[Subtitle] = []
    offset: list[float] = []  # mpv's start time, asked for once, when the first rendition needs it
    announced = 0
    growing: list[_Growing] = []
    chosen_done = False
    while candidates := [s for s in sources if not _shadowed(s, listed, failed)]:
        best = None if chosen_done else choose_subtitle([_option(s) for s in candidates], language)
        source = candidates[best if best is not None else 0]
        sources.remove(source)
        path = _fetch_one(playable_id, source, directory, start_time, offset, session, growing)
        if path is None:
            if isinstance(source, Subtitle):
                failed.append(source)
            continue
        select = best is not None
        chosen_done = chosen_done or select
        if isinstance(source, hls.Rendition):
            message = SubtitleReady(playable_id, str(path), source.language or "und",
                                    source.name or source.language, select=select)
        else:
            message = SubtitleReady(playable_id, str(path), source.language, source.label or source.language,
                                    select=select)
        post(message)
        announced += 1
        if growing and growing[-1].path == path:
            growing[-1].message = message
    if growing:
        _follow(growing, session, post, offset[0] if offset else 0.0, still_playing, sleep)
    return announced


@dataclass
class _Growing:
    """A rendition whose playlist had no ENDLIST when it was read: what was read, and where it went."""

    rendition: hls.Rendition
    path: Path
    read: hls.RenditionRead
    message: SubtitleReady | None = None
    idle_s: float = 0.0


def _follow(growing: list[_Growing], session: requests.Session, post: Callable[[object], None], offset: float,
            still_playing: Callable[[], bool], sleep: Callable[[float], None]) -> None:
    """Read growing renditions again, about once a target duration, and announce each file that grew.

    Bounded: it stops at ENDLIST, when the film is no longer playing, after ``LIVE_IDLE_LIMIT_S``
    without a new segment, and after ``LIVE_MAX_READS`` readings in all.
    """
    growing = [g for g in growing if g.message is not None]
    for _ in range(LIVE_MAX_READS):
        if not growing or not still_playing():
            return
        pause = min(max(LIVE_MIN_WAIT_S, min(g.read.target_duration for g in growing)), LIVE_MAX_WAIT_S)
        sleep(pause)
        if not still_playing():
            return
        for item in list(growing):
            try:
                read = hls.read_subtitle_rendition(item.rendition, session, TIMEOUT_S, video_start_pts=offset,
                                                   already=item.read.segments)
            except Exception as exc:
                log.info("growing subtitle rendition %s not read again: %s", item.rendition.uri, exc)
                read = hls.RenditionRead([], item.read.segments, False, item.read.target_duration)
            cues = normalise(item.read.cues + read.cues) if read.cues else item.read.cues
            item.read = hls.RenditionRead(cues, read.segments, read.ended, read.target_duration)
            if read.cues and item.message is not None:
                item.idle_s = 0.0
                # The same file, so mpv's sub-reload finds it (a later cue that needs ASS keeps the suffix:
                # mpv reads the file by its content).
                atomic_write(item.path, subtitles.for_player(cues))
                post(replace(item.message, updated=True))
            else:
                item.idle_s += pause
            if read.ended or item.idle_s >= LIVE_IDLE_LIMIT_S:
                growing.remove(item)
    log.info("stopped reading growing subtitles after %d readings", LIVE_MAX_READS)


def _shadowed(source: Subtitle | hls.Rendition, listed: list[Subtitle], failed: list[Subtitle]) -> bool:
    """A rendition in the language of a catalog file is left out while that file may still come: the
    family's own file wins. A forced rendition (signs only) is another kind of track and stays."""
    if not isinstance(source, hls.Rendition) or source.forced:
        return False
    return any(same_language(source.language, sub.language) and all(sub is not f for f in failed)
               for sub in listed)


def _option(source: Subtitle | hls.Rendition) -> SubtitleOption:
    return source.option if isinstance(source, hls.Rendition) else SubtitleOption(source.language)


def _fetch_one(playable_id: str, source: Subtitle | hls.Rendition, directory: Path,
               start_time: Callable[[], float | None], offset: list[float],
               session: requests.Session, growing: list[_Growing]) -> Path | None:
    """The converted file on disk, or None (logged) when it cannot be had. A rendition that can still
    grow is added to ``growing``."""
    if isinstance(source, hls.Rendition):
        if not offset:
            offset.append(_wait_for(start_time))
        try:
            read = hls.read_subtitle_rendition(source, session, TIMEOUT_S, video_start_pts=offset[0])
            text = subtitles.for_player(read.cues)
        except Exception as exc:
            log.warning("subtitle rendition %s of %s left out: %s", source.uri, playable_id, exc)
            return None
        path = _store(directory, source.uri, source.language, text)
        if not read.ended:
            growing.append(_Growing(source, path, read))
        return path
    try:
        data = _get(session, source.url)
        text = subtitles.convert(data, hint=source.url, language=source.language)
    except Exception as exc:
        log.warning("subtitle %s for %s left out: %s", source.url, playable_id, exc)
        return None
    return _store(directory, source.url, source.language, text)


def _wait_for(start_time: Callable[[], float | None], timeout_s: float = 5.0) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = start_time()
        if value is not None:
            return value
        time.sleep(0.05)
    log.warning("mpv did not report its start time; HLS subtitles may be slightly off")
    return 0.0


def _get(session: requests.Session, url: str) -> bytes:
    with session.get(url, timeout=TIMEOUT_S, stream=True) as response:
        response.raise_for_status()
        try:
            return read_capped(response, MAX_SUBTITLE_BYTES, TIMEOUT_S * TOTAL_TIME_FACTOR)
        except TooLarge:
            raise ValueError("subtitle file larger than 5 MB") from None
        except TooSlow:
            raise ValueError("subtitle download took too long") from None


def _store(directory: Path, source: str, language: str, text: str) -> Path:
    # One file per (URL, language): a SAMI file with Korean and English classes, listed once per
    # language, converts to two different files. The name is a hash, never the URL as it is.
    digest = hashlib.sha256(f"{source}\n{language}".encode()).hexdigest()[:24]
    path = directory / f"{digest}{subtitles.suffix(text)}"
    atomic_write(path, text)
    return path
