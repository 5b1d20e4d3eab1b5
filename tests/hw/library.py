"""The films of the hardware tests, made on the host before the VM boots (ffmpeg is slow in emulation).

They go through the publish pipeline, as the maintainer's real films do: a source film and an SRT
become an H.264 HLS rung, WebVTT subtitles, a poster and seek thumbnails, named in the catalog. The
sources are small on purpose (320x180: the pipeline keeps a source below 360p at its own size): the
guest decodes and draws them in software on an emulated CPU.

The library only changes when this file or the code that makes it does, so it is kept between runs
(``cached_library``) and costs nothing on an unchanged tree.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import piclient.demo.sources
import piclient.publish
from piclient.demo.sources import make_film, write_srt
from piclient.publish import catalog_file
from piclient.publish.pipeline import Request, publish

LONG = "long"  # two minutes with a subtitle throughout and seek thumbnails: the film the tests watch
SHORT = "short"  # two seconds: the film played to its end (five times: software decoding and drawing
# in emulation play it at a third of its speed when the machine is loaded)
SIZE = (320, 180)
# Every frame is decoded and drawn (llvmpipe) on the emulated CPU: 10 a second instead of 25 let
# the films play nearer their own speed on the loaded machine.
FPS = 10
LONG_SECONDS = 120.0
SHORT_SECONDS = 2.0
EXTRAS = 12  # more titles on the short film's stream, so the grid has rows like hers
SUBTITLE = "해가 떠요"
READY = ".ready"


def prepare(root: Path) -> Path:
    """Make the library in ``root`` (emptied first); return its catalog."""
    shutil.rmtree(root, ignore_errors=True)
    sources = root / ".sources"
    sources.mkdir(parents=True)
    long_film = make_film(sources / "long.mp4", seconds=LONG_SECONDS, label="긴 영화\nlong", color="navy", size=SIZE,
                           fps=FPS)
    long_subs = write_srt(sources / "long.ko.srt", [(0.5, LONG_SECONDS - 10, SUBTITLE)])
    short_film = make_film(sources / "short.mp4", seconds=SHORT_SECONDS, label="짧은 영화\nshort",
                           color="darkgreen", size=SIZE, fps=FPS)
    # check_playback off: the pipeline's libmpv check plays every title on the host, and the VM's
    # tests play them anyway, on the player that matters.
    common: dict[str, Any] = {"library": root, "preset": "ultrafast", "check_playback": False}
    made = [publish(Request(film=long_film, subtitles=(long_subs,), subtitle_languages=("ko",),
                            title_ko="긴 영화", title_en=LONG, **common)),
            publish(Request(film=short_film, title_ko="짧은 영화", title_en=SHORT, **common))]
    if [result.playable_id for result in made] != [LONG, SHORT]:
        raise RuntimeError(f"the pipeline named the films {[r.playable_id for r in made]}, not {[LONG, SHORT]}")

    def add_extras(doc: dict[str, Any]) -> None:
        short = catalog_file.find_title(doc, SHORT)
        assert short is not None
        for n in range(1, EXTRAS + 1):
            doc["titles"].append({**short, "id": f"extra-{n}", "title": {"ko": f"영화 {n}", "en": f"extra {n}"}})

    catalog_file.update(root, add_extras, must_keep=(LONG, SHORT))
    return root / catalog_file.CATALOG


def cached_library(cache: Path) -> Path:
    """The library under ``cache``, made once per version of the code that makes it; returns its folder."""
    folder = cache / f"library-{_key()}"
    if not (folder / READY).exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="library.", dir=cache) as tmp:
            prepare(Path(tmp) / "library")
            (Path(tmp) / "library" / READY).touch()
            shutil.rmtree(folder, ignore_errors=True)
            Path(tmp, "library").rename(folder)
    return folder


def _key() -> str:
    """A hash of this file and of the publish and demo packages that make the films."""
    files = [Path(__file__), *sorted(Path(piclient.demo.sources.__file__).parent.glob("*.py")),
             *sorted(Path(piclient.publish.__file__).parent.glob("*.py"))]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def main() -> None:
    """`python -m tests.hw.library CACHE DEST`: the cached library (made first if need be) copied to DEST."""
    cache, dest = Path(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(cached_library(cache), dest)
    print(dest / catalog_file.CATALOG)


if __name__ == "__main__":
    main()
