"""A small real library for playback tests: HLS made by ffmpeg, served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.demo.hls import make_hls
from piclient.demo.server import StaticServer
from piclient.publish.artwork import seek_thumbnails
from tests.launcher import Launcher, write_config

SUNRISE_CUES = {"ko": [(1.0, 7.0, "해가 떠요")], "en": [(1.0, 7.0, "The sun rises")]}
SMI_CP949 = """<SAMI><HEAD><STYLE><!--
.KRCC { Name:Korean; lang:ko-KR; }
--></STYLE></HEAD><BODY>
<SYNC Start=500><P Class=KRCC>어머니, 진지 드세요
<SYNC Start=5000><P Class=KRCC>&nbsp;
</BODY></SAMI>
""".encode("cp949")


def _film(ident: str, ko: str, duration: float, **extra: object) -> dict:
    return {"id": ident, "kind": "film", "title": {"ko": ko, "en": ident}, "stream": f"media/{ident}/master.m3u8",
            "duration": duration, "added_at": "2026-01-01T00:00:00Z", **extra}


def _without_extensions(film: Path) -> None:
    """Serve every variant's segments as ``seg/0``, ``seg/1``, ...: names without a file extension, as
    some servers and proxies give them."""
    for playlist in film.glob("v*/index.m3u8"):
        (playlist.parent / "seg").mkdir()
        lines = []
        for line in playlist.read_text(encoding="utf-8").splitlines():
            if line.endswith(".ts"):
                name = f"seg/{int(line.removeprefix('seg').removesuffix('.ts'))}"
                (playlist.parent / line).rename(playlist.parent / name)
                line = name
            lines.append(line)
        playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    media = root / "media"
    make_hls(media / "sunrise", seconds=12, label="sunrise", color="black", subtitles=SUNRISE_CUES)
    make_hls(media / "smi-film", seconds=6, label="smi", color="black")
    (root / "subs").mkdir()
    (root / "subs" / "smi-film.smi").write_bytes(SMI_CP949)
    make_hls(media / "long", seconds=90, label="long")
    seek_thumbnails(media / "long" / "v0" / "index.m3u8", 90, media / "long")  # a tile every 10 s
    for n in (1, 2):
        make_hls(media / f"hood-e{n}", seconds=4, label=f"episode {n}", color="navy")
    _without_extensions(make_hls(media / "noext", seconds=8, label="noext", color="black").parent)
    (media / "garbage").mkdir()
    (media / "garbage" / "master.m3u8").write_text("<html><body>502 Bad Gateway</body></html>", encoding="utf-8")
    titles = [
        _film("sunrise", "해돋이", 12),
        _film("smi-film", "옛날 영화", 6,
              subtitles=[{"url": "subs/smi-film.smi", "language": "ko", "label": "한국어"}]),
        _film("long", "긴 영화", 90, thumbnails="media/long/thumbs/thumbnails.vtt"),
        _film("missing", "없는 영화", 60),
        _film("garbage", "고장 난 영화", 60),
        {k: v for k, v in _film("noext", "이름 없는 조각", 0).items() if k != "duration"},
        {"id": "hood", "kind": "series", "title": {"ko": "우리 동네"}, "added_at": "2026-01-01T00:00:00Z",
         "seasons": [{"number": 1, "episodes": [
             {"id": f"hood-e{n}", "number": n, "stream": f"media/hood-e{n}/master.m3u8", "duration": 4}
             for n in (1, 2)]}]},
    ]
    (root / "catalog.json").write_text(json.dumps({"version": 1, "titles": titles}, ensure_ascii=False),
                                       encoding="utf-8")
    return root


@pytest.fixture
def server(library: Path) -> Iterator[StaticServer]:
    with StaticServer(library) as static:
        yield static


@pytest.fixture
def tv(tmp_path: Path, server: StaticServer) -> Iterator[Launcher]:
    config = write_config(tmp_path, server.url + "catalog.json")
    with config.open("a", encoding="utf-8") as handle:
        handle.write("player:\n  audio_output: 'null'\n  hwdec: 'no'\n  readahead_seconds: 8\n")
    launcher = Launcher(tmp_path, config)
    launcher.wait_for(lambda s: s["screen"] == "home")
    yield launcher
    assert launcher.stop() == 0, launcher.log()
