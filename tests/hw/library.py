"""The films of the hardware tests, made on the host before the VM boots (ffmpeg is slow in emulation).

Small pictures on purpose: the guest decodes and draws them in software on an emulated CPU.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from piclient.media.hls import make_hls
from piclient.media.thumbnails import make_thumbnails

SMALL = ((320, 180, 250_000),)
TITLES = [
    {"id": "long", "kind": "film", "title": {"ko": "긴 영화", "en": "long"}, "stream": "media/long/master.m3u8",
     "duration": 120, "added_at": "2026-01-01T00:00:00Z", "thumbnails": "media/long/thumbs/thumbnails.vtt"},
    {"id": "short", "kind": "film", "title": {"ko": "짧은 영화", "en": "short"},
     "stream": "media/short/master.m3u8", "duration": 4, "added_at": "2026-01-01T00:00:00Z"},
    *({"id": f"extra-{n}", "kind": "film", "title": {"ko": f"영화 {n}", "en": f"extra {n}"},
       "stream": "media/short/master.m3u8", "duration": 4, "added_at": "2026-01-01T00:00:00Z"}
      for n in range(1, 13)),
]


def prepare(root: Path) -> Path:
    media = root / "media"
    make_hls(media / "long", seconds=120, label="long", variants=SMALL, color="navy",
             subtitles={"ko": [(0.5, 110.0, "해가 떠요")]})
    make_thumbnails(media / "long" / "v0" / "index.m3u8", media / "long" / "thumbs", every_s=10)
    make_hls(media / "short", seconds=4, label="short", variants=SMALL, color="darkgreen")
    catalog = root / "catalog.json"
    catalog.write_text(json.dumps({"version": 1, "titles": TITLES}, ensure_ascii=False), encoding="utf-8")
    return catalog


if __name__ == "__main__":
    print(prepare(Path(sys.argv[1])))
