"""Get every subtitle of a title onto disk as UTF-8 WebVTT, off the launcher's main loop.

Two sources: the catalog's sidecar files (WebVTT, SRT or SAMI, in UTF-8, UTF-16 or CP949) and the
WebVTT renditions declared in the HLS master, which libmpv with Debian's FFmpeg does not load by
itself. Each finished file is announced with a ``SubtitleReady`` posted to the launcher.
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
from piclient.player.messages import LadderReady, SubtitleReady

log = logging.getLogger(__name__)

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
TIMEOUT_S = 10.0
TOTAL_TIME_FACTOR = 6  # a wall-clock limit on top of requests' per-read timeout




def fetch_all(playable_id: str, stream_url: str, sidecars: Iterable[Subtitle], directory: Path,
              post: Callable[[object], None], start_time: Callable[[], float | None] = lambda: 0.0,
              session: requests.Session | None = None) -> int:
    """Returns how many subtitle files were announced. Never raises: a missing subtitle is a log line.

    ``start_time`` gives mpv's demuxer-start-time once known: HLS renditions are timed on the
    transport stream's clock, and mpv's time-pos starts at that value.
    """
    session = session or requests.Session()
    announced = 0
    seen_languages: set[str] = set()
    for sub in sidecars:
        try:
            data = _get(session, sub.url)
            text = subtitles.convert(data, hint=sub.url, language=sub.language)
        except Exception as exc:
            log.warning("subtitle %s for %s left out: %s", sub.url, playable_id, exc)
            continue
        path = _store(directory, playable_id, sub.url, text)
        post(SubtitleReady(playable_id, str(path), sub.language, sub.label or sub.language))
        seen_languages.add(sub.language)
        announced += 1
    try:
        master = hls.fetch_master(stream_url, session, TIMEOUT_S)
    except Exception as exc:
        log.warning("HLS master of %s not read for subtitles: %s", playable_id, exc)
        return announced
    post(LadderReady(playable_id, tuple(master.variants)))
    pending = [r for r in master.subtitles if r.language not in seen_languages]  # sidecars win
    offset = _wait_for(start_time) if pending else 0.0
    for rendition in pending:
        try:
            cues = hls.fetch_subtitle_rendition(rendition, session, TIMEOUT_S, video_start_pts=offset)
            text = subtitles.to_webvtt(cues)
        except Exception as exc:
            log.warning("subtitle rendition %s of %s left out: %s", rendition.uri, playable_id, exc)
            continue
        path = _store(directory, playable_id, rendition.uri, text)
        post(SubtitleReady(playable_id, str(path), rendition.language or "und", rendition.name or rendition.language))
        seen_languages.add(rendition.language)
        announced += 1
    return announced


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


def _store(directory: Path, playable_id: str, source: str, text: str) -> Path:
    # The name comes from a hash, never from the URL or the catalog's ids as they are.
    digest = hashlib.sha256(f"{playable_id}\n{source}".encode()).hexdigest()[:24]
    path = directory / f"{digest}.vtt"
    atomic_write(path, text)
    return path
