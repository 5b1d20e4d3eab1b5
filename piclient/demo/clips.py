"""Short generated clips published as titles, for the tests and the benchmarks.

The player is tested on what the packager really produces: a clip is made the way the demo makes
its films (``piclient.demo.sources``: a picture with a label and a running clock, a tone, an SRT per
language) and then goes through ``piclient.publish.pipeline`` like any film of the maintainer's:
probe, the H.264/AAC rungs the source's size earns, WebVTT renditions and sidecars, poster, seek
thumbnails, the catalog entry. Only the x264 preset is the fastest, as for the demo library.

The sources stay in ``<library>/.sources/`` (hidden: the server never serves it). They are MKV files
with silent PCM sound: the artefacts of an AAC source, or a tone, would cost each rung's sound encode
several times over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from piclient.demo.sources import SIZE, Cue, make_film, write_srt
from piclient.publish.pipeline import Request, Result, publish, slug

SOURCES = ".sources"
PRESET = "ultrafast"  # the flat and test-pattern frames of a clip need no more
# The smallest source that earns two rungs (360p, and a "540p" at the source's own 864x486), for tests
# of switching between them.
TWO_RUNGS = (864, 486)


def publish_clip(library: Path, *, seconds: float, label: str, color: str | None = None,
                 size: tuple[int, int] = SIZE, cues: Mapping[str, Sequence[Cue]] | None = None,
                 check_playback: bool = False, **details: Any) -> Result:
    """Make a clip of ``seconds`` and publish it into ``library``; return the pipeline's result.

    ``color`` is a flat background (``None``: the moving test pattern); ``cues`` maps a language to its
    lines, each written as an SRT the pipeline reads like any subtitle file, the first language being
    the default. ``details`` are the other fields of ``piclient.publish.pipeline.Request`` (``title_en``,
    ``title_ko``, ``series``, ``episode``, ...): they name the title as they would for a real film.
    ``check_playback`` is the pipeline's libmpv decode; off by default, since the tests play it anyway.
    """
    sources = Path(library) / SOURCES
    sources.mkdir(parents=True, exist_ok=True)
    stem = _stem(details)
    # Silent: no test listens, and each rung's AAC encode of a tone would cost five times as much.
    film = make_film(sources / f"{stem}.mkv", seconds=seconds, label=label, color=color, size=size, tone=False)
    subtitles = tuple(write_srt(sources / f"{stem}.{language}.srt", lines) for language, lines in (cues or {}).items())
    return publish(Request(film=film, library=Path(library), subtitles=subtitles,
                           subtitle_languages=tuple(cues or ()), preset=PRESET,
                           check_playback=check_playback, **details))


def _stem(details: Mapping[str, Any]) -> str:
    if details.get("series"):
        return f"{slug(details['series'])}-s{details.get('season', 1):02d}e{details.get('episode', 0):02d}"
    return slug(details.get("title_en") or details.get("title_ko") or "clip")


def publish_clips(library: Path, clips: Sequence[Mapping[str, Any]], *, workers: int | None = None) -> list[Result]:
    """``publish_clip`` for each set of arguments in ``clips``, a few at a time; results in the same order.

    The pipeline takes the catalog's lock for its last step, so clips published side by side all land.
    """
    with ThreadPoolExecutor(max_workers=workers or min(len(clips), os.cpu_count() or 2) or 1) as pool:
        jobs = [pool.submit(publish_clip, library, **clip) for clip in clips]
        return [job.result() for job in jobs]
