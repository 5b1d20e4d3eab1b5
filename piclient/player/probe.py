"""Measure what the line can carry by timing one segment download of a higher HLS variant.

mpv's raw-input-rate only tells how fast it consumed the stream: once its cache is full it reads
exactly the current variant's bitrate, which says nothing about whether a better one would fit. So
before stepping up, the player fetches one segment of the next variant itself and times it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests

from piclient.player import hls
from piclient.player.messages import ProbeResult

log = logging.getLogger(__name__)

MAX_SEGMENT_BYTES = 20 * 1024 * 1024




def probe_variant(playable_id: str, variant_uri: str, post: Callable[[object], None],
                  session: requests.Session | None = None, timeout: float = 10.0,
                  clock: Callable[[], float] = time.monotonic) -> ProbeResult | None:
    """Download the middle segment of a variant and post how long it took. Never raises."""
    session = session or requests.Session()
    try:
        response = session.get(variant_uri, timeout=timeout)
        response.raise_for_status()
        segments = hls.parse_media_playlist(response.text, response.url)
        if not segments:
            return None
        started = clock()
        nbytes = 0
        with session.get(segments[len(segments) // 2], timeout=timeout, stream=True) as segment:
            segment.raise_for_status()
            for chunk in segment.iter_content(65536):
                nbytes += len(chunk)
                if nbytes > MAX_SEGMENT_BYTES or clock() - started > timeout:
                    break
        result = ProbeResult(playable_id, nbytes, max(clock() - started, 1e-3))
    except (requests.RequestException, hls.PlaylistError) as exc:
        log.info("bandwidth probe of %s failed: %s", variant_uri, exc)
        return None
    post(result)
    return result
