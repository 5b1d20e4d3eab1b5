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
from pathlib import Path

import requests

from piclient.catalog import Subtitle
from piclient.fsutil import atomic_write
from piclient.netio import TooLarge, TooSlow, read_capped
from piclient.player import hls, subtitles
from piclient.player.languages import same_language
from piclient.player.messages import LadderReady, SubtitleReady
from piclient.player.subtitle_choice import SubtitleOption, choose_subtitle

log = logging.getLogger(__name__)

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
TIMEOUT_S = 10.0
TOTAL_TIME_FACTOR = 6  # a wall-clock limit on top of requests' per-read timeout


def fetch_all(playable_id: str, stream_url: str, sidecars: Iterable[Subtitle], directory: Path,
              post: Callable[[object], None], start_time: Callable[[], float | None] = lambda: 0.0,
              session: requests.Session | None = None, *, language: str = "") -> int:
    """Returns how many subtitle files were announced. Never raises: a missing subtitle is a log line.

    ``start_time`` gives mpv's demuxer-start-time once known: HLS renditions are timed on the
    transport stream's clock, and mpv's time-pos starts at that value. ``language`` is the viewer's
    (``player.subtitle_language``): the one track subtitle_choice picks for it is fetched first and
    announced with ``select``; if it cannot be fetched, the rule picks again among the rest.
    """
    session = session or requests.Session()
    listed = list(sidecars)
    sources: list[Subtitle | hls.Rendition] = list(listed)
    try:
        master = hls.fetch_master(stream_url, session, TIMEOUT_S)
    except Exception as exc:
        log.warning("HLS master of %s not read for subtitles: %s", playable_id, exc)
    else:
        post(LadderReady(playable_id, tuple(master.variants)))
        sources += master.subtitles
    failed: list[Subtitle] = []
    offset: list[float] = []  # mpv's start time, asked for once, when the first rendition needs it
    announced = 0
    chosen_done = False
    while candidates := [s for s in sources if not _shadowed(s, listed, failed)]:
        best = None if chosen_done else choose_subtitle([_option(s) for s in candidates], language)
        source = candidates[best if best is not None else 0]
        sources.remove(source)
        path = _fetch_one(playable_id, source, directory, start_time, offset, session)
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
    return announced


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
               session: requests.Session) -> Path | None:
    """The converted file on disk, or None (logged) when it cannot be had."""
    if isinstance(source, hls.Rendition):
        if not offset:
            offset.append(_wait_for(start_time))
        try:
            cues = hls.fetch_subtitle_rendition(source, session, TIMEOUT_S, video_start_pts=offset[0])
            text = subtitles.for_player(cues)
        except Exception as exc:
            log.warning("subtitle rendition %s of %s left out: %s", source.uri, playable_id, exc)
            return None
        return _store(directory, source.uri, source.language, text)
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
