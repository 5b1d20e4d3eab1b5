"""A small real library for playback tests: titles published by the pipeline, served on 127.0.0.1.

Next to them, what a library can hold that the pipeline never writes: a CP949 SAMI sidecar, a stream
whose segments have no file extension, a title without a duration, one that is missing and one whose
"playlist" is an error page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from piclient.demo.clips import TWO_RUNGS, publish_clips
from piclient.demo.server import StaticServer
from piclient.publish import catalog_file
from piclient.publish.transcode import PLAYLIST
from tests.launcher import Launcher, write_config

SUNRISE_CUES = {"ko": [(1.0, 7.0, "해가 떠요")], "en": [(1.0, 7.0, "The sun rises")]}
SMI_CP949 = """<SAMI><HEAD><STYLE><!--
.KRCC { Name:Korean; lang:ko-KR; }
--></STYLE></HEAD><BODY>
<SYNC Start=500><P Class=KRCC>어머니, 진지 드세요
<SYNC Start=5000><P Class=KRCC>&nbsp;
</BODY></SAMI>
""".encode("cp949")
SERIES = "hood"


def episode_id(number: int) -> str:
    """The id the pipeline gives an episode of the test series."""
    return f"{SERIES}-s01e{number:02d}"


def _without_extensions(film: Path) -> None:
    """Serve every rung's segments as ``seg/0``, ``seg/1``, ...: names without a file extension, as
    some servers and proxies give them."""
    for playlist in film.glob(f"*/{PLAYLIST}"):
        (playlist.parent / "seg").mkdir()
        lines = []
        for line in playlist.read_text(encoding="utf-8").splitlines():
            number = re.fullmatch(r"seg(\d+)\.ts", line)
            if number:
                name = f"seg/{int(number.group(1))}"
                (playlist.parent / line).rename(playlist.parent / name)
                line = name
            lines.append(line)
        playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _film(ident: str, ko: str, stream: str) -> dict[str, Any]:
    return {"id": ident, "kind": "film", "title": {"ko": ko, "en": ident}, "stream": stream, "duration": 60,
            "added_at": "2026-01-01T00:00:00Z"}


def _by_hand(doc: dict[str, Any]) -> None:
    """What the pipeline would not write, edited into its catalog."""
    titles = {t["id"]: t for t in doc["titles"]}
    titles["smi-film"]["subtitles"] = [{"url": "subs/smi-film.smi", "language": "ko", "label": "한국어"}]
    del titles["noext"]["duration"]
    titles[SERIES]["title"] = {"ko": "우리 동네"}
    doc["titles"] += [_film("missing", "없는 영화", "films/missing/master.m3u8"),
                      _film("garbage", "고장 난 영화", "garbage/master.m3u8")]


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    # "long" has two rungs for the tests of switching, and a moving picture: a flat one encodes to a
    # few kbit/s, so the whole film was in the player's cache before a slow line could make it step down.
    published = publish_clips(root, [
        {"seconds": 12, "label": "sunrise", "color": "black", "cues": SUNRISE_CUES,
         "title_en": "sunrise", "title_ko": "해돋이"},
        {"seconds": 6, "label": "smi", "color": "black", "title_en": "smi-film", "title_ko": "옛날 영화"},
        {"seconds": 90, "label": "long", "color": None, "size": TWO_RUNGS, "title_en": "long",
         "title_ko": "긴 영화"},
        *({"seconds": 4, "label": f"episode {n}", "color": "navy", "series": SERIES, "episode": n}
          for n in (1, 2)),
        {"seconds": 8, "label": "noext", "color": "black", "title_en": "noext", "title_ko": "이름 없는 조각"},
    ])
    _without_extensions(published[-1].folder)
    (root / "subs").mkdir()
    (root / "subs" / "smi-film.smi").write_bytes(SMI_CP949)
    (root / "garbage").mkdir()
    (root / "garbage" / "master.m3u8").write_text("<html><body>502 Bad Gateway</body></html>", encoding="utf-8")
    catalog_file.update(root, _by_hand)
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
