"""The last check before the catalog names a film: it plays, and everything it points at is there.

The package is served over HTTP on 127.0.0.1 exactly as the box will fetch it (relative URLs and all),
every playlist, segment and subtitle URL is fetched or asked for, and libmpv (the box's own player)
decodes a few seconds at the start, the middle and the end. An encode that ffmpeg finished but that
does not play is caught here, not by her.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from piclient.player import hls
from piclient.player.subtitles import SubtitleError, parse_subtitles
from piclient.publish.errors import PublishError

if TYPE_CHECKING:
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media, PlayerEvent

PLAY_S = 1.5  # of decoded film at each point
POINT_TIMEOUT_S = 60.0  # a loaded machine decodes slowly; a broken stream fails long before this
Clock = Callable[[], float]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (a free port); yields the base URL, ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="publish-verify-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def check_urls(master_url: str, sidecars: list[str], session: requests.Session) -> int:
    """Fetch every playlist and ask for every segment; returns how many URLs answered."""
    try:
        master = hls.fetch_master(master_url, session)
    except hls.PlaylistError as exc:
        raise PublishError("the finished master playlist cannot be read back", detail=str(exc)) from None
    checked = 1
    for playlist_url in [v.uri for v in master.variants] + [r.uri for r in master.subtitles]:
        response = session.get(playlist_url, timeout=10)
        if response.status_code != 200:
            raise PublishError(f"{_tail(playlist_url)} is listed in the master playlist but missing")
        try:
            parts = hls.parse_media_playlist(response.text, response.url)
        except hls.PlaylistError as exc:
            raise PublishError(f"{_tail(playlist_url)} is not a playlist", detail=str(exc)) from None
        if not parts:
            raise PublishError(f"{_tail(playlist_url)} has no segments")
        for part in parts:
            if session.head(part, timeout=10).status_code != 200:
                raise PublishError(f"{_tail(part)} is listed in {_tail(playlist_url)} but missing")
        checked += 1 + len(parts)
    for url in sidecars:
        response = session.get(url, timeout=10)
        try:
            response.raise_for_status()
            if not parse_subtitles(response.content.decode("utf-8"), url):
                raise SubtitleError("no lines")
        except (requests.RequestException, UnicodeDecodeError, SubtitleError) as exc:
            raise PublishError(f"subtitle {_tail(url)} does not read back", detail=str(exc)) from None
        checked += 1
    return checked


def _tail(url: str) -> str:
    return "/".join(url.split("/")[-2:])


def play_points(master_url: str, duration: float, *, clock: Clock = time.monotonic) -> list[float]:
    """Decode ``PLAY_S`` seconds at the start, middle and end with libmpv; the points checked."""
    # libmpv only when a film is really checked: importing this module must not need it.
    try:
        from piclient.player._mpv import MpvPlayer
        from piclient.player.api import Media
    except (ImportError, OSError) as exc:
        raise PublishError("the check by playing needs libmpv (Debian package libmpv2)", detail=str(exc)) from None

    events: queue.Queue[PlayerEvent] = queue.Queue()
    player = MpvPlayer(output="embedded", audio_output="null", hwdec="no", readahead_s=5,
                       on_event=events.put)
    points = [0.0, duration / 2, max(0.0, duration - PLAY_S - 1.0)]
    try:
        for start in points:
            _play_at(player, Media(master_url, "publish-check", start=start), events, clock)
    finally:
        player.close()
    return points


def _play_at(player: MpvPlayer, media: Media, events: queue.Queue[PlayerEvent], clock: Clock) -> None:
    player.load(media)
    start = media.start
    deadline = clock() + POINT_TIMEOUT_S
    frames = 0
    first: float | None = None
    while clock() < deadline:
        try:
            event = events.get(timeout=0.05)
        except queue.Empty:
            event = None
        if event is not None and event.kind == "ended":
            detail = event.detail
            if detail.get("reason") == "error":
                raise PublishError(f"the film does not play at {start:.0f} s", detail=str(detail.get("error")))
            if frames >= 2:
                return  # the end of the film reached with pictures decoded on the way
            raise PublishError(f"the film ended at {start:.0f} s before showing a picture")
        if player.poll_frame((64, 36)):
            frames += 1
        position = player.snapshot().position
        if position is not None and frames:
            first = position if first is None else first
            if position - first >= PLAY_S and frames >= 2:
                player.stop()
                _drain(events)
                return
    raise PublishError(f"the film did not play at {start:.0f} s within {POINT_TIMEOUT_S:.0f} s "
                       f"({frames} pictures decoded)")


def _drain(events: queue.Queue[PlayerEvent]) -> None:
    # The "ended: stopped" of the stop above must not be read as the next point's ending.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.1)
        except queue.Empty:
            continue
        if event.kind == "ended":
            return
